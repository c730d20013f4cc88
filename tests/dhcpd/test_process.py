"""The process backend against the real dhcpd, in a network namespace of its own.

Each test gets a namespace with one end of a veth pair (198.18.200.1/24) and a
minimal config; dhcpd runs there through ``ip netns exec`` (the backend's
``wrap``). The fixture kills every process left in the namespace and deletes
it, also when a test fails.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import attrs
import pytest

from provisioningserver.dhcpd.binary import find_dhcpd
from provisioningserver.dhcpd.process import DhcpdSpec, ProcessBackend
from provisioningserver.dhcpd.supervise import Refuse

pytestmark = pytest.mark.lab

CONFIG = """\
subnet 198.18.200.0 netmask 255.255.255.0 { range 198.18.200.100 198.18.200.110; }
omapi-port 7911;
"""


def _run(*argv):
    subprocess.run(argv, check=True, capture_output=True)


def _namespace_pids(namespace):
    listed = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True)
    return [int(pid) for pid in listed.stdout.split()]


@pytest.fixture
def lab(tmp_path):
    """A namespace, a veth end in it, a config; everything removed afterwards."""
    tag = uuid.uuid4().hex[:6]
    namespace, host_end, ns_end = f"rkh3-{tag}", f"rkh3h{tag}", f"rkh3n{tag}"
    try:
        _run("ip", "netns", "add", namespace)
        _run("ip", "link", "add", host_end, "type", "veth", "peer", "name", ns_end)
        _run("ip", "link", "set", ns_end, "netns", namespace)
        _run("ip", "-n", namespace, "addr", "add", "198.18.200.1/24", "dev", ns_end)
        _run("ip", "-n", namespace, "link", "set", ns_end, "up")
        _run("ip", "-n", namespace, "link", "set", "lo", "up")
        (tmp_path / "dhcpd.conf").write_text(CONFIG)
        spec = DhcpdSpec(
            ip_version=4, dhcpd=find_dhcpd(), config_path=str(tmp_path / "dhcpd.conf"),
            leases_path=str(tmp_path / "dhcpd.leases"), pid_path=str(tmp_path / "dhcpd.pid"),
            log_path=str(tmp_path / "dhcpd.log"), interfaces=(ns_end,),
        )
        yield namespace, spec
    finally:
        for pid in _namespace_pids(namespace):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        subprocess.run(["ip", "link", "del", host_end], capture_output=True)


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def read(path):
    with open(path) as stream:
        return stream.read()


def serving(spec):
    return os.path.exists(spec.log_path) and "Server starting service" in read(spec.log_path)


def test_start_writes_pid_file_and_log(lab):
    """start spawns dhcpd: alive, its pid file written by dhcpd, its stderr in the log,
    the leases file created and the start record next to the pid file."""
    namespace, spec = lab
    backend = ProcessBackend(wrap=("ip", "netns", "exec", namespace))
    pid = backend.start(spec)
    assert backend.is_alive(pid)
    assert wait_for(lambda: os.path.exists(spec.pid_path))
    assert int(read(spec.pid_path)) == pid
    assert wait_for(lambda: serving(spec)), read(spec.log_path)
    assert "Listening on LPF/" in read(spec.log_path)
    assert os.path.exists(spec.leases_path)
    record = json.loads(read(spec.sidecar_path))
    assert record["pid"] == pid and record["command"] == spec.command()
    # Its own session: dhcpd leads it.
    assert os.getsid(pid) == pid
    backend.stop(spec, pid)


def test_another_backend_adopts_it(lab):
    """A second backend (a restarted rackd) finds the running dhcpd: the same pid."""
    namespace, spec = lab
    pid = ProcessBackend(wrap=("ip", "netns", "exec", namespace)).start(spec)
    assert wait_for(lambda: os.path.exists(spec.pid_path))
    fresh = ProcessBackend()
    assert fresh.find_running(spec) == pid
    assert fresh.is_alive(pid)
    fresh.stop(spec, pid)


def test_changed_config_is_not_adopted(lab):
    """Once the config file's bytes change, the running dhcpd is stale, not adopted."""
    namespace, spec = lab
    backend = ProcessBackend(wrap=("ip", "netns", "exec", namespace))
    pid = backend.start(spec)
    assert wait_for(lambda: os.path.exists(spec.pid_path))
    with open(spec.config_path, "a") as stream:
        stream.write("default-lease-time 600;\n")
    assert ProcessBackend().find_running(spec) is None
    verdict = ProcessBackend().inspect(spec)
    assert verdict == Refuse(f"the config file changed since dhcpd {pid} started", pid)
    other = attrs.evolve(spec, interfaces=())
    assert ProcessBackend().find_running(other) is None
    backend.stop(spec, pid)


def test_config_recorded_after_a_live_change_is_adopted(lab):
    """A config rewritten for a live OMAPI change and recorded with
    record_config is what dhcpd serves: a later backend adopts the same pid."""
    namespace, spec = lab
    backend = ProcessBackend(wrap=("ip", "netns", "exec", namespace))
    pid = backend.start(spec)
    assert wait_for(lambda: os.path.exists(spec.pid_path))
    with open(spec.config_path, "a") as stream:
        stream.write("# host added live\n")
    backend.record_config(spec)
    assert ProcessBackend().find_running(spec) == pid
    backend.stop(spec, pid)


CHILD = """\
import json, sys
from provisioningserver.dhcpd.process import DhcpdSpec, ProcessBackend
spec = DhcpdSpec(**json.loads(sys.argv[1]))
print(ProcessBackend(wrap=("ip", "netns", "exec", sys.argv[2])).start(spec))
"""


def test_dhcpd_survives_its_parent(lab):
    """dhcpd started by a process that then exits keeps running, and is adopted."""
    namespace, spec = lab
    child = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(attrs.asdict(spec)), namespace],
        capture_output=True, text=True, check=True, cwd=os.path.dirname(os.path.dirname(
            os.path.dirname(os.path.abspath(__file__)))),
    )
    pid = int(child.stdout)
    assert wait_for(lambda: serving(spec))
    backend = ProcessBackend()
    assert backend.is_alive(pid)
    assert backend.find_running(spec) == pid
    backend.stop(spec, pid)
    assert not backend.is_alive(pid)


def test_stop_kills_and_removes_records(lab):
    """stop ends dhcpd with SIGTERM and removes its pid file and start record."""
    namespace, spec = lab
    backend = ProcessBackend(wrap=("ip", "netns", "exec", namespace))
    pid = backend.start(spec)
    assert wait_for(lambda: serving(spec))
    backend.stop(spec, pid)
    assert not backend.is_alive(pid)
    assert not os.path.exists(f"/proc/{pid}")  # reaped, not a zombie
    assert not os.path.exists(spec.pid_path)
    assert not os.path.exists(spec.sidecar_path)
    assert f"rackd: stopped dhcpd {pid} (SIGTERM)" in read(spec.log_path)


def test_death_is_noticed_with_its_cause(lab):
    """A killed dhcpd is seen dead at once (reaped), with how it ended."""
    namespace, spec = lab
    backend = ProcessBackend(wrap=("ip", "netns", "exec", namespace))
    pid = backend.start(spec)
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not backend.is_alive(pid))
    assert backend.describe_exit(pid) == "killed by SIGKILL"
    assert backend.find_running(spec) is None


def test_failed_start_leaves_its_reason_in_the_log(lab):
    """dhcpd that refuses its config exits; the log tail since this start says why."""
    namespace, spec = lab
    with open(spec.config_path, "w") as stream:
        stream.write("subnet 198.18.201.0 netmask 255.255.255.0 { }\n")
    backend = ProcessBackend(wrap=("ip", "netns", "exec", namespace))
    pid = backend.start(spec)
    assert wait_for(lambda: not backend.is_alive(pid), timeout=10.0)
    tail = backend.log_tail(spec)
    assert backend.describe_exit(pid) == "exited with status 1", read(spec.log_path)
    assert "No subnet declaration for" in tail, read(spec.log_path)
    assert "rackd: starting" not in tail
