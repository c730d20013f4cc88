"""Where rackd's log goes, and what is left out of it.

rackd logs through `twisted.logger` to stderr. Run by hand, each line gets
a timestamp. Run by systemd, stderr is a stream into the journal
(systemd sets ``$JOURNAL_STREAM``), which stamps every line itself: there a
line carries no timestamp of its own, only a ``<N>`` syslog priority
prefix that journald reads as the line's level (so ``journalctl -p warning``
works).

Left out: Twisted's "AMP connection established / lost" lines, and its
"Starting factory / Stopping factory" lines. rackctl opens one
control-socket connection per command, and the monitor's readiness probe
and the OMAPI client one TCP connection each, so these were most of the
log and said nothing; rackd logs what happened instead (one line per
configure outcome, per dhcpd start, stop and death, per region connection
and loss).
"""

import re

from twisted.logger import (
    FilteringLogObserver, LogLevel, PredicateResult, formatEvent, textFileLogObserver,
)

# journald's reading of a "<N>" prefix: syslog priorities.
PRIORITY = {LogLevel.critical: 2, LogLevel.error: 3, LogLevel.warn: 4, LogLevel.info: 6,
            LogLevel.debug: 7}

_CHATTER = ("{cls} connection established", "{cls} connection lost")
_FACTORY = ("Starting factory {factory!r}", "Stopping factory {factory!r}")
# The same lines as older Twisted (22.4, Debian 12's) writes them: through
# the legacy log.msg, as finished text.
_LEGACY = re.compile(r"\w+ connection (established|lost) \(HOST:|(Starting|Stopping) factory ")


def is_chatter(event):
    """Twisted's per-connection lines: AMP's, and a factory's start and stop."""
    text = event.get("log_format") or ""
    if event.get("log_namespace") == "twisted.protocols.amp":
        return text.startswith(_CHATTER)
    if text in _FACTORY:
        return True
    message = event.get("message")
    return bool(message) and isinstance(message[0], str) and bool(_LEGACY.match(message[0]))


def _quiet(event):
    return PredicateResult.no if is_chatter(event) else PredicateResult.maybe


def journal_line(event):
    """One event as journald wants it: ``<N>text``, no timestamp; a
    traceback continues on the following lines."""
    text = formatEvent(event)
    failure = event.get("log_failure")
    if failure is not None:
        text = f"{text}\n{failure.getTraceback()}".rstrip("\n")
    priority = PRIORITY.get(event.get("log_level"), 6)
    namespace = event.get("log_namespace") or "-"
    return "\n".join(f"<{priority}>{line}" if i == 0 else f"<{priority}>  {line}"
                     for i, line in enumerate(f"[{namespace}] {text}".split("\n"))) + "\n"


def journal_observer(stream):
    def observe(event):
        stream.write(journal_line(event))
        stream.flush()

    return observe


def observer(stream, environ):
    """The observer rackd logs to: the journal's form under systemd, text
    with timestamps otherwise, without the AMP chatter either way."""
    inner = journal_observer(stream) if environ.get("JOURNAL_STREAM") else textFileLogObserver(
        stream)
    return FilteringLogObserver(inner, [_quiet])
