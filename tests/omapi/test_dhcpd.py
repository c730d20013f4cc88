"""The OMAPI client against the real dhcpd 4.4, in a network namespace.

One dhcpd serves the whole module, so that its pid, checked at the end of
every test, proves it survived everything the client did to it. The client
runs in the namespace as a subprocess (tests/omapi/driver.py), because
OMAPI listens on the namespace's loopback; the real `omshell` confirms what
dhcpd holds.
"""

import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
KEY = "omapi_key"
PEER = "rkh5-peer"

CONFIG = """\
omapi-port 7911;
key {key} {{ algorithm HMAC-MD5; secret "{secret}"; }}
omapi-key {key};
failover peer "{peer}" {{
  primary; address 198.18.201.1; port 8647;
  peer address 198.18.201.3; peer port 8647;
  max-response-delay 30; max-unacked-updates 10; mclt 600; split 128;
  load balance max seconds 3;
}}
subnet 198.18.201.0 netmask 255.255.255.0 {{
  pool {{ failover peer "{peer}"; range 198.18.201.100 198.18.201.200; }}
}}
"""


def sh(*args, check=True, **kwargs):
    return subprocess.run(args, check=check, capture_output=True, text=True, **kwargs)


class Lab:
    def __init__(self, tmp):
        self.ns = "rkh5-" + secrets.token_hex(3)
        self.tmp = tmp
        self.secret = base64.b64encode(secrets.token_bytes(32)).decode()
        self.proc = None

    def start(self):
        sh("ip", "netns", "add", self.ns)
        sh("ip", "-n", self.ns, "link", "set", "lo", "up")
        sh("ip", "-n", self.ns, "link", "add", "rkh5a", "type", "veth", "peer", "name", "rkh5b")
        sh("ip", "-n", self.ns, "addr", "add", "198.18.201.1/24", "dev", "rkh5a")
        sh("ip", "-n", self.ns, "link", "set", "rkh5a", "up")
        sh("ip", "-n", self.ns, "link", "set", "rkh5b", "up")
        conf = self.tmp / "dhcpd.conf"
        conf.write_text(CONFIG.format(key=KEY, secret=self.secret, peer=PEER))
        conf.chmod(0o600)
        (self.tmp / "dhcpd.leases").write_text("")
        self.log = open(self.tmp / "dhcpd.log", "w")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "dhcpd", "-d", "-4",
             "-cf", str(conf), "-lf", str(self.tmp / "dhcpd.leases"),
             "-pf", str(self.tmp / "dhcpd.pid"), "rkh5a"],
            stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True,
        )
        for _ in range(100):
            if "Server starting service" in (self.tmp / "dhcpd.log").read_text():
                break
            assert self.proc.poll() is None, (self.tmp / "dhcpd.log").read_text()
            time.sleep(0.05)
        else:
            pytest.fail("dhcpd did not start: " + (self.tmp / "dhcpd.log").read_text())
        self.pid = self.proc.pid

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc is not None:
            self.log.close()
        sh("ip", "netns", "del", self.ns, check=False)

    def assert_alive(self):
        """dhcpd is the same process it was at start, and still running."""
        assert self.proc.poll() is None, "dhcpd died: " + (self.tmp / "dhcpd.log").read_text()[-2000:]
        assert int((self.tmp / "dhcpd.pid").read_text()) == self.pid

    def drive(self, ops, mode="sequential", window=16, key_name=KEY, secret=None):
        """Run the OMAPI client in the namespace; its JSON output."""
        job = {"port": 7911, "key_name": key_name, "key_secret": secret or self.secret,
               "window": window, "mode": mode, "ops": ops}
        done = sh("ip", "netns", "exec", self.ns, sys.executable, "-m",
                  "tests.omapi.driver", input=json.dumps(job), cwd=ROOT, timeout=300)
        return json.loads(done.stdout)

    def omshell_host(self, name):
        """What the real omshell shows for host ``name``: its attributes, or
        None when dhcpd says it is not found."""
        script = (f"server 127.0.0.1\nport 7911\nkey {KEY} {self.secret}\nconnect\n"
                  f'new host\nset name = "{name}"\nopen\n')
        out = sh("ip", "netns", "exec", self.ns, "omshell", input=script, timeout=30).stdout
        if "not found" in out:
            return None
        assert "can't" not in out and "not connected" not in out, out
        return dict(
            line.split(" = ", 1) for line in out.splitlines() if " = " in line and not line.startswith(">")
        )


@pytest.fixture(scope="module")
def dhcpd(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("rkh5-omapi"))
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()


@pytest.fixture(autouse=True)
def still_alive(dhcpd):
    yield
    dhcpd.assert_alive()


def mac(i, prefix=0x10):
    return f"02:{prefix:02x}:00:00:{i // 256:02x}:{i % 256:02x}"


def ip(i):
    # Fixed addresses outside the dynamic range 198.18.201.100-200.
    return f"198.18.{202 + i // 250}.{i % 250 + 1}"


def only(result):
    (one,) = result["results"]
    return one


def test_round_trip_confirmed_by_omshell(dhcpd):
    """add, lookup, update and remove reach dhcpd: omshell sees the host with
    its address, then the new address, then no host."""
    out = dhcpd.drive([
        {"op": "add_host", "name": "rt-1", "mac": "02:00:00:00:00:01", "ip": "198.18.201.10"},
        {"op": "lookup_host", "mac": "02:00:00:00:00:01"},
    ])
    assert out["results"] == [{"ok": None}, {"ok": {"name": "rt-1", "mac": "02:00:00:00:00:01", "ip": "198.18.201.10"}}]
    seen = dhcpd.omshell_host("rt-1")
    assert seen["ip-address"] == "c6:12:c9:0a"
    assert seen["hardware-address"] == "02:00:00:00:00:01"
    assert only(dhcpd.drive([{"op": "update_host_ip", "mac": "02:00:00:00:00:01", "ip": "198.18.201.11"}])) == {"ok": None}
    assert dhcpd.omshell_host("rt-1")["ip-address"] == "c6:12:c9:0b"
    assert only(dhcpd.drive([{"op": "remove_host", "name": "rt-1"}])) == {"ok": None}
    assert dhcpd.omshell_host("rt-1") is None


@pytest.mark.parametrize("key_name, secret", [
    (KEY, base64.b64encode(b"not the secret of this dhcpd").decode()),
    ("no_such_key", None),
])
def test_wrong_key_is_not_authorized(dhcpd, key_name, secret):
    """A wrong secret or an unknown key name fails with OmapiNotAuthorized,
    and the message shows no secret."""
    result = only(dhcpd.drive([{"op": "lookup_host", "name": "x"}], key_name=key_name, secret=secret))
    assert result["error"] == "OmapiNotAuthorized"
    assert dhcpd.secret not in result["message"]
    assert (secret or dhcpd.secret) not in result["message"]


def test_missing_host_and_existing_host(dhcpd):
    """Looking up a missing host is OmapiNotFound; adding one that exists
    is OmapiKeyConflict quoting dhcpd; removing a missing one is not found."""
    out = dhcpd.drive([
        {"op": "lookup_host", "name": "nobody"},
        {"op": "add_host", "name": "dup", "mac": "02:00:00:00:00:02", "ip": "198.18.201.12"},
        {"op": "add_host", "name": "dup", "mac": "02:00:00:00:00:02", "ip": "198.18.201.12"},
        {"op": "remove_host", "mac": "02:00:00:00:00:09"},
        {"op": "remove_host", "name": "dup"},
    ])
    found, added, again, missing, removed = out["results"]
    assert found["error"] == "OmapiNotFound"
    assert added == {"ok": None} and removed == {"ok": None}
    assert again["error"] == "OmapiKeyConflict" and "already exists" in again["message"]
    assert missing["error"] == "OmapiNotFound"


def test_lease_and_failover_state(dhcpd):
    """A pool address reads back as a lease; the failover peer without a
    partner reports its local state."""
    lease, state = dhcpd.drive([
        {"op": "lookup_lease", "ip": "198.18.201.150"},
        {"op": "failover_state", "name": PEER},
    ])["results"]
    assert lease["ok"]["ip"] == "198.18.201.150"
    assert lease["ok"]["state"] in ("free", "backup")
    assert state["ok"]["name"] == PEER
    assert state["ok"]["local_state"] in ("startup", "communications-interrupted", "recover")
    # When the state was entered: what the partner-down safety time is measured from.
    assert isinstance(state["ok"]["local_since"], int) and state["ok"]["local_since"] > 0


def test_mixed_batch_of_2000_leaves_every_host_as_intended(dhcpd):
    """2,000 adds, updates, removes and lookups pipelined with window 16 all
    succeed, every host ends as intended, and dhcpd survives."""
    first = [{"op": "add_host", "name": f"mx-{i}", "mac": mac(i), "ip": ip(i)} for i in range(1000)]
    assert all("ok" in r for r in dhcpd.drive(first, mode="batch")["results"])
    mixed = []
    for i in range(500):
        mixed.append({"op": "update_host_ip", "mac": mac(i), "ip": ip(i + 1000)})
        mixed.append({"op": "remove_host", "name": f"mx-{i + 500}"})
        mixed.append({"op": "add_host", "name": f"mx-{i + 1000}", "mac": mac(i + 1000), "ip": ip(i + 1500)})
        mixed.append({"op": "lookup_host", "name": f"mx-{(i * 7) % 500}"})
    out = dhcpd.drive(mixed, mode="batch", window=16)
    errors = [r for r in out["results"] if "error" in r]
    assert not errors, errors[:5]
    check = [{"op": "lookup_host", "name": f"mx-{i}"} for i in range(1500)]
    found = dhcpd.drive(check, mode="batch")["results"]
    for i in range(500):
        assert found[i]["ok"]["ip"] == ip(i + 1000)
        assert found[i + 500]["error"] == "OmapiNotFound"
        assert found[i + 1000]["ok"] == {"name": f"mx-{i + 1000}", "mac": mac(i + 1000), "ip": ip(i + 1500)}
    dhcpd.assert_alive()
    cleanup = [{"op": "remove_host", "mac": mac(i)} for i in list(range(500)) + list(range(1000, 1500))]
    assert all("ok" in r for r in dhcpd.drive(cleanup, mode="batch")["results"])


def test_throughput_window_1_against_window_16(dhcpd):
    """Measure host adds per second with one request outstanding and with
    16 (printed, not asserted); every add succeeds either way."""
    rates = {}
    for window, prefix in ((1, 0x21), (16, 0x22), (1, 0x23), (16, 0x24)):
        adds = [{"op": "add_host", "name": f"tp-{prefix}-{i}", "mac": mac(i, prefix), "ip": ip(i)} for i in range(1000)]
        out = dhcpd.drive(adds, mode="batch", window=window)
        assert all("ok" in r for r in out["results"])
        rates.setdefault(window, []).append(len(adds) / out["seconds"])
        removes = [{"op": "remove_host", "mac": mac(i, prefix)} for i in range(1000)]
        assert all("ok" in r for r in dhcpd.drive(removes, mode="batch")["results"])
    print(f"\nOMAPI host adds/s: window 1: {[round(r) for r in rates[1]]}, "
          f"window 16: {[round(r) for r in rates[16]]}")
