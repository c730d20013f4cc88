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
