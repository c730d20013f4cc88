"""The failover watch with a fake clock and a fake OMAPI client: periodic readings for
status, errors kept per peer, and partner-down carried out only when allowed."""

import pytest
from twisted.internet import defer, task

from provisioningserver.dhcp import model
from provisioningserver.dhcp.failover import drift
from provisioningserver.omapi.client import ChangeResult
from provisioningserver.omapi.errors import OmapiNotFound
from provisioningserver.omapi.objects import FailoverState, HostInfo
from provisioningserver.services.failoverwatch import FailoverWatch, PartnerDownRefused

START = 1_800_000_000.0
CONFIG = model.DHCPConfig(ip_version=4, omapi_key="a2V5LWZvci10ZXN0cy0xMjM0NTY=",
                          failover_peers=(model.FailoverPeer("vlan-40", "primary",
                                                             "198.18.40.2", "198.18.40.3"),))


class FakeOmapi:
    """dhcpd's failover-state objects as a table; records what it was told."""

    def __init__(self):
        self.states = {}  # name -> FailoverState
        self.down = False
        self.set_calls = []

    def failover_state(self, name):
        if self.down:
            return defer.fail(ConnectionRefusedError("connection refused"))
        if name not in self.states:
            return defer.fail(LookupError(f"no failover-state {name!r}"))
        return defer.succeed(self.states[name])

    def set_failover_local_state(self, name, state_name):
        self.set_calls.append((name, state_name))
        old = self.states[name]
        self.states[name] = FailoverState(name, state_name, old.partner_state, 0)
        return defer.succeed(None)

    def disconnect(self):
        return defer.succeed(None)


@pytest.fixture
def clock():
    clock = task.Clock()
    clock.advance(START)
    return clock


@pytest.fixture
def omapi():
    return FakeOmapi()


def make_watch(clock, omapi, config=CONFIG, **kwargs):
    made = []

    def factory(ip_version, key):
        made.append((ip_version, key))
        return omapi

    watch = FailoverWatch(clock, lambda: config, lambda: "unused", factory, **kwargs)
    watch.made = made
    return watch


def result(d):
    results = []
    d.addBoth(results.append)
    assert results, "the Deferred did not fire"
    return results[0]


def test_readings_every_interval(clock, omapi):
    """The watch reads at start and every interval; status gives the latest reading,
    through the document's own OMAPI key and the IPv4 dhcpd."""
    omapi.states["vlan-40"] = FailoverState("vlan-40", "normal", "normal", int(START) - 50)
    watch = make_watch(clock, omapi, interval=10)
    watch.startService()
    (entry,) = watch.status()["peers"]
    assert entry["local_state"] == "normal" and entry["for_seconds"] == 50
    omapi.states["vlan-40"] = FailoverState("vlan-40", "communications-interrupted", "normal",
                                            int(START) + 5)
    clock.advance(10)
    (entry,) = watch.status()["peers"]
    assert entry["local_state"] == "communications-interrupted" and entry["for_seconds"] == 5
    assert watch.status()["checked_at"] == START + 10
    assert watch.made == [(4, CONFIG.omapi_key)]
    watch.stopService()
    assert not clock.getDelayedCalls()


def test_unreachable_dhcpd_is_an_error_entry(clock, omapi):
    """When dhcpd does not answer, each peer shows the error, not a stale state."""
    omapi.down = True
    watch = make_watch(clock, omapi)
    result(watch.refresh())
    assert watch.status()["peers"] == [{"peer": "vlan-40", "error": "connection refused"}]


def test_no_peers_no_readings(clock, omapi):
    """Without an applied IPv4 document there is nothing to read and no client is made."""
    watch = make_watch(clock, omapi, config=None)
    result(watch.refresh())
    assert watch.status()["peers"] == [] and watch.made == []


def test_partner_down_after_the_safety_time(clock, omapi):
    """Out of touch longer than the safety time: dhcpd is told partner-down and the
    status shows the new state at once."""
    omapi.states["vlan-40"] = FailoverState("vlan-40", "communications-interrupted",
                                            "normal", int(START) - 700)
    watch = make_watch(clock, omapi, safety_time=600)
    outcome = result(watch.partner_down("vlan-40"))
    assert outcome["action"] == "partner-down"
    assert omapi.set_calls == [("vlan-40", "partner-down")]
    assert watch.status()["peers"][0]["local_state"] == "partner-down"


def test_partner_down_refused_too_early_unless_forced(clock, omapi):
    """Out of touch for less than the safety time: refused, dhcpd untouched; with force
    it is done."""
    omapi.states["vlan-40"] = FailoverState("vlan-40", "communications-interrupted",
                                            "normal", int(START) - 60)
    watch = make_watch(clock, omapi, safety_time=600)
    failure = result(watch.partner_down("vlan-40"))
    assert failure.check(PartnerDownRefused) and "540s left" in str(failure.value)
    assert omapi.set_calls == []
    assert result(watch.partner_down("vlan-40", force=True))["action"] == "partner-down"


def test_partner_down_when_already_down_does_nothing(clock, omapi):
    """Already in partner-down: nothing is sent to dhcpd."""
    omapi.states["vlan-40"] = FailoverState("vlan-40", "partner-down", "unknown-state", 1)
    watch = make_watch(clock, omapi)
    assert result(watch.partner_down("vlan-40"))["action"] == "nothing"
    assert omapi.set_calls == []


def test_partner_down_of_an_unknown_peer_is_refused(clock, omapi):
    """A peer the applied document does not declare is refused before dhcpd is asked."""
    watch = make_watch(clock, omapi)
    failure = result(watch.partner_down("other"))
    assert failure.check(PartnerDownRefused) and watch.made == []


class FakePeer:
    """The peer's dhcpd host objects, looked up by name."""

    def __init__(self, hosts):
        self.hosts = hosts  # name -> HostInfo
        self.lookups = 0

    def apply(self, changes):
        self.lookups += len(changes)
        return defer.succeed([
            ChangeResult(c, value=self.hosts[c.name]) if c.name in self.hosts
            else ChangeResult(c, error=OmapiNotFound("not found"))
            for c in changes])

    def disconnect(self):
        return defer.succeed(None)


HOSTS = (model.Host("node-1", "52:54:00:00:00:01", "198.18.40.11"),
         model.Host("node-2", "52:54:00:00:00:02", "198.18.40.12"),
         model.Host("node-3", "52:54:00:00:00:03", "198.18.40.13"))


def test_drift_names_hosts_missing_or_different_on_the_peer():
    """drift() lists desired hosts the peer lacks or holds with another MAC or IP,
    and says hosts only on the peer cannot be seen."""
    found = {"node-1": HostInfo("node-1", "52:54:00:00:00:01", "198.18.40.11"),
             "node-2": HostInfo("node-2", "52:54:00:00:00:02", "198.18.40.99")}
    report = drift(HOSTS, found)
    assert report["missing"] == ["node-3"]
    assert [d["host"] for d in report["different"]] == ["node-2"]
    assert report["different"][0]["peer"]["ip"] == "198.18.40.99"
    assert not report["in_sync"] and report["checked"] == 3
    assert "cannot be seen" in report["unseen"]
    assert drift(HOSTS[:1], found)["in_sync"]


def test_watch_checks_drift_on_the_peer_at_most_every_drift_interval(clock, omapi):
    """With a peer OMAPI factory, the watch looks every desired host up on the
    peer's address with the pair's key and keeps the drift in status."""
    omapi.states["vlan-40"] = FailoverState("vlan-40", "normal", "normal", int(START))
    peer = FakePeer({"node-1": HostInfo("node-1", "52:54:00:00:00:01", "198.18.40.11")})
    asked = []

    def peer_factory(address, key):
        asked.append((address, key))
        return peer

    config = model.DHCPConfig(ip_version=4, omapi_key=CONFIG.omapi_key,
                              failover_peers=CONFIG.failover_peers, hosts=HOSTS[:2])
    watch = make_watch(clock, omapi, config=config, interval=10, drift_interval=60,
                       peer_omapi_factory=peer_factory)
    watch.startService()
    report = watch.status()["drift"]["vlan-40"]
    assert asked == [("198.18.40.3", CONFIG.omapi_key)]
    assert report["missing"] == ["node-2"] and report["peer_address"] == "198.18.40.3"
    clock.advance(10)
    assert peer.lookups == 2, "no new drift check before drift_interval"
    clock.advance(50)
    assert peer.lookups == 4
    watch.stopService()


def test_state_change_is_announced(clock, omapi):
    """on_change runs when a peer's state changes (the rack then reports its
    services to the region), not on every reading."""
    omapi.states["vlan-40"] = FailoverState("vlan-40", "normal", "normal", int(START))
    changes = []
    watch = make_watch(clock, omapi, interval=10)
    watch.on_change(lambda: changes.append(1))
    watch.startService()
    clock.advance(10)
    assert changes == [1]
    omapi.states["vlan-40"] = FailoverState("vlan-40", "communications-interrupted",
                                            "unknown-state", int(START))
    clock.advance(10)
    assert changes == [1, 1]
    watch.stopService()
