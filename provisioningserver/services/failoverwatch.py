"""The failover watch: the state of each DHCPv4 failover peer, for status and partner-down.

Data path. The peers are those of the applied IPv4 document (DHCPv6 has no
failover protocol: its pools are split instead, see
`provisioningserver.dhcp.render.split_range`). Every ``interval`` seconds the
watch reads each peer's failover-state object from the local dhcpd over OMAPI
and keeps `provisioningserver.dhcp.failover.describe` of it; `status` returns
the latest reading without waiting, so `rackctl status` and the status sent
to the region never block on dhcpd. A reading that fails is kept as an error
entry for that peer: a dhcpd that is down, or does not know the peer yet,
shows as such rather than as the last good state.

Reservations on both peers: failover does not replicate OMAPI host objects,
so each rack applies the same hosts itself. With ``peer_omapi_factory``, the
watch also looks every desired host up by name on each peer's dhcpd (the
pair shares the region's OMAPI key) at most every ``drift_interval`` seconds
and reports the hosts missing or different there
(`provisioningserver.dhcp.failover.drift`).

`partner_down` reads the state afresh (a cached reading may be up to one
interval old, and the safety rule is about now), asks
`provisioningserver.dhcp.failover.partner_down`, and only on `Allow` tells
dhcpd over OMAPI to enter partner-down.
"""

from twisted.application import service
from twisted.internet import defer, task
from twisted.logger import Logger

from provisioningserver.dhcp.failover import (
    SAFETY_TIME, AlreadyDone, Allow, describe, drift, partner_down,
)
from provisioningserver.omapi.client import LookupHost
from provisioningserver.omapi.errors import OmapiNotFound

log = Logger()


class PartnerDownRefused(Exception):
    """rackctl failover partner-down was refused; the message says why."""


class FailoverWatch(service.Service):
    def __init__(self, clock, applied, key_source, omapi_factory, interval=10.0,
                 safety_time=SAFETY_TIME, peer_omapi_factory=None, drift_interval=60.0):
        self.clock = clock
        self.applied = applied  # () -> the applied IPv4 DHCPConfig, or None
        self.key_source = key_source  # () -> the agent's OMAPI key
        self.omapi_factory = omapi_factory  # (ip_version, key) -> OmapiClient
        self.interval = interval
        self.safety_time = safety_time
        self._client = None  # (key, client)
        self._readings = []
        self._checked_at = None
        self._loop = None
        self.peer_omapi_factory = peer_omapi_factory  # (address, key) -> OmapiClient
        self.drift_interval = drift_interval
        self._listeners = []  # () -> None, called when a peer's state changes
        self._drift = {}
        self._drift_at = None
        self._peer_clients = {}

    # The public face.

    def on_change(self, listener):
        """Call ``listener()`` whenever a peer's failover state changes (the
        region link reports the rack's services then)."""
        self._listeners.append(listener)

    def status(self):
        """The latest reading: {"peers": [entry per peer], "checked_at": seconds or None,
        "safety_time": seconds}."""
        return {"peers": list(self._readings), "checked_at": self._checked_at,
                "safety_time": self.safety_time, "drift": dict(self._drift)}

    def refresh(self):
        """Read every peer's state now; a Deferred that fires when the reading is kept."""
        names = self._peer_names()
        client = self._omapi() if names else None
        readings = [self._read(client, name) for name in names]
        d = defer.gatherResults(readings, consumeErrors=True)
        d.addCallback(self._keep)
        now = self.clock.seconds()
        if self.peer_omapi_factory is not None and names and (
                self._drift_at is None or now - self._drift_at >= self.drift_interval):
            self._drift_at = now
            d.addCallback(lambda result: self.check_drift().addCallback(lambda _: result))
        return d

    def check_drift(self):
        """Look each desired host up on every peer; keeps and returns {peer: drift}."""
        config = self.applied()
        if config is None or self.peer_omapi_factory is None:
            return defer.succeed({})
        key = config.omapi_key or self.key_source()
        checks = [self._drift_of(peer, config.hosts, key) for peer in config.failover_peers]
        d = defer.gatherResults(checks, consumeErrors=True)

        def keep(results):
            self._drift = dict(results)
            return self._drift

        return d.addCallback(keep)

    def _drift_of(self, peer, hosts, key):
        address = str(peer.peer_address)
        client = self._peer_clients.get(address)
        if client is None or client[0] != key:
            if client is not None:
                client[1].disconnect()
            client = self._peer_clients[address] = (key, self.peer_omapi_factory(address, key))
        d = client[1].apply([LookupHost(name=h.host) for h in hosts])

        def compare(results):
            errors = [r.error for r in results if r.error is not None
                      and not isinstance(r.error, OmapiNotFound)]
            if errors:
                return peer.name, {"peer_address": address, "error": str(errors[0])}
            found = {r.change.name: r.value for r in results if r.error is None}
            return peer.name, {"peer_address": address, **drift(hosts, found)}

        d.addCallback(compare)
        d.addErrback(lambda failure: (peer.name, {"peer_address": address,
                                                  "error": str(failure.value)}))
        return d

    def partner_down(self, name, force=False):
        """Deferred[dict]: {"action": "partner-down" | "nothing", "reason"}; fails with
        `PartnerDownRefused` when the rule (or the document) says no."""
        if name not in self._peer_names():
            return defer.fail(PartnerDownRefused(
                f"no failover peer {name!r} in the applied IPv4 document"))
        client = self._omapi()
        d = client.failover_state(name)

        def decided(state):
            decision = partner_down(state, self.clock.seconds(), self.safety_time, force)
            if isinstance(decision, AlreadyDone):
                return {"action": "nothing", "reason": decision.reason}
            if not isinstance(decision, Allow):
                raise PartnerDownRefused(decision.reason)
            log.warn("Failover peer {name}: entering partner-down: {reason}",
                     name=name, reason=decision.reason)
            done = client.set_failover_local_state(name, "partner-down")
            done.addCallback(lambda _: {"action": "partner-down", "reason": decision.reason})
            return done

        d.addCallback(decided)
        d.addCallback(self._refresh_after)
        return d

    # The service.

    def startService(self):
        super().startService()
        self._loop = task.LoopingCall(self._tick)
        self._loop.clock = self.clock
        self._loop.start(self.interval, now=True)

    def stopService(self):
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
        return super().stopService()

    # Small things.

    def _tick(self):
        d = defer.maybeDeferred(self.refresh)
        d.addErrback(lambda failure: log.failure("Reading failover state failed", failure))
        return None  # a slow dhcpd must not stop the loop

    def _peer_names(self):
        config = self.applied()
        return [p.name for p in config.failover_peers] if config is not None else []

    def _omapi(self):
        config = self.applied()
        key = (config.omapi_key if config is not None else None) or self.key_source()
        if self._client is None or self._client[0] != key:
            if self._client is not None:
                self._client[1].disconnect()
            self._client = (key, self.omapi_factory(4, key))
        return self._client[1]

    def _read(self, client, name):
        d = client.failover_state(name)
        d.addCallback(lambda state: describe(state, self.clock.seconds()))
        d.addErrback(lambda failure: {"peer": name, "error": str(failure.value)})
        return d

    def _keep(self, readings):
        changed = _states(readings) != _states(self._readings)
        self._readings = readings
        if changed:
            for listener in self._listeners:
                listener()
        self._checked_at = self.clock.seconds()
        return self.status()

    def _refresh_after(self, result):
        d = self.refresh()
        d.addBoth(lambda _: result)
        return d


def _states(readings):
    return [(r.get("peer"), r.get("local_state"), r.get("partner_state")) for r in readings]
