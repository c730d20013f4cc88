"""One rack and the test region over real TLS on 127.0.0.1, in a process of its own
(a Twisted reactor runs once per process, so pytest runs this as a child).

    python -m tests.region.tls_driver DIRECTORY MODE

MODE is ca, fingerprint, wrong-ca or wrong-fingerprint. Prints one JSON object:
whether the rack registered, what the region recorded, the reply to a
ConfigureDHCPv4, and the rack's last connection error.

MODE flood: once the rack has registered, the region stops reading and sends
`FLOOD` ConfigureDHCPv4 calls; then the rack is stopped, and the region
reads again. What the rack had answered while the region did not read,
whether its stop waited for the region, and how the calls ended.
"""

import json
import socket
import sys

from twisted.internet import defer, task

from provisioningserver.config import RackdConfig
from provisioningserver.rpc import commands
from provisioningserver.rpc.auth import read_secret
from provisioningserver.rpc.region import region_service
from provisioningserver.services.configure import Outcome
from provisioningserver.system.packed import unpack
from tests.region.certs import make_pki, write_secret
from tests.region.server import TestRegion, listen

DOCUMENT = {"shared_networks": [{"name": "lab", "subnets": [{"subnet_cidr": "198.18.0.0/24"}]}]}


class RecordingCoalescer:
    def __init__(self):
        self.received = []

    def configure(self, ip_version, document, dry_run=False):
        self.received.append(unpack(document))  # as it came: packed
        return defer.succeed(Outcome(ip_version, "started", "dhcpd was not running", "f00d"))

    def status(self):
        return {"v4": {"state": "running", "reason": None}, "v6": {"state": "off"}}

    def on_change(self, listener):
        pass


def settings(mode, pki):
    if mode == "ca":
        return {"region_ca": pki.ca}
    if mode == "wrong-ca":
        return {"region_ca": pki.other_ca}
    if mode in ("fingerprint", "flood"):
        return {"region_fingerprint": pki.fingerprint}
    return {"region_fingerprint": "00" * 32}


FLOOD = 5000


def _tcp(protocol):
    """The TCP transport under a connection's TLS."""
    return protocol.transport.transport


async def flood(reactor, region, clients, coalescer, rack_id):
    """The region that never reads (see MODE flood); a report."""
    while not clients.ready:  # the region has the rack's report before the rack its reply
        await task.deferLater(reactor, 0.05, lambda: None)
    region_tcp, rack_tcp = _tcp(region.racks[rack_id]), _tcp(clients.ready[0])
    # Small kernel buffers, so that what the rack holds is its own buffer.
    rack_tcp.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    region_tcp.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    region_tcp.unregisterProducer()  # the region's own backpressure would read again
    region_tcp.pauseProducing()
    before = len(coalescer.received)
    calls = [region.call(rack_id, commands.ConfigureDHCPv4, document=DOCUMENT)
             for _ in range(FLOOD)]
    ends = {"answered": 0, "lost": 0}
    for call in calls:
        call.addCallbacks(lambda _: ends.__setitem__("answered", ends["answered"] + 1),
                          lambda _: ends.__setitem__("lost", ends["lost"] + 1))
    await task.deferLater(reactor, 2, lambda: None)
    report = {"answered_unread": len(coalescer.received) - before,
              "rack_buffered": len(rack_tcp.dataBuffer) - rack_tcp.offset + rack_tcp._tempDataLen}
    stopped = defer.ensureDeferred(clients.stopService())
    await task.deferLater(reactor, 1, lambda: None)
    report["stopped_while_unread"] = stopped.called
    region_tcp.resumeProducing()
    resumed = reactor.seconds()
    stopped.addTimeout(20, reactor)
    try:
        await stopped
    except (defer.CancelledError, defer.TimeoutError):
        report["stop_seconds"] = None
    else:
        report["stop_seconds"] = round(reactor.seconds() - resumed, 2)
    report["answered"] = len(coalescer.received) - before
    report["ends"] = ends
    return report


async def run(reactor, directory, mode):
    pki = make_pki(directory)
    secret_file = f"{directory}/secret"
    write_secret(secret_file)
    region = TestRegion(lambda: read_secret(secret_file), reactor)
    port = await listen(reactor, region, 0, pki.cert, pki.key)
    config = RackdConfig(region=(f"127.0.0.1:{port.getHost().port}",), secret_file=secret_file,
                         rack_id="rack-tls", rack_name="tls-rack", **settings(mode, pki))
    coalescer = RecordingCoalescer()
    clients = region_service(config, coalescer, reactor)
    clients.startService()
    report = {"mode": mode}
    try:
        rack = region.wait_for_rack()
        rack.addTimeout(3 if mode.startswith("wrong") else 15, reactor)
        try:
            rack_id = await rack
        except defer.TimeoutError:
            report["registered"] = False
        else:
            report["registered"] = rack_id
            if mode == "flood":
                report.update(await flood(reactor, region, clients, coalescer, rack_id))
                print(json.dumps(report), flush=True)
                return
            reply = await region.call(rack_id, commands.ConfigureDHCPv4, document=DOCUMENT)
            report["reply"] = reply["outcome"]
            report["rack_received"] = coalescer.received
            tls = region.racks[rack_id].transport.getHandle()
            report["tls_version"] = tls.get_protocol_version_name()
        report["services"] = [d["services"] for _, d in region.of_kind("services")]
        report["last_error"] = clients.last_error
    finally:
        # The port first: a rack still retrying then fails to connect, and is
        # between attempts when stopped. Twisted 22.4's ClientService (Debian
        # 12's) has no transition for a stop during prepareConnection: the
        # connection's loss then arrives in its "stopped" state, an Unhandled
        # Error. Handshakes in flight finish well within the pause.
        await port.stopListening()
        await task.deferLater(reactor, 0.5, lambda: None)
        await clients.stopService()
    print(json.dumps(report), flush=True)


def main():
    directory, mode = sys.argv[1:3]
    task.react(lambda reactor: defer.Deferred.fromCoroutine(run(reactor, directory, mode)))


if __name__ == "__main__":
    main()
