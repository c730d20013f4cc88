"""scripts/dhcp-notify: one datagram, or one spooled line, quickly."""

import os
import shutil
import socket
import subprocess
import time

import pytest

from provisioningserver.dhcp.leaserecord import parse_record

SOURCE = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "dhcp-notify.c")
ARGS = ["commit", "4", "198.18.1.5", "0:c:1:2:3:4", "-", "600", "68:6f:73:74", "unknown"]


@pytest.fixture(scope="module")
def notify(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build dhcp-notify")
    binary = str(tmp_path_factory.mktemp("bin") / "dhcp-notify")
    subprocess.run(["gcc", "-O2", "-Wall", "-Werror", "-o", binary, SOURCE], check=True)
    return binary


def _run(notify, tmp_path, args=ARGS):
    sock, spool = str(tmp_path / "s.sock"), str(tmp_path / "spool")
    return subprocess.run([notify, "-s", sock, "-p", spool] + args, capture_output=True)


def test_sends_one_parsable_datagram(notify, tmp_path):
    """With rackd listening, the record arrives as one valid datagram."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(tmp_path / "s.sock"))
    server.settimeout(2)
    try:
        assert _run(notify, tmp_path).returncode == 0
        event = parse_record(server.recv(4096))
    finally:
        server.close()
    assert event.ip == "198.18.1.5" and event.hostname == "host" and event.unknown_client
    assert abs(event.timestamp - time.time()) < 5
    assert not os.path.exists(tmp_path / "spool")


def test_spools_when_nobody_listens(notify, tmp_path):
    """No socket: each call appends exactly one valid line to the spool."""
    for _ in range(3):
        assert _run(notify, tmp_path).returncode == 0
    lines = (tmp_path / "spool").read_bytes().splitlines()
    assert len(lines) == 3 and all(parse_record(line) for line in lines)
    assert (tmp_path / "spool").stat().st_mode & 0o077 == 0


def test_hostile_arguments_cannot_add_fields_or_lines(notify, tmp_path):
    """Spaces, newlines and overlong arguments become '-'."""
    args = list(ARGS)
    args[6] = "a b\nrackd-lease 1 commit 4 198.18.9.9"
    args[4] = "1" * 1000
    assert _run(notify, tmp_path, args).returncode == 0
    lines = (tmp_path / "spool").read_bytes().splitlines()
    assert len(lines) == 1
    event = parse_record(lines[0])
    assert event.hostname is None and event.duid is None


def test_wrong_usage_exits_2(notify, tmp_path):
    """Too few arguments is a usage error, and nothing is sent."""
    assert _run(notify, tmp_path, ARGS[:3]).returncode == 2
    assert not os.path.exists(tmp_path / "spool")


def test_one_call_costs_about_a_millisecond(notify, tmp_path):
    """The whole run, fork and exec included, stays far below 20 ms."""
    start = time.perf_counter()
    for _ in range(50):
        _run(notify, tmp_path)
    per_call = (time.perf_counter() - start) / 50
    assert per_call < 0.02


def _define(name):
    """The value of ``#define NAME value`` in dhcp-notify.c."""
    with open(SOURCE) as source:
        for line in source:
            words = line.split()
            if words[:2] == ["#define", name]:
                return int(words[2])
    raise AssertionError(f"no #define {name} in {SOURCE}")


def test_bounds_agree_with_rackd():
    """The hook's field bound fits the hex of the longest host name rackd
    keeps, its record bound is rackd's datagram bound, and the dhcpd
    expression cuts the host name at that same length, not shorter."""
    from provisioningserver.dhcp import hooks
    from provisioningserver.dhcp.leaserecord import MAX_HOSTNAME, MAX_RECORD

    assert _define("FIELD_MAX") >= 3 * MAX_HOSTNAME - 1
    assert _define("RECORD_MAX") == MAX_RECORD
    assert hooks.HOSTNAME_BYTES == MAX_HOSTNAME


def test_a_255_byte_host_name_arrives_whole(notify, tmp_path):
    """A client host name as long as rackd accepts (255 bytes, 764 characters
    of dhcpd's colon-separated hex) reaches a real datagram socket whole, and
    so does the longest record such a hook call can make (an IPv6 DUID of 130
    bytes beside it)."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(tmp_path / "s.sock"))
    server.settimeout(2)
    name = ("a" * 62 + ".") * 4 + "abc"
    assert len(name) == 255
    args = list(ARGS)
    args[6] = ":".join("%x" % b for b in name.encode())
    args[4] = ":".join(["ff"] * 130)
    try:
        assert _run(notify, tmp_path, args).returncode == 0
        event = parse_record(server.recv(8192))
    finally:
        server.close()
    assert event.hostname == name and len(event.duid.split(":")) == 130
    assert not os.path.exists(tmp_path / "spool")


def test_a_record_too_long_for_rackd_is_not_cut(notify, tmp_path):
    """Fields that together pass rackd's record bound are not sent cut short:
    the event is reported lost (exit 1) and nothing half-written is sent or
    spooled."""
    args = list(ARGS)
    for i in (2, 3, 4, 5, 6):
        args[i] = "1" * 700
    result = _run(notify, tmp_path, args)
    assert result.returncode == 1 and b"longer than" in result.stderr
    assert not os.path.exists(tmp_path / "spool")
