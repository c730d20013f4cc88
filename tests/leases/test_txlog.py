"""dhcpd's per-packet log lines -> Transaction records (provisioningserver.leases.txlog).

The lines come from tests/leases/data/dhcpd_transactions.log, recorded from the
real dhcpd 4.4.3-P1 in network-namespace labs (its header says how).
"""

import collections
import json
import os

import pytest

from provisioningserver.leases.txlog import (
    MAX_LINE, NAK, NO_FREE_LEASES, RECORD_FIELDS, BadTransaction, Transaction,
    parse_transaction,
)

DATA = os.path.join(os.path.dirname(__file__), "data", "dhcpd_transactions.log")


def _recorded():
    with open(DATA) as stream:
        return [line.rstrip("\n") for line in stream if not line.startswith("#")]


RECORDED = _recorded()
DUID1 = "00:01:00:01:32:9d:9c:98:02:df:40:d3:4a:2e"
DUID2 = "00:01:00:01:32:9d:9c:f4:00:0c:01:02:03:04"
LL = "fe80::df:40ff:fed3:4a2e"

# Every distinct form dhcpd wrote, with the record it must give.
CASES = [
    ("DHCPDISCOVER from 52:54:00:00:00:0a via r0",
     dict(family=4, type="DISCOVER", mac="52:54:00:00:00:0a", interface="r0")),
    ("DHCPOFFER on 198.18.0.50 to 52:54:00:00:00:0a (host-0a) via r0",
     dict(family=4, type="OFFER", ip="198.18.0.50", mac="52:54:00:00:00:0a",
          hostname="host-0a", interface="r0")),
    ("DHCPREQUEST for 198.18.0.50 (198.18.0.1) from 52:54:00:00:00:0a (host-0a) via r0",
     dict(family=4, type="REQUEST", ip="198.18.0.50", server="198.18.0.1",
          mac="52:54:00:00:00:0a", hostname="host-0a", interface="r0")),
    ("DHCPACK on 198.18.0.50 to 52:54:00:00:00:0a via r0",
     dict(family=4, type="ACK", ip="198.18.0.50", mac="52:54:00:00:00:0a", interface="r0")),
    ("DHCPDISCOVER from 52:54:00:00:00:0c via r0: network 198.18.0.0/24: no free leases",
     dict(family=4, type="DISCOVER", mac="52:54:00:00:00:0c", interface="r0",
          network="198.18.0.0/24", reason="no free leases")),
    ("DHCPREQUEST for 198.18.0.50 from 52:54:00:00:00:0a via r0",
     dict(family=4, type="REQUEST", ip="198.18.0.50", mac="52:54:00:00:00:0a",
          interface="r0")),
    ("DHCPREQUEST for 198.18.9.9 from 52:54:00:00:00:0d via r0: wrong network.",
     dict(family=4, type="REQUEST", ip="198.18.9.9", mac="52:54:00:00:00:0d",
          interface="r0", reason="wrong network")),
    ("DHCPNAK on 198.18.9.9 to 52:54:00:00:00:0d via r0",
     dict(family=4, type="NAK", ip="198.18.9.9", mac="52:54:00:00:00:0d", interface="r0")),
    ("DHCPREQUEST for 198.18.0.50 from 52:54:00:00:00:0e via r0: lease 198.18.0.50 "
     "unavailable.",
     dict(family=4, type="REQUEST", ip="198.18.0.50", mac="52:54:00:00:00:0e",
          interface="r0", reason="lease 198.18.0.50 unavailable")),
    ("DHCPINFORM from 198.18.0.50 via r0",
     dict(family=4, type="INFORM", ip="198.18.0.50", interface="r0")),
    ("DHCPACK to 198.18.0.50 (52:54:00:00:00:0a) via r0",
     dict(family=4, type="ACK", ip="198.18.0.50", mac="52:54:00:00:00:0a", interface="r0",
          inform=True)),
    ("DHCPDECLINE of 198.18.0.51 from 52:54:00:00:00:0b via r0: abandoned",
     dict(family=4, type="DECLINE", ip="198.18.0.51", mac="52:54:00:00:00:0b",
          interface="r0", reason="abandoned")),
    ("DHCPRELEASE of 198.18.0.50 from 52:54:00:00:00:0a via r0 (found)",
     dict(family=4, type="RELEASE", ip="198.18.0.50", mac="52:54:00:00:00:0a",
          interface="r0", reason="found")),
    ("DHCPRELEASE of 198.18.0.99 from 52:54:00:00:00:0f via r0 (not found)",
     dict(family=4, type="RELEASE", ip="198.18.0.99", mac="52:54:00:00:00:0f",
          interface="r0", reason="not found")),
    # Relayed: "via" is the relay's address (giaddr), not an interface.
    ("DHCPDISCOVER from 52:54:00:00:01:0a via 198.18.2.1",
     dict(family=4, type="DISCOVER", mac="52:54:00:00:01:0a", relay="198.18.2.1")),
    ("DHCPOFFER on 198.18.2.10 to 52:54:00:00:01:0a via 198.18.2.1",
     dict(family=4, type="OFFER", ip="198.18.2.10", mac="52:54:00:00:01:0a",
          relay="198.18.2.1")),
    ("DHCPREQUEST for 198.18.2.10 (198.18.1.1) from 52:54:00:00:01:0a via 198.18.2.1",
     dict(family=4, type="REQUEST", ip="198.18.2.10", server="198.18.1.1",
          mac="52:54:00:00:01:0a", relay="198.18.2.1")),
    ("DHCPACK on 198.18.2.10 to 52:54:00:00:01:0a via 198.18.2.1",
     dict(family=4, type="ACK", ip="198.18.2.10", mac="52:54:00:00:01:0a",
          relay="198.18.2.1")),
    ("DHCPDISCOVER from 52:54:00:00:01:0b via 198.18.2.1: network 198.18.2.0/24: "
     "no free leases",
     dict(family=4, type="DISCOVER", mac="52:54:00:00:01:0b", relay="198.18.2.1",
          network="198.18.2.0/24", reason="no free leases")),
    ("DHCPREQUEST for 198.18.0.77 from 52:54:00:00:01:0c via 198.18.2.1: wrong network.",
     dict(family=4, type="REQUEST", ip="198.18.0.77", mac="52:54:00:00:01:0c",
          relay="198.18.2.1", reason="wrong network")),
    ("DHCPNAK on 198.18.0.77 to 52:54:00:00:01:0c via 198.18.2.1",
     dict(family=4, type="NAK", ip="198.18.0.77", mac="52:54:00:00:01:0c",
          relay="198.18.2.1")),
    ("DHCPINFORM from 198.18.2.10 via 198.18.2.1",
     dict(family=4, type="INFORM", ip="198.18.2.10", relay="198.18.2.1")),
    # DHCPv6
    (f"Solicit message from {LL} port 546, transaction ID 0x5CD4C900",
     dict(family=6, type="SOLICIT", peer=LL, xid="0x5CD4C900")),
    (f"Advertise NA: address 2001:db8:1::101 to client with duid {DUID1} iaid = 1087588910 "
     "valid for 8 seconds",
     dict(family=6, type="ADVERTISE", ip="2001:db8:1::101", duid=DUID1, lease_time=8)),
    (f"Sending Advertise to {LL} port 546", dict(family=6, type="ADVERTISE", peer=LL)),
    (f"Request message from {LL} port 546, transaction ID 0xBF34F100",
     dict(family=6, type="REQUEST", peer=LL, xid="0xBF34F100")),
    (f"Reply NA: address 2001:db8:1::101 to client with duid {DUID1} iaid = 1087588910 "
     "valid for 8 seconds",
     dict(family=6, type="REPLY", ip="2001:db8:1::101", duid=DUID1, lease_time=8)),
    (f"Sending Reply to {LL} port 546", dict(family=6, type="REPLY", peer=LL)),
    (f"Renew message from {LL} port 546, transaction ID 0x993D500",
     dict(family=6, type="RENEW", peer=LL, xid="0x993D500")),
    (f"Confirm message from {LL} port 546, transaction ID 0xB8DE1900",
     dict(family=6, type="CONFIRM", peer=LL, xid="0xB8DE1900")),
    (f"Release message from {LL} port 546, transaction ID 0xD6DD0700",
     dict(family=6, type="RELEASE", peer=LL, xid="0xD6DD0700")),
    (f"Client {DUID1} releases address 2001:db8:1::101",
     dict(family=6, type="RELEASE", duid=DUID1, ip="2001:db8:1::101")),
    (f"Information-request message from {LL} port 546, transaction ID 0xC6237B00",
     dict(family=6, type="INFORMATION-REQUEST", peer=LL, xid="0xC6237B00")),
    ("Relay-forward message from 2001:db8:2::2 port 547, link address 2001:db8:2::2, "
     "peer address 2001:db8:2::2",
     dict(family=6, type="RELAY-FORWARD", peer="2001:db8:2::2", relay="2001:db8:2::2",
          network="2001:db8:2::2")),
    (f"Advertise NA: address 2001:db8:2::100 to client with duid {DUID2} iaid = 1 valid "
     "for 600 seconds",
     dict(family=6, type="ADVERTISE", ip="2001:db8:2::100", duid=DUID2, lease_time=600)),
    ("Sending Relay-reply to 2001:db8:2::2 port 547",
     dict(family=6, type="RELAY-REPLY", peer="2001:db8:2::2")),
    ("Advertise NA: address 2001:db8:40::102f to client with duid "
     "00:01:00:01:32:9d:9e:81:3e:62:fd:ed:f9:69 iaid = -34735767 valid for 600 seconds",
     dict(family=6, type="ADVERTISE", ip="2001:db8:40::102f",
          duid="00:01:00:01:32:9d:9e:81:3e:62:fd:ed:f9:69", lease_time=600)),
    ("DHCPACK on 198.18.1.0 to 02:00:5e:10:01:01 (a) via eth0) via s0",
     dict(family=4, type="ACK", ip="198.18.1.0", mac="02:00:5e:10:01:01",
          hostname="a) via eth0", interface="s0")),
    ("DHCPACK on 198.18.1.1 to 02:00:5e:10:01:02 (Hostname Unsuitable for Printing) via s0",
     dict(family=4, type="ACK", ip="198.18.1.1", mac="02:00:5e:10:01:02", interface="s0")),
    ("DHCPREQUEST for 198.18.1.2 (198.18.0.1) from 02:00:5e:10:01:03 (sp (paren) via s0",
     dict(family=4, type="REQUEST", ip="198.18.1.2", server="198.18.0.1",
          mac="02:00:5e:10:01:03", hostname="sp (paren", interface="s0")),
    ("DHCPRELEASE of 198.18.1.4 from 02:00:5e:10:01:05 (n) via c0 (not found) via s0 (found)",
     dict(family=4, type="RELEASE", ip="198.18.1.4", mac="02:00:5e:10:01:05",
          hostname="n) via c0 (not found", interface="s0", reason="found")),
    ("Unable to pick client address: no addresses available  - shared network "
     "2001:db8:2::/64: 1 total, 1 active,  0 abandoned",
     dict(family=6, type="NOADDRS", network="2001:db8:2::/64",
          reason="no addresses available")),
]


@pytest.mark.parametrize("line, expected", CASES, ids=[c[0][:60] for c in CASES])
def test_recorded_line_gives_its_record(line, expected):
    """Each form dhcpd wrote in the labs parses to exactly these fields (and
    the case list only holds lines that really were recorded)."""
    assert line in RECORDED
    assert parse_transaction(line, when=5.0) == Transaction(time=5.0, **expected)


def test_every_recorded_line_parses_or_is_not_a_transaction():
    """No recorded line raises; the transactions are the ones the labs caused,
    by type and family (DORA twice direct and once relayed, and so on)."""
    found = [t for t in map(parse_transaction, RECORDED) if t is not None]
    counts = collections.Counter((t.family, t.type) for t in found)
    assert counts == {
        (4, "DISCOVER"): 10, (4, "OFFER"): 8, (4, "REQUEST"): 12, (4, "ACK"): 11,
        (4, "NAK"): 3, (4, "INFORM"): 2, (4, "DECLINE"): 1, (4, "RELEASE"): 7,
        (6, "SOLICIT"): 2, (6, "ADVERTISE"): 5, (6, "REQUEST"): 2, (6, "REPLY"): 14,
        (6, "RENEW"): 3, (6, "CONFIRM"): 1, (6, "RELEASE"): 2,
        (6, "INFORMATION-REQUEST"): 1, (6, "RELAY-FORWARD"): 4, (6, "RELAY-REPLY"): 4,
        (6, "NOADDRS"): 2,
    }


def test_noise_lines_are_not_transactions():
    """dhcpd's banner, listener and bookkeeping lines are None, not errors."""
    for line in ("Server starting service.", "Listening on LPF/r0/12:6f:24:9d:f4:31/198.18.0.0/24",
                 "Picking pool address 2001:db8:1::101", "Abandoning IP address 198.18.0.51: "
                 "declined.", "Wrote 0 leases to leases file.", "",
                 "rackd-lease 1 commit 4 198.18.0.5 00:0c:01:02:03:04 - 600 - 1 -"):
        assert parse_transaction(line) is None


def test_problems_are_no_free_leases_and_naks():
    """`problem` marks what the per-pool counts count, and nothing else."""
    kinds = collections.Counter(t.problem for t in map(parse_transaction, RECORDED)
                                if t is not None)
    assert kinds[NO_FREE_LEASES] == 4 and kinds[NAK] == 3
    assert set(kinds) == {None, NO_FREE_LEASES, NAK}


@pytest.mark.parametrize("line", [
    "DHCPDISCOVER from",
    "DHCPOFFER on not-an-ip to 52:54:00:00:00:0a via r0",
    "DHCPACK on 198.18.0.50 to 52:54:00:00:00:0a",
    "DHCPREQUEST for 198.18.0.999 from 52:54:00:00:00:0a via r0",
    "Solicit message from nowhere",
    "Reply NA: address 2001:db8::zz to client with duid 00:01 iaid = 1 valid for 8 seconds",
    "Sending Reply to",
    "DHCPDISCOVER from 52:54:00:00:00:0a via r0: " + "x" * MAX_LINE,
])
def test_garbled_lines_raise_bad_transaction(line):
    """A line that starts like a transaction and is wrong or oversized raises
    BadTransaction (the follower counts and skips it), never anything else."""
    with pytest.raises(BadTransaction):
        parse_transaction(line)


def test_bytes_and_odd_macs_are_accepted():
    """The follower hands bytes; dhcpd's hardware address for a client with
    none is kept out of ``mac``; invalid UTF-8 is replaced, not fatal."""
    t = parse_transaction(b"DHCPDISCOVER from 52:54:00:00:00:0A (h\xff) via r0\n")
    assert (t.mac, t.hostname) == ("52:54:00:00:00:0a", "h\ufffd")
    t = parse_transaction("DHCPDISCOVER from <no-hw> via r0")
    assert t.mac is None and t.interface == "r0"


def test_fields_are_plain_values():
    """A transaction's record is a JSON-ready mapping of the fields the journal
    keeps (the control socket sends it so)."""
    t = parse_transaction(RECORDED[RECORDED.index("DHCPNAK on 198.18.9.9 to "
                                                  "52:54:00:00:00:0d via r0")], when=1.0)
    record = t.record()
    assert record["type"] == "NAK" and record["time"] == 1.0
    assert json.loads(json.dumps(record)) == record
    assert set(record) == set(RECORD_FIELDS)  # what the journal keeps, no more


def test_a_static_v6_address_has_no_lifetime():
    """dhcpd writes "static" instead of a lifetime for a fixed-address6 host."""
    t = parse_transaction(f"Reply NA: address 2001:db8:1::5 to client with duid {DUID1} "
                          "iaid = 7 static")
    assert (t.type, t.ip, t.duid, t.lease_time) == ("REPLY", "2001:db8:1::5", DUID1, None)
