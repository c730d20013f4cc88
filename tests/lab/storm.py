"""A PXE storm: many PXE clients booting at once, then renewing their short
leases, as one program in a lab namespace.

``python -m tests.lab.storm --interface eth0 --clients 200 ...`` sends each
client's DISCOVER (option 93 and a PXEClient vendor class, as firmware
does) within ``--spread`` seconds, all from one socket, and acts as each
client would: a client with no OFFER after ``--retry`` seconds (RFC 2131's
first retransmission, about 4 s) sends again, with ``secs`` grown, up to
``--tries`` times; an OFFER is taken with a broadcast REQUEST. Each bound
client then renews as a client in RENEWING does, at half its lease time:
a REQUEST with ``ciaddr`` set, unicast to the server, for ``--renew-for``
seconds. dhcpd answers a renewal unicast to ``ciaddr``, so the program first
puts every leased address on the interface (/32, ``ip -batch``), where the
kernel answers ARP for it and delivers the ACK to the one socket.

It writes one JSON document to ``--out``: per client its MAC, which try got
the first OFFER and how long after its first DISCOVER, the address, the
lease time, and how many renewals were ACKed, NAKed or went unanswered
(`summary` counts them).
"""

import argparse
import ipaddress
import json
import random
import select
import socket
import subprocess
import sys
import time

from tests.lab import dhcppacket
from tests.lab.rawclient import open_socket

PXE_VENDOR_CLASS = b"PXEClient:Arch:00000:UNDI:002001"
BIOS = b"\x00\x00"  # option 93: x86 BIOS


def macs(count, kind=0x5e):
    """``count`` locally administered MACs; a storm of another ``kind`` is new clients."""
    return ["02:%02x:00:00:%02x:%02x" % (kind, i >> 8, i & 255) for i in range(count)]


def pxe_options():
    return {93: BIOS, 60: PXE_VENDOR_CLASS, 55: bytes(dhcppacket.DEFAULT_PARAMETERS)}


class Client:
    def __init__(self, mac, first_send):
        self.mac, self.xid = mac, random.getrandbits(32)
        self.next_send, self.tries, self.started = first_send, 0, None
        self.offer_try = self.offer_after = self.address = self.server = None
        self.lease_time = None
        self.bound_at = self.renew_at = self.renew_sent = None
        self.renewed = self.naks = self.unanswered = 0

    def record(self):
        return {"mac": self.mac, "offer_try": self.offer_try, "offer_after": self.offer_after,
                "address": self.address,
                "lease_time": self.lease_time, "renewed": self.renewed, "naks": self.naks,
                "unanswered": self.unanswered, "tries": self.tries}


def _broadcast(sock, message):
    sock.sendto(message, ("255.255.255.255", 67))


def boot(sock, clients, retry, tries, settle=2.0):
    """DISCOVER (again after ``retry`` s, ``tries`` times), OFFER -> REQUEST -> ACK."""
    by_xid = {c.xid: c for c in clients}
    deadline = max(c.next_send for c in clients) + retry * tries + settle
    while time.monotonic() < deadline and not all(c.bound_at for c in clients):
        now = time.monotonic()
        for client in clients:
            if client.offer_try is None and client.tries < tries and now >= client.next_send:
                client.tries += 1
                client.started = client.started or now
                _broadcast(sock, dhcppacket.build("DISCOVER", client.xid, client.mac,
                                                  pxe_options(), secs=int(now - client.started)))
                client.next_send = now + retry
        for reply in _replies(sock, 0.005):
            client = by_xid.get(reply["xid"])
            if client is None:
                continue
            if reply["message_type"] == "OFFER" and client.offer_try is None:
                client.offer_try = client.tries
                client.offer_after = time.monotonic() - client.started
                client.server = reply["options"]["server-identifier"]
                _broadcast(sock, dhcppacket.build("REQUEST", client.xid, client.mac, {
                    **pxe_options(), 50: socket.inet_aton(reply["yiaddr"]),
                    54: socket.inet_aton(client.server)}))
            elif reply["message_type"] == "ACK" and client.bound_at is None:
                client.address, client.bound_at = reply["yiaddr"], time.monotonic()
                client.lease_time = reply["options"].get("lease-time")
                client.renew_at = client.bound_at + (client.lease_time or 30) / 2


def renew(sock, clients, seconds, answer_within=4.0):
    """Each bound client renews at half its lease, for ``seconds``."""
    bound = [c for c in clients if c.bound_at]
    by_xid = {c.xid: c for c in bound}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        now = time.monotonic()
        for client in bound:
            if client.renew_sent and now - client.renew_sent > answer_within:
                client.unanswered += 1
                client.renew_sent, client.renew_at = None, now
            if client.renew_sent is None and now >= client.renew_at:
                client.xid = random.getrandbits(32)
                by_xid[client.xid] = client
                sock.sendto(dhcppacket.build("REQUEST", client.xid, client.mac, pxe_options(),
                                             flags=0, ciaddr=client.address),
                            (client.server, 67))
                client.renew_sent = now
        for reply in _replies(sock, 0.01):
            client = by_xid.get(reply["xid"])
            if client is None or client.renew_sent is None:
                continue
            if reply["message_type"] == "ACK":
                client.renewed += 1
                lease = reply["options"].get("lease-time") or client.lease_time or 30
                client.renew_sent, client.renew_at = None, time.monotonic() + lease / 2
            elif reply["message_type"] == "NAK":
                client.naks += 1
                client.renew_sent, client.renew_at = None, time.monotonic() + 1


def _replies(sock, wait):
    found = []
    ready, _, _ = select.select([sock], [], [], wait)
    while ready:
        try:
            reply = dhcppacket.parse(sock.recv(4096))
        except dhcppacket.PacketError:
            reply = None
        if reply and reply["op"] == dhcppacket.BOOTREPLY:
            found.append(reply)
        ready, _, _ = select.select([sock], [], [], 0)
    return found


def add_addresses(interface, addresses):
    """Put ``addresses`` on ``interface`` as /32s, so renewal ACKs reach us."""
    lines = "".join(f"address add {ipaddress.IPv4Address(a)}/32 dev {interface}\n"
                    for a in addresses)
    subprocess.run(["ip", "-batch", "-"], input=lines, text=True, check=True)


def summary(records):
    """Counts over the clients of one storm."""
    return {
        "clients": len(records),
        "offered_first_try": sum(1 for r in records if r["offer_try"] == 1),
        "offered_second_try": sum(1 for r in records if r["offer_try"] == 2),
        "never_offered": sum(1 for r in records if r["offer_try"] is None),
        "bound": sum(1 for r in records if r["address"]),
        "renewed": sum(r["renewed"] for r in records),
        "clients_renewing": sum(1 for r in records if r["renewed"]),
        "renewals_unanswered": sum(r["unanswered"] for r in records),
        "renewals_naked": sum(r["naks"] for r in records),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.lab.storm")
    parser.add_argument("--interface", default="eth0")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--spread", type=float, default=1.0, help="seconds for all DISCOVERs")
    parser.add_argument("--retry", type=float, default=4.0)
    parser.add_argument("--tries", type=int, default=2)
    parser.add_argument("--renew-for", type=float, default=0.0)
    parser.add_argument("--kind", type=int, default=0x5e, help="MAC byte 2: a new set of clients")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    start = time.monotonic() + 0.1
    clients = [Client(mac, start + i * args.spread / args.clients)
               for i, mac in enumerate(macs(args.clients, args.kind))]
    with open_socket(args.interface) as sock:
        boot(sock, clients, args.retry, args.tries)
        discovers = [c.started for c in clients]
        if args.renew_for:
            add_addresses(args.interface, [c.address for c in clients if c.address])
            renew(sock, clients, args.renew_for)
    records = [c.record() for c in clients]
    with open(args.out, "w") as f:
        json.dump({"first_discovers_within": max(discovers) - min(discovers),
                   "clients": records, "summary": summary(records)}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
