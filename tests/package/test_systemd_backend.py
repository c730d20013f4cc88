"""The systemd backend against a real systemd: the package booted in a container.

These machines run no systemd, so the backend's unit tests use a fake
``systemctl``. Here the real one answers: a clean Debian 12 root gets
systemd and rackd's package, its rackd.yaml says ``service_backend:
systemd``, and ``systemd-nspawn --boot`` starts it with systemd as PID 1,
sharing the network namespace of a lab host on a switch with a client. rackd
starts as the package's unit (as root, as README.Debian states) and drives
dhcpd through ``rackd-dhcpd.service`` with ``systemctl``: that is the
privilege the backend needs, and these tests show it suffices.

The container is stopped (systemd powers off on SIGTERM to nspawn) before
the lab's namespaces are deleted, also when a test fails.
"""

import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from tests.lab import rawclient
from tests.lab.conftest import lab_prefix
from tests.lab.netns import Lab
from tests.lab.rackd import wait_until
from tests.package import chroot

pytestmark = [pytest.mark.package, pytest.mark.lab]

UNIT = "rackd-dhcpd.service"
DOCUMENT = "/usr/share/doc/rackd/examples/lab-v4.yaml"


def _nspawn():
    return shutil.which("systemd-nspawn", path=chroot.SYSTEM_PATH)


@pytest.fixture(scope="module")
def systemd_root(workdir, deb):
    """A bookworm root with systemd, dbus and rackd's package, set to the systemd backend."""
    if _nspawn() is None:
        pytest.fail("systemd-nspawn is missing (scripts/setup installs systemd-container)")
    tarball = chroot.base_tarball(workdir)
    root = chroot.Root.unpack(tarball, os.path.join(workdir, "systemd-root"))
    shutil.copy(deb, root.host_path("/tmp/"))
    for argv in (["apt-get", "update", "-q"],
                 ["apt-get", "install", "-y", "-q", "--no-install-recommends",
                  "systemd", "systemd-sysv", "dbus", "iproute2",
                  "/tmp/" + os.path.basename(deb)]):
        result = root.run(*argv, timeout=900)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    root.write("/etc/rackd/rackd.yaml", "service_backend: systemd\n")
    return root


class Container:
    """A booted systemd-nspawn container in a lab host's network namespace."""

    def __init__(self, root, netns, log_path):
        self.root = root
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [_nspawn(), "--quiet", "--boot", "--register=no", "--keep-unit",
                 "--console=passive", f"--network-namespace-path=/run/netns/{netns}",
                 "-D", root.path],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, env={"PATH": chroot.SYSTEM_PATH})
        self.init = wait_until(self._init_pid, timeout=30, what="the container's init")

    def _init_pid(self):
        children = subprocess.run(["pgrep", "-P", str(self.process.pid)],
                                  capture_output=True, text=True).stdout.split()
        return int(children[0]) if children else None

    def run(self, *argv, check=True, timeout=60):
        result = subprocess.run(
            ["nsenter", "-t", str(self.init), "-m", "-u", "-i", "-p", "-n", "--",
             "/usr/bin/env", "-i", "PATH=" + chroot.SYSTEM_PATH, "LC_ALL=C.UTF-8", *argv],
            capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {result.returncode}: "
                                 f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
        return result

    def show(self, unit, *properties):
        out = self.run("systemctl", "show", "-p", ",".join(properties), unit).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def status(self):
        return json.loads(self.run("rackctl", "status", "--json").stdout)["v4"]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # systemd powers off
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def booted(systemd_root):
    """(container, client): the rack boots on a switch with a client host."""
    with Lab(prefix=lab_prefix() + "sd-") as lab:
        switch = lab.add_switch("sw")
        rack, client = lab.add_host("rack"), lab.add_host("client")
        lab.attach(rack, switch)
        lab.attach(client, switch)
        rack.add_address("eth0", "198.18.0.1/24")
        container = Container(systemd_root, rack.netns, os.path.join(lab.workdir, "boot.log"))
        lab.teardown.push("stop the systemd container", container.stop)

        def booted():
            state = container.run("systemctl", "is-system-running", check=False).stdout.strip()
            return state in ("running", "degraded") and state

        wait_until(booted, timeout=90, what="systemd to finish booting")
        wait_until(lambda: container.run("rackctl", "status", check=False).returncode == 0,
                   timeout=60, what="rackd's control socket")
        yield container, client


def test_rackd_runs_as_root_under_its_unit(booted):
    """The package's rackd.service is active and its process runs as root."""
    container, _ = booted
    unit = container.show("rackd.service", "ActiveState", "MainPID", "User")
    assert unit["ActiveState"] == "active" and unit["User"] == ""
    owner = container.run("stat", "-c", "%U", f"/proc/{unit['MainPID']}").stdout.strip()
    assert owner == "root"


def test_configure_starts_dhcpd_as_the_unit_and_serves(booted):
    """rackctl configure starts dhcpd through rackd-dhcpd.service: the unit is
    active, its main pid is the dhcpd rackd reports, and a client is served."""
    container, client = booted
    container.run("rackctl", "configure", DOCUMENT)
    unit = container.show(UNIT, "ActiveState", "MainPID")
    status = container.status()
    assert unit["ActiveState"] == "active"
    assert status["state"] == "running" and status["pid"] == int(unit["MainPID"])
    result = rawclient.query(client, mac="52:54:00:aa:00:01", request=True, timeout=5)
    assert result["acks"] and result["acks"][0]["yiaddr"].startswith("198.18.0.1")


def test_a_killed_dhcpd_is_restarted_through_systemctl(booted):
    """The unit never restarts dhcpd itself (Restart=no); the monitor sees the
    unit fail and starts it again, and reports the new pid."""
    container, _ = booted
    before = int(container.show(UNIT, "MainPID")["MainPID"])
    container.run("systemctl", "kill", "--signal=KILL", UNIT)

    def restarted():
        unit = container.show(UNIT, "ActiveState", "MainPID")
        pid = int(unit["MainPID"])
        if unit["ActiveState"] != "active" or pid in (0, before):
            return None
        status = container.status()
        return status["state"] == "running" and status["pid"] == pid

    wait_until(restarted, timeout=60, what="the monitor to restart the unit")


def test_restarting_rackd_adopts_the_running_unit(booted):
    """systemctl restart rackd leaves the unit's dhcpd running (KillMode=process,
    another unit) and the new rackd adopts it: same main pid, no restart."""
    container, _ = booted
    before = int(container.show(UNIT, "MainPID")["MainPID"])
    container.run("systemctl", "restart", "rackd.service")
    wait_until(lambda: container.run("rackctl", "status", check=False).returncode == 0,
               timeout=60, what="rackd to come back")
    status = wait_until(lambda: (s := container.status())["state"] == "running" and s,
                        timeout=30, what="rackd to adopt dhcpd")
    assert status["pid"] == before
    assert int(container.show(UNIT, "MainPID")["MainPID"]) == before


def test_stop_dhcp_stops_the_unit(booted):
    """rackctl stop-dhcp stops the unit and rackd keeps it stopped."""
    container, _ = booted
    container.run("rackctl", "stop-dhcp")
    assert container.show(UNIT, "ActiveState")["ActiveState"] in ("inactive", "failed")
    time.sleep(2)  # the monitor's next look must not start it again
    assert container.show(UNIT, "ActiveState")["ActiveState"] in ("inactive", "failed")
    assert container.status()["state"] == "off"
