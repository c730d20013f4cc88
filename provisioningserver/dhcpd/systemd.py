"""The systemd backend: dhcpd as a systemd unit, behind the monitor's backend interface.

`provisioningserver.dhcpd.monitor.DhcpdMonitor` drives a backend with
``start``, ``inspect``, ``is_alive``, ``describe_exit``, ``stop``,
``log_tail`` and ``record_config``; `SystemdBackend` answers them with
``systemctl`` on one unit per family, ``rackd-dhcpd.service`` (IPv4) and
``rackd-dhcpd6.service`` (IPv6), shipped with rackd's package. Before each
start the backend writes the spec's arguments (config, leases, pid file,
interfaces) to ``/run/rackd/dhcpd.env`` (``dhcpd6.env``), which the unit reads
as its EnvironmentFile and runs ``dhcpd $DHCPD_ARGS``. The unit
must not restart dhcpd itself (``Restart=no``): restarts, their backoff and
the storm limit belong to the monitor, and a unit that restarts on its own
would hide crashes from it.

The leases file is cleaned of host records before each start exactly as
the process backend does it (`provisioningserver.dhcpd.process.clean_leases`),
with the scan done by ``prepare_start`` while the old dhcpd still serves.

The state of a unit is read with one command::

    systemctl show -p ActiveState,SubState,MainPID,ExecMainStartTimestampMonotonic UNIT

`parse_show` turns its ``KEY=value`` lines into a `UnitState`. A dhcpd is
alive while its unit is active with that main pid. The start's monotonic
timestamp tells one run of the unit from the next, the way the process
backend uses /proc's start tick: a pid seen before a restart is not
mistaken for the new one.

Adoption across rackd restarts: at each start the backend writes a small
start record (JSON: pid, start timestamp, sha256 of the config bytes) next
to the pid file; a later rackd adopts the unit's dhcpd when the record
matches the running unit and the config is unchanged, and otherwise asks
for it to be restarted. ``systemctl`` that fails, or a unit that does not
come up, is reported as a dead dhcpd with systemd's words as the reason.

Privileges: ``systemctl start|stop|restart`` on a system unit needs root, or
a polkit rule granting ``org.freedesktop.systemd1.manage-units`` to rackd's
user for exactly these two units; ``show`` and ``journalctl -u`` need no
privilege beyond membership of ``systemd-journal`` for the log. The package
runs rackd as root, which has both; tests/package/test_systemd_backend.py
boots the package under a real systemd (systemd-nspawn) and drives the units
through rackd. Commands run through an injected runner, so the unit tests
issue none.
"""

import hashlib
import json
import os
import subprocess

import attrs

from provisioningserver.dhcpd.process import LocalSystem, clean_leases, scan_leases
from provisioningserver.dhcpd.supervise import Adopt, Refuse

UNITS = {4: "rackd-dhcpd.service", 6: "rackd-dhcpd6.service"}
SHOW_PROPERTIES = ("ActiveState", "SubState", "MainPID", "ExecMainStartTimestampMonotonic")


def environment_path(spec):
    """/run/rackd/dhcpd.env beside /run/rackd/dhcpd.pid (the units read it)."""
    return os.path.splitext(spec.pid_path)[0] + ".env"


def environment(spec):
    """The unit's EnvironmentFile: dhcpd's arguments (no spaces in rackd's paths
    or interface names, so systemd's word splitting of $DHCPD_ARGS is exact)."""
    arguments = spec.command()[1:]
    if any(not a or any(c.isspace() or c in "\\\"'$%" for c in a) for a in arguments):
        raise SystemdError(f"cannot pass {arguments!r} to a unit safely")
    return "DHCPD_ARGS=" + " ".join(arguments) + "\n"


class SystemdError(Exception):
    """A systemctl command failed; the message is systemd's own."""


@attrs.frozen
class RunResult:
    returncode: int
    stdout: str = ""
    stderr: str = ""


def run_command(argv, timeout=30.0):
    """The real runner: ``argv`` to completion, its output as text."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return RunResult(124, "", f"{argv[0]} did not finish within {timeout:g}s")
    except OSError as error:
        return RunResult(127, "", str(error))
    return RunResult(done.returncode, done.stdout, done.stderr)


@attrs.frozen
class UnitState:
    """What ``systemctl show`` says about a unit."""

    active_state: str  # active, inactive, failed, activating, deactivating, ...
    sub_state: str  # running, dead, failed, exited, auto-restart, ...
    main_pid: int  # 0 when the unit has no main process
    started_at: int  # ExecMainStartTimestampMonotonic, microseconds; 0 when never

    @property
    def running(self):
        return self.active_state == "active" and self.main_pid > 0

    def describe(self):
        return f"{self.active_state} ({self.sub_state})"


def parse_show(text):
    """A `UnitState` from ``systemctl show -p ...`` output; ValueError when a field is
    missing or not what systemd writes."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    missing = [name for name in SHOW_PROPERTIES if name not in fields]
    if missing:
        raise ValueError(f"systemctl show gave no {', '.join(missing)}")
    try:
        pid = int(fields["MainPID"])
        started = int(fields["ExecMainStartTimestampMonotonic"] or 0)
    except ValueError:
        raise ValueError(f"systemctl show gave MainPID={fields['MainPID']!r}, "
                         f"ExecMainStartTimestampMonotonic="
                         f"{fields['ExecMainStartTimestampMonotonic']!r}") from None
    return UnitState(fields["ActiveState"], fields["SubState"], pid, started)


class SystemdBackend:
    """Starts, adopts, watches and stops dhcpd through its systemd unit."""

    def __init__(self, runner=run_command, system=None, systemctl="systemctl",
                 journalctl="journalctl", units=UNITS):
        self.runner = runner
        self.system = system if system is not None else LocalSystem()
        self.systemctl = systemctl
        self.journalctl = journalctl
        self.units = dict(units)
        self._specs = {}  # pid -> spec, for the pids this backend started or adopted
        self._exits = {}  # pid -> why it is gone

    def unit(self, spec):
        return self.units[spec.ip_version]

    # Commands.

    def _systemctl(self, verb, unit):
        result = self.runner([self.systemctl, verb, unit])
        if result.returncode != 0:
            words = (result.stderr or result.stdout).strip() or f"status {result.returncode}"
            raise SystemdError(f"systemctl {verb} {unit} failed: {words}")
        return result

    def state(self, spec):
        """The unit's `UnitState`; raises `SystemdError` when it cannot be read."""
        unit = self.unit(spec)
        result = self.runner([self.systemctl, "show", "-p", ",".join(SHOW_PROPERTIES), unit])
        if result.returncode != 0:
            words = (result.stderr or result.stdout).strip() or f"status {result.returncode}"
            raise SystemdError(f"systemctl show {unit} failed: {words}")
        try:
            return parse_show(result.stdout)
        except ValueError as error:
            raise SystemdError(f"{unit}: {error}") from None

    # The backend interface.

    def prepare_start(self, spec):
        """The leases-file scan, run before the old dhcpd stops (see `start`)."""
        return scan_leases(self.system, spec)

    def start(self, spec, prepared=None):
        config_sha = self._config_sha256(spec)
        if config_sha is None:
            raise FileNotFoundError(f"dhcpd config {spec.config_path} does not exist")
        # dhcpd refuses to start without a leases file; the process backend's
        # cleaning of host records applies under systemd too.
        self.system.append(spec.leases_path, "")
        clean_leases(self.system, spec, prepared)
        # The unit runs `dhcpd $DHCPD_ARGS` from this file: the interfaces and
        # files are rackd's choice, not the unit's.
        self.system.write_atomically(environment_path(spec), environment(spec))
        unit = self.unit(spec)
        self._systemctl("start", unit)
        state = self.state(spec)
        if not state.running:
            raise SystemdError(f"{unit} is {state.describe()} after systemctl start")
        self._specs[state.main_pid] = spec
        self._write_record(spec, state.main_pid, state.started_at, config_sha)
        return state.main_pid

    def inspect(self, spec):
        """`Adopt` the unit's dhcpd if it is the one recorded at start, serving this config."""
        try:
            state = self.state(spec)
        except SystemdError as error:
            return Refuse(str(error))
        unit = self.unit(spec)
        if not state.running:
            return Refuse(f"{unit} is {state.describe()}")
        pid = state.main_pid
        record = self._read_record(spec)
        if record is None or (record["pid"], record["started_at"]) != (pid, state.started_at):
            # Running, but not from a start rackd recorded: restart it with our config.
            return Refuse(f"{unit} runs dhcpd {pid}, which rackd did not start", pid)
        if self._config_sha256(spec) != record["config_sha256"]:
            return Refuse(f"the config file changed since dhcpd {pid} started", pid)
        self._specs[pid] = spec
        return Adopt(pid)

    def is_alive(self, pid):
        spec = self._specs.get(pid)
        if spec is None:
            return False
        try:
            state = self.state(spec)
        except SystemdError as error:
            self._exits[pid] = f"is of unknown state: {error}"
            return False
        if state.running and state.main_pid == pid:
            return True
        if state.running:
            self._exits[pid] = f"was replaced by {state.main_pid} outside rackd"
        else:
            self._exits[pid] = f"ended: {self.unit(spec)} is {state.describe()}"
        return False

    def describe_exit(self, pid):
        return self._exits.get(pid, "exited")

    def stop(self, spec, pid, timeout=None):
        # The unit has one dhcpd: stopping the unit stops whichever pid it runs.
        self._systemctl("stop", self.unit(spec))
        self._specs.pop(pid, None)
        record = self._read_record(spec)
        if record is None or record["pid"] == pid:
            self.system.remove(self._record_path(spec))

    def record_config(self, spec):
        record = self._read_record(spec)
        config_sha = self._config_sha256(spec)
        if record is not None and config_sha is not None:
            self._write_record(spec, record["pid"], record["started_at"], config_sha)

    def log_tail(self, spec, lines=12):
        result = self.runner([self.journalctl, "-u", self.unit(spec), "-n", str(lines),
                              "-o", "cat", "--no-pager"])
        return result.stdout.strip() if result.returncode == 0 else ""

    # The start record.

    def _record_path(self, spec):
        return spec.pid_path + ".rackd-systemd.json"

    def _config_sha256(self, spec):
        data = self.system.read_bytes(spec.config_path)
        return hashlib.sha256(data).hexdigest() if data is not None else None

    def _write_record(self, spec, pid, started_at, config_sha):
        record = {"pid": pid, "started_at": started_at, "config_sha256": config_sha}
        self.system.write_atomically(self._record_path(spec), json.dumps(record, indent=1))

    def _read_record(self, spec):
        data = self.system.read_bytes(self._record_path(spec))
        if data is None:
            return None
        try:
            record = json.loads(data)
            return {"pid": int(record["pid"]), "started_at": int(record["started_at"]),
                    "config_sha256": str(record["config_sha256"])}
        except (ValueError, KeyError, TypeError):
            return None
