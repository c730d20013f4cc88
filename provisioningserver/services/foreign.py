"""The foreign DHCP probe: which DHCP servers other than ours answer on our links.

What is probed: every interface the applied IPv4 dhcpd serves, plus the
``foreign_probe_interfaces`` of rackd.yaml; or one named interface, on demand
(``rackctl probe IFACE``). Each probe sends DHCPDISCOVERs and collects the
OFFERs (`provisioningserver.network.dhcpprobe`, run in a thread: it blocks for
its window).

What is ours, and so left out: an offer whose server identifier or sender
address is any IPv4 address of this node (dhcpd picks its identifier from the
receiving interface, but a document may name another, so all of the node's
addresses count), or either address of a failover peer in the applied IPv4
document (the partner answers the same clients by design).

What is kept: per interface, the latest probe. A server seen in consecutive
probes keeps its ``first_seen``; one missing from a probe is dropped (the
report to the region then lacks it, which is how the region learns it went
away). After each probe of an interface the full list is sent to the region
(`ReportForeignDHCPServer`), the empty list too. A probe whose socket failed
keeps its error in status and reports nothing: it learnt nothing.
"""

import ipaddress

import attrs
from twisted.application import service
from twisted.internet import defer, task, threads
from twisted.logger import Logger

from provisioningserver.network import dhcpprobe

log = Logger()

FIRST_PROBE_DELAY = 30.0  # after start: let dhcpd come up and the region connect


class UnknownInterface(ValueError):
    """``rackctl probe IFACE`` named an interface this node does not have."""


@attrs.frozen
class ForeignServer:
    """One DHCP server other than this rack's, as last seen on ``interface``."""

    interface: str
    server_id: str  # option 54; "" when the offer had none
    address: str  # the offer's IP source
    mac: str  # the offer's link-layer source; "" when unknown
    offered: str  # yiaddr
    first_seen: float
    last_seen: float

    @property
    def key(self):
        return (self.interface, self.server_id, self.address, self.mac)

    def to_dict(self):
        return attrs.asdict(self)

    def to_region(self):
        """The region's record: ``ip`` and ``mac`` first (what MAAS carried), then the rest."""
        return {"ip": self.address, "mac": self.mac, "server_id": self.server_id,
                "offered": self.offered, "first_seen": self.first_seen,
                "last_seen": self.last_seen}


def ours(offer, own):
    """Whether ``offer`` (a `dhcpprobe.Offer`) comes from a server in ``own``."""
    return offer.server_id in own or offer.sender in own


def probe_interfaces(spec, extra):
    """The interfaces to probe: those the applied dhcpd ``spec`` serves (None:
    none), then ``extra``, each once, in that order."""
    names = list(spec.interfaces) if spec is not None else []
    return tuple(dict.fromkeys(names + list(extra)))


def peer_addresses(config):
    """Both addresses of every failover peer of the applied IPv4 ``config`` (or None)."""
    if config is None:
        return set()
    return {a for peer in config.failover_peers for a in (peer.address, peer.peer_address)}


def node_addresses(snapshot):
    return {a.ip for link in snapshot.links for a in link.addresses if a.version == 4}


def seen(interface, offers, own, previous, now):
    """Pure: this probe's offers -> the `ForeignServer` list, ``first_seen``
    carried over from ``previous`` (the last probe's list) for a server seen again."""
    before = {server.key: server for server in previous}
    found = {}
    for offer in offers:
        if ours(offer, own):
            continue
        server = ForeignServer(
            interface=interface, server_id=str(offer.server_id or ""),
            address=str(offer.sender), mac=offer.mac or "", offered=str(offer.offered),
            first_seen=now, last_seen=now)
        if server.key in before:
            server = attrs.evolve(server, first_seen=before[server.key].first_seen)
        found.setdefault(server.key, server)
    return list(found.values())


class ForeignProbe(service.Service):
    def __init__(self, clock, interfaces, links, peers, interval=600, report=None,
                 prober=dhcpprobe.probe, run_in_thread=threads.deferToThread,
                 first_delay=FIRST_PROBE_DELAY):
        self.clock = clock
        self.interfaces = interfaces  # () -> names probed by default
        self.links = links  # () -> the node's Snapshot
        self.peers = peers  # () -> failover peer addresses
        self.interval = interval  # seconds; 0: only on demand
        self.report = report  # (interface, [region records]) -> Deferred, or None
        self.prober = prober  # (interface, mac) -> dhcpprobe.ProbeResult, blocking
        self.run_in_thread = run_in_thread
        self.first_delay = first_delay
        self._latest = {}  # interface -> {interface, probed_at, servers, ignored, error}
        self._lock = defer.DeferredLock()
        self._loop = None
        self._first = None

    # The public face.

    def servers(self):
        """Every foreign server of each interface's latest probe, as `ForeignServer`s."""
        return [server for entry in self._latest.values() for server in entry["servers"]]

    def status(self):
        """For rackctl status: the interval and each interface's latest probe."""
        return {"interval": self.interval,
                "interfaces": [_entry_dict(e) for _, e in sorted(self._latest.items())]}

    def probe(self, interface=None):
        """Probe ``interface`` (or every default one) now: Deferred[[entry dict]].
        An interface this node lacks fails `UnknownInterface` before anything is sent."""
        snapshot = self.links()
        if interface is not None and interface not in snapshot:
            return defer.fail(UnknownInterface(
                f"no interface {interface!r} on this node (it has {', '.join(snapshot.names)})"))
        names = [interface] if interface is not None else list(self.interfaces())
        return self._lock.run(self._probe_all, names, snapshot)

    # The service.

    def startService(self):
        super().startService()
        if self.interval:
            self._first = self.clock.callLater(self.first_delay, self._start_loop)

    def stopService(self):
        if self._first is not None and self._first.active():
            self._first.cancel()
        self._first = None
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
        return super().stopService()

    def _start_loop(self):
        self._first = None
        self._loop = task.LoopingCall(self._tick)
        self._loop.clock = self.clock
        self._loop.start(self.interval, now=True)

    def _tick(self):
        d = defer.maybeDeferred(self.probe)
        d.addErrback(lambda failure: log.failure("Foreign DHCP probe failed", failure))
        return None  # a slow probe must not stop the loop

    # Small things.

    def _probe_all(self, names, snapshot):
        own = node_addresses(snapshot) | {ipaddress.ip_address(a) for a in self.peers()}
        return defer.gatherResults([self._probe_one(name, snapshot, own) for name in names],
                                   consumeErrors=True)

    def _probe_one(self, name, snapshot, own):
        mac = snapshot[name].mac if name in snapshot else None
        if name not in snapshot:
            return defer.succeed(self._keep_error(name, "no such interface on this node"))
        if not mac:
            return defer.succeed(self._keep_error(name, "the interface has no MAC address"))
        d = self.run_in_thread(self.prober, name, mac)
        d.addCallback(self._keep, own)
        d.addErrback(lambda failure: self._keep_error(name, _reason(failure.value)))
        return d

    def _keep(self, result, own):
        name, now = result.interface, self.clock.seconds()
        previous = self._latest.get(name, {}).get("servers", [])
        servers = seen(name, result.offers, own, previous, now)
        for server in servers:
            if server.key not in {s.key for s in previous}:
                log.warn("Foreign DHCP server on {i}: {sid} from {ip} ({mac}) offers {o}",
                         i=name, sid=server.server_id, ip=server.address, mac=server.mac,
                         o=server.offered)
        entry = self._latest[name] = {"interface": name, "probed_at": now, "servers": servers,
                                      "ignored": dict(result.ignored), "error": None}
        self._send(name, servers)
        return _entry_dict(entry)

    def _keep_error(self, name, reason):
        log.warn("Foreign DHCP probe on {i} failed: {e}", i=name, e=reason)
        previous = self._latest.get(name, {}).get("servers", [])
        entry = self._latest[name] = {"interface": name, "probed_at": self.clock.seconds(),
                                      "servers": previous, "ignored": {}, "error": reason}
        return _entry_dict(entry)

    def _send(self, name, servers):
        if self.report is None:
            return
        d = defer.maybeDeferred(self.report, name, [s.to_region() for s in servers])
        # No region connected, or it refused: the next probe reports again.
        d.addErrback(lambda failure: log.info("Foreign DHCP report for {i} not sent: {e}",
                                              i=name, e=failure.value))


def _entry_dict(entry):
    return {**entry, "servers": [s.to_dict() for s in entry["servers"]]}


def _reason(error):
    if isinstance(error, PermissionError):
        return f"{error} (the probe needs CAP_NET_RAW)"
    return f"{type(error).__name__}: {error}"
