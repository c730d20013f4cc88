"""Benchmark: what a peer sending an AMP box that never ends makes rackd hold.

    flock /tmp/rackd-lab.lock .venv/bin/python -m bench.amp_buffer [--reps 5] [--mib 64]

Each repetition starts a server process, reads its resident size
(``VmRSS``), then from this process writes one box that never ends (``--mib``
MiB of 60,000-byte values under distinct keys, no empty key) over a real
socket, as fast as the server takes it or until it closes the connection,
and reads the server's peak (``VmHWM``). The growth is peak minus start.

Two links, each with two protocols in the same run:

- ``control socket``: rackd's `ControlFactory` on a UNIX socket (its
  `GuardedAMP`, one box bounded at `ampbox.MAX_BOX`), and the same locator
  under Twisted's own `amp.AMP`, what the control socket was before;
- ``region link, before authentication``: rackd's `RackFactory` protocol
  (`GatedAMP`, 64 KiB until the peer has authenticated) over TCP on
  loopback, and the same protocol with the bound lifted. TLS is left out:
  it changes nothing in what AMP buffers.

Reported per case as min, median and max (`bench.figures.spread`), and the
bounded protocol's growth as a fraction of the unbounded one's, pair by
pair in the same run.

With ``--flood SECONDS`` it measures the write side instead: a peer that
sends small complete requests (GetStatus, or GetDHCPStatus before
authentication, answered NOT_AUTHENTICATED) for that long and never reads
the replies, to rackd's protocols with their backpressure off (each reply
kept until sent, what they did before) and on (reading stops while 64 KiB
wait unsent), and, for scale, a peer that reads each burst's replies before
the next. The never-reading peer sends whole boxes only, as fast as the
socket takes them, so a server that stops reading stops it too.
"""

import argparse
import contextlib
import os
import select
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bench.figures import describe  # noqa: E402

SERVER = """
import sys
from twisted.internet import defer, reactor
from twisted.internet.protocol import Factory
from twisted.protocols import amp
from provisioningserver.rpc.local import ControlFactory, ControlLocator
from provisioningserver.rpc.auth import Challenges
from provisioningserver.rpc.guarded import GuardedAMP
from provisioningserver.rpc.region import GatedAMP, RackFactory

class Agent:
    def configure(self, ip_version, document, dry_run):
        return defer.succeed(None)

    def status(self):
        return {"v4": {"state": "off"}, "v6": {"state": "off"}}

class Unbounded(GatedAMP):
    max_box = float("inf")

class Unpaused(GuardedAMP):
    backpressure = False

class UnpausedGated(GatedAMP):
    backpressure = False

# "bounded": rackd's; "unbounded": no box bound (Twisted's AMP on the control
# socket); "unpaused": rackd's box bound, its backpressure off.
link, case, where = sys.argv[1:4]
if link == "control":
    factory = {"bounded": lambda: ControlFactory(Agent()),
               "unbounded": lambda: Factory.forProtocol(
                   lambda: amp.AMP(locator=ControlLocator(Agent()))),
               "unpaused": lambda: Factory.forProtocol(
                   lambda: Unpaused(locator=ControlLocator(Agent())))}[case]()
    reactor.listenUNIX(where, factory)
else:
    secret = lambda: b"s" * 32
    factory = RackFactory(secret, Challenges(), reactor, None)
    other = {"unbounded": Unbounded, "unpaused": UnpausedGated}.get(case)
    if other is not None:
        factory.buildProtocol = lambda addr: other(secret, Challenges(), reactor)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    where = str(port.getHost().port)
reactor.callLater(120, reactor.stop)
reactor.callWhenRunning(lambda: print("ready", where, flush=True))
reactor.run()
"""

VALUE = b"j" * 60_000


def _status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise LookupError(field)


def _connect(link, where):
    if link == "control":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(where)
    else:
        sock = socket.create_connection(("127.0.0.1", int(where)))
    sock.settimeout(30)
    return sock


@contextlib.contextmanager
def _server(link, case, directory):
    """A fresh server process: yields (measure, its address), ``measure()``
    being its peak resident size less its size at start."""
    path = os.path.join(directory, "bench.sock")
    if os.path.exists(path):
        os.unlink(path)
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER, link, case, path],
        stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))})
    try:
        ready, where = child.stdout.readline().split()
        assert ready == "ready"
        time.sleep(0.2)
        start = _status(child.pid, "VmRSS")
        yield (lambda: _status(child.pid, "VmHWM") - start), where
    finally:
        child.kill()
        child.wait(10)


def endless(link, bounded, mib, directory):
    """(growth in bytes, bytes sent before the server closed or all was sent)."""
    with _server(link, "bounded" if bounded else "unbounded", directory) as (growth, where):
        sent = 0
        with _connect(link, where) as sock:
            try:
                for i in range(mib * 1024 * 1024 // len(VALUE)):
                    key = b"junk.%d" % i
                    sock.sendall(len(key).to_bytes(2, "big") + key
                                 + len(VALUE).to_bytes(2, "big") + VALUE)
                    sent += len(VALUE)
            except (BrokenPipeError, ConnectionResetError):
                pass
            time.sleep(0.5)  # what was sent is read
            return growth(), sent


def flood(link, seconds, case, directory):
    """(growth in bytes, requests the server took) for ``seconds`` of
    1,000-request bursts: ``case`` "reads" (rackd's protocol, each burst's
    replies read before the next), "on" or "off" (never read, backpressure
    on or off)."""
    from provisioningserver.rpc import ampbox

    with _server(link, "unpaused" if case == "off" else "bounded", directory) as (growth, where):
        command = b"GetStatus" if link == "control" else b"GetDHCPStatus"
        request = ampbox.encode_box({ampbox.COMMAND: command, ampbox.ASK: b"1"})
        burst = request * 1000
        with _connect(link, where) as sock:
            deadline = time.monotonic() + seconds
            taken = 0  # bytes of requests the socket took
            if case == "reads":
                while time.monotonic() < deadline:
                    sock.sendall(burst)
                    taken += len(burst)
                    replies, reader = 0, ampbox.BoxReader()
                    while replies < 1000:
                        replies += len(reader.feed(sock.recv(1 << 16)))
            else:
                sock.setblocking(False)
                pending = b""
                while (left := deadline - time.monotonic()) > 0:
                    if not select.select([], [sock], [], left)[1]:
                        continue
                    pending = pending or burst  # whole boxes only
                    sent = sock.send(pending)
                    pending = pending[sent:]
                    taken += sent
            time.sleep(0.5)
            return growth(), taken // len(request)


LINKS = (("control", "control socket"), ("region", "region link, before authentication"))


def _report(title, runs, cases, second, ratio):
    """Print ``runs`` (case -> [(growth, second value)]), ``cases`` being
    (case, label) pairs and ``second`` (name, unit, scale) the second value's;
    ``ratio`` is (label, numerator case, denominator case, unit, scale)."""
    print(title)
    name, unit, scale = second
    for case, label in cases:
        growth = [g for g, _ in runs[case]]
        other = [n for _, n in runs[case]]
        print(f"  {label:38} RSS growth {describe(growth, ' MiB', 1 / 2**20, 1)};"
              f" {name} {describe(other, unit, scale, 1)}")
    label, top, bottom, unit, scale = ratio
    ratios = [a[0] / b[0] for a, b in zip(runs[top], runs[bottom]) if b[0] > 0]
    if ratios:
        print(f"  {label}: {describe(ratios, unit, scale, 1)}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--flood", type=float, default=0,
                        help="seconds of requests whose replies are never read, instead")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        for link, name in LINKS:
            if args.flood:
                runs = {"reads": [], "off": [], "on": []}
                for _ in range(args.reps):
                    for case in runs:
                        runs[case].append(flood(link, args.flood, case, directory))
                _report(f"{name}, {args.flood:g} s of 1,000-request bursts ({args.reps} runs):",
                        runs, (("reads", "replies read"),
                               ("off", "never read, backpressure off (before)"),
                               ("on", "never read, backpressure on (rackd)")),
                        ("requests taken", " thousand", 1e-3),
                        ("on / off growth", "on", "off", " %", 100))
                continue
            runs = {True: [], False: []}
            for _ in range(args.reps):
                for case in (False, True):
                    runs[case].append(endless(link, case, args.mib, directory))
            _report(f"{name}, a {args.mib} MiB box that never ends ({args.reps} runs):",
                    runs, ((False, "unbounded (before)"), (True, "bounded (rackd)")),
                    ("sent before close", " MiB", 1 / 2**20),
                    ("bounded / unbounded growth", True, False, " %", 100))


if __name__ == "__main__":
    main()
