"""The lease record: parsing what dhcpd and dhcp-notify write, and hooks."""

import subprocess

import pytest

from provisioningserver.dhcp import hooks
from provisioningserver.dhcpd.binary import find_dhcpd
from provisioningserver.dhcp.leaserecord import BadRecord, LeaseEvent, format_record, parse_record

# Lines as the real dhcpd 4.4.3 wrote them with hooks.log_statements.
V4_COMMIT = "rackd-lease 1 commit 4 198.18.122.42 0:c:1:2:3:4 - 600 68:6f:73:74 unknown -"
V6_COMMIT = "rackd-lease 1 commit 6 2001:db8:8:0:0:0:0:ee0a - 0:1:0:1:32:9d:4:77:0:c:1:2:3:4 600 - - -"


def test_parses_a_v4_commit_as_dhcpd_writes_it():
    """Unpadded hex is normalised; the host name is decoded; no timestamp."""
    event = parse_record(V4_COMMIT)
    assert event == LeaseEvent(
        action="commit", ip_family=4, ip="198.18.122.42", mac="00:0c:01:02:03:04",
        hostname="host", lease_time=600, unknown_client=True,
    )


def test_parses_a_v6_commit_with_eight_unpadded_groups():
    """The v6 address comes out canonical and the DUID zero-padded."""
    event = parse_record(V6_COMMIT + "\n")
    assert event.ip == "2001:db8:8::ee0a"
    assert event.duid == "00:01:00:01:32:9d:04:77:00:0c:01:02:03:04"
    assert event.unknown_client is None


def test_other_log_lines_are_not_records():
    """dhcpd's own log lines are ignored, not rejected."""
    assert parse_record("DHCPACK on 198.18.0.5 to 00:0c:01:02:03:04 via s0") is None
    assert parse_record(b"rackd-leases are nice") is None


def test_empty_option_fields_are_absent():
    """binary-to-ascii of an empty option writes nothing between two spaces."""
    event = parse_record("rackd-lease 1 commit 4 198.18.0.5 0:c:1:2:3:4 - 600  known -")
    assert event.hostname is None and event.unknown_client is False


def test_round_trip_through_format_record():
    """format_record writes what parse_record reads back."""
    event = LeaseEvent(
        action="release", ip_family=4, ip="198.18.0.9", mac="00:0c:01:02:03:04",
        hostname="node-1", timestamp=1700000000.0,
    )
    assert parse_record(format_record(event)) == event


@pytest.mark.parametrize(
    "line",
    [
        "rackd-lease 2 commit 4 198.18.0.5 0:c:1:2:3:4 - 600 - known -",
        "rackd-lease 1 renew 4 198.18.0.5 0:c:1:2:3:4 - 600 - known -",
        "rackd-lease 1 commit 5 198.18.0.5 0:c:1:2:3:4 - 600 - known -",
        "rackd-lease 1 commit 4 2001:db8::1 0:c:1:2:3:4 - 600 - known -",
        "rackd-lease 1 commit 4 198.18.0.500 0:c:1:2:3:4 - 600 - known -",
        "rackd-lease 1 commit 4 198.18.0.5 0:c:1:2:3 - 600 - known -",
        "rackd-lease 1 commit 4 198.18.0.5 0:c:1:2:3:zz - 600 - known -",
        "rackd-lease 1 commit 4 198.18.0.5 0:c:1:2:3:4 - -600 - known -",
        "rackd-lease 1 commit 4 198.18.0.5 0:c:1:2:3:4 - 99999999999 - known -",
        "rackd-lease 1 commit 4 198.18.0.5 0:c:1:2:3:4 - 600 - maybe -",
        "rackd-lease 1 commit 4 198.18.0.5 - - 600 - known -",
        "rackd-lease 1 commit 6 2001:db8::1 - - 600 - - -",
        "rackd-lease 1 commit 4 198.18.0.5 0:c:1:2:3:4 - 600 - known",
        "rackd-lease 1 commit 4 198.18.0.5 0:c:1:2:3:4 - 600 - known - extra",
        "rackd-lease 1 commit 4 198.18.0.5 0:c:1:2:3:4 - 600 " + "61:" * 300 + "61 known -",
        "rackd-lease " + "x" * 3000,
        "rackd-lease 1 commit 4 198.18.0.5 0:c:1:2:3:4 - 600 - known 1e9",
    ],
)
def test_garbled_records_are_rejected(line):
    """Every wrong field raises BadRecord (never anything else)."""
    with pytest.raises(BadRecord):
        parse_record(line)


@pytest.mark.parametrize("ip", [["198.18.0.5"], None, 3232235525, "198.018.0.5", "2001:DB8::1"])
def test_an_event_refuses_an_ip_that_is_not_canonical_text(ip):
    """LeaseEvent's ip is canonical address text; anything else (even an
    unhashable value from a bad RPC argument) is a ValueError naming ip."""
    with pytest.raises(ValueError, match="^ip: "):
        LeaseEvent(action="commit", ip_family=6 if isinstance(ip, str) and ":" in ip else 4,
                   ip=ip, mac="00:0c:01:02:03:04")


def test_hostile_host_names_are_cleaned():
    """Bytes a DNS name cannot hold are dropped from the host name."""
    hostile = ":".join("%x" % b for b in b"a\nb c;\"d\x00zz")
    event = parse_record("rackd-lease 1 commit 4 198.18.0.5 0:c:1:2:3:4 - 600 %s - -" % hostile)
    assert event.hostname == "abcd"


def test_binary_garbage_never_raises_anything_but_badrecord():
    """Random bytes after the magic word are rejected cleanly."""
    for n in range(200):
        data = b"rackd-lease " + bytes((n * 7 + i * 13) % 256 for i in range(n))
        try:
            parse_record(data)
        except BadRecord:
            pass


def test_default_source_logs_v4_expiries_and_static_lease_times():
    """Commits and releases come from dhcpd's own lines: the default source's
    statements are one small log() in on expiry and one in on commit, only
    for a static lease, for v4; none for v6."""
    v4 = hooks.log_statements(4)
    assert v4.count("log(info") == 2 and "on expiry {" in v4
    assert v4.startswith("on commit {\n  if static {\n")
    assert "on release" not in v4
    assert hooks.log_statements(6) == ""
    with pytest.raises(ValueError):
        hooks.log_statements(5)


def test_notify_hooks_run_the_program_per_event():
    """v4 gets commit (known/unknown), release and expiry; v6 no expiry."""
    v4 = hooks.notify_statements(4, "/usr/lib/rackd/dhcp-notify")
    assert v4.count("execute(") == 4 and "if known" in v4 and "on expiry" in v4
    v6 = hooks.notify_statements(6, "/usr/lib/rackd/dhcp-notify")
    assert "on expiry" not in v6 and "dhcp6.client-id" in v6
    with pytest.raises(ValueError):
        hooks.notify_statements(4, 'relative/"path')


@pytest.mark.dhcpd
@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize("kind", ["log", "notify"])
def test_hooks_pass_dhcpd_t(tmp_path, family, kind):
    """The real dhcpd accepts the rendered statements."""
    if family == 4:
        base = "subnet 198.18.0.0 netmask 255.255.0.0 { range 198.18.1.1 198.18.1.9; }\n"
    else:
        base = "subnet6 2001:db8:8::/64 { range6 2001:db8:8::100 2001:db8:8::1ff; }\n"
    if kind == "log":
        statements = hooks.log_statements(family)
    else:
        statements = hooks.notify_statements(family, "/usr/lib/rackd/dhcp-notify", "/run/s", "/run/p")
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(base + statements)
    result = subprocess.run(
        [find_dhcpd(), "-t", "-%d" % family, "-cf", str(conf)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
