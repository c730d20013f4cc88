"""DHCPv4 lease times from dhcpd's leases file (provisioningserver.leases.leasetimes).

The record shapes are those dhcpd 4.4.3 writes (``man dhcpd.leases``); REAL is
one it wrote, with the ``on expiry`` block rackd's config makes it copy into
every lease.
"""

import pytest

from provisioningserver.leases.leasetimes import INFINITE, LeaseTimes, _seconds

IP = "198.18.1.0"
MAC = "02:00:5e:10:00:01"
OTHER = "02:00:5e:10:00:02"
STARTS = "6 2026/11/28 23:48:14;"
ENDS = "6 2026/11/28 23:58:14;"
T0 = 1795909694  # 2026/11/28 23:48:14 UTC

ON_EXPIRY = (
    "  on expiry {\n"
    "    log (info, \n"
    '        concat ("rackd-lease 1 expiry 4 ", binary-to-ascii (10, 8, ".", '
    'leased-address), " - - - - - -"));\n'
    "  }\n"
)

# As the real dhcpd 4.4.3 wrote it.
REAL = (
    "lease 198.18.1.0 {\n"
    "  starts 6 2026/11/28 23:48:14;\n"
    "  ends 6 2026/11/28 23:58:14;\n"
    "  cltt 6 2026/11/28 23:48:14;\n"
    "  binding state active;\n"
    "  next binding state free;\n"
    "  rewind binding state free;\n"
    "  hardware ethernet 02:00:5e:10:00:01;\n"
    '  client-hostname "a) via eth0";\n'
    + ON_EXPIRY
    + "}\n"
)

# What dhcpd writes at the top of the file, and other statements that are not leases.
HEADER = (
    "# The format of this file is documented in the dhcpd.leases(5) manual page.\n"
    "# This lease file was written by isc-dhcp-4.4.3-P1\n"
    "\n"
    "# authoring-byte-order entry is generated, DO NOT DELETE\n"
    "authoring-byte-order little-endian;\n"
    "\n"
    'server-duid "\\000\\001\\000\\001-\\235\\234\\230\\002\\337@\\323J.";\n'
    "\n"
)
HOST = (
    "host x {\n"
    "  dynamic;\n"
    "  hardware ethernet 02:00:5e:10:00:02;\n"
    "  fixed-address 198.18.1.0;\n"
    "  deleted;\n"
    "}\n"
)
FAILOVER = (
    'failover peer "p" state {\n'
    "  my state normal at 6 2026/11/28 23:48:14;\n"
    "  partner state normal at 6 2026/11/28 23:48:14;\n"
    "  mclt 3600;\n"
    "}\n"
)


def _lease(ip=IP, mac=MAC, state="active", starts=STARTS, ends=ENDS, cltt=STARTS,
           hostname="h", block=""):
    """A lease record in dhcpd's layout; a time of None leaves its line out,
    ``block`` goes right after the ``lease`` line."""
    lines = [f"lease {ip} {{\n", block]
    for name, value in (("starts", starts), ("ends", ends), ("cltt", cltt)):
        if value is not None:
            lines.append(f"  {name} {value}\n")
    lines.append(f"  binding state {state};\n  next binding state free;\n")
    lines.append(f"  hardware ethernet {mac};\n")
    lines.append(f'  client-hostname "{hostname}";\n')
    return "".join(lines) + "}\n"


def _times(*texts):
    times = LeaseTimes()
    for text in texts:
        times.feed(text)
    return times


def test_a_record_as_dhcpd_writes_it_gives_ends_minus_cltt():
    """The real dhcpd's record gives its lease time, ends - cltt, for its address and MAC."""
    times = _times(REAL)
    assert times.lease_time(IP, MAC) == 600
    assert (len(times), times.records) == (1, 1)


@pytest.mark.parametrize("starts, ends, cltt, expected", [
    ("6 2026/11/28 23:40:14;", ENDS, STARTS, 600),
    ("6 2026/11/28 23:40:14;", ENDS, None, 1080),
    (f"epoch {T0}; # Sat Nov 28 23:48:14 2026", f"epoch {T0 + 3600}; # Sun Nov 29 00:48:14 2026",
     f"epoch {T0}; # Sat Nov 28 23:48:14 2026", 3600),
    (STARTS, f"epoch {T0 + 60}; # Sat Nov 28 23:49:14 2026", STARTS, 60),
    (STARTS, "never;", STARTS, INFINITE),
    (STARTS, "never;", None, INFINITE),
    (STARTS, ENDS, None, 600),
    (STARTS, "6 2026/11/28 2x:58:14;", STARTS, None),
    (STARTS, ENDS, "6 2026/11/28;", None),
    (STARTS, "6 2026/13/28 23:58:14;", STARTS, None),
    (STARTS, "epoch soon;", STARTS, None),
    (None, ENDS, None, None),
    (STARTS, None, STARTS, None),
    (STARTS, "6 2026/11/28 23:48:13;", STARTS, None),
    (STARTS, STARTS, STARTS, 0),
], ids=["cltt-not-starts", "no-cltt-uses-starts", "epoch", "epoch-and-date", "never",
        "never-without-cltt", "starts-is-cltt", "garbled-ends", "garbled-cltt", "month-13",
        "garbled-epoch", "no-start", "no-ends", "ends-before-cltt", "zero"])
def test_lease_time_from_the_times(starts, ends, cltt, expected):
    """The lease time is ends - cltt (starts without cltt), INFINITE for
    ``ends never``, and None when a time is missing, garbled or backwards."""
    times = _times(_lease(starts=starts, ends=ends, cltt=cltt))
    assert times.lease_time(IP, MAC) == expected
    assert len(times) == 1  # an active record is kept even without a time


@pytest.mark.parametrize("value, expected", [
    ("6 2026/11/28 23:48:14;", T0),
    ("6 2026/11/28 23:48:14", T0),
    (f"epoch {T0}; # Sat Nov 28 23:48:14 2026", T0),
    ("never;", INFINITE),
    ("", None),
    ("6 2026/11/28;", None),
    ("6 2026-11-28 23:48:14;", None),
    ("6 2026/11/28 23:48;", None),
    ("epoch;", None),
    ("epoch 12x;", None),
    ("sometime;", None),
])
def test_seconds_reads_dhcpd_times(value, expected):
    """A leases-file time is seconds since the epoch (UTC), INFINITE for never,
    None for anything that is not one of dhcpd's forms."""
    assert _seconds(value) == expected


@pytest.mark.parametrize("ip, mac, expected", [
    (IP, MAC, 600),
    (IP, OTHER, None),
    ("198.18.1.9", MAC, None),
    ("", "", None),
])
def test_the_lookup_needs_the_address_and_its_mac(ip, mac, expected):
    """Only the MAC of the address's last active lease finds its time."""
    assert _times(REAL).lease_time(ip, mac) == expected


def test_the_mac_is_compared_in_lower_case():
    """A hardware address written in capitals is found by its lower-case form."""
    times = _times(_lease(mac=MAC.upper()))
    assert times.lease_time(IP, MAC) == 600


@pytest.mark.parametrize("feeds", [1, 2], ids=["one-feed", "two-feeds"])
def test_a_later_active_record_replaces_the_earlier(feeds):
    """A renewal's record (same address, later) gives the new lease time."""
    first = _lease()
    renewal = _lease(starts=STARTS, cltt="6 2026/11/28 23:53:14;", ends="6 2026/11/29 00:53:14;")
    times = _times(first + renewal) if feeds == 1 else _times(first, renewal)
    assert times.lease_time(IP, MAC) == 3600
    assert (len(times), times.records) == (1, 2)


@pytest.mark.parametrize("state", ["free", "released", "expired", "backup", "abandoned"])
def test_other_binding_states_keep_the_last_active_time(state):
    """A record that ends the lease does not erase it: an ACK read after its
    release still finds its time."""
    ended = _lease(state=state, cltt="6 2026/11/28 23:50:14;", ends="6 2026/11/28 23:50:14;")
    times = _times(REAL, ended)
    assert times.lease_time(IP, MAC) == 600
    assert (len(times), times.records) == (1, 2)


@pytest.mark.parametrize("state", ["free", "released", "expired", "backup", "abandoned"])
def test_a_record_in_another_state_alone_gives_nothing(state):
    """An address never active in what was fed has no lease time."""
    times = _times(_lease(state=state))
    assert times.lease_time(IP, MAC) is None
    assert (len(times), times.records) == (0, 1)


def test_a_later_lease_of_another_client_hides_the_first():
    """Once the address went to another MAC, the first MAC's ACK finds no time."""
    times = _times(REAL, _lease(state="released"),
                   _lease(mac=OTHER, cltt="6 2026/11/29 00:00:00;", ends="6 2026/11/29 00:05:00;"))
    assert times.lease_time(IP, MAC) is None
    assert times.lease_time(IP, OTHER) == 300


@pytest.mark.parametrize("hostname", [
    "} lease 1.2.3.4 {",
    "x} lease 1.2.3.4 {",
    "  ends never;",
    "}",
    "  binding state active;",
])
def test_a_hostname_imitating_the_file_changes_nothing(hostname):
    """A client-chosen name that looks like a record's start, end or field, on
    the client-hostname line, neither makes a record nor changes one."""
    times = _times(_lease(hostname=hostname))
    assert times.lease_time(IP, MAC) == 600
    assert times.lease_time("1.2.3.4", MAC) is None
    assert (len(times), times.records) == (1, 1)


def test_nested_on_blocks_are_ignored():
    """The ``on`` blocks dhcpd copies into each lease (``}`` lines indented)
    neither end the record nor add fields, wherever they are in it."""
    block = ON_EXPIRY + "  on release {\n    if known {\n      log (info, \"x\");\n    }\n  }\n"
    times = _times(_lease(block=block))
    assert times.lease_time(IP, MAC) == 600
    assert (len(times), times.records) == (1, 1)


def test_a_partial_record_at_the_end_is_ignored():
    """A record without its closing brace (cut off by the next one, or at the
    end of the text) is not read: what it would give stays unknown."""
    partial = _lease(mac=OTHER, cltt="6 2026/11/29 00:00:00;", ends="6 2026/11/29 00:05:00;")
    times = _times(REAL + partial[: partial.rindex("}")] + _lease(ip="198.18.1.7")[:-2])
    assert times.lease_time(IP, MAC) == 600
    assert times.lease_time(IP, OTHER) is None
    assert times.lease_time("198.18.1.7", MAC) is None
    assert (len(times), times.records) == (1, 1)


def test_statements_that_are_not_leases_are_ignored():
    """The header, server-duid, host and failover statements are no leases,
    before a lease or after it."""
    times = _times(HEADER + HOST + FAILOVER + REAL + HOST + FAILOVER)
    assert times.lease_time(IP, MAC) == 600
    assert times.lease_time(IP, OTHER) is None
    assert (len(times), times.records) == (1, 1)


def test_nothing_fed_knows_nothing():
    """An empty LeaseTimes has no records and no lease times."""
    times = _times("", HEADER)
    assert (len(times), times.records, times.lease_time(IP, MAC)) == (0, 0, None)
