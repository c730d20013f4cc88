"""Benchmark: the CPU rackd's OMAPI client spends per host add, without I/O.

    .venv/bin/python -m bench.omapi_cpu [--adds 20000] [--reps 7] [--window 8]
        [--profile PATH]

Why. dhcpd commits every host change before it reads the next request, and
on a machine of two cores the client's CPU is taken from dhcpd's, so the
client's cost per add is what a live batch can shave off (bench/omapi_rate.py
measures the rate against a real dhcpd; this measures only the client,
steadily enough to compare one change of the code with the next on a shared
machine). No root, no dhcpd, no network: it needs no lock.

How. `OmapiClient.apply` runs on a memory reactor; its connection is made
over a transport that sends nothing anywhere. The handshake is answered
by hand, and from the key check's transaction id (the connection numbers
its requests one by one) every reply of the batch is built and signed
before the clock starts. Then each canned reply is fed in as one read, as
dhcpd's would arrive; each frees a window slot, and the client encodes and
signs its next add inside that read. The time is `time.process_time` for
the whole batch: encoding, signing, decoding, verifying, and the batch's
own bookkeeping, divided by the adds. Syscalls are not in it (bench.
omapi_rate's "CPU per add" has them).
"""

import argparse
import base64
import os
import statistics
import struct
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from pypureomapi import (  # noqa: E402
    OMAPI_OP_STATUS,
    OMAPI_OP_UPDATE,
    OmapiHMACMD5Authenticator,
    OmapiMessage,
    OmapiStartupMessage,
)
from twisted.internet.testing import MemoryReactorClock  # noqa: E402

from provisioningserver.omapi.client import AddHost, OmapiClient  # noqa: E402

SECRET = base64.b64encode(bytes(range(32))).decode()
AUTHID = 7


class Nowhere:
    """A transport that keeps only the transaction id of the last request."""

    disconnecting = False
    connected = True

    def __init__(self):
        self.last_tid = None

    def write(self, data):
        if len(data) >= 24:
            (self.last_tid,) = struct.unpack_from("!L", data, 16)

    def abortConnection(self):
        self.connected = False

    loseConnection = abortConnection


def signed(message, key):
    message.sign(key)
    return message.as_string()


def ready_client(window):
    """An OmapiClient whose connection is open and authenticated, and that
    connection's wrapping protocol and transport."""
    reactor = MemoryReactorClock()
    client = OmapiClient(reactor, "198.18.0.1", 7911, "omapi_key", SECRET, 5.0, window)
    warm_up = client.lookup_host(name="warm-up")
    warm_up.addErrback(lambda _: None)
    _, _, factory, _, _ = reactor.tcpClients.pop(0)
    protocol = factory.buildProtocol(None)
    transport = Nowhere()
    protocol.makeConnection(transport)
    key = OmapiHMACMD5Authenticator(b"omapi_key", SECRET.encode())
    key.authid = AUTHID
    protocol.dataReceived(OmapiStartupMessage().as_string())
    protocol.dataReceived(OmapiMessage(opcode=OMAPI_OP_UPDATE, handle=AUTHID,
                                       rid=transport.last_tid).as_string())
    not_found = [(b"result", struct.pack("!L", 23))]
    for _ in range(2):  # the key check, then the warm-up lookup
        protocol.dataReceived(signed(OmapiMessage(opcode=OMAPI_OP_STATUS, rid=transport.last_tid,
                                                  message=not_found), key))
    return client, protocol, transport.last_tid, key


def one_batch(adds, window, profiler=None):
    client, protocol, last_tid, key = ready_client(window)
    replies = [signed(OmapiMessage(
        opcode=OMAPI_OP_UPDATE, handle=100 + i, rid=(last_tid + 1 + i) % (1 << 32) or 1,
        obj=[(b"name", b"h%d" % i), (b"hardware-address", bytes(6)),
             (b"hardware-type", struct.pack("!L", 1)), (b"ip-address", bytes(4))]), key)
        for i in range(adds)]
    changes = [AddHost(f"h{i}", "02:%02x:%02x:%02x:00:01" % (i >> 16, (i >> 8) & 255, i & 255),
                       f"198.18.{i >> 8 & 255}.{i & 255}") for i in range(adds)]
    outcome = []
    if profiler is not None:
        profiler.enable()
    cpu = time.process_time()
    client.apply(changes).addBoth(outcome.append)
    for reply in replies:
        protocol.dataReceived(reply)
    cpu = time.process_time() - cpu
    if profiler is not None:
        profiler.disable()
    (results,) = outcome
    failed = [r for r in results if not r.ok]
    if len(results) != adds or failed:
        raise RuntimeError(f"{len(failed)} of {len(results)} adds failed: {failed[:1]}")
    return cpu / adds


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.omapi_cpu")
    parser.add_argument("--adds", type=int, default=20000)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--profile", default=None, help="write cProfile stats of one more batch")
    args = parser.parse_args(argv)
    per_add = [one_batch(args.adds, args.window) * 1e6 for _ in range(args.reps)]
    print(f"client CPU per add ({args.adds:,} adds, window {args.window}, {args.reps} reps):"
          f" min {min(per_add):.1f} us, median {statistics.median(per_add):.1f} us,"
          f" max {max(per_add):.1f} us")
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        one_batch(args.adds, args.window, profiler)
        profiler.dump_stats(args.profile)


if __name__ == "__main__":
    main()
