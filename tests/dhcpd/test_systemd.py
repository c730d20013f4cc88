"""The systemd backend with a fake systemctl: the commands it issues, its reading
of unit state, adoption, failures reported as a dead dhcpd, and the monitor
driving it on a fake clock."""

import pytest
from twisted.internet import task

from provisioningserver.dhcpd.monitor import DhcpdMonitor
from provisioningserver.dhcpd.process import DhcpdSpec
from provisioningserver.dhcpd.supervise import Adopt, Refuse, RestartPolicy
from provisioningserver.dhcpd.systemd import (
    RunResult, environment_path, SystemdBackend, SystemdError, UnitState, parse_show,
)

SPEC = DhcpdSpec(ip_version=4, dhcpd="/usr/sbin/dhcpd", config_path="/s/dhcpd.conf",
                 leases_path="/s/dhcpd.leases", pid_path="/r/dhcpd.pid", log_path="/s/dhcpd.log")
SPEC6 = DhcpdSpec(ip_version=6, dhcpd="/usr/sbin/dhcpd", config_path="/s/dhcpd6.conf",
                  leases_path="/s/dhcpd6.leases", pid_path="/r/dhcpd6.pid",
                  log_path="/s/dhcpd6.log")
SHOW = ["show", "-p", "ActiveState,SubState,MainPID,ExecMainStartTimestampMonotonic"]


class FakeSystemctl:
    """Units as a table; called like the runner, it records every command."""

    def __init__(self):
        self.units = {}  # unit -> [active_state, sub_state, pid, started_at]
        self.commands = []
        self.next_pid, self.now = 500, 1_000_000
        self.start_fails = None  # stderr of a failing start
        self.dies_at_start = False

    def __call__(self, argv):
        self.commands.append(list(argv))
        if argv[0] == "journalctl":
            return RunResult(0, "dhcpd: No subnet declaration for eth0\n")
        verb, unit = argv[1], argv[-1]
        state = self.units.setdefault(unit, ["inactive", "dead", 0, 0])
        if verb == "start":
            if self.start_fails:
                return RunResult(1, "", self.start_fails)
            if state[0] != "active":
                self.now += 1000
                if self.dies_at_start:
                    state[:] = ["failed", "failed", 0, self.now]
                else:
                    state[:] = ["active", "running", self.next_pid, self.now]
                    self.next_pid += 1
            return RunResult(0)
        if verb == "stop":
            state[:] = ["inactive", "dead", 0, state[3]]
            return RunResult(0)
        if verb == "show":
            return RunResult(0, f"ActiveState={state[0]}\nSubState={state[1]}\n"
                                f"MainPID={state[2]}\nExecMainStartTimestampMonotonic={state[3]}\n")
        return RunResult(1, "", f"Unknown command verb {verb}.")

    def crash(self, unit="rackd-dhcpd.service"):
        self.units[unit][:3] = ["failed", "failed", 0]


class FakeFiles:
    """The few file operations the backend makes, in a dict."""

    def __init__(self, files=None):
        self.files = dict(files or {})

    def read_bytes(self, path):
        return self.files.get(path)

    def append(self, path, text):
        self.files[path] = self.files.get(path, b"") + text.encode()

    def write_atomically(self, path, data):
        self.files[path] = data.encode() if isinstance(data, str) else data

    def remove(self, path):
        self.files.pop(path, None)

    def move_aside(self, path):
        aside = path + ".corrupt-T"
        self.files[aside] = self.files.pop(path)
        return aside


@pytest.fixture
def systemctl():
    return FakeSystemctl()


@pytest.fixture
def files():
    return FakeFiles({SPEC.config_path: b"authoritative;\n", SPEC6.config_path: b"x;\n"})


@pytest.fixture
def backend(systemctl, files):
    return SystemdBackend(runner=systemctl, system=files)


def test_parse_show_reads_unit_state():
    """The four properties become a UnitState; an active unit with a pid is running."""
    state = parse_show("ActiveState=active\nSubState=running\nMainPID=812\n"
                       "ExecMainStartTimestampMonotonic=123456789\n")
    assert state == UnitState("active", "running", 812, 123456789) and state.running
    dead = parse_show("MainPID=0\nActiveState=failed\nSubState=failed\n"
                      "ExecMainStartTimestampMonotonic=\n")
    assert dead == UnitState("failed", "failed", 0, 0) and not dead.running
    assert dead.describe() == "failed (failed)"


@pytest.mark.parametrize("text", ["ActiveState=active\nSubState=running\n",
                                  "ActiveState=active\nSubState=running\nMainPID=x\n"
                                  "ExecMainStartTimestampMonotonic=1\n"])
def test_parse_show_refuses_what_systemd_does_not_write(text):
    """A missing property or a pid that is no number is a ValueError, not a guess."""
    with pytest.raises(ValueError):
        parse_show(text)


def test_start_issues_start_then_show_on_the_family_unit(backend, systemctl, files):
    """start runs systemctl start then show on rackd-dhcpd(6).service, returns the main
    pid, makes sure the leases file exists, and records the start."""
    assert backend.start(SPEC) == 500
    assert backend.start(SPEC6) == 501
    assert systemctl.commands == [
        ["systemctl", "start", "rackd-dhcpd.service"], ["systemctl", *SHOW, "rackd-dhcpd.service"],
        ["systemctl", "start", "rackd-dhcpd6.service"], ["systemctl", *SHOW, "rackd-dhcpd6.service"]]
    assert files.read_bytes(SPEC.leases_path) == b""
    assert files.read_bytes(SPEC.pid_path + ".rackd-systemd.json") is not None
    env = files.read_bytes(environment_path(SPEC))
    env = env.decode() if isinstance(env, bytes) else env
    assert env == "DHCPD_ARGS=" + " ".join(SPEC.command()[1:]) + "\n"


def test_start_cleans_host_records_like_the_process_backend(backend, files):
    """Under systemd too, start drops host records from the leases file; what
    was appended after prepare_start (a lease, a host) is cleaned with it."""
    lease = b"lease 198.18.0.9 {\n  binding state active;\n}\n"
    host = b"host node-1 {\n  dynamic;\n  deleted;\n}\n"
    files.files[SPEC.leases_path] = lease + host
    prepared = backend.prepare_start(SPEC)
    files.files[SPEC.leases_path] += lease + host  # the old dhcpd, before it stopped
    backend.start(SPEC, prepared)
    assert files.read_bytes(SPEC.leases_path) == lease + lease


def test_failed_start_raises_with_systemds_words(backend, systemctl):
    """A failing systemctl start raises SystemdError carrying its stderr."""
    systemctl.start_fails = "Failed to start rackd-dhcpd.service: Access denied"
    with pytest.raises(SystemdError, match="Access denied"):
        backend.start(SPEC)


def test_unit_that_does_not_come_up_is_a_failed_start(backend, systemctl):
    """A start after which the unit is not active is a failed start, with its state."""
    systemctl.dies_at_start = True
    with pytest.raises(SystemdError, match=r"rackd-dhcpd.service is failed \(failed\)"):
        backend.start(SPEC)


def test_alive_until_the_unit_fails(backend, systemctl):
    """The pid is alive while its unit is active with it; a failed unit is a death
    with the unit's state as the reason."""
    pid = backend.start(SPEC)
    assert backend.is_alive(pid)
    systemctl.crash()
    assert not backend.is_alive(pid)
    assert backend.describe_exit(pid) == "ended: rackd-dhcpd.service is failed (failed)"


def test_unreadable_state_is_a_death_with_reason(backend, systemctl):
    """When systemctl show fails the dhcpd counts as dead, and the reason says why."""
    pid = backend.start(SPEC)
    backend.runner = lambda argv: RunResult(1, "", "Failed to connect to bus")
    assert not backend.is_alive(pid)
    assert "Failed to connect to bus" in backend.describe_exit(pid)


def test_stop_stops_the_unit_and_forgets_the_record(backend, systemctl, files):
    """stop issues systemctl stop and drops this start's record."""
    pid = backend.start(SPEC)
    backend.stop(SPEC, pid)
    assert systemctl.commands[-1] == ["systemctl", "stop", "rackd-dhcpd.service"]
    assert files.read_bytes(SPEC.pid_path + ".rackd-systemd.json") is None
    assert not backend.is_alive(pid)


def test_a_later_rackd_adopts_the_recorded_start(systemctl, files):
    """A new backend adopts a running unit whose start it recorded, config unchanged;
    a changed config or an unrecorded run is refused with the pid to restart."""
    pid = SystemdBackend(runner=systemctl, system=files).start(SPEC)
    later = SystemdBackend(runner=systemctl, system=files)
    assert later.inspect(SPEC) == Adopt(pid)
    assert later.is_alive(pid)
    files.files[SPEC.config_path] = b"changed;\n"
    assert later.inspect(SPEC) == Refuse(f"the config file changed since dhcpd {pid} started", pid)
    later.record_config(SPEC)  # a live OMAPI change: dhcpd serves the file as it is now
    assert later.inspect(SPEC) == Adopt(pid)
    files.remove(SPEC.pid_path + ".rackd-systemd.json")
    assert later.inspect(SPEC) == Refuse(
        f"rackd-dhcpd.service runs dhcpd {pid}, which rackd did not start", pid)


def test_inactive_unit_is_not_adopted(backend):
    """An inactive unit has nothing to adopt and nothing to stop."""
    assert backend.inspect(SPEC) == Refuse("rackd-dhcpd.service is inactive (dead)")


def test_log_tail_reads_the_units_journal(backend, systemctl):
    """The log tail comes from journalctl for the family's unit."""
    assert backend.log_tail(SPEC6) == "dhcpd: No subnet declaration for eth0"
    assert systemctl.commands[-1] == ["journalctl", "-u", "rackd-dhcpd6.service", "-n", "12",
                                      "-o", "cat", "--no-pager"]


def test_monitor_restarts_a_failed_unit_after_backoff(backend, systemctl):
    """Behind the monitor, a unit that fails is started again after the backoff, and the
    monitor reports the unit's state as the reason meanwhile."""
    clock = task.Clock()
    monitor = DhcpdMonitor(backend, clock, policy=RestartPolicy(), poll_interval=1.0)
    monitor.startService()
    d = monitor.ensure_running(SPEC)
    clock.advance(monitor.settle_time)
    assert monitor.status().state == "running" and monitor.status().pid == 500
    systemctl.crash()
    clock.advance(1.0)
    status = monitor.status()
    assert status.state == "dead" and "failed (failed)" in status.reason
    clock.advance(status.next_start - clock.seconds())
    clock.advance(monitor.settle_time)
    assert monitor.status().state == "running" and monitor.status().pid == 501
    monitor.stopService()
    assert d.called and not clock.getDelayedCalls()
