"""A rack and the test region over real TLS on 127.0.0.1 (an ephemeral port),
with certificates generated for the test. Each case runs `tests.region.tls_driver`
in a child process, since a Twisted reactor runs only once per process."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def drive(tmp_path, mode):
    completed = subprocess.run(
        [sys.executable, "-m", "tests.region.tls_driver", str(tmp_path), mode],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["ca", "fingerprint"])
def test_rack_connects_authenticates_registers_and_is_configured(tmp_path, mode):
    """With the right CA (or pinned fingerprint) the rack connects over TLS 1.2+,
    both sides authenticate, the rack registers and reports its services, and a
    ConfigureDHCPv4 from the region reaches the rack and is answered."""
    report = drive(tmp_path, mode)
    assert report["registered"] == "rack-tls"
    assert report["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert report["reply"]["action"] == "started"
    assert report["rack_received"][0]["shared_networks"][0]["name"] == "lab"
    assert [s["service"] for s in report["services"][0]] == ["dhcpd", "dhcpd6"]
    assert report["last_error"] is None


@pytest.mark.parametrize("mode", ["wrong-ca", "wrong-fingerprint"])
def test_wrong_ca_or_fingerprint_fails_the_connection(tmp_path, mode):
    """A region certificate that the CA did not sign, or whose fingerprint is not
    the pinned one, fails the TLS handshake: the rack never registers."""
    report = drive(tmp_path, mode)
    assert report["registered"] is False
    assert "certificate verify failed" in report["last_error"]


def test_a_region_that_stops_reading_holds_the_rack_at_its_write_bound(tmp_path):
    """Over real TLS, a region that sends 5,000 ConfigureDHCPv4 and reads no
    replies: the rack answers until its socket's write buffer holds 64 KiB
    (plus at most one of TLS's 64,000-byte writes), then reads no more
    (without the bound: all 5,000 answered, 1 MB held). Stopped meanwhile,
    the rack closes once the region reads again; every call then ends."""
    report = drive(tmp_path, "flood")
    assert report["registered"] == "rack-tls"
    assert report["answered_unread"] < 5000 // 2
    assert report["rack_buffered"] <= 2 * 65536
    assert report["stopped_while_unread"] is False
    assert report["stop_seconds"] is not None
    assert sum(report["ends"].values()) == 5000
