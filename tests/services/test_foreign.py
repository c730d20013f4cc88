"""The foreign DHCP probe service with a fake clock and a fake prober: what
counts as ours, first/last seen, reports to the region (the empty list too),
failures kept per interface, the periodic schedule, and the region receiving
`ReportForeignDHCPServer` over an in-memory AMP pair."""

import ipaddress

import pytest
from twisted.internet import defer, task

from provisioningserver.dhcp import model
from provisioningserver.network.dhcpprobe import Offer, ProbeResult
from provisioningserver.network.links import Link, Snapshot
from provisioningserver.rpc import commands
from provisioningserver.services.dhcpstate import DHCPState
from provisioningserver.services.foreign import (
    ForeignProbe,
    ForeignServer,
    UnknownInterface,
    peer_addresses,
    probe_interfaces,
)
from provisioningserver.dhcpd.process import DhcpdSpec
from tests.rpc.test_region import Link as RegionLink

START = 1_800_000_000.0
RACK_MAC = "52:54:00:00:00:01"
SNAPSHOT = Snapshot([
    Link(name="eth0", kind="physical", mac=RACK_MAC, addresses=["198.18.0.1/24"]),
    Link(name="eth1", kind="physical", mac="52:54:00:00:01:01", addresses=["198.18.1.1/24"]),
    Link(name="tun0", kind="tunnel", link_type="none", addresses=["198.18.9.1/32"]),
])


def offer(server_id, sender=None, mac="52:54:00:00:00:fe", offered="198.18.0.200"):
    ip = ipaddress.IPv4Address
    return Offer(xid=1, offered=ip(offered), siaddr=ip("0.0.0.0"),
                 server_id=ip(server_id) if server_id else None,
                 sender=ip(sender or server_id), mac=mac)


class FakeProber:
    """Answers each interface with the offers a test set, or raises."""

    def __init__(self):
        self.offers = {}  # interface -> [Offer]
        self.fail = {}  # interface -> exception
        self.calls = []

    def __call__(self, interface, mac):
        self.calls.append((interface, mac))
        if interface in self.fail:
            raise self.fail[interface]
        return ProbeResult(interface, tuple(self.offers.get(interface, ())), {"foreign-xid": 1})


@pytest.fixture
def clock():
    clock = task.Clock()
    clock.advance(START)
    return clock


def make(clock, prober, interfaces=("eth0",), peers=(), interval=600, report=None):
    reports = []

    def record(interface, servers):
        reports.append((interface, servers))
        return defer.succeed(None)

    foreign = ForeignProbe(clock, lambda: interfaces, lambda: SNAPSHOT, lambda: set(peers),
                           interval=interval, report=report or record, prober=prober,
                           run_in_thread=lambda f, *a: defer.maybeDeferred(f, *a))
    foreign.reports = reports
    return foreign


def result(d):
    results = []
    d.addBoth(results.append)
    assert results, "the Deferred did not fire"
    if hasattr(results[0], "raiseException"):
        results[0].raiseException()
    return results[0]


def test_only_servers_not_ours_are_kept():
    """Offers from any of this node's addresses (by server identifier or
    sender) and from a failover peer's addresses are left out; the rest are
    kept with the interface's MAC used for the probe."""
    clock, prober = task.Clock(), FakeProber()
    prober.offers["eth0"] = [
        offer("198.18.0.1"),  # this rack, on the probed interface
        offer("198.18.1.1", sender="198.18.0.77"),  # this rack's identifier from eth1
        offer("198.18.0.9", sender="198.18.0.1"),  # sent from our address
        offer("198.18.0.2"),  # the failover peer
        offer("198.18.0.3", mac="52:54:00:00:00:03", offered="198.18.0.201"),
        offer(None, sender="198.18.0.4", mac="52:54:00:00:00:04"),
    ]
    foreign = make(clock, prober, peers=[ipaddress.ip_address("198.18.0.2")])
    entries = result(foreign.probe())
    assert prober.calls == [("eth0", RACK_MAC)]
    assert [(s.server_id, s.address, s.mac, s.offered) for s in foreign.servers()] == [
        ("198.18.0.3", "198.18.0.3", "52:54:00:00:00:03", "198.18.0.201"),
        ("", "198.18.0.4", "52:54:00:00:00:04", "198.18.0.200")]
    assert entries[0]["error"] is None and entries[0]["ignored"] == {"foreign-xid": 1}
    assert [s["address"] for s in entries[0]["servers"]] == ["198.18.0.3", "198.18.0.4"]


def test_first_seen_is_kept_and_a_server_gone_is_dropped_and_reported(clock):
    """A server seen again keeps its first_seen and gets a new last_seen; when it
    stops answering it leaves servers() and the region gets the empty list."""
    prober = FakeProber()
    prober.offers["eth0"] = [offer("198.18.0.3")]
    foreign = make(clock, prober)
    result(foreign.probe())
    clock.advance(600)
    result(foreign.probe())
    [server] = foreign.servers()
    assert (server.first_seen, server.last_seen) == (START, START + 600)
    assert foreign.reports[-1] == ("eth0", [server.to_region()])
    assert foreign.reports[-1][1][0]["ip"] == "198.18.0.3"
    prober.offers["eth0"] = []
    result(foreign.probe())
    assert foreign.servers() == []
    assert foreign.reports[-1] == ("eth0", [])


def test_a_failed_probe_keeps_its_error_and_what_was_seen_and_reports_nothing(clock):
    """A socket error on one interface is kept in status for it (the other
    interface is probed all the same); the servers seen before stay; nothing
    is sent to the region for it."""
    prober = FakeProber()
    prober.offers["eth0"] = [offer("198.18.0.3")]
    foreign = make(clock, prober, interfaces=("eth0", "eth1"))
    result(foreign.probe())
    prober.fail["eth0"] = PermissionError(1, "Operation not permitted")
    entries = result(foreign.probe())
    assert "CAP_NET_RAW" in entries[0]["error"] and entries[1]["error"] is None
    assert [s.address for s in foreign.servers()] == ["198.18.0.3"]
    assert [i for i, _ in foreign.reports] == ["eth0", "eth1", "eth1"]
    status = foreign.status()
    assert [e["interface"] for e in status["interfaces"]] == ["eth0", "eth1"]
    assert status["interval"] == 600


def test_an_interface_without_a_mac_is_an_error_entry_not_a_probe(clock):
    """A default interface with no link-layer address (or missing from the
    node) gets an error entry; no packet is sent for it."""
    prober = FakeProber()
    foreign = make(clock, prober, interfaces=("tun0", "gone0"))
    entries = result(foreign.probe())
    assert [e["error"] for e in entries] == ["the interface has no MAC address",
                                             "no such interface on this node"]
    assert prober.calls == []


def test_an_unknown_named_interface_is_refused_before_anything_is_sent(clock):
    """rackctl probe IFACE with an IFACE the node lacks fails UnknownInterface
    naming it and the interfaces there are."""
    prober = FakeProber()
    foreign = make(clock, prober)
    with pytest.raises(UnknownInterface, match="nope0.*eth0, eth1"):
        result(foreign.probe("nope0"))
    assert prober.calls == []


def test_periodic_probes_after_the_first_delay_then_every_interval(clock):
    """The service probes first after its start delay, then every interval, and
    stops cleanly (no delayed call left)."""
    prober = FakeProber()
    foreign = make(clock, prober, interval=100)
    foreign.startService()
    assert prober.calls == []
    clock.advance(foreign.first_delay)
    assert len(prober.calls) == 1
    clock.advance(100)
    assert len(prober.calls) == 2
    foreign.stopService()
    assert not clock.getDelayedCalls()


def test_interval_zero_means_on_demand_only(clock):
    """With interval 0 nothing is scheduled; probe() still works."""
    prober = FakeProber()
    foreign = make(clock, prober, interval=0)
    foreign.startService()
    assert not clock.getDelayedCalls()
    result(foreign.probe("eth1"))
    assert prober.calls == [("eth1", "52:54:00:00:01:01")]
    foreign.stopService()


def test_a_region_that_refuses_does_not_fail_the_probe(clock):
    """No region connection: the probe's result stands; the next probe reports again."""
    prober = FakeProber()
    foreign = make(clock, prober, report=lambda i, s: defer.fail(RuntimeError("no region")))
    assert result(foreign.probe())[0]["error"] is None


def test_what_to_probe_and_who_is_the_peer():
    """The served interfaces then the extra ones, each once; both addresses of
    every failover peer of the applied document."""
    spec = DhcpdSpec(4, "dhcpd", "c", "l", "p", "log", interfaces=("eth0", "br0"))
    assert probe_interfaces(spec, ("br0", "eth9")) == ("eth0", "br0", "eth9")
    assert probe_interfaces(DHCPState().spec, ("eth9",)) == ("eth9",)
    config = model.DHCPConfig(ip_version=4, failover_peers=(
        model.FailoverPeer("p", "primary", "198.18.0.1", "198.18.0.2"),))
    assert peer_addresses(config) == {ipaddress.ip_address("198.18.0.1"),
                                      ipaddress.ip_address("198.18.0.2")}
    assert peer_addresses(None) == set()


def test_the_region_records_every_server_seen_per_interface(clock):
    """Over the rack's real region connection (in memory), a probe's report
    arrives as ReportForeignDHCPServer with all servers of the interface, and
    an empty list when they are gone."""
    link = RegionLink()
    assert link.prepare() is None
    prober = FakeProber()
    prober.offers["eth0"] = [offer("198.18.0.3"), offer("198.18.0.4")]

    def report(interface, servers):
        d = link.rack.call(commands.ReportForeignDHCPServer, interface=interface,
                           servers=servers)
        link.pump.flush()
        return d

    foreign = make(clock, prober, report=report)
    result(foreign.probe())
    prober.offers["eth0"] = []
    result(foreign.probe())
    reports = link.region.of_kind("foreign-dhcp")
    assert [(rack, d["interface"], [s["ip"] for s in d["servers"]]) for rack, d in reports] == [
        ("rack-1", "eth0", ["198.18.0.3", "198.18.0.4"]), ("rack-1", "eth0", [])]
    assert set(reports[0][1]["servers"][0]) == {"ip", "mac", "server_id", "offered",
                                                "first_seen", "last_seen"}


def test_records_carry_what_the_metrics_read():
    """ForeignServer has the fields the metrics label and time by."""
    server = ForeignServer("eth0", "198.18.0.3", "198.18.0.3", "52:54:00:00:00:fe",
                           "198.18.0.200", 1.0, 2.0)
    assert server.to_dict() == {"interface": "eth0", "server_id": "198.18.0.3",
                                "address": "198.18.0.3", "mac": "52:54:00:00:00:fe",
                                "offered": "198.18.0.200", "first_seen": 1.0,
                                "last_seen": 2.0}


def test_a_probe_that_cannot_even_start_does_not_stop_the_schedule(clock):
    """When listing the interfaces fails (say, an unreadable applied state), the
    failure is logged and the next interval probes again."""
    prober = FakeProber()
    calls = []

    def interfaces():
        calls.append(None)
        if len(calls) == 1:
            raise OSError("applied state unreadable")
        return ("eth0",)

    foreign = ForeignProbe(clock, interfaces, lambda: SNAPSHOT, set, interval=100,
                           prober=prober, run_in_thread=lambda f, *a: defer.maybeDeferred(f, *a))
    foreign.startService()
    clock.advance(foreign.first_delay)
    clock.advance(100)
    assert len(calls) == 2 and prober.calls == [("eth0", RACK_MAC)]
    foreign.stopService()
