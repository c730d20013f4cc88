"""Looking for DHCP servers on a link: one DHCPDISCOVER out, every DHCPOFFER in.

The pure half builds the DISCOVER as a whole IPv4/UDP datagram (source
0.0.0.0:68, destination 255.255.255.255:67, broadcast flag set, chaddr the
interface's MAC, a random xid) and reads datagrams back into `Offer` values.
Anything that is not an OFFER answering our xid is not an error: `classify`
names why it was ignored, and the caller counts it.

The I/O half (`probe`) uses one ``AF_PACKET``/``SOCK_DGRAM`` socket bound to the
interface, for sending and receiving. Why not a UDP socket on port 68: a
dhclient on the rack may hold that port, and a UDP socket cannot tell the
sender's MAC, which the kernel gives us with every packet socket read. Our
own outgoing packets (the DISCOVER, and anything this host's dhcpd sends)
show up as ``PACKET_OUTGOING`` and are skipped: they are never foreign.
`probe` blocks for ``window`` seconds; the agent runs it in a thread.
"""

import ipaddress
import os
import select
import socket
import struct
import time

import attrs

DHCP_SERVER_PORT, DHCP_CLIENT_PORT = 67, 68
MAGIC_COOKIE = b"\x63\x82\x53\x63"
DISCOVER, OFFER = 1, 2
BOOTREQUEST, BOOTREPLY = 1, 2
OPTION_MESSAGE_TYPE, OPTION_SERVER_ID, OPTION_PARAMS, OPTION_END, OPTION_PAD = 53, 54, 55, 255, 0
_BOOTP = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")  # 236 bytes, then the cookie
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4

# Bounds on one probe: packets read (a busy link must not keep us reading
# forever) and distinct servers kept.
MAX_PACKETS = 5000
MAX_SERVERS = 64


class NotAnOffer(Exception):
    """Why a datagram was ignored: ``reason`` is one of garbled, not-dhcp,
    not-offer, foreign-xid."""

    def __init__(self, reason, detail=""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@attrs.frozen
class Offer:
    """One DHCPOFFER as read off the wire."""

    xid: int
    offered: ipaddress.IPv4Address  # yiaddr
    siaddr: ipaddress.IPv4Address
    server_id: "ipaddress.IPv4Address | None"  # option 54
    sender: ipaddress.IPv4Address  # the IP header's source
    mac: "str | None" = None  # the link-layer sender, when known


def mac_bytes(mac):
    """``"52:54:00:12:34:56"`` -> 6 bytes; ValueError naming the value."""
    parts = mac.split(":") if isinstance(mac, str) else ()
    try:
        if len(parts) != 6 or not all(len(p) == 2 for p in parts):
            raise ValueError
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise ValueError(f"expected a MAC address like 52:54:00:12:34:56, got {mac!r}") from None


def mac_text(raw):
    return ":".join("%02x" % b for b in raw)


def _checksum(header):
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def build_discover(mac, xid):
    """The DHCPDISCOVER for ``mac`` (text) and ``xid`` as a complete IPv4 datagram."""
    chaddr = mac_bytes(mac)
    if not 0 <= xid < 2 ** 32:
        raise ValueError(f"xid: expected 0 to 2**32-1, got {xid!r}")
    bootp = _BOOTP.pack(BOOTREQUEST, 1, 6, 0, xid, 0, 0x8000, bytes(4), bytes(4), bytes(4),
                        bytes(4), chaddr + bytes(10), bytes(64), bytes(128))
    # Ask for what a PXE client would, so a server that only answers those still shows.
    options = bytes([OPTION_MESSAGE_TYPE, 1, DISCOVER, OPTION_PARAMS, 4, 1, 3, 6, 54, OPTION_END])
    payload = bootp + MAGIC_COOKIE + options
    payload += bytes(max(0, 300 - len(payload)))  # the BOOTP minimum some servers insist on
    udp = struct.pack("!HHHH", DHCP_CLIENT_PORT, DHCP_SERVER_PORT, 8 + len(payload), 0)
    length = 20 + len(udp) + len(payload)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0x10, length, 0, 0, 64, socket.IPPROTO_UDP,
                         0, bytes(4), b"\xff" * 4)
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return header + udp + payload


def _options(data):
    found, i = {}, 0
    while i < len(data):
        code = data[i]
        if code == OPTION_PAD:
            i += 1
            continue
        if code == OPTION_END:
            return found
        if i + 1 >= len(data) or i + 2 + data[i + 1] > len(data):
            raise NotAnOffer("garbled", f"option {code} runs past the end")
        found.setdefault(code, data[i + 2:i + 2 + data[i + 1]])
        i += 2 + data[i + 1]
    return found


def classify(datagram, xid, mac=None):
    """An IPv4 datagram -> `Offer` for ``xid``; raises `NotAnOffer` saying why not."""
    if len(datagram) < 20 or datagram[0] >> 4 != 4:
        raise NotAnOffer("garbled", "not an IPv4 header")
    ihl = (datagram[0] & 0x0F) * 4
    total = struct.unpack("!H", datagram[2:4])[0]
    if ihl < 20 or total < ihl + 8 or total > len(datagram):
        raise NotAnOffer("garbled", "bad IPv4 lengths")
    if datagram[9] != socket.IPPROTO_UDP:
        raise NotAnOffer("not-dhcp", "not UDP")
    if struct.unpack("!H", datagram[6:8])[0] & 0x3FFF:
        raise NotAnOffer("not-dhcp", "a fragment")
    sport, dport, ulen = struct.unpack("!HHH", datagram[ihl:ihl + 6])
    if (sport, dport) != (DHCP_SERVER_PORT, DHCP_CLIENT_PORT):
        raise NotAnOffer("not-dhcp", f"UDP {sport}->{dport}")
    if ulen < 8 or ihl + ulen > total:
        raise NotAnOffer("garbled", "bad UDP length")
    payload = datagram[ihl + 8:ihl + ulen]
    if len(payload) < _BOOTP.size + 4 or payload[_BOOTP.size:_BOOTP.size + 4] != MAGIC_COOKIE:
        raise NotAnOffer("garbled", "short BOOTP or no magic cookie")
    fields = _BOOTP.unpack(payload[:_BOOTP.size])
    if fields[0] != BOOTREPLY:
        raise NotAnOffer("not-offer", "a BOOTREQUEST")
    if fields[4] != xid:
        raise NotAnOffer("foreign-xid", f"xid {fields[4]:#010x}")
    options = _options(payload[_BOOTP.size + 4:])
    kind = options.get(OPTION_MESSAGE_TYPE)
    if kind is None or len(kind) != 1:
        raise NotAnOffer("garbled", "no DHCP message type")
    if kind[0] != OFFER:
        raise NotAnOffer("not-offer", f"message type {kind[0]}")
    server_id = options.get(OPTION_SERVER_ID)
    if server_id is not None and len(server_id) != 4:
        raise NotAnOffer("garbled", "server identifier is not 4 bytes")
    return Offer(xid=xid, offered=ipaddress.IPv4Address(fields[8]),
                 siaddr=ipaddress.IPv4Address(fields[9]),
                 server_id=ipaddress.IPv4Address(server_id) if server_id else None,
                 sender=ipaddress.IPv4Address(datagram[12:16]), mac=mac)


@attrs.frozen
class ProbeResult:
    """What one probe of one interface saw: the offers (one per distinct
    server), and the ignored datagrams counted by reason."""

    interface: str
    offers: tuple = ()
    ignored: dict = attrs.Factory(dict)


def collect(packets, xid):
    """Pure: [(datagram, sender MAC text or None)] -> (offers, ignored counts by
    reason, not-dhcp left out). One offer per (server_id, sender, mac): a server
    answering both DISCOVERs counts once."""
    offers, ignored = {}, {}
    for datagram, mac in packets:
        try:
            offer = classify(datagram, xid, mac)
        except NotAnOffer as why:
            # The socket sees all IPv4 traffic on the link: other traffic is not news.
            if why.reason != "not-dhcp":
                ignored[why.reason] = ignored.get(why.reason, 0) + 1
            continue
        key = (offer.server_id, offer.sender, offer.mac)
        if key not in offers and len(offers) < MAX_SERVERS:
            offers[key] = offer
    return tuple(offers.values()), ignored


def probe(interface, mac, window=4.0, resend=(1.5,), clock=time.monotonic,
          xid=None):
    """Send a DISCOVER on ``interface`` (at once and after each ``resend``
    offset) and read for ``window`` seconds: a `ProbeResult`. Needs root
    (CAP_NET_RAW); socket errors propagate as OSError."""
    xid = int.from_bytes(os.urandom(4), "big") if xid is None else xid
    discover = build_discover(mac, xid)
    destination = (interface, ETH_P_IP, 0, 1, b"\xff" * 6)
    packets = []
    with socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP)) as sock:
        sock.bind((interface, ETH_P_IP))
        start = clock()
        sends = [0.0, *resend]
        while len(packets) < MAX_PACKETS:
            now = clock() - start
            while sends and sends[0] <= now:
                sends.pop(0)
                sock.sendto(discover, destination)
            if now >= window:
                break
            wait = min([window - now] + [s - now for s in sends[:1]])
            readable, _, _ = select.select([sock], [], [], max(0.0, wait))
            if not readable:
                continue
            datagram, address = sock.recvfrom(65535)
            if address[2] == PACKET_OUTGOING:
                continue  # sent by this host: our DISCOVER, or our own dhcpd
            packets.append((datagram, mac_text(address[4][:6]) if address[4] else None))
    offers, ignored = collect(packets, xid)
    return ProbeResult(interface, offers, ignored)
