"""Failover over the control socket, in memory: the status entry, partner-down carried
out or refused as a declared error, and rackctl's parsing of the command."""

import json
import sys

from twisted.internet import task
from twisted.protocols import amp
from twisted.test import iosim

from provisioningserver.cli.rackctl import build_parser
from provisioningserver.omapi.objects import FailoverState
from provisioningserver.rpc import control
from provisioningserver.rpc.local import ControlLocator
from tests.rpc.test_local import FakeConfigurator
from tests.services.test_failoverwatch import START, FakeOmapi, make_watch


def call(locator, command, **arguments):
    client = amp.AMP()
    _, _, pump = iosim.connectedServerAndClient(lambda: amp.AMP(locator=locator), lambda: client)
    results = []
    client.callRemote(command, **arguments).addBoth(results.append)
    pump.flush()
    assert results, "no reply"
    return results[0]


def watched(local_state, since):
    clock = task.Clock()
    clock.advance(START)
    omapi = FakeOmapi()
    omapi.states["vlan-40"] = FailoverState("vlan-40", local_state, "normal", int(since))
    watch = make_watch(clock, omapi, safety_time=600)
    watch.refresh()
    configurator = FakeConfigurator()
    configurator.failover_status = watch.status
    return ControlLocator(configurator, failover=watch), omapi


def test_status_carries_the_failover_reading():
    """GetStatus carries the watch's latest reading as the v4 failover_state."""
    locator, _ = watched("communications-interrupted", START - 30)
    status = call(locator, control.GetStatus)["status"]
    assert status["v4"]["pid"] == 7
    (peer,) = status["v4"]["failover_state"]["peers"]
    assert (peer["peer"], peer["local_state"], peer["for_seconds"]) == (
        "vlan-40", "communications-interrupted", 30)


def test_partner_down_allowed_is_done():
    """After the safety time the command moves dhcpd to partner-down and says why."""
    locator, omapi = watched("communications-interrupted", START - 900)
    outcome = call(locator, control.FailoverPartnerDown, peer="vlan-40")["outcome"]
    assert outcome["action"] == "partner-down" and "900s" in outcome["reason"]
    assert omapi.set_calls == [("vlan-40", "partner-down")]


def test_partner_down_refused_is_a_declared_error():
    """Too early: a FailoverRefused error whose description says why; dhcpd untouched.
    With force the same request is carried out."""
    locator, omapi = watched("communications-interrupted", START - 10)
    failure = call(locator, control.FailoverPartnerDown, peer="vlan-40")
    assert failure.check(control.FailoverRefused)
    details = json.loads(str(failure.value))
    assert details["kind"] == "failover-refused" and "590s left" in details["error"]
    assert omapi.set_calls == []
    forced = call(locator, control.FailoverPartnerDown, peer="vlan-40", force=True)
    assert forced["outcome"]["action"] == "partner-down"


def test_partner_down_without_a_watch_is_refused():
    """An agent built without a failover watch refuses rather than failing obscurely."""
    failure = call(ControlLocator(FakeConfigurator()), control.FailoverPartnerDown, peer="p")
    assert failure.check(control.FailoverRefused)


def test_rackctl_parses_failover_partner_down():
    """rackctl failover partner-down PEER [--force] parses to the peer and the flag."""
    args = build_parser().parse_args(["failover", "partner-down", "vlan-40", "--force"])
    assert (args.action, args.peer, args.force) == ("partner-down", "vlan-40", True)


def test_rackctl_status_shows_each_peer(monkeypatch, capsys):
    """rackctl status prints one line per failover peer: states, duration, meaning;
    a peer that could not be read shows its error."""
    from provisioningserver.cli import agent_commands, common

    status = {"v4": {"state": "running", "pid": 7, "since": None, "failover_state": {"peers": [
        {"peer": "vlan-40", "local_state": "partner-down", "partner_state": "unknown-state",
         "for_seconds": 12, "summary": "serving alone"},
        {"peer": "vlan-41", "error": "connection refused"}]}}}
    monkeypatch.setattr(common, "call_agent", lambda *a, **k: {"status": status})
    args = build_parser().parse_args(["status", "--socket", "/nonexistent"])
    assert agent_commands.run_status(args, sys.stdout, sys.stderr) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "failover vlan-40: partner-down, partner unknown-state, for 12s: serving alone" in lines
    assert "failover vlan-41: unknown (connection refused)" in lines
