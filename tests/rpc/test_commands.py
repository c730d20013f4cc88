"""Every region command's arguments and replies survive the wire, at full size."""

import pytest
from twisted.internet import defer
from twisted.protocols import amp
from twisted.test import iosim

from provisioningserver.rpc import commands
from provisioningserver.system.packed import PackedJSON, unpack
from tests.rpc.test_arguments import big_document


def lease_events(count=50_000):
    return [{"action": "commit", "mac": "52:54:00:%02x:%02x:%02x" % (
        i >> 16 & 255, i >> 8 & 255, i & 255), "duid": None, "ip_family": 4,
        "ip": f"198.18.{i >> 8 & 255}.{i & 255}", "timestamp": 1_700_000_000 + i,
        "lease_time": 600, "hostname": f"node-{i}", "unknown_client": i % 2 == 0}
        for i in range(count)]


OUTCOME = {"ip_version": 4, "action": "restarted", "reason": "subnets changed",
           "fingerprint": "abcd", "warnings": [], "interfaces": ["eth0"], "hosts": None}
VALIDATION = [{"error": "expecting ;", "field": None, "line_num": 3, "line": "option x",
               "position": 8},
              {"error": "not an address", "field": "hosts[0].ip", "line_num": None,
               "line": None, "position": None}]
SERVICES = [{"service": "dhcpd", "status": "running", "status_info": "",
             "failover_state": "normal"},
            {"service": "dhcpd6", "status": "off", "status_info": "no document",
             "failover_state": None}]

# command, arguments, reply
CASES = {
    "ConfigureDHCPv4": (commands.ConfigureDHCPv4, {"document": big_document()},
                        {"outcome": OUTCOME}),
    "ConfigureDHCPv6": (commands.ConfigureDHCPv6, {"document": {"shared_networks": []}},
                        {"outcome": dict(OUTCOME, ip_version=6)}),
    "ValidateDHCPv4Config": (commands.ValidateDHCPv4Config, {"document": big_document(10)},
                             {"errors": VALIDATION}),
    "ValidateDHCPv6Config": (commands.ValidateDHCPv6Config, {"document": {}}, {"errors": []}),
    "GetDHCPStatus": (commands.GetDHCPStatus, {},
                      {"status": {"v4": {"state": "running", "pid": 7}}}),
    "Authenticate": (commands.Authenticate, {"message": bytes(range(16))},
                     {"digest": b"\xff" * 32, "salt": b"\x00" * 16}),
    "RegisterRack": (commands.RegisterRack,
                     {"rack_id": "rack-1", "name": "rack-één", "version": "0.1"},
                     {"region": "region-1"}),
    "UpdateLeases": (commands.UpdateLeases, {"events": lease_events()}, {"stored": 50_000}),
    "UpdateServices": (commands.UpdateServices, {"services": SERVICES}, {}),
    "ReportForeignDHCPServer": (commands.ReportForeignDHCPServer,
                                {"interface": "eth0",
                                 "servers": [{"ip": "198.18.0.254", "mac": "52:54:00:00:00:fe"}]},
                                {}),
}


class Recorder(amp.AMP):
    """Answers any command with a canned reply and keeps what arrived."""

    def __init__(self, reply):
        super().__init__()
        self.reply = reply
        self.received = []

    def locateResponder(self, name):
        command = {c.commandName: c for c, _, _ in CASES.values()}[name]

        def respond(box):
            self.received.append(command.parseArguments(box, self))
            return defer.succeed(command.makeResponse(self.reply, self))

        return respond


@pytest.mark.parametrize("name", sorted(CASES))
def test_arguments_and_reply_round_trip(name):
    """What the caller sends arrives equal (a document packed, to be parsed
    by its reader), and the reply comes back equal, over real AMP framing
    (50,000 hosts and 50,000 lease events included)."""
    command, arguments, reply = CASES[name]
    server = Recorder(reply)
    client = amp.AMP()
    _, _, pump = iosim.connectedServerAndClient(lambda: server, lambda: client)
    results = []
    client.callRemote(command, **arguments).addBoth(results.append)
    pump.flush()
    [received] = server.received
    assert {key: unpack(value) for key, value in received.items()} == arguments
    if "document" in arguments:
        assert isinstance(received["document"], PackedJSON)
    assert results == [reply]


def test_every_command_declares_its_errors_and_has_a_docstring():
    """Each command documents itself; configure and validate declare the timeout
    and authentication errors, the reports declare authentication and registration."""
    for command, _, _ in CASES.values():
        assert command.__doc__ and len(command.__doc__) > 40, command
        assert command.errors, command
    for command in (commands.ConfigureDHCPv4, commands.ConfigureDHCPv6,
                    commands.ValidateDHCPv4Config, commands.ValidateDHCPv6Config):
        assert {commands.ConfigureTimeout, commands.NotAuthenticated} <= set(command.errors)
    for command in (commands.UpdateLeases, commands.UpdateServices,
                    commands.ReportForeignDHCPServer):
        assert {commands.NotAuthenticated, commands.NotRegistered} <= set(command.errors)
    assert commands.ConfigureDHCPv4.errors[commands.InvalidDocument] == b"INVALID_DOCUMENT"


def test_a_fifty_thousand_host_document_needs_more_than_one_amp_value():
    """The big document really is beyond AMP's 64 KiB value limit (so the test above
    proves chunking works end to end)."""
    box = commands.ConfigureDHCPv4.makeArguments({"document": big_document()}, None)
    assert int(box[b"document"]) > 1
    assert all(len(value) <= amp.MAX_VALUE_LENGTH for value in box.values())
