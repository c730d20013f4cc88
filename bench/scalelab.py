"""The instruments bench/configure_scale.py measures rackd with, each seen
only from outside rackd: DHCP on the wire, the control socket, /metrics,
/proc, and a bare dhcpd beside it for the anchors.

Three small programs run as modes of this module in a lab namespace, so
that their timing is not disturbed by the process that drives the lab:

- ``probe`` (in the client's namespace) sends a DISCOVER every
  ``--interval`` seconds, round robin over ``--macs``, and appends one JSON
  line per DISCOVER sent and per OFFER received to ``--events``. With
  ``--bind`` the first OFFER to each MAC is taken with a REQUEST, so the
  client holds an active lease: dhcpd then offers it again without the 1 s
  ping check a free address gets (which would otherwise be counted against
  whatever the bench measures). Times are `time.monotonic()`, which is one
  clock for every namespace of the machine, so the driver compares them with
  its own.
- ``poll-metrics`` (in the rack's namespace, where /metrics listens on
  loopback) and ``poll-status`` (anywhere: the control socket is a file)
  ask every ``--interval`` seconds, one request at a time, and write each
  request's start and latency to ``--out`` when ``--stop`` appears; a request
  in flight then is waited for, so the longest wait is never cut short.
  poll-status speaks the control protocol's GetStatus over AMP the way
  rackctl does, from one long-lived process, so that its figure is rackd's
  answer and not a Python start.

`ProbeLog` reads the probe's events as they come. `BareDhcpd` runs the
same dhcpd binary with the same arguments as rackd's, on copies of its
config and leases files: the anchor a restart through rackd is held against.
"""

import argparse
import ipaddress
import json
import os
import random
import select
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

# A URL's body on stdout, run inside a namespace (/metrics on the rack's loopback).
FETCH = ("import sys, urllib.request; "
         "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=600).read().decode())")
# The sequential anchor (pypureomapi's add_host, one request then one reply)
# is bench.omapi_live's.
from bench.omapi_live import PYPUREOMAPI  # noqa: E402,F401


# Programs run inside the lab.

def probe(interface, macs, interval, bind, events_path, stop_path, limit, grace=1.0):
    from tests.lab import dhcppacket
    from tests.lab.rawclient import open_socket
    sent, bound, started = set(), set(), time.monotonic()
    with open_socket(interface) as sock, open(events_path, "a", buffering=1) as events:
        next_send, stop_at, count = started, None, 0
        while True:
            now = time.monotonic()
            if stop_at is None and (os.path.exists(stop_path) or now - started > limit):
                stop_at = now
            if stop_at is not None and now - stop_at > grace:
                break
            if stop_at is None and now >= next_send:
                xid = random.getrandbits(32)
                sent.add(xid)
                sock.sendto(dhcppacket.build("DISCOVER", xid, macs[count % len(macs)]),
                            ("255.255.255.255", 67))
                events.write(json.dumps({"s": now, "x": xid}) + "\n")
                count += 1
                next_send = now + interval
            ready, _, _ = select.select([sock], [], [], max(0.0, min(next_send - now, 0.01)))
            if not ready:
                continue
            try:
                reply = dhcppacket.parse(sock.recv(4096))
            except dhcppacket.PacketError:
                continue
            if reply["message_type"] != "OFFER" or reply["xid"] not in sent:
                continue
            dns = reply["raw_options"].get("6")
            events.write(json.dumps({
                "o": time.monotonic(), "x": reply["xid"], "y": reply["yiaddr"],
                "m": reply["chaddr"],
                "d": str(ipaddress.IPv4Address(bytes.fromhex(dns)[:4])) if dns else None}) + "\n")
            if bind and reply["chaddr"] not in bound:
                bound.add(reply["chaddr"])
                server = bytes.fromhex(reply["raw_options"]["54"])
                sock.sendto(dhcppacket.build("REQUEST", reply["xid"], reply["chaddr"], {
                    50: ipaddress.ip_address(reply["yiaddr"]).packed, 54: server}),
                    ("255.255.255.255", 67))


def _poll(ask, interval, stop_path, out_path):
    samples = []
    while not os.path.exists(stop_path):
        started = time.monotonic()
        error = ask()
        samples.append([started, time.monotonic() - started, error])
        if len(samples) == 1:
            open(out_path + ".ready", "w").close()  # the driver starts its call now
        time.sleep(max(0.0, started + interval - time.monotonic()))
    with open(out_path, "w") as f:
        json.dump(samples, f)


def poll_metrics(url, interval, stop_path, out_path):
    import urllib.request

    def ask():
        try:
            urllib.request.urlopen(url, timeout=120).read()
        except OSError as error:
            return str(error)
    _poll(ask, interval, stop_path, out_path)


def poll_status(socket_path, interval, stop_path, out_path):
    from twisted.internet import defer, reactor, threads
    from twisted.internet.endpoints import UNIXClientEndpoint, connectProtocol
    from twisted.protocols import amp

    from provisioningserver.rpc import control

    @defer.inlineCallbacks
    def ask_once():
        protocol = yield connectProtocol(UNIXClientEndpoint(reactor, socket_path, timeout=120),
                                         amp.AMP())
        try:
            yield protocol.callRemote(control.GetStatus)
        finally:
            protocol.transport.loseConnection()

    def ask():
        # The reactor runs in this process's main thread; each poll waits for its answer.
        try:
            threads.blockingCallFromThread(reactor, ask_once)
        except Exception as error:  # a failed poll is recorded, not fatal
            return repr(error)

    def run():
        threads.deferToThread(_poll, ask, interval, stop_path, out_path).addBoth(
            lambda _: reactor.stop())
    reactor.callWhenRunning(run)
    reactor.run(installSignalHandlers=False)


# The driver's side.

class ProbeLog:
    """The probe's events file, read as it grows."""

    def __init__(self, path):
        self.path, self.offset, self.sent, self.offers = path, 0, {}, []

    def refresh(self):
        try:
            with open(self.path) as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return
        complete = chunk[:chunk.rfind("\n") + 1]
        self.offset += len(complete.encode())
        for line in complete.splitlines():
            event = json.loads(line)
            if "s" in event:
                self.sent[event["x"]] = event["s"]
            else:
                self.offers.append(event)

    def first_offer(self, after, match):
        """Receive time of the first OFFER to a DISCOVER sent at or after
        ``after`` that ``match``es, or None."""
        self.refresh()
        for offer in self.offers:
            if self.sent.get(offer["x"], -1) >= after and match(offer):
                return offer["o"]
        return None

    def wait_offer(self, after, match, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.first_offer(after, match)
            if found is not None:
                return found
            time.sleep(0.005)
        raise AssertionError(f"no matching OFFER within {timeout} s")

    def unanswered(self, start, end):
        """(DISCOVERs sent in [start, end), how many of them got no OFFER)."""
        self.refresh()
        answered = {offer["x"] for offer in self.offers}
        window = [x for x, t in self.sent.items() if start <= t < end]
        return len(window), sum(1 for x in window if x not in answered)


class Prober:
    """The ``probe`` program in the client's namespace, as a context manager."""

    def __init__(self, client, macs, interval=0.01, bind=True, tag="probe"):
        self.client, self.macs, self.interval, self.bind = client, macs, interval, bind
        self.stop_path = client.path(f"{tag}.stop")
        self.events_path = client.path(f"{tag}.{time.monotonic_ns()}.jsonl")
        self.log = ProbeLog(self.events_path)

    def __enter__(self):
        if os.path.exists(self.stop_path):
            os.unlink(self.stop_path)
        argv = [sys.executable, "-m", "bench.scalelab", "probe", "--interface", "eth0",
                "--macs", ",".join(self.macs), "--interval", str(self.interval),
                "--events", self.events_path, "--stop", self.stop_path]
        self.process = subprocess.Popen(self.client.command(argv + (["--bind"] if self.bind else [])),
                                        cwd=REPO)
        return self

    def sending(self, timeout=30):
        """Wait until the probe has sent its first DISCOVER."""
        deadline = time.monotonic() + timeout
        while not self.log.sent:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the probe did not start")
            time.sleep(0.02)
            self.log.refresh()
        return self

    def __exit__(self, *exc):
        open(self.stop_path, "w").close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.refresh()


class Poller:
    """poll-metrics or poll-status for the length of a ``with`` block;
    ``samples`` then holds [start, latency, error] per request."""

    def __init__(self, host, kind, target, interval=0.05):
        self.host, self.kind, self.target, self.interval = host, kind, target, interval
        stamp = time.monotonic_ns()
        self.stop_path = host.path(f"{kind}.{stamp}.stop")
        self.out_path = host.path(f"{kind}.{stamp}.json")

    def __enter__(self):
        argv = [sys.executable, "-m", "bench.scalelab", self.kind, "--target", self.target,
                "--interval", str(self.interval), "--stop", self.stop_path, "--out", self.out_path]
        self.process = subprocess.Popen(self.host.command(argv), cwd=REPO)
        deadline = time.monotonic() + 60
        while not os.path.exists(self.out_path + ".ready"):  # asking before the call
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        open(self.stop_path, "w").close()
        try:
            self.process.wait(timeout=300)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with open(self.out_path) as f:
            self.samples = json.load(f)

    def longest(self, start, end):
        """The longest latency of a request that was in flight during [start, end]."""
        waits = [latency for began, latency, _ in self.samples
                 if began <= end and began + latency >= start]
        return max(waits) if waits else None

    def errors(self):
        return [error for _, _, error in self.samples if error]


def memory(pid):
    """(VmRSS, VmHWM) of ``pid`` in MB."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def python_pid(pid):
    """``pid`` itself, or the child it runs when it is still ``ip netns exec``."""
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        argv = f.read().split(b"\0")
    if os.path.basename(argv[0]) != b"ip":
        return pid
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return int(f.read().split()[0])


class BareDhcpd:
    """The dhcpd rackd runs (``pid``), as a stock program: its argv with
    config, leases and pid files replaced by copies in ``directory``."""

    def __init__(self, host, pid, directory):
        self.host, self.directory, self.process = host, directory, None
        os.makedirs(directory, exist_ok=True)
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode() for a in f.read().split(b"\0") if a]
        copies = {"-cf": "dhcpd.conf", "-lf": "dhcpd.leases", "-pf": None}
        for flag, name in copies.items():
            where = argv.index(flag) + 1
            target = os.path.join(directory, name or "dhcpd.pid")
            if name:
                shutil.copyfile(argv[where], target)
            argv[where] = target
        self.argv = argv
        self.config = argv[argv.index("-cf") + 1]

    def check(self):
        """``dhcpd -t`` on the copied config, as rackd's check runs it."""
        self.host.run([self.argv[0], "-t", "-4", "-cf", self.config], timeout=120)

    def start(self):
        self.process = self.host.popen(self.argv, name="bare-dhcpd")

    def stop(self):
        if self.process is not None:
            self.process.stop()  # SIGTERM, as a service manager stops it
            self.process = None


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.scalelab")
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("probe")
    p.add_argument("--interface", required=True)
    p.add_argument("--macs", required=True)
    p.add_argument("--interval", type=float, default=0.01)
    p.add_argument("--bind", action="store_true")
    p.add_argument("--events", required=True)
    p.add_argument("--stop", required=True)
    p.add_argument("--limit", type=float, default=1800.0)
    for kind in ("poll-metrics", "poll-status"):
        p = sub.add_parser(kind)
        p.add_argument("--target", required=True)
        p.add_argument("--interval", type=float, default=0.05)
        p.add_argument("--stop", required=True)
        p.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.mode == "probe":
        return probe(args.interface, args.macs.split(","), args.interval, args.bind,
                     args.events, args.stop, args.limit)
    poll = poll_metrics if args.mode == "poll-metrics" else poll_status
    return poll(args.target, args.interval, args.stop, args.out)


if __name__ == "__main__":
    main()
