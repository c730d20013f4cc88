"""The probe's packets: the DISCOVER as a whole IPv4 datagram, OFFERs read back,
and everything else (garbled, foreign xid, not an offer) ignored and counted."""

import ipaddress
import socket
import struct

import pytest

from provisioningserver.network import dhcpprobe
from provisioningserver.network.dhcpprobe import (
    NotAnOffer,
    build_discover,
    classify,
    collect,
)
from tests.lab import dhcppacket

MAC = "52:54:00:12:34:56"
XID = 0x1234ABCD
ROGUE_MAC = "52:54:00:00:00:fe"


def checksum_ok(header):
    total = sum(struct.unpack("!10H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


def datagram(payload, source="198.18.0.3", sport=67, dport=68, proto=17, flags=0):
    """``payload`` in UDP in IPv4, as a server on the link would send it."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, flags, 64, proto, 0,
                       ipaddress.IPv4Address(source).packed, b"\xff" * 4) + udp


def reply(message_type=2, xid=XID, yiaddr="198.18.0.200", siaddr="198.18.0.3",
          server_id=b"\xc6\x12\x00\x03", op=2, extra=b""):
    """A server's DHCP reply (BOOTP fields and options), built independently of rackd."""
    fixed = struct.pack("!BBBBIHHIIII16s64s128s", op, 1, 6, 0, xid, 0, 0x8000, 0,
                        int(ipaddress.IPv4Address(yiaddr)), int(ipaddress.IPv4Address(siaddr)),
                        0, dhcpprobe.mac_bytes(MAC), b"", b"")
    options = b""
    if message_type is not None:
        options += bytes([53, 1, message_type])
    if server_id is not None:
        options += bytes([54, len(server_id)]) + server_id
    return fixed + dhcppacket.MAGIC + options + extra + b"\xff"


def test_discover_is_a_broadcast_from_port_68_to_67_with_our_mac_and_xid():
    """The DISCOVER: IPv4 0.0.0.0 -> 255.255.255.255 with a valid header checksum,
    UDP 68 -> 67 with the right length, BOOTREQUEST with the broadcast flag, our
    MAC as chaddr, our xid, message type DISCOVER (read by the lab's own parser)."""
    packet = build_discover(MAC, XID)
    header = packet[:20]
    assert checksum_ok(header)
    assert header[9] == socket.IPPROTO_UDP
    assert header[12:16] == bytes(4) and header[16:20] == b"\xff" * 4
    assert struct.unpack("!H", header[2:4])[0] == len(packet)
    sport, dport, length, _ = struct.unpack("!HHHH", packet[20:28])
    assert (sport, dport, length) == (68, 67, len(packet) - 20)
    parsed = dhcppacket.parse(packet[28:])
    assert parsed["op"] == 1 and parsed["xid"] == XID
    assert parsed["flags"] == 0x8000
    assert parsed["chaddr"] == MAC
    assert parsed["message_type"] == "DISCOVER"
    assert len(packet) - 28 >= 300


@pytest.mark.parametrize("mac", ["52:54:00:12:34", "zz:54:00:12:34:56", "", None,
                                 "52-54-00-12-34-56"])
def test_a_bad_mac_is_refused_naming_it(mac):
    """A MAC that is not six hex pairs is a ValueError quoting the value."""
    with pytest.raises(ValueError, match="MAC"):
        build_discover(mac, XID)


def test_an_offer_is_read_with_its_sender():
    """An OFFER for our xid gives the offered address, siaddr, server
    identifier, the IP sender and the MAC the socket reported."""
    offer = classify(datagram(reply()), XID, ROGUE_MAC)
    assert offer == dhcpprobe.Offer(
        xid=XID, offered=ipaddress.IPv4Address("198.18.0.200"),
        siaddr=ipaddress.IPv4Address("198.18.0.3"),
        server_id=ipaddress.IPv4Address("198.18.0.3"),
        sender=ipaddress.IPv4Address("198.18.0.3"), mac=ROGUE_MAC)


def test_an_offer_without_a_server_identifier_is_still_an_offer():
    """Option 54 missing (a broken server) is kept, with no identifier."""
    assert classify(datagram(reply(server_id=None)), XID).server_id is None


def test_pad_options_are_skipped():
    """Pad bytes between options do not disturb the reading."""
    packet = reply(extra=b"\x00\x00\x00")
    assert classify(datagram(packet), XID).offered == ipaddress.IPv4Address("198.18.0.200")


IGNORED = {
    "empty": (b"", "garbled"),
    "IPv6 version nibble": (b"\x60" + bytes(40), "garbled"),
    "total length beyond the data": (datagram(reply())[:-10], "garbled"),
    "TCP": (datagram(reply(), proto=6), "not-dhcp"),
    "a fragment": (datagram(reply(), flags=0x2000), "not-dhcp"),
    "to port 67": (datagram(reply(), sport=68, dport=67), "not-dhcp"),
    "DNS": (datagram(b"x" * 40, sport=53, dport=5353), "not-dhcp"),
    "short BOOTP": (datagram(reply()[:100]), "garbled"),
    "no magic cookie": (datagram(reply()[:236] + b"\x00\x00\x00\x00" + reply()[240:]),
                        "garbled"),
    "a request": (datagram(reply(op=1)), "not-offer"),
    "another xid": (datagram(reply(xid=XID + 1)), "foreign-xid"),
    "an ACK": (datagram(reply(message_type=5)), "not-offer"),
    "no message type": (datagram(reply(message_type=None)), "garbled"),
    "option past the end": (datagram(reply()[:-1] + b"\x0c\x09abc"), "garbled"),
    "option length byte missing": (datagram(reply()[:-1] + b"\x0c"), "garbled"),
    "3-byte server identifier": (datagram(reply(server_id=b"\x01\x02\x03")), "garbled"),
}


@pytest.mark.parametrize("name", sorted(IGNORED))
def test_what_is_not_an_offer_for_us_says_why(name):
    """Garbled, foreign and non-DHCP datagrams raise NotAnOffer with a reason,
    never anything else."""
    packet, reason = IGNORED[name]
    with pytest.raises(NotAnOffer) as raised:
        classify(packet, XID)
    assert raised.value.reason == reason


def test_every_truncation_of_an_offer_is_ignored_never_a_crash():
    """Each prefix of a good OFFER datagram is either the offer or a NotAnOffer."""
    packet = datagram(reply())
    for end in range(len(packet)):
        with pytest.raises(NotAnOffer):
            classify(packet[:end], XID)


def test_collect_keeps_one_offer_per_server_and_counts_the_rest():
    """Two answers from one server (both DISCOVERs answered) count once; a
    second server is kept; garbled, foreign-xid and not-offer datagrams are
    counted by reason; other IPv4 traffic is not counted."""
    other = datagram(reply(server_id=b"\xc6\x12\x00\x04"), source="198.18.0.4")
    packets = [(datagram(reply()), ROGUE_MAC), (datagram(reply()), ROGUE_MAC),
               (other, "52:54:00:00:00:04"), (b"\x45junk", None),
               (datagram(reply(xid=7)), ROGUE_MAC), (datagram(reply(message_type=6)), None),
               (datagram(b"x" * 40, sport=53, dport=5353), None)]
    offers, ignored = collect(packets, XID)
    assert [(str(o.server_id), o.mac) for o in offers] == [
        ("198.18.0.3", ROGUE_MAC), ("198.18.0.4", "52:54:00:00:00:04")]
    assert ignored == {"garbled": 1, "foreign-xid": 1, "not-offer": 1}


def test_collect_keeps_at_most_max_servers(monkeypatch):
    """A flood of distinct servers is bounded."""
    monkeypatch.setattr(dhcpprobe, "MAX_SERVERS", 2)
    packets = [(datagram(reply(server_id=bytes([198, 18, 0, n])), source=f"198.18.0.{n}"),
                None) for n in range(3, 8)]
    offers, _ = collect(packets, XID)
    assert len(offers) == 2
