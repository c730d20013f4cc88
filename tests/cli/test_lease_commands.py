"""rackctl's lease reports (`provisioningserver.cli.lease_commands`) say what
they found, including nothing."""

import json

import pytest

from provisioningserver.cli import common, rackctl


@pytest.fixture
def no_events(monkeypatch):
    monkeypatch.setattr(common, "call_agent", lambda socket, command, **a: {"events": []})


@pytest.mark.parametrize("argv, line", [
    (["history", "--ip", "198.18.0.7"], "no lease events for IP 198.18.0.7\n"),
    (["history", "--mac", "02:00:00:00:00:01"], "no lease events for MAC 02:00:00:00:00:01\n"),
])
def test_history_with_no_match_says_so(no_events, capsys, argv, line):
    """history that matches nothing says there are no events for that IP or MAC."""
    assert rackctl.main(argv) == common.OK
    assert capsys.readouterr().out == line


def test_history_json_with_no_match_is_an_empty_list(no_events, capsys):
    """With --json, no match stays the agent's empty list."""
    assert rackctl.main(["history", "--json", "--ip", "198.18.0.7"]) == common.OK
    assert json.loads(capsys.readouterr().out) == []
