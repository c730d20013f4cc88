"""The rack's connections to its region controllers.

One `ClientService` per configured region endpoint dials it over TLS
(`provisioningserver.rpc.tls`) and redials with backoff when it goes away.
Each new connection is prepared before it counts as connected:

1. the secret file is read (a replaced secret takes effect now);
2. both sides challenge each other with `Authenticate`; a `GatedAMP`
   answers nothing but `Authenticate` until it has checked its peer, and a
   wrong answer closes the connection;
3. the rack waits until it has also answered the region's challenge (so the
   region has checked the rack before it reads what follows), registers
   (`RegisterRack`: id and name) and reports its services (`UpdateServices`).

A failed handshake closes the connection and the next attempt waits longer
(`Pacing`), so a rack with the wrong secret does not hammer its region.

A handshake that has not finished after ``handshake_timeout`` seconds closes
the connection, and until the peer is checked one box may hold no more than
`MAX_BOX_UNAUTHENTICATED` bytes (an Authenticate is about 100): a stranger
cannot make the rack hold megabytes for those 30 s. A lost region changes nothing locally: dhcpd keeps serving
what was applied; on reconnect the rack registers and reports again.
"""

import socket

from twisted.application import service
from twisted.application.internet import ClientService, backoffPolicy
from twisted.internet import defer, task
from twisted.internet.error import ConnectionClosed
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.protocols import amp
from zope.interface import implementer

from provisioningserver.leases.forward import NoRegionConnection
from provisioningserver.rpc import ampbox, commands
from provisioningserver.rpc.auth import Challenges, Handshake, SecretError, read_secret
from provisioningserver.rpc.guarded import GuardedAMP
from provisioningserver.rpc.rack_responders import RackResponders, services_report
from provisioningserver.system.backoff import Backoff

log = Logger()

HANDSHAKE_TIMEOUT = 30.0
MAX_BOX_UNAUTHENTICATED = 64 << 10


def parse_endpoint(text):
    """``"host:port"`` or ``"[v6addr]:port"`` -> (host, port); ValueError otherwise."""
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port, got {text!r}")
    return host, int(port)


class GatedAMP(GuardedAMP):
    """AMP that answers only `Authenticate` until it has checked its peer.

    ``secret_source`` reads the secret (at connection time); ``challenges``
    is the process-wide registry of our outstanding challenges; ``responders``
    is the `CommandLocator` served once the peer is checked.
    """

    def __init__(self, secret_source, challenges, clock, responders=None,
                 handshake_timeout=HANDSHAKE_TIMEOUT, on_lost=None):
        super().__init__()
        self.on_lost = on_lost
        self.secret_source = secret_source
        self.challenges = challenges
        self.clock = clock
        self.responders = responders
        self.handshake_timeout = handshake_timeout
        self.handshake = None
        self._answer_waiters = []
        self._timer = None

    @property
    def itself(self):
        """This protocol, also when reached through ClientService's proxy."""
        return self

    @property
    def peer_checked(self):
        return self.handshake is not None and self.handshake.peer_checked

    @property
    def max_box(self):
        return ampbox.MAX_BOX if self.peer_checked else MAX_BOX_UNAUTHENTICATED

    def connectionMade(self):
        super().connectionMade()
        try:
            secret = self.secret_source()
        except SecretError as error:
            log.error("Refusing the region connection: {error}", error=error)
            self.transport.loseConnection()
            return
        self.handshake = Handshake(secret, self.challenges)
        self._timer = self.clock.callLater(self.handshake_timeout, self._too_slow)

    def _too_slow(self):
        self._timer = None
        log.warn("Handshake not done after {t} s: closing", t=self.handshake_timeout)
        self.transport.loseConnection()

    def _maybe_done(self):
        if self.handshake.peer_checked and self.handshake.answered and self._timer:
            self._timer.cancel()
            self._timer = None

    @commands.Authenticate.responder
    def authenticate(self, message):
        if self.handshake is None:
            raise commands.InvalidChallenge("this side has no secret")
        try:
            reply = self.handshake.answer(message)
        except ValueError as error:
            raise commands.InvalidChallenge(str(error))
        waiters, self._answer_waiters = self._answer_waiters, []
        for waiter in waiters:
            waiter.callback(None)
        self._maybe_done()
        return reply

    def authenticate_peer(self):
        """Challenge the peer; a wrong answer closes the connection."""
        if self.handshake is None:
            return defer.fail(SecretError("no secret: the connection is closing"))

        def checked(result):
            self._maybe_done()
            return result

        def failed(failure):
            log.warn("Peer failed authentication: {e}", e=failure.value)
            self.transport.loseConnection()
            return failure

        d = self.handshake.challenge(
            lambda message: self.callRemote(commands.Authenticate, message=message))
        return d.addCallbacks(checked, failed)

    def when_answered(self):
        """Fires once we have answered the peer's challenge."""
        if self.handshake is not None and self.handshake.answered:
            return defer.succeed(None)
        waiter = defer.Deferred()
        self._answer_waiters.append(waiter)
        return waiter

    def locateResponder(self, name):
        if name == commands.Authenticate.commandName:
            return super().locateResponder(name)
        if not self.peer_checked:
            return self._refuse
        return self.responders.locateResponder(name) if self.responders else None

    @staticmethod
    def _refuse(box):
        return defer.fail(amp.RemoteAmpError(
            b"NOT_AUTHENTICATED", "authenticate first: the shared secret is not yet proven"))

    def connectionLost(self, reason):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiters, self._answer_waiters = self._answer_waiters, []
        for waiter in waiters:
            waiter.errback(reason)
        if self.on_lost is not None:
            self.on_lost(self)
        super().connectionLost(reason)


def _peer(protocol):
    """host:port of a connection's far end, for the log ("?" once it is gone)."""
    transport = getattr(protocol, "transport", None)
    try:
        address = transport.getPeer()
        return f"{address.host}:{address.port}"
    except AttributeError:
        return "?"


class Pacing:
    """Delay before the next connection attempt: none after a good session,
    doubling (up to ``longest``) after each handshake the region failed.

    A handshake that failed because the connection went away (a cut link, a
    region restarting) is not a refusal: the region answers a wrong secret
    or a bad challenge with a declared error, never with a bare close. Such
    cuts double the delay too, but only up to ``cut_longest``, so a link
    that flaps through handshakes is redialled within seconds, not a minute.
    """

    def __init__(self, first=1.0, longest=60.0, cut_longest=4.0):
        self.refused = Backoff(initial=first, maximum=longest)
        self.cut = Backoff(initial=first, maximum=min(cut_longest, longest))
        self.failures = 0
        self.cuts = 0

    def delay(self):
        return max(self.refused.delay(self.failures), self.cut.delay(self.cuts))

    def failed(self, error=None):
        """Count a failed handshake; ``error`` is what failed it."""
        if isinstance(error, ConnectionClosed):
            self.cuts += 1
        else:
            self.failures += 1

    def succeeded(self):
        self.failures = self.cuts = 0


@implementer(IStreamClientEndpoint)
class PacedEndpoint:
    """Connects through ``endpoint`` after the pacing's delay."""

    def __init__(self, endpoint, pacing, clock):
        self.endpoint, self.pacing, self.clock = endpoint, pacing, clock

    def connect(self, factory):
        delay = self.pacing.delay()
        if not delay:
            return self.endpoint.connect(factory)
        return task.deferLater(self.clock, delay, self.endpoint.connect, factory)


class RackFactory(Factory):
    """Builds the rack's side of each region connection."""

    def __init__(self, secret_source, challenges, clock, responders, lost=None):
        self.secret_source, self.challenges = secret_source, challenges
        self.clock, self.responders, self.lost = clock, responders, lost

    def buildProtocol(self, addr):
        protocol = GatedAMP(self.secret_source, self.challenges, self.clock, self.responders,
                            on_lost=self.lost)
        protocol.factory = self
        return protocol


class RegionClients(service.MultiService):
    """One reconnecting client per region endpoint, and the ready connections."""

    def __init__(self, coalescer, rack_id, rack_name, secret_source, clock,
                 endpoint_for, version="rackd"):
        super().__init__()
        self.coalescer = coalescer
        self.rack_id, self.rack_name, self.version = rack_id, rack_name, version
        self.clock = clock
        self.ready = []
        self.last_error = None  # why the latest connection attempt failed, for status
        self.factory = RackFactory(secret_source, Challenges(), clock,
                                   RackResponders(coalescer), lost=self._lost)
        self.endpoint_for = endpoint_for  # "host:port" -> IStreamClientEndpoint
        coalescer.on_change(lambda ip_version: self.report_services())

    def add_region(self, text):
        pacing = Pacing()
        client = ClientService(
            PacedEndpoint(self.endpoint_for(text), pacing, self.clock), self.factory,
            clock=self.clock, retryPolicy=backoffPolicy(initialDelay=1.0, maxDelay=60.0),
            prepareConnection=lambda protocol: self.prepare(protocol, pacing))
        client.setName(f"region {text}")
        client.setServiceParent(self)
        return client

    @defer.inlineCallbacks
    def prepare(self, protocol, pacing=None):
        """Handshake, then register and report: None, or the error that closed
        the connection.

        Why a failure is returned, not raised: the connection is often already
        lost when the handshake fails, and `ClientService` (Twisted 26) has no
        transition for a disconnect once a failed preparation has moved it to
        waiting. So the attempt counts as connected-then-lost, and `Pacing`
        supplies the growing delay that a failed attempt deserves.
        """
        try:
            yield protocol.authenticate_peer()
            yield protocol.when_answered()
            reply = yield protocol.callRemote(
                commands.RegisterRack, rack_id=self.rack_id, name=self.rack_name,
                version=self.version)
            yield protocol.callRemote(
                commands.UpdateServices, services=services_report(self.coalescer.status()))
        except defer.CancelledError:
            # Stopping: ClientService cancelled this attempt and expects it to fail.
            if protocol.transport is not None:
                protocol.transport.loseConnection()
            raise
        except Exception as error:
            self.last_error = f"{type(error).__name__}: {error}"
            log.warn("Region connection not usable: {e}", e=self.last_error)
            if protocol.transport is not None:
                protocol.transport.loseConnection()
            if pacing is not None:
                pacing.failed(error)
            return error
        if pacing is not None:
            pacing.succeeded()
        log.info("Connected to region {region} ({peer}) and registered as {name}",
                 region=reply["region"], peer=_peer(protocol), name=self.rack_name)
        self.ready.append(protocol.itself)

    def _lost(self, protocol):
        if protocol in self.ready:
            self.ready.remove(protocol)
            log.info("Region connection to {peer} lost", peer=_peer(protocol))

    def report_services(self):
        services = services_report(self.coalescer.status())
        for protocol in list(self.ready):
            protocol.callRemote(commands.UpdateServices, services=services).addErrback(
                lambda f: log.warn("UpdateServices failed: {e}", e=f.value))

    def call(self, command, **arguments):
        """Send a rack -> region command on the first ready connection."""
        if not self.ready:
            return defer.fail(NoRegionConnection("no region connection is ready"))
        return self.ready[0].callRemote(command, **arguments)


def region_service(config, coalescer, reactor):
    """The region clients for ``config.region`` (see `RackdConfig`)."""
    # Only a rack with a region loads TLS (see system.notls).
    from provisioningserver.rpc.tls import FreshTLSEndpoint

    def endpoint_for(text):
        host, port = parse_endpoint(text)
        return FreshTLSEndpoint(reactor, host, port, ca_file=config.region_ca,
                                fingerprint=config.region_fingerprint)

    name = config.rack_name or socket.gethostname()
    clients = RegionClients(
        coalescer, rack_id=config.rack_id or name, rack_name=name,
        secret_source=lambda: read_secret(config.secret_file), clock=reactor,
        endpoint_for=endpoint_for)
    clients.setName("region")
    for text in config.region:
        clients.add_region(text)
    return clients
