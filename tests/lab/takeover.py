"""Clients that time a failover takeover: which server answers, and when.

A failover pair splits its clients by a hash of the MAC (``split``): in
normal state each server answers only its own half, so "the survivor
serves the dead one's clients" is visible only with clients of the dead
one's half. Two modes of ``python -m tests.lab.takeover``, run in turn in
a client namespace (they share UDP port 68):

- ``select``: DISCOVERs from ``--candidates`` new MACs at once; writes to
  ``--out`` which server answered each, then binds one of ``--server``'s
  own clients (REQUEST to it, ACK) and puts that address on the interface
  (/32), so that a later unicast ACK to it (a renewal's) is delivered.
- ``probe``: every ``--interval`` seconds, a DISCOVER from one of
  ``--new`` (new clients, ``secs`` 0 so that load balancing is never
  bypassed by a patient client) and a REBINDING REQUEST (``ciaddr``, no
  server identifier, broadcast) from the bound client; appends one JSON
  line per request sent and per reply (with its server and lease time) to
  ``--events``, until ``--stop`` appears.

`first_answer` reads the probe's events: when a kind of request was first
answered after a moment, by which server and with what lease.
"""

import argparse
import json
import os
import random
import select
import socket
import subprocess
import sys
import time

from tests.lab import dhcppacket
from tests.lab.rawclient import open_socket


def candidate_macs(count, kind=0x7a):
    return ["02:%02x:00:00:%02x:%02x" % (kind, i >> 8, i & 255) for i in range(count)]


def _read(sock, wait):
    ready, _, _ = select.select([sock], [], [], wait)
    if not ready:
        return None
    try:
        reply = dhcppacket.parse(sock.recv(4096))
    except dhcppacket.PacketError:
        return None
    return reply if reply["op"] == dhcppacket.BOOTREPLY else None


def _collect(sock, xids, seconds):
    replies, end = [], time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        reply = _read(sock, left)
        if reply and reply["xid"] in xids:
            replies.append(reply)
    return replies


def choose(interface, candidates, server, out, kind=0x7a):
    """The ``select`` mode (see the module docstring)."""
    sock = open_socket(interface)
    xids = {random.getrandbits(32): mac for mac in candidate_macs(candidates, kind)}
    for xid, mac in xids.items():
        sock.sendto(dhcppacket.build("DISCOVER", xid, mac), ("255.255.255.255", 67))
    answered = {}
    for reply in _collect(sock, xids, 2.5):
        if reply["message_type"] == "OFFER":
            answered.setdefault(xids[reply["xid"]], set()).add(
                reply["options"]["server-identifier"])
    own = sorted(mac for mac, servers in answered.items() if servers == {server})
    if len(own) < 2:
        raise SystemExit(f"fewer than two clients answered only by {server}: {answered}")
    bound_mac, xid = own[0], random.getrandbits(32)
    sock.sendto(dhcppacket.build("DISCOVER", xid, bound_mac), ("255.255.255.255", 67))
    offer = next(r for r in _collect(sock, {xid}, 2.5) if r["message_type"] == "OFFER")
    sock.sendto(dhcppacket.build("REQUEST", xid, bound_mac, {
        50: socket.inet_aton(offer["yiaddr"]), 54: socket.inet_aton(server)}),
        ("255.255.255.255", 67))
    ack = next(r for r in _collect(sock, {xid}, 2.5) if r["message_type"] == "ACK")
    subprocess.run(["ip", "address", "add", f"{ack['yiaddr']}/32", "dev", interface], check=True)
    with open(out, "w") as f:
        json.dump({"answered": {m: sorted(s) for m, s in answered.items()}, "own": own[1:],
                   "bound": {"mac": bound_mac, "address": ack["yiaddr"]}}, f)


def probe(interface, new, bound_mac, address, interval, events_path, stop_path, limit=600):
    """The ``probe`` mode (see the module docstring)."""
    sock, kinds = open_socket(interface), {}
    started, turn, next_send = time.monotonic(), 0, 0.0
    with open(events_path, "a", buffering=1) as events:
        while not os.path.exists(stop_path) and time.monotonic() - started < limit:
            now = time.monotonic()
            if now >= next_send:
                for kind, message in (
                        ("new", lambda x: dhcppacket.build("DISCOVER", x, new[turn % len(new)])),
                        ("renew", lambda x: dhcppacket.build("REQUEST", x, bound_mac,
                                                             ciaddr=address))):
                    xid = random.getrandbits(32)
                    kinds[xid] = kind
                    sock.sendto(message(xid), ("255.255.255.255", 67))
                    events.write(json.dumps({"sent": now, "x": xid, "kind": kind}) + "\n")
                turn, next_send = turn + 1, now + interval
            reply = _read(sock, max(0.0, min(next_send - time.monotonic(), 0.02)))
            if reply and reply["xid"] in kinds:
                events.write(json.dumps({
                    "got": time.monotonic(), "x": reply["xid"], "kind": kinds[reply["xid"]],
                    "type": reply["message_type"],
                    "server": reply["options"].get("server-identifier"),
                    "lease": reply["options"].get("lease-time")}) + "\n")


def read_events(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.endswith("\n")]
    except FileNotFoundError:
        return []


def first_answer(events, kind, after, server=None, types=("OFFER", "ACK")):
    """The first reply (its event) to a ``kind`` request sent at or after
    ``after``, from ``server`` (any when None), or None."""
    sent = {e["x"]: e["sent"] for e in events if "sent" in e}
    for event in events:
        if "got" in event and event["kind"] == kind and event["type"] in types and \
                sent.get(event["x"], -1) >= after and server in (None, event["server"]):
            return event
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.lab.takeover")
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("select")
    p.add_argument("--interface", default="eth0")
    p.add_argument("--candidates", type=int, default=24)
    p.add_argument("--server", required=True)
    p.add_argument("--kind", type=int, default=0x7a, help="MAC byte 2: a new set of clients")
    p.add_argument("--out", required=True)
    p = sub.add_parser("probe")
    p.add_argument("--interface", default="eth0")
    p.add_argument("--new", required=True, help="comma-separated MACs")
    p.add_argument("--bound-mac", required=True)
    p.add_argument("--address", required=True)
    p.add_argument("--interval", type=float, default=0.2)
    p.add_argument("--events", required=True)
    p.add_argument("--stop", required=True)
    args = parser.parse_args(argv)
    if args.mode == "select":
        return choose(args.interface, args.candidates, args.server, args.out, args.kind)
    return probe(args.interface, args.new.split(","), args.bound_mac, args.address,
                 args.interval, args.events, args.stop)


if __name__ == "__main__":
    sys.exit(main())
