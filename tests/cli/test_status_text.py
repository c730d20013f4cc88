"""What ``rackctl status`` says of the lease events: standalone is not
waiting for a region."""

import pytest

from provisioningserver.cli import common, rackctl

EVENTS = {"pending": 3, "sent": 0, "journal_bytes": 4096, "last_error": None,
          "journal_over_limit": False}


@pytest.mark.parametrize("state, words", [
    ("standalone", "lease events: standalone (no region: kept for the reports); "
                   "journal 4096 bytes"),
    ("waiting", "lease events: waiting, 3 waiting for the region, 0 sent; journal 4096 bytes"),
])
def test_lease_events_line(monkeypatch, capsys, state, words):
    """Standalone, the line says the events are kept for the reports; with a
    region configured, how many wait for it."""
    status = {"status": {"lease_events": dict(EVENTS, state=state)}}
    monkeypatch.setattr(common, "call_agent", lambda socket, command, **a: status)
    assert rackctl.main(["status"]) == common.OK
    assert capsys.readouterr().out == words + "\n"
