"""A region link that keeps breaking: a TCP relay that cuts every connection
through it on a seeded schedule.

The flapping and soak labs put this between rackd and the test region
(``python -m tests.lab.linkcut`` in the region's namespace, listening where
rackd dials, relaying to the region on the namespace's loopback). Cutting
in a relay rather than taking a link down is deliberate: a link that is
down for a second loses no TCP connection (the kernel retransmits), so it
would test nothing; a relay that aborts both sides (an RST each way, as a
rebooted switch or a dead NAT entry gives) makes the rack see a lost
connection in the middle of whatever it was doing: a handshake, a batch of
lease events in flight, or the reply to one.

The schedule is a pure function of the seed (`cut_times`), so a failing run
can be repeated exactly; it starts when the ``--begin`` file appears, so the
lab can set everything up over a quiet link first. After ``--duration`` seconds the relay stops
cutting and keeps relaying, so that what is still queued can drain. Each cut
is printed as one JSON line (monotonic time, connections cut), which the
lab reads back (`cuts`).
"""

import argparse
import asyncio
import json
import os
import random
import socket
import struct
import sys
import time


def cut_times(seed, duration, low=0.5, high=2.0):
    """Seconds from the start at which to cut: gaps drawn uniformly from
    [``low``, ``high``], the last one before ``duration``."""
    if not 0 < low <= high:
        raise ValueError(f"expected 0 < low <= high, got {low}, {high}")
    rng, times, at = random.Random(seed), [], 0.0
    while True:
        at += rng.uniform(low, high)
        if at >= duration:
            return times
        times.append(at)


def cuts(log_text):
    """The cuts a relay's log records: [(time, connections cut)], in order."""
    found = []
    for line in log_text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("event") == "cut":
            found.append((entry["t"], entry["connections"]))
    return found


def _abort(writer):
    """Close with an RST: linger on, timeout 0."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


async def _pump(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.transport.abort()


class Relay:
    """Connections relayed to ``target``; `cut` aborts every one of them."""

    def __init__(self, target):
        self.target = target
        self.open = set()  # (client writer, target writer)

    async def handle(self, reader, writer):
        try:
            upstream_reader, upstream = await asyncio.open_connection(*self.target)
        except OSError:
            _abort(writer)
            return
        pair = (writer, upstream)
        self.open.add(pair)
        try:
            await asyncio.gather(_pump(reader, upstream), _pump(upstream_reader, writer))
        finally:
            self.open.discard(pair)

    def cut(self):
        pairs, self.open = self.open, set()
        for pair in pairs:
            for writer in pair:
                _abort(writer)
        return len(pairs)


def _emit(entry):
    print(json.dumps(entry), flush=True)


async def serve(listen, target, schedule, begin=None):
    """Relay ``listen`` to ``target``; cut at ``schedule``'s times, counted
    from when the file ``begin`` appears (at once without one)."""
    relay = Relay(target)
    server = await asyncio.start_server(relay.handle, *listen)
    _emit({"event": "listening", "t": time.monotonic(), "cuts": len(schedule)})
    while begin is not None and not os.path.exists(begin):
        await asyncio.sleep(0.05)
    started = time.monotonic()
    _emit({"event": "cutting", "t": started})
    for at in schedule:
        await asyncio.sleep(max(0.0, started + at - time.monotonic()))
        _emit({"event": "cut", "t": time.monotonic(), "connections": relay.cut()})
    _emit({"event": "steady", "t": time.monotonic()})
    async with server:
        await server.serve_forever()


def _address(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.lab.linkcut")
    parser.add_argument("--listen", type=_address, required=True, help="IP:PORT")
    parser.add_argument("--target", type=_address, required=True, help="IP:PORT")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--duration", type=float, required=True, help="seconds of cutting")
    parser.add_argument("--low", type=float, default=0.5)
    parser.add_argument("--high", type=float, default=2.0)
    parser.add_argument("--begin", help="start cutting when this file appears")
    args = parser.parse_args(argv)
    schedule = cut_times(args.seed, args.duration, args.low, args.high)
    asyncio.run(serve(args.listen, args.target, schedule, args.begin))


if __name__ == "__main__":
    sys.exit(main())
