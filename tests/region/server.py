"""A test region controller: accepts racks over TLS, authenticates them,
records what they send and calls their commands.

In a test::

    region = TestRegion(secret_source=lambda: secret, clock=reactor)
    port = yield listen(reactor, region, 0, cert_file, key_file)
    rack = yield region.wait_for_rack()
    reply = yield region.call(rack, ConfigureDHCPv4, document=...)

From a shell (the demo, or a lab test driving it as a process)::

    python -m tests.region.server --port 5250 --secret-file S --cert C --key K \
        [--document-v4 doc.yaml] [--document-v6 doc.yaml] [--control SOCKET] \
        [--lease-reply-delay SECONDS]

prints one JSON line per event (listening, registered, services, leases,
foreign-dhcp, configured, disconnected) and, with --document-v*, configures
every rack that registers. With --control, a unix socket takes commands
for the racks (see `tests.region.control`).
"""

import argparse
import json
import sys

import yaml
from twisted.internet import defer, endpoints, ssl, task
from twisted.internet.protocol import Factory
from twisted.protocols import amp

from provisioningserver.rpc import commands
from provisioningserver.rpc.auth import Challenges, read_secret
from provisioningserver.rpc.region import GatedAMP
from tests.region.control import serve as serve_control


class RegionLocator(amp.CommandLocator):
    """The region's answers to one rack connection."""

    def __init__(self, region, connection):
        super().__init__()
        self.region, self.connection = region, connection

    def _registered(self):
        rack = self.region.rack_of(self.connection)
        if rack is None:
            raise commands.NotRegistered("RegisterRack first")
        return rack

    @commands.RegisterRack.responder
    def register(self, rack_id, name, version=None):
        if rack_id in self.region.refuse:
            raise commands.RegistrationRefused(f"rack {rack_id} is not welcome here")
        self.region.registered(self.connection, rack_id, name, version)
        return {"region": self.region.name}

    @commands.UpdateServices.responder
    def update_services(self, services):
        self.region.record("services", self._registered(), services=services)
        return {}

    @commands.UpdateLeases.responder
    def update_leases(self, events):
        rack = self._registered()
        new = self.region.store(rack, events)
        self.region.record("leases", rack, count=len(events), new=new, events=events)
        reply = {"stored": len(events)}
        if not self.region.lease_reply_delay:
            return reply
        # A busy region: stored now, answered later (a cut link loses the reply).
        return task.deferLater(self.region.clock, self.region.lease_reply_delay, lambda: reply)

    @commands.ReportForeignDHCPServer.responder
    def report_foreign(self, interface, servers):
        self.region.record("foreign-dhcp", self._registered(), interface=interface,
                           servers=servers)
        return {}


class RegionConnection(GatedAMP):
    """The region's side of one rack connection: it challenges the rack first."""

    def __init__(self, region):
        super().__init__(region.secret_source, region.challenges, region.clock,
                         on_lost=region.lost)
        self.responders = RegionLocator(region, self)
        self.region = region

    def connectionMade(self):
        super().connectionMade()
        if self.handshake is not None:
            self.region.connected(self)


class TestRegion:
    """What racks sent (``events``), who is connected (``racks``)."""

    __test__ = False  # not a pytest class

    def __init__(self, secret_source, clock, name="test-region", emit=None):
        self.secret_source, self.clock, self.name = secret_source, clock, name
        self.challenges = Challenges()
        self.racks = {}  # rack_id -> connection
        self.names = {}  # rack_id -> name
        self.events = []  # (kind, rack_id, details)
        # (rack_id, journal, id) of every lease event stored: a batch sent
        # again (its reply lost) is stored once, as the protocol asks.
        self.stored = set()
        self.lease_reply_delay = 0.0  # seconds between storing a batch and the reply
        self.refuse = set()  # rack ids to refuse at registration
        self.emit = emit or (lambda event: None)
        self._waiters = []  # (kind, Deferred)

    def connected(self, connection):
        """The region's first move on a new connection: challenge the rack."""
        connection.authenticate_peer().addErrback(
            lambda f: self.record("auth-failed", None, error=str(f.value)))

    def rack_of(self, connection):
        for rack_id, known in self.racks.items():
            if known is connection:
                return rack_id
        return None

    def registered(self, connection, rack_id, name, version):
        self.racks[rack_id] = connection
        self.names[rack_id] = name
        self.record("registered", rack_id, name=name, version=version)

    def record(self, kind, rack_id, **details):
        self.events.append((kind, rack_id, details))
        self.emit({"event": kind, "rack": rack_id, **details})
        waiting = [w for w in self._waiters if w[0] == kind]
        self._waiters = [w for w in self._waiters if w[0] != kind]
        for _, waiter in waiting:
            waiter.callback(rack_id)

    def store(self, rack_id, events):
        """Keep what is new of ``events``; how many were new."""
        before = len(self.stored)
        self.stored.update((rack_id, e.get("journal"), e.get("id")) for e in events)
        return len(self.stored) - before

    def of_kind(self, kind):
        return [(rack, details) for k, rack, details in self.events if k == kind]

    def wait_for(self, kind):
        """Fires with the rack's id at the next event of ``kind``."""
        d = defer.Deferred()
        self._waiters.append((kind, d))
        return d

    def wait_for_rack(self):
        """Fires once a rack has registered and reported its services (its
        connection is then fully prepared)."""
        return self.wait_for("services")

    def call(self, rack_id, command, **arguments):
        return self.racks[rack_id].callRemote(command, **arguments)

    def lost(self, connection):
        rack_id = self.rack_of(connection)
        if rack_id is not None:
            del self.racks[rack_id]
            self.record("disconnected", rack_id)


class RegionFactory(Factory):
    def __init__(self, region):
        self.region = region

    def buildProtocol(self, addr):
        connection = RegionConnection(self.region)
        connection.factory = self
        return connection


def listen(reactor, region, port, cert_file, key_file, interface="127.0.0.1"):
    """Serve ``region`` over TLS; Deferred of the listening port."""
    with open(cert_file, "rb") as stream:
        cert = stream.read()
    with open(key_file, "rb") as stream:
        key = stream.read()
    options = ssl.PrivateCertificate.loadPEM(cert + b"\n" + key).options()
    endpoint = endpoints.SSL4ServerEndpoint(reactor, port, options, interface=interface)
    return endpoint.listen(RegionFactory(region))


def _load(path):
    with open(path, encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def main(argv=None):
    parser = argparse.ArgumentParser(description="A test region controller for rackd.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--interface", default="127.0.0.1")
    parser.add_argument("--secret-file", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--document-v4")
    parser.add_argument("--document-v6")
    parser.add_argument("--control", help="unix socket for tests.region.control requests")
    parser.add_argument("--lease-reply-delay", type=float, default=0.0,
                        help="answer UpdateLeases this many seconds after storing the batch")
    args = parser.parse_args(argv)
    documents = {commands.ConfigureDHCPv4: args.document_v4,
                 commands.ConfigureDHCPv6: args.document_v6}

    def emit(event):
        print(json.dumps(event, default=str), flush=True)

    def run(reactor):
        region = TestRegion(lambda: read_secret(args.secret_file), reactor, emit=emit)
        region.lease_reply_delay = args.lease_reply_delay

        def configure(rack_id):
            region.wait_for("registered").addCallback(configure)
            for command, path in documents.items():
                if path:
                    d = region.call(rack_id, command, document=_load(path))
                    d.addCallbacks(
                        lambda reply, c=command: emit({"event": "configured", "rack": rack_id,
                                                       "command": c.__name__, **reply}),
                        lambda f, c=command: emit({"event": "configure-failed", "rack": rack_id,
                                                   "command": c.__name__,
                                                   "error": type(f.value).__name__,
                                                   "description": str(f.value)}))

        region.wait_for("registered").addCallback(configure)
        if args.control:
            serve_control(reactor, region, args.control)
        d = listen(reactor, region, args.port, args.cert, args.key, args.interface)
        d.addCallback(lambda port: emit({"event": "listening", "port": port.getHost().port}))
        return d.addCallback(lambda _: defer.Deferred())  # serve until killed

    from twisted.internet.task import react
    react(run)


if __name__ == "__main__":
    sys.exit(main())
