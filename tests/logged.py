"""What rackd logs while a test acts: one helper for the tests that read
its log lines, formatted as the log shows them."""

from twisted.logger import formatEvent, globalLogPublisher


def logged(action, namespace="provisioningserver"):
    """The lines logged under ``namespace`` (a prefix) while ``action()`` ran."""
    seen = []
    globalLogPublisher.addObserver(seen.append)
    try:
        action()
    finally:
        globalLogPublisher.removeObserver(seen.append)
    return [formatEvent(e) for e in seen
            if (e.get("log_namespace") or "").startswith(namespace)]
