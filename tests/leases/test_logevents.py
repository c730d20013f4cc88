"""dhcpd's per-packet lines -> lease events (provisioningserver.leases.logevents).

The transactions are parsed from real dhcpd 4.4.3-P1 lines, those of
tests/leases/data/dhcpd_transactions.log where it holds one of the shape.
"""

import pytest

from provisioningserver.dhcp.leaserecord import LeaseEvent
from provisioningserver.leases.logevents import Unusable, lease_event
from provisioningserver.leases.txlog import Transaction, parse_transaction
from tests.leases.test_txlog import RECORDED

WHEN = 5.0
LEASE_TIME = 600
DUID1 = "00:01:00:01:32:9d:9c:98:02:df:40:d3:4a:2e"
DUID2 = "00:01:00:01:32:9d:9c:f4:00:0c:01:02:03:04"
LL = "fe80::df:40ff:fed3:4a2e"


def _v4(action, ip, mac, hostname=None, **kw):
    return LeaseEvent(action=action, ip_family=4, ip=ip, mac=mac, hostname=hostname,
                      timestamp=WHEN, **kw)


def _commit4(ip, mac, hostname=None):
    """A v4 commit as made with lease time LEASE_TIME for a client ``known`` says is not."""
    return _v4("commit", ip, mac, hostname, lease_time=LEASE_TIME, unknown_client=True)


def _v6(action, ip, duid, lease_time=None):
    return LeaseEvent(action=action, ip_family=6, ip=ip, duid=duid, lease_time=lease_time,
                      timestamp=WHEN)


def _event(line, lease_time=LEASE_TIME, known=False):
    """The event of ``line`` with constant lease-time and known answers."""
    return lease_event(parse_transaction(line, when=WHEN), lambda ip, mac: lease_time,
                       lambda mac: known)


# Lines dhcpd wrote in the labs, with the event each must be (or None).
RECORDED_CASES = [
    ("DHCPACK on 198.18.0.50 to 52:54:00:00:00:0a via r0",
     _commit4("198.18.0.50", "52:54:00:00:00:0a")),
    ("DHCPACK on 198.18.2.10 to 52:54:00:00:01:0a via 198.18.2.1",
     _commit4("198.18.2.10", "52:54:00:00:01:0a")),
    ("DHCPACK to 198.18.0.50 (52:54:00:00:00:0a) via r0", None),
    ("DHCPACK to 198.18.2.10 (52:54:00:00:01:0a) via r1", None),
    ("DHCPRELEASE of 198.18.0.50 from 52:54:00:00:00:0a via r0 (found)",
     _v4("release", "198.18.0.50", "52:54:00:00:00:0a")),
    ("DHCPRELEASE of 198.18.0.99 from 52:54:00:00:00:0f via r0 (not found)", None),
    ("DHCPDISCOVER from 52:54:00:00:00:0a via r0", None),
    ("DHCPDISCOVER from 52:54:00:00:00:0c via r0: network 198.18.0.0/24: no free leases", None),
    ("DHCPOFFER on 198.18.0.50 to 52:54:00:00:00:0a (host-0a) via r0", None),
    ("DHCPREQUEST for 198.18.0.50 (198.18.0.1) from 52:54:00:00:00:0a (host-0a) via r0", None),
    ("DHCPNAK on 198.18.9.9 to 52:54:00:00:00:0d via r0", None),
    ("DHCPDECLINE of 198.18.0.51 from 52:54:00:00:00:0b via r0: abandoned", None),
    ("DHCPINFORM from 198.18.0.50 via r0", None),
    (f"Reply NA: address 2001:db8:2::100 to client with duid {DUID2} iaid = 1 valid for 600 "
     "seconds", _v6("commit", "2001:db8:2::100", DUID2, 600)),
    (f"Reply NA: address 2001:db8:1::101 to client with duid {DUID1} iaid = 1087588910 valid "
     "for 8 seconds", _v6("commit", "2001:db8:1::101", DUID1, 8)),
    (f"Advertise NA: address 2001:db8:2::100 to client with duid {DUID2} iaid = 1 valid for "
     "600 seconds", None),
    (f"Client {DUID1} releases address 2001:db8:1::101",
     _v6("release", "2001:db8:1::101", DUID1)),
    (f"Solicit message from {LL} port 546, transaction ID 0x5CD4C900", None),
    (f"Release message from {LL} port 546, transaction ID 0xD6DD0700", None),
    (f"Sending Reply to {LL} port 546", None),
    ("Unable to pick client address: no addresses available  - shared network "
     "2001:db8:2::/64: 1 total, 1 active,  0 abandoned", None),
    # Part 5: hostile host names. The address and MAC are right; only what a
    # DNS name may hold is kept of the name.
    ("DHCPACK on 198.18.1.0 to 02:00:5e:10:01:01 (a) via eth0) via s0",
     _commit4("198.18.1.0", "02:00:5e:10:01:01", "aviaeth0")),
    ("DHCPRELEASE of 198.18.1.0 from 02:00:5e:10:01:01 (a) via eth0) via s0 (found)",
     _v4("release", "198.18.1.0", "02:00:5e:10:01:01", "aviaeth0")),
    ("DHCPACK on 198.18.1.1 to 02:00:5e:10:01:02 (Hostname Unsuitable for Printing) via s0",
     _commit4("198.18.1.1", "02:00:5e:10:01:02")),
    ("DHCPRELEASE of 198.18.1.3 from 02:00:5e:10:01:04 (Hostname Unsuitable for Printing) "
     "via s0 (found)", _v4("release", "198.18.1.3", "02:00:5e:10:01:04")),
    ("DHCPACK on 198.18.1.2 to 02:00:5e:10:01:03 (sp (paren) via s0",
     _commit4("198.18.1.2", "02:00:5e:10:01:03", "spparen")),
    ("DHCPRELEASE of 198.18.1.2 from 02:00:5e:10:01:03 (sp (paren) via s0 (found)",
     _v4("release", "198.18.1.2", "02:00:5e:10:01:03", "spparen")),
    ("DHCPACK on 198.18.1.4 to 02:00:5e:10:01:05 (n) via c0 (not found) via s0",
     _commit4("198.18.1.4", "02:00:5e:10:01:05", "nviac0notfound")),
    ("DHCPRELEASE of 198.18.1.4 from 02:00:5e:10:01:05 (n) via c0 (not found) via s0 (found)",
     _v4("release", "198.18.1.4", "02:00:5e:10:01:05", "nviac0notfound")),
]

# Shapes the labs did not record, made after dhcpd's format strings.
MADE_CASES = [
    ("BOOTREPLY for 198.18.0.60 to host-10 (52:54:00:00:00:10) via r0",
     _commit4("198.18.0.60", "52:54:00:00:00:10", "host-10")),
    ("BOOTREPLY for 198.18.2.11 to host.example_1 (52:54:00:00:01:10) via 198.18.2.1",
     _commit4("198.18.2.11", "52:54:00:00:01:10", "host.example_1")),
    ("BOOTREQUEST from 52:54:00:00:00:10 via r0", None),
    ("DHCPACK on 198.18.0.50 to 52:54:00:00:00:0a (host_0a.example) via r0",
     _commit4("198.18.0.50", "52:54:00:00:00:0a", "host_0a.example")),
    ("DHCPRELEASE of 198.18.0.50 from 52:54:00:00:00:0a (x y!) via r0 (found)",
     _v4("release", "198.18.0.50", "52:54:00:00:00:0a", "xy")),
    ("DHCPRELEASE of 198.18.0.50 from 52:54:00:00:00:0a (!!) via r0 (found)",
     _v4("release", "198.18.0.50", "52:54:00:00:00:0a")),
    (f"Reply NA: address 2001:db8:1::101 to client with duid {DUID1} iaid = 1 valid for 0 "
     "seconds", None),
    (f"Reply NA: address 2001:db8:1::5 to client with duid {DUID1} iaid = 7 static",
     _v6("commit", "2001:db8:1::5", DUID1)),
    (f"Advertise NA: address 2001:db8:1::5 to client with duid {DUID1} iaid = 7 static", None),
    (f"Client {DUID1} reports address 2001:db8:1::101 is already in use by another host!",
     None),
]


def test_the_recorded_cases_were_recorded():
    """Every line of RECORDED_CASES is one dhcpd really wrote."""
    for line, _ in RECORDED_CASES:
        assert line in RECORDED


@pytest.mark.parametrize("line, expected", RECORDED_CASES + MADE_CASES,
                         ids=[c[0][:60] for c in RECORDED_CASES + MADE_CASES])
def test_a_line_gives_its_event(line, expected):
    """ACKs and BOOTP replies are commits, found releases are releases, v6
    Reply NA with a lifetime commits, v6 releases releases; nothing else is
    an event. The line's time is the event's."""
    assert _event(line) == expected


@pytest.mark.parametrize("line", [
    "DHCPACK on 198.18.0.50 to 52:54:00:00:00:0a via r0",
    "BOOTREPLY for 198.18.0.60 to host-10 (52:54:00:00:00:10) via r0",
])
@pytest.mark.parametrize("known, unknown_client", [(True, False), (False, True), (None, None)])
def test_a_v4_commit_says_whether_the_client_is_unknown(line, known, unknown_client):
    """unknown_client is ``not known(mac)``, and None when known cannot tell."""
    assert _event(line, known=known).unknown_client is unknown_client


@pytest.mark.parametrize("lease_time", [None, 0, 86400, 2**32 - 1])
def test_a_v4_commit_has_the_lease_time_it_is_given(lease_time):
    """The lease time is whatever ``lease_time`` answers, None included."""
    event = _event("DHCPACK on 198.18.0.50 to 52:54:00:00:00:0a via r0", lease_time=lease_time)
    assert event.lease_time == lease_time


@pytest.mark.parametrize("line, asked", [
    ("DHCPACK on 198.18.1.0 to 02:00:5e:10:01:01 (a) via eth0) via s0",
     [("198.18.1.0", "02:00:5e:10:01:01")]),
    ("BOOTREPLY for 198.18.0.60 to host-10 (52:54:00:0:0:10) via r0",
     [("198.18.0.60", "52:54:00:00:00:10")]),
    ("DHCPRELEASE of 198.18.0.50 from 52:54:00:00:00:0a via r0 (found)", []),
    ("DHCPACK to 198.18.0.50 (52:54:00:00:00:0a) via r0", []),
    ("DHCPOFFER on 198.18.0.50 to 52:54:00:00:00:0a (host-0a) via r0", []),
    (f"Reply NA: address 2001:db8:2::100 to client with duid {DUID2} iaid = 1 valid for 600 "
     "seconds", []),
])
def test_the_callables_are_asked_about_the_lines_client(line, asked):
    """``lease_time`` is called with exactly (ip, mac) of the line (MAC in
    canonical form) and ``known`` with that MAC, once per commit; neither is
    called for anything else."""
    times, knowns = [], []

    def lease_time(*args, **kwargs):
        times.append((args, kwargs))
        return 60

    def known(*args, **kwargs):
        knowns.append((args, kwargs))
        return True

    lease_event(parse_transaction(line), lease_time, known)
    assert times == [((ip, mac), {}) for ip, mac in asked]
    assert knowns == [((mac,), {}) for _, mac in asked]


@pytest.mark.parametrize("transaction", [
    parse_transaction("DHCPACK on 198.18.0.5 to <no-hw> via r0"),
    parse_transaction("DHCPRELEASE of 198.18.0.5 from <no-hw> via r0 (found)"),
    parse_transaction("BOOTREPLY for 198.18.0.5 to host-5 (<no-hw>) via r0"),
    Transaction(family=4, type="ACK", ip="198.18.0.5", mac=None),
    Transaction(family=4, type="BOOTREPLY", ip="198.18.0.5", mac=None),
    Transaction(family=4, type="RELEASE", ip="198.18.0.5", mac=None, reason="found"),
    Transaction(family=4, type="ACK", ip=None, mac="52:54:00:00:00:0a"),
], ids=["ack-line", "release-line", "bootreply-line", "ack", "bootreply", "release",
        "ack-without-ip"])
def test_an_event_without_its_client_is_unusable(transaction):
    """A v4 commit or release whose MAC is not a MAC (or without an address)
    raises Unusable rather than making an event about nobody."""
    with pytest.raises(Unusable):
        lease_event(transaction, lambda ip, mac: 600, lambda mac: True)


@pytest.mark.parametrize("transaction", [
    parse_transaction("DHCPRELEASE of 198.18.0.5 from <no-hw> via r0 (not found)"),
    parse_transaction("DHCPACK to 198.18.0.5 (<no-hw>) via r0"),
    parse_transaction("DHCPOFFER on 198.18.0.5 to <no-hw> via r0"),
])
def test_a_non_event_without_a_client_is_no_error(transaction):
    """Lines that are no events are None even without a MAC."""
    assert lease_event(transaction, lambda ip, mac: 600, lambda mac: True) is None


def test_unusable_is_a_value_error():
    """Unusable is a ValueError, so callers that catch ValueError catch it."""
    assert issubclass(Unusable, ValueError)


def test_a_dynamic_bootp_reply_is_a_commit():
    """A BOOTP client given a pool address is a commit, like a DHCPACK: dhcpd
    logs it in its DHCPACK line's format, with BOOTREPLY first."""
    assert _event("BOOTREPLY on 198.18.0.60 to 52:54:00:00:00:10 via r0") == _commit4(
        "198.18.0.60", "52:54:00:00:00:10")
