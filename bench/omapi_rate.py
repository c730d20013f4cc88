"""Benchmark: rackd's OMAPI client against the fastest safe raw OMAPI rate.

    flock /tmp/rackd-lab.lock .venv/bin/python -m bench.omapi_rate \\
        [--hosts 10000] [--rounds 3] [--preload 0]

Why. A live batch through rackd can go no faster than dhcpd accepts host
changes, and dhcpd commits (fsyncs) every change before it reads the next
request; so the honest yardstick for rackd's client is not another client
but the best any client could do on this machine, this run: a bare loop
that writes pipelined host creates on a socket and reads the replies, with
nothing else to do. That loop is run with 1, 4, 8 and 16 requests
outstanding (16 is rackd's cap; 32 has killed dhcpd 4.4.3-P1, see
omapi/client.py), and the fastest of them is "the fastest safe raw rate".
rackd's `OmapiClient.apply` then adds the same number of hosts, at its
default window (8) and at its cap (16).

How. One network namespace (prefix ``rkor-``), one veth for dhcpd to serve
on; OMAPI goes to 127.0.0.1 inside the namespace, nothing leaves it. Each
case gets a fresh dhcpd (no hosts, a leases file on disk, fsync per change
as rackd runs it); ``--preload N`` first adds N hosts untimed (raw, window
4), to measure a batch that grows a site rather than starts one;
``--name-length N`` pads every host name to N characters (longer requests:
more bytes outstanding in dhcpd's socket per window). The cases run in a
different order each round (rotated), and each case's process
times itself from its first add to its last reply, on a connection already
authenticated. The raw loop builds and signs each message when it sends it
(with rackd's own codec at its fastest, omapi/wire.py's `encode_signed` and
`HMACMD5Authenticator`, since a client must) and checks each reply's
status, not its signature. Each case also reports the CPU time its
adding process spent per add (``time.process_time`` over the same span,
and the kernel's share of it, from ``os.times``): on a machine of two cores
that is CPU taken from dhcpd, and the part of the client's cost that a
deeper window cannot hide. ``--profile PATH`` runs rackd's client under
cProfile once more at the end and writes the stats to PATH; ``--only TEXT``
runs only the cases whose name contains TEXT.
"""

import argparse
import base64
import json
import os
import secrets
import select
import socket
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from bench.omapi_fsync import start_dhcpd  # noqa: E402

KEY_NAME = "omapi_key"
PORT = 7911
RAW_WINDOWS = (1, 4, 8, 16)
CLIENT_WINDOWS = (8, 16)
CONFIG = """\
omapi-port %(port)d;
key %(key)s { algorithm HMAC-MD5; secret "%(secret)s"; }
omapi-key %(key)s;
subnet 198.18.0.0 netmask 255.255.0.0 { pool { range 198.18.0.100 198.18.0.200; } }
"""


def hosts(tag, count, name_length=0):
    """``count`` hosts of their own for one case (``tag`` < 256), their
    names padded to ``name_length`` characters."""
    return [{"name": f"r{tag}-{i}".ljust(name_length, "x"), "mac": "02:%02x:%02x:%02x:%02x:01" % (
        tag, (i >> 16) & 255, (i >> 8) & 255, i & 255),
        "ip": f"198.18.{1 + i // 250}.{1 + i % 250}"} for i in range(count)]


# The raw loop, run inside the namespace.

def raw_adds(job):
    from provisioningserver.omapi.objects import authenticator_open, check_reply, host_create
    from provisioningserver.omapi.wire import (
        Decoder,
        HMACMD5Authenticator,
        encode,
        encode_signed,
        encode_startup,
    )

    sock = socket.create_connection(("127.0.0.1", job["port"]))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    decoder = Decoder()

    def messages():
        while True:
            message = decoder.next_message()
            if message is not None:
                return message
            data = sock.recv(65536)
            if not data:
                raise RuntimeError("dhcpd closed the OMAPI connection")
            decoder.feed(data)

    sock.sendall(encode_startup())
    messages()
    auth = HMACMD5Authenticator(job["key_name"].encode(), job["secret"].encode())
    opening = authenticator_open(auth)
    opening.tid = 1
    sock.sendall(encode(opening))
    auth.authid = messages().handle
    todo, window = job["hosts"], job["window"]
    sent = answered = 0
    tid = 1
    max_gap, last = 0.0, None
    cpu, kernel = time.process_time(), os.times().system
    started = time.monotonic()
    while answered < len(todo):
        while sent < len(todo) and sent - answered < window:
            host = todo[sent]
            message = host_create(host["name"], host["mac"], host["ip"])
            tid += 1
            message.tid = tid
            sock.sendall(encode_signed(message, auth))
            sent += 1
        select.select([sock], [], [])
        data = sock.recv(65536)
        if not data:
            raise RuntimeError(f"dhcpd closed the connection after {answered} replies")
        decoder.feed(data)
        while (reply := decoder.next_message()) is not None:
            check_reply(reply, f"add {todo[answered]['name']}")
            answered += 1
        now = time.monotonic()
        max_gap, last = max(max_gap, now - (last or started)), now
    seconds = time.monotonic() - started
    cpu, kernel = time.process_time() - cpu, os.times().system - kernel
    sock.close()
    return {"seconds": seconds, "cpu": cpu, "kernel": kernel, "max_gap": max_gap}


# rackd's client, run inside the namespace.

def client_adds(job, profile=None):
    from twisted.internet.defer import Deferred
    from twisted.internet.task import react

    from provisioningserver.omapi.client import AddHost, OmapiClient
    from provisioningserver.omapi.errors import OmapiNotFound

    out = {}
    changes = [AddHost(h["name"], h["mac"], h["ip"]) for h in job["hosts"]]

    async def main(reactor):
        client = OmapiClient(reactor, "127.0.0.1", job["port"], job["key_name"],
                             job["secret"], timeout=5.0, window=job["window"])
        try:
            await client.lookup_host(name="warm-up")
        except OmapiNotFound:
            pass
        profiler = None
        if profile:
            import cProfile
            profiler = cProfile.Profile()
            profiler.enable()
        cpu, kernel = time.process_time(), os.times().system
        started = time.monotonic()
        results = await client.apply(changes)
        out["seconds"] = time.monotonic() - started
        out["cpu"] = time.process_time() - cpu
        out["kernel"] = os.times().system - kernel
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        failed = [str(r.error) for r in results if not r.ok]
        if failed:
            raise RuntimeError(f"{len(failed)} adds failed, first: {failed[0]}")
        await client.disconnect()

    try:
        react(lambda reactor: Deferred.fromCoroutine(main(reactor)))
    except SystemExit as exit_:
        if exit_.code:
            raise
    return out


# The lab.

def cases(only=None):
    every = ([(f"raw, window {w}", "raw", w) for w in RAW_WINDOWS]
             + [(f"OmapiClient, window {w}", "client", w) for w in CLIENT_WINDOWS])
    return [case for case in every if only is None or only in case[0]]


def run(count, rounds, preload, profile, only=None, name_length=0):
    from tests.lab.netns import Lab

    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    results = {name: [] for name, _, _ in cases(only)}
    with Lab(prefix="rkor-") as lab:
        server = lab.add_host("srv")
        other = lab.add_host("cli")
        lab.link(server, other, "s0", "c0")
        server.add_address("s0", "198.18.0.1/16")
        server.run(["ip", "link", "set", "lo", "up"])
        run_no = 0

        def one(name, mode, window, tag, profile_to=None):
            nonlocal run_no
            run_no += 1
            dhcpd, _ = start_dhcpd(server, lab.workdir, run_no, CONFIG % {
                "port": PORT, "key": KEY_NAME, "secret": secret})
            try:
                time.sleep(0.7)
                job = {"port": PORT, "key_name": KEY_NAME, "secret": secret}
                if preload:
                    inside(server, "raw", dict(job, window=4, hosts=hosts(250, preload)))
                result = inside(server, mode, dict(job, window=window,
                                                   hosts=hosts(tag, count, name_length)),
                                profile_to)
                if not dhcpd.running():
                    raise RuntimeError(f"dhcpd died during {name}")
            finally:
                dhcpd.stop()
            return result

        all_cases = cases(only)
        for round_ in range(rounds):
            shift = round_ % len(all_cases)
            order = all_cases[shift:] + all_cases[:shift]
            if round_ % 2:
                order.reverse()
            for tag, (name, mode, window) in enumerate(order, start=1):
                result = one(name, mode, window, tag)
                results[name].append(result)
                print(f"round {round_ + 1}: {name:24} {count / result['seconds']:8,.0f}/s"
                      f"  CPU {result['cpu'] * 1e6 / count:5.1f} us per add"
                      f" ({result['kernel'] * 1e6 / count:5.1f} in the kernel)"
                      + (f"  longest wait for a reply {result['max_gap'] * 1000:.1f} ms"
                         if result.get("max_gap") is not None else ""), flush=True)
        if profile:
            one("profile", "client", 8, 99, profile_to=profile)
    return results


def inside(server, mode, job, profile=None):
    argv = [sys.executable, "-m", "bench.omapi_rate", mode]
    if profile:
        argv += ["--profile", profile]
    out = server.run(argv, input=json.dumps(job), cwd=REPO, timeout=900,
                     env=dict(os.environ, PYTHONPATH=REPO))
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(count, results):
    """The figures of a run: per case min, median and max rate, the median's
    ratio to the best raw case's median, and the median CPU time per add;
    then, per round, each client case against that round's fastest raw."""
    rates = {name: [count / r["seconds"] for r in values] for name, values in results.items()}
    raw = {name: r for name, r in rates.items() if name.startswith("raw")}
    best = max(raw, key=lambda name: statistics.median(raw[name]))
    lines = [f"| path ({count:,} host adds) | min hosts/s | median | max "
             f"| median / best raw ({best}) | CPU per add (median) |",
             "|---|---|---|---|---|---|"]
    for name, values in rates.items():
        median = statistics.median(values)
        cpu = statistics.median(r["cpu"] for r in results[name]) * 1e6 / count
        lines.append(f"| {name} | {min(values):,.0f} | {median:,.0f} | {max(values):,.0f} "
                     f"| {median / statistics.median(raw[best]):.2f}x | {cpu:.1f} us |")
    rounds = min(len(values) for values in rates.values())
    fastest = [max(values[i] for values in raw.values()) for i in range(rounds)]
    lines.append("")
    for name, values in rates.items():
        if not name.startswith("raw"):
            ratios = ", ".join(f"{values[i] / fastest[i]:.2f}x" for i in range(rounds))
            lines.append(f"Per round, {name} against that round's fastest raw: {ratios}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.omapi_rate")
    parser.add_argument("mode", nargs="?", choices=("raw", "client"))
    parser.add_argument("--hosts", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--preload", type=int, default=0)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--name-length", type=int, default=0,
                        help="pad every host name to this many characters")
    parser.add_argument("--only", default=None,
                        help="run only the cases whose name contains this")
    args = parser.parse_args(argv)
    if args.mode == "raw":
        print(json.dumps(raw_adds(json.load(sys.stdin))))
        return
    if args.mode == "client":
        print(json.dumps(client_adds(json.load(sys.stdin), args.profile)))
        return
    results = run(args.hosts, args.rounds, args.preload, args.profile, args.only,
                  args.name_length)
    if args.rounds and any(name.startswith("raw") for name in results):
        print()
        print(table(args.hosts, results))


if __name__ == "__main__":
    main()
