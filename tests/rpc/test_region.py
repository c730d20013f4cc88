"""The rack's region connection in memory: handshake, gating, registration, responders."""

import json

import pytest
from twisted.internet import defer, task
from twisted.internet.error import ConnectionClosed, ConnectionDone, ConnectionLost
from twisted.protocols import amp
from twisted.test import iosim

from provisioningserver.dhcp.errors import DocumentError, Problem
from provisioningserver.dhcpd.check import CheckResult, DhcpdError
from provisioningserver.rpc import commands
from provisioningserver.rpc.auth import AuthenticationFailed, read_secret
from provisioningserver.config import config_from_mapping
from provisioningserver.rpc.region import (
    HANDSHAKE_TIMEOUT, Pacing, RegionClients, parse_endpoint)
from provisioningserver.services.coalesce import ConfigureTimeout
from provisioningserver.services.configure import ConfigRejected, DhcpdMissing, Outcome
from provisioningserver.system.packed import unpack
from tests.region.certs import write_secret
from tests.region.server import RegionConnection, TestRegion

SECRET = b"s" * 32


class FakeCoalescer:
    """The coalescer's interface; configure answers at once or with ``raises``."""

    def __init__(self, raises=None):
        self.raises = raises
        self.received = []
        self.listeners = []

    def configure(self, ip_version, document, dry_run=False):
        self.received.append((ip_version, unpack(document), dry_run))  # as it came: packed
        if self.raises is not None:
            return defer.fail(self.raises)
        return defer.succeed(Outcome(ip_version, "restarted", "the config changed", "abcd"))

    def status(self):
        return {"v4": {"state": "running", "reason": None},
                "v6": {"state": "off", "reason": "no document"}}

    def on_change(self, listener):
        self.listeners.append(listener)


class Link:
    """A rack and a test region joined in memory."""

    def __init__(self, rack_secret=SECRET, region_secret=SECRET, coalescer=None,
                 region_side=None):
        self.clock = task.Clock()
        self.coalescer = coalescer or FakeCoalescer()
        self.region = TestRegion(self._source(region_secret), self.clock)
        self.rack = RegionClients(self.coalescer, "rack-1", "rack-one",
                                  self._source(rack_secret), self.clock, endpoint_for=None)
        region_side = region_side or RegionConnection(self.region)
        self.rack_protocol, self.region_protocol, self.pump = iosim.connectedServerAndClient(
            lambda: region_side, lambda: self.rack.factory.buildProtocol(None), greet=False)
        self.rack_transport = self.rack_protocol.transport

    @staticmethod
    def _source(secret):
        return secret if callable(secret) else (lambda: secret)

    def prepare(self):
        """None once registered, or the error that closed the connection."""
        results = []
        self.rack.prepare(self.rack_protocol).addBoth(results.append)
        self.pump.flush()
        return results[0] if results else None

    def call(self, protocol, command, **arguments):
        results = []
        protocol.callRemote(command, **arguments).addBoth(results.append)
        self.pump.flush()
        return results[0] if results else None

    @property
    def closed(self):
        return self.rack_transport.disconnecting or self.rack_transport.disconnected


def test_right_secret_authenticates_registers_and_reports_services():
    """With the same secret both sides check each other; the rack registers
    (id, name) and reports its dhcpd services; no handshake timer is left."""
    link = Link()
    assert link.prepare() is None
    assert link.region.of_kind("registered") == [("rack-1", {"name": "rack-one",
                                                             "version": "rackd"})]
    services = link.region.of_kind("services")[0][1]["services"]
    assert [(s["service"], s["status"]) for s in services] == [("dhcpd", "running"),
                                                               ("dhcpd6", "off")]
    assert link.rack.ready == [link.rack_protocol]
    assert link.rack_protocol.peer_checked and link.region_protocol.peer_checked
    assert not link.clock.getDelayedCalls()


def test_region_configures_the_rack_after_the_handshake():
    """ConfigureDHCPv4 from the region reaches the coalescer; the outcome comes back."""
    link = Link()
    link.prepare()
    reply = link.call(link.region_protocol, commands.ConfigureDHCPv4, document={"hosts": []})
    assert reply["outcome"]["action"] == "restarted"
    assert link.coalescer.received == [(4, {"hosts": []}, False)]
    status = link.call(link.region_protocol, commands.GetDHCPStatus)
    assert status["status"]["v4"]["state"] == "running"


@pytest.mark.parametrize("rack_secret, region_secret", [
    (SECRET, b"x" * 32), (b"x" * 32, SECRET)], ids=["rack-checks-region", "region-checks-rack"])
def test_wrong_secret_closes_the_connection(rack_secret, region_secret):
    """When the secrets differ the handshake fails, the connection is closed and
    nothing is registered."""
    link = Link(rack_secret, region_secret)
    result = link.prepare()
    assert isinstance(result, Exception)
    assert link.closed
    assert link.region.of_kind("registered") == []
    assert link.rack.ready == []


def test_a_peer_that_never_authenticates_gets_nothing_and_is_dropped():
    """A client that skips Authenticate has every other command refused with
    NotAuthenticated, and the handshake deadline closes its connection."""
    link = Link()
    intruder = amp.AMP()
    clock = link.clock
    rack_side = link.rack.factory.buildProtocol(None)
    _, _, pump = iosim.connectedServerAndClient(lambda: rack_side, lambda: intruder)
    results = []
    intruder.callRemote(commands.ConfigureDHCPv4, document={}).addBoth(results.append)
    intruder.callRemote(commands.GetDHCPStatus).addBoth(results.append)
    pump.flush()
    assert [r.check(commands.NotAuthenticated) for r in results] == [commands.NotAuthenticated] * 2
    assert link.coalescer.received == []
    clock.advance(HANDSHAKE_TIMEOUT)
    assert rack_side.transport.disconnecting


def test_a_command_before_authentication_is_refused_and_later_accepted():
    """RegisterRack sent before the handshake is refused (the connection stays);
    after the handshake the same command is accepted."""
    link = Link()
    early = link.call(link.rack_protocol, commands.RegisterRack, rack_id="r", name="n")
    assert early.check(commands.NotAuthenticated)
    assert not link.closed
    assert link.prepare() is None
    assert link.region.of_kind("registered")


def test_a_replayed_digest_fails_the_next_handshake():
    """A region that answers the rack's new challenge with a digest recorded from an
    earlier handshake is rejected and the connection closed."""
    first = Link()
    recorded = first.call(first.region_protocol, commands.Authenticate, message=b"m" * 16)
    # The recorded answer was to some challenge; the impostor replays it for every one.

    class Replaying(RegionConnection):
        @commands.Authenticate.responder
        def authenticate(self, message):
            return recorded

    second = Link()
    impostor = Replaying(second.region)
    link = Link(region_side=impostor)
    assert isinstance(link.prepare(), AuthenticationFailed)
    assert link.closed and link.rack.ready == []


def test_reflecting_the_racks_challenge_is_refused():
    """A region that hands the rack its own challenge back gets InvalidChallenge."""
    link = Link()
    seen = []

    class Reflecting(RegionConnection):
        def connectionMade(self):
            amp.AMP.connectionMade(self)  # no challenge of its own

        @commands.Authenticate.responder
        def authenticate(self, message):
            seen.append(message)
            return self.callRemote(commands.Authenticate, message=message)

    link = Link(region_side=Reflecting(link.region))
    assert isinstance(link.prepare(), commands.InvalidChallenge)
    assert seen


def test_a_replaced_secret_file_applies_to_the_next_connection(tmp_path):
    """The rack reads its secret file per connection: after the file changes, the
    next connection uses the new secret."""
    path = str(tmp_path / "secret")
    write_secret(path, SECRET)
    assert Link(rack_secret=lambda: read_secret(path)).prepare() is None
    write_secret(path, b"n" * 32)
    assert Link(rack_secret=lambda: read_secret(path)).prepare() is not None
    assert Link(rack_secret=lambda: read_secret(path), region_secret=b"n" * 32).prepare() is None


def test_services_are_reported_again_after_a_configure():
    """After a coalesced run the rack sends UpdateServices to each ready region."""
    link = Link()
    link.prepare()
    for listener in link.coalescer.listeners:
        listener(4)
    link.pump.flush()
    assert len(link.region.of_kind("services")) == 2


@pytest.mark.parametrize("error, expected", [
    (DocumentError([Problem("hosts[0].mac", "not a MAC")]),
     [{"error": "not a MAC", "field": "hosts[0].mac", "line_num": None, "line": None,
       "position": None}]),
    (ConfigRejected(CheckResult(ok=False, errors=(DhcpdError("expecting ;", 12, "foo", 4),),
                                output="")),
     [{"error": "expecting ;", "field": None, "line_num": 12, "line": "foo", "position": 4}]),
    (None, []),
], ids=["document-error", "dhcpd-rejects", "valid"])
def test_validate_returns_the_errors_as_a_list(error, expected):
    """ValidateDHCPv4Config runs a dry run and lists our field errors or dhcpd's
    line errors; an empty list means valid."""
    link = Link(coalescer=FakeCoalescer(raises=error))
    link.prepare()
    reply = link.call(link.region_protocol, commands.ValidateDHCPv4Config, document={"x": 1})
    assert reply == {"errors": expected}
    assert link.coalescer.received == [(4, {"x": 1}, True)]


@pytest.mark.parametrize("error, declared, check", [
    (ConfigureTimeout(6, 120, "running", False), commands.ConfigureTimeout,
     lambda d: d["state_known"] is False and d["phase"] == "running"),
    (DocumentError([Problem("shared_networks", "expected a list")]), commands.InvalidDocument,
     lambda d: d["errors"][0]["field"] == "shared_networks"),
    (DhcpdMissing("dhcpd not found"), commands.EnvironmentProblem,
     lambda d: d["error"] == "dhcpd not found"),
], ids=["timeout", "invalid-document", "dhcpd-missing"])
def test_configure_failures_are_declared_errors(error, declared, check):
    """A failed configure reaches the region as its declared error with a JSON
    description; the connection stays up."""
    link = Link(coalescer=FakeCoalescer(raises=error))
    link.prepare()
    failure = link.call(link.region_protocol, commands.ConfigureDHCPv6, document={})
    failure.trap(declared)
    assert check(json.loads(str(failure.value)))
    assert not link.closed


@pytest.mark.parametrize("command, version", [(commands.ConfigureDHCPv4, 4),
                                               (commands.ConfigureDHCPv6, 6)])
def test_region_document_without_shared_networks_still_stops(command, version):
    """The region's configure keeps its meaning: a document with no shared
    networks reaches the coalescer (which stops that family), with no
    allow_stop asked for, unlike rackctl's control command."""
    link = Link()
    link.prepare()
    link.call(link.region_protocol, command, document={"shared_networks": []})
    assert link.coalescer.received == [(version, {"shared_networks": []}, False)]


def test_reports_before_registration_are_refused():
    """The test region refuses UpdateLeases from an authenticated but unregistered rack."""
    link = Link()
    link.rack_protocol.authenticate_peer()
    link.pump.flush()
    failure = link.call(link.rack_protocol, commands.UpdateLeases, events=[])
    failure.trap(commands.NotRegistered)


@pytest.mark.parametrize("text, expected", [
    ("region.example:5250", ("region.example", 5250)),
    ("[2001:db8::1]:5250", ("2001:db8::1", 5250)),
])
def test_endpoints_parse(text, expected):
    """host:port and [v6]:port are region endpoints."""
    assert parse_endpoint(text) == expected


@pytest.mark.parametrize("text", ["region", "region:", "region:99999", ":5250"])
def test_bad_endpoints_are_refused(text):
    """Malformed endpoints raise ValueError naming the text."""
    with pytest.raises(ValueError, match="host:port"):
        parse_endpoint(text)


def test_pacing_doubles_after_failed_handshakes_and_resets_after_a_good_one():
    """No delay at first; 1, 2, 4 … s (capped) after failures; none after success."""
    pacing = Pacing(first=1.0, longest=5.0)
    delays = [pacing.delay()]
    for _ in range(5):
        pacing.failed()
        delays.append(pacing.delay())
    assert delays == [0, 1.0, 2.0, 4.0, 5.0, 5.0]
    pacing.succeeded()
    assert pacing.delay() == 0


def test_pacing_caps_handshakes_cut_by_a_lost_connection_lower_than_refusals():
    """A handshake the connection's loss cut short doubles the delay only up to
    the cut cap (a flapping link is redialled within seconds); a refusal still
    doubles up to the long cap; a good session clears both."""
    pacing = Pacing(first=1.0, longest=60.0, cut_longest=4.0)
    for _ in range(8):
        pacing.failed(ConnectionLost("cut"))
    assert pacing.delay() == 4.0
    for _ in range(4):
        pacing.failed(AuthenticationFailed("the peer does not know the shared secret"))
    assert pacing.delay() == 8.0
    pacing.failed(ConnectionDone())
    assert pacing.delay() == 8.0
    pacing.succeeded()
    assert pacing.delay() == 0


def test_a_connection_lost_mid_handshake_counts_as_a_cut_not_a_refusal():
    """When the link goes away before the handshake ends, prepare returns the
    loss and the rack's pacing counts a cut: repeated, the redial delay stays
    at the cut cap instead of growing towards a minute."""
    pacing = Pacing(first=1.0, longest=60.0, cut_longest=4.0)
    for _ in range(6):
        link = Link()
        results = []
        link.rack.prepare(link.rack_protocol, pacing).addBoth(results.append)
        link.rack_transport.loseConnection()
        link.pump.flush()
        assert isinstance(results[0], ConnectionClosed), results
        assert link.rack.ready == []
    assert (pacing.cuts, pacing.failures) == (6, 0)
    assert pacing.delay() == 4.0


def test_region_keys_are_read_from_the_config():
    """region, region_ca/region_fingerprint, secret_file, rack_id and rack_name are
    config keys; the default is standalone (no region)."""
    assert config_from_mapping({}).region == ()
    config = config_from_mapping({"region": ["198.18.0.1:5250", "[2001:db8::1]:5250"],
                                  "region_fingerprint": "ab" * 32, "secret_file": "/s",
                                  "rack_id": "r1", "rack_name": "rack one"})
    assert config.region == ("198.18.0.1:5250", "[2001:db8::1]:5250")
    assert (config.secret_file, config.rack_id, config.rack_name) == ("/s", "r1", "rack one")


@pytest.mark.parametrize("data, path", [
    ({"region": "198.18.0.1:5250", "region_ca": "/ca"}, "region"),
    ({"region": ["198.18.0.1"], "region_ca": "/ca"}, "region[0]"),
    ({"region": ["198.18.0.1:5250"]}, "region_ca"),
    ({"region_fingerprint": 5}, "region_fingerprint"),
])
def test_bad_region_keys_name_the_key(data, path):
    """A region list that is not host:port entries, or a region without a CA or
    fingerprint to check it by, is refused naming the key."""
    with pytest.raises(DocumentError) as caught:
        config_from_mapping(data)
    assert caught.value.paths == [path]


class MemoryRegionEndpoint:
    """An endpoint whose every connect joins a fresh in-memory region connection."""

    def __init__(self, region):
        self.region = region
        self.pumps = []

    def connect(self, factory):
        rack_side = factory.buildProtocol(None)
        region_side = RegionConnection(self.region)
        pump = iosim.connect(region_side, iosim.FakeTransport(region_side, True),
                             rack_side, iosim.FakeTransport(rack_side, False), greet=False)
        self.pumps.append(pump)
        return defer.succeed(rack_side)


def test_the_rack_registers_again_after_the_region_comes_back():
    """ClientService redials after a lost connection (with backoff) and the rack
    authenticates, registers and reports its services again."""
    clock = task.Clock()
    region = TestRegion(lambda: SECRET, clock)
    endpoint = MemoryRegionEndpoint(region)
    clients = RegionClients(FakeCoalescer(), "rack-1", "rack-one", lambda: SECRET, clock,
                            endpoint_for=lambda text: endpoint)
    clients.add_region("region:5250")
    clients.startService()
    endpoint.pumps[0].flush()
    assert len(region.of_kind("registered")) == 1 and len(clients.ready) == 1
    region.racks["rack-1"].transport.loseConnection()
    endpoint.pumps[0].flush()
    assert clients.ready == [] and region.of_kind("disconnected")
    clock.advance(60)
    endpoint.pumps[1].flush()
    assert len(region.of_kind("registered")) == 2
    assert len(region.of_kind("services")) == 2
    assert len(clients.ready) == 1
    clients.stopService()
    endpoint.pumps[1].flush()
