"""The foreign DHCP probe over the control socket, in memory: ProbeForeignDHCP
end to end (an unknown interface a declared error naming the field), the
status entry, and rackctl probe / status printing what was found."""

import json
import sys

from twisted.internet import task

from provisioningserver.cli import agent_commands, common, probe_commands
from provisioningserver.cli.rackctl import build_parser
from provisioningserver.rpc import control
from provisioningserver.rpc.local import ControlLocator
from tests.rpc.test_local import FakeConfigurator
from tests.rpc.test_local_failover import call
from tests.services.test_foreign import FakeProber, make, offer

ROGUE = {"interface": "eth0", "server_id": "198.18.0.3", "address": "198.18.0.3",
         "mac": "52:54:00:00:00:fe", "offered": "198.18.0.200", "first_seen": 1.0,
         "last_seen": 1.0}


def locator():
    clock = task.Clock()
    clock.advance(1.0)
    prober = FakeProber()
    prober.offers["eth0"] = [offer("198.18.0.3"), offer("198.18.0.1")]
    foreign = make(clock, prober)
    return ControlLocator(FakeConfigurator(), foreign=foreign), prober


def test_probe_answers_with_each_interface_and_its_foreign_servers():
    """ProbeForeignDHCP probes the default interfaces (or the named one) and
    answers with their entries, this rack's own server left out."""
    control_locator, prober = locator()
    reply = call(control_locator, control.ProbeForeignDHCP)["probe"]
    assert reply == [{"interface": "eth0", "probed_at": 1.0, "error": None,
                      "ignored": {"foreign-xid": 1}, "servers": [ROGUE]}]
    reply = call(control_locator, control.ProbeForeignDHCP, interface="eth1")["probe"]
    assert [e["interface"] for e in reply] == ["eth1"]
    assert [c[0] for c in prober.calls] == ["eth0", "eth1"]


def test_an_unknown_interface_is_invalid_naming_the_field():
    """An interface the node lacks: InvalidDocument with field "interface"; nothing sent."""
    control_locator, prober = locator()
    failure = call(control_locator, control.ProbeForeignDHCP, interface="nope0")
    assert failure.check(control.InvalidDocument)
    [problem] = json.loads(str(failure.value))["errors"]
    assert problem["field"] == "interface" and "nope0" in problem["error"]
    assert prober.calls == []


def test_without_a_probe_service_it_is_an_environment_problem():
    """An agent built without the probe says so as a declared error."""
    failure = call(ControlLocator(FakeConfigurator()), control.ProbeForeignDHCP)
    assert failure.check(control.EnvironmentProblem)


def test_status_carries_the_latest_probe():
    """GetStatus has foreign_dhcp: the interval and each interface's latest probe."""
    control_locator, _ = locator()
    call(control_locator, control.ProbeForeignDHCP)
    status = call(control_locator, control.GetStatus)["status"]
    assert status["foreign_dhcp"]["interval"] == 600
    assert status["foreign_dhcp"]["interfaces"][0]["servers"] == [ROGUE]


def test_rackctl_probe_parses_an_optional_interface():
    """rackctl probe [IFACE] [--json]."""
    assert build_parser().parse_args(["probe"]).interface is None
    args = build_parser().parse_args(["probe", "br0", "--json"])
    assert (args.interface, args.json) == ("br0", True)


def test_rackctl_probe_prints_each_interface_and_server(monkeypatch, capsys):
    """Text: one line per interface, one per server (identifier, sender IP and
    MAC, offered address); a failed interface shows its error; --json is the reply."""
    entries = [{"interface": "eth0", "error": None, "servers": [ROGUE]},
               {"interface": "eth1", "error": None, "servers": []},
               {"interface": "br0", "error": "PermissionError: denied", "servers": []}]
    sent = []

    def fake_call(socket, command, **arguments):
        sent.append((command, arguments))
        return {"probe": entries}

    monkeypatch.setattr(common, "call_agent", fake_call)
    args = build_parser().parse_args(["probe", "--socket", "/nonexistent"])
    assert probe_commands.run_probe(args, sys.stdout, sys.stderr) == 0
    assert capsys.readouterr().out.splitlines() == [
        "eth0: 1 foreign DHCP server",
        "  server 198.18.0.3 from 198.18.0.3 (52:54:00:00:00:fe) offered 198.18.0.200",
        "eth1: no foreign DHCP servers",
        "br0: probe failed: PermissionError: denied"]
    assert sent == [("ProbeForeignDHCP", {})]
    args = build_parser().parse_args(["probe", "eth0", "--json", "--socket", "/nonexistent"])
    assert probe_commands.run_probe(args, sys.stdout, sys.stderr) == 0
    assert json.loads(capsys.readouterr().out) == entries
    assert sent[-1] == ("ProbeForeignDHCP", {"interface": "eth0"})


def test_rackctl_probe_with_nothing_to_probe_says_why(monkeypatch, capsys):
    """No interfaces served and none configured: one line saying so."""
    monkeypatch.setattr(common, "call_agent", lambda *a, **k: {"probe": []})
    args = build_parser().parse_args(["probe", "--socket", "/nonexistent"])
    assert probe_commands.run_probe(args, sys.stdout, sys.stderr) == 0
    assert "no interfaces to probe" in capsys.readouterr().out


def test_rackctl_status_shows_the_latest_probe(monkeypatch, capsys):
    """rackctl status lists the foreign servers of the latest probe."""
    status = {"v4": {"state": "off", "pid": None, "since": None},
              "foreign_dhcp": {"interval": 600, "interfaces": [
                  {"interface": "eth0", "error": None, "servers": [ROGUE]}]}}
    monkeypatch.setattr(common, "call_agent", lambda *a, **k: {"status": status})
    args = build_parser().parse_args(["status", "--socket", "/nonexistent"])
    assert agent_commands.run_status(args, sys.stdout, sys.stderr) == 0
    out = capsys.readouterr().out
    assert "foreign DHCP servers (latest probe):" in out
    assert "    server 198.18.0.3 from 198.18.0.3 (52:54:00:00:00:fe) offered 198.18.0.200" in out
