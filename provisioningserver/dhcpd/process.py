"""The process backend: dhcpd as a real process that outlives rackd.

Strategy: rackd spawns dhcpd directly (no double fork) in a session of its
own (``setsid``), with stdin on /dev/null and stdout and stderr on its log
file, opened for appending: never a pipe, which could fill and block dhcpd.

- While rackd lives, dhcpd is its child, so rackd reaps it (``Popen.poll`` in
  `is_alive`) and learns its exit status, which goes into the reason the
  monitor reports. No zombie lingers longer than one poll.
- Its own session keeps dhcpd out of reach of whatever signals rackd's session
  or terminal get (SIGHUP, a ^C to the foreground process group).
- When rackd exits the kernel hands dhcpd to init (or the nearest subreaper),
  which reaps it in the end; dhcpd itself notices nothing. A double fork would
  give the same independence but would lose the exit status and leave rackd
  reading the pid back from a file. Under systemd, rackd's unit must say
  ``KillMode=process``: the default kills every process of the unit's cgroup,
  sessions notwithstanding.
- A later rackd adopts the process through its pid file, a *sidecar* start
  record next to it (JSON: pid, command line, sha256 of the config bytes,
  start time and /proc start tick, written atomically) and /proc; the rule is
  `provisioningserver.dhcpd.supervise.adoption`. For an adopted process,
  which is not rackd's child, liveness is read from /proc: present, not a
  zombie, and the same start tick (so a reused pid is not mistaken for it).

``wrap`` prefixes the command, e.g. ``("ip", "netns", "exec", NS)`` in the
lab; that execs dhcpd in place, so the pid and /proc command line are
dhcpd's own. Everything touching the OS goes through `LocalSystem`, a seam
that tests can fill with a fake.
"""

import hashlib
import json
import os
import signal
import subprocess
import time

import attrs
from twisted.logger import Logger

from provisioningserver.dhcpd import leasesfile
from provisioningserver.system import crashpoint, priority
from provisioningserver.system.files import atomic_write, move_aside
from provisioningserver.dhcpd.supervise import Adopt, ProcInfo, Sidecar, adoption

log = Logger()

MARKER = "rackd: "  # log lines rackd writes itself start with this


@attrs.frozen
class DhcpdSpec:
    """How one dhcpd runs: binary, family, its files and its interfaces."""

    ip_version: int = attrs.field(validator=attrs.validators.in_((4, 6)))
    dhcpd: str
    config_path: str
    leases_path: str
    pid_path: str
    log_path: str
    interfaces: tuple = attrs.field(default=(), converter=tuple)

    def command(self):
        # -d: log to stderr, which implies -f (stay in the foreground).
        return [
            self.dhcpd, "-d", f"-{self.ip_version}",
            "-cf", self.config_path, "-lf", self.leases_path, "-pf", self.pid_path,
            *self.interfaces,
        ]

    @property
    def sidecar_path(self):
        return self.pid_path + ".rackd.json"


class LocalSystem:
    """The operating system, as far as the backend needs it."""

    def read_bytes(self, path):
        try:
            with open(path, "rb") as stream:
                return stream.read()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def file_key(self, path):
        """What changes whenever the file at ``path`` does (its inode, time
        and size), or None when there is no such file."""
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size

    def proc_info(self, pid):
        """`ProcInfo` for ``pid``, or None when there is no such process."""
        try:
            with open(f"/proc/{pid}/stat", "rb") as stream:
                stat = stream.read()
            with open(f"/proc/{pid}/cmdline", "rb") as stream:
                cmdline = stream.read()
        except (FileNotFoundError, ProcessLookupError):
            return None
        # The command name in parentheses may itself hold spaces or ")".
        fields = stat[stat.rindex(b")") + 2:].split()
        args = tuple(part.decode("utf-8", "surrogateescape") for part in cmdline.split(b"\0")[:-1])
        return ProcInfo(cmdline=args, state=fields[0].decode(), proc_start=int(fields[19]))

    def spawn(self, argv, log_path):
        """Start ``argv`` in its own session, output appended to ``log_path``."""
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        try:
            child = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=fd, stderr=fd,
                start_new_session=True, close_fds=True,
            )
        finally:
            os.close(fd)
        priority.restore(child.pid)  # dhcpd before rackd's own work
        return child

    def append(self, path, text):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        try:
            os.write(fd, text.encode("utf-8", "replace"))
        finally:
            os.close(fd)

    def write_atomically(self, path, data):
        atomic_write(path, data, mode=0o644)

    def remove(self, path):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def move_aside(self, path):
        """Keep a damaged file as ``path.corrupt-TIME``; its new name."""
        return move_aside(path, self.time())

    def kill(self, pid, signum):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    def time(self):
        return time.time()

    def sleep(self, seconds):
        time.sleep(seconds)


def scan_leases(system, spec):
    """What can be done to the leases file while the old dhcpd still serves:
    a `leasesfile.Scan`, or None (no file, or one no append can mend)."""
    data = system.read_bytes(spec.leases_path)
    try:
        return leasesfile.scan(data) if data is not None else None
    except leasesfile.UnreadableLeases:
        return None  # clean_leases finds it again and leaves it alone


def clean_leases(system, spec, scanned=None):
    """Drop host records of earlier OMAPI changes: reservations come only from
    the config and OMAPI calls made after this start (leases are kept). With
    ``scanned`` (`scan_leases` before the old dhcpd stopped) only what was
    appended since is split; a damaged file is moved aside and dhcpd gets
    what came before the damage (`leasesfile.salvage`)."""
    data = system.read_bytes(spec.leases_path) or b""
    try:
        cleaned, removed = leasesfile.finish(scanned, data)
    except leasesfile.UnreadableLeases:
        cleaned, removed, offset, problem = leasesfile.salvage(data)
        aside = system.move_aside(spec.leases_path)
        system.write_atomically(spec.leases_path, cleaned)
        log.warn("Leases file {path} is damaged at byte {offset} of {size} ({problem}): "
                 "moved aside to {aside}; dhcpd starts with the {kept} bytes before it "
                 "({removed} host records removed)", path=spec.leases_path, offset=offset,
                 size=len(data), problem=problem, aside=aside, kept=len(cleaned),
                 removed=removed)
        return
    if removed:
        system.write_atomically(spec.leases_path, cleaned)
        log.info("Removed {n} host records from {path}", n=removed, path=spec.leases_path)


def _describe_status(returncode):
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return f"killed by {name}"
    return f"exited with status {returncode}"


class ProcessBackend:
    """Starts, adopts, watches and stops dhcpd processes."""

    def __init__(self, wrap=(), system=None):
        self.wrap = tuple(wrap)
        self.system = system if system is not None else LocalSystem()
        self._children = {}  # pid -> Popen, for the processes this backend started
        self._proc_start = {}  # pid -> /proc start tick, for started or adopted ones
        self._exits = {}  # pid -> how it ended, once reaped
        self._config_digests = {}  # config path -> (file key, sha256)

    def config_sha256(self, spec):
        """The config file's digest, hashed again only when the file changed.
        A restart asks for it twice, to inspect the running dhcpd and then
        for the new one's start record: at 50,000 hosts the second read and
        hash (5 MB, about 7 ms) would fall inside the outage."""
        key = self.system.file_key(spec.config_path)
        cached = self._config_digests.get(spec.config_path)
        if key is not None and cached is not None and cached[0] == key:
            return cached[1]
        data = self.system.read_bytes(spec.config_path)
        if data is None:
            return None
        digest = hashlib.sha256(data).hexdigest()
        self._config_digests[spec.config_path] = (key, digest)
        return digest

    def start(self, spec, prepared=None):
        """Start dhcpd at ``spec``; ``prepared`` is what `prepare_start` gave."""
        config_sha = self.config_sha256(spec)
        if config_sha is None:
            raise FileNotFoundError(f"dhcpd config {spec.config_path} does not exist")
        # dhcpd refuses to start without a leases file.
        self.system.append(spec.leases_path, "")
        self.clean_leases(spec, prepared)
        self.system.remove(spec.pid_path)
        command = spec.command()
        self.system.append(spec.log_path, f"{MARKER}starting {' '.join(command)}\n")
        child = self.system.spawn([*self.wrap, *command], spec.log_path)
        crashpoint.reached("spawned")
        pid = child.pid
        info = self.system.proc_info(pid)
        proc_start = info.proc_start if info is not None else None
        self._children[pid] = child
        self._proc_start[pid] = proc_start
        record = attrs.asdict(Sidecar(pid, tuple(command), config_sha, self.system.time(), proc_start))
        self.system.write_atomically(spec.sidecar_path, json.dumps(record, indent=1))
        return pid

    def record_config(self, spec):
        """Record the config file's digest as the one the running dhcpd serves.

        A live OMAPI change rewrites the config without a restart; dhcpd then
        serves what the file says, and the next rackd must still adopt it.
        """
        sidecar = self._read_sidecar(spec)
        config_sha = self.config_sha256(spec)
        if sidecar is None or config_sha is None:
            return
        record = attrs.asdict(attrs.evolve(sidecar, config_sha256=config_sha))
        self.system.write_atomically(spec.sidecar_path, json.dumps(record, indent=1))

    def prepare_start(self, spec):
        """The part of a start that can run before the old dhcpd is stopped:
        the leases-file scan. Its result goes to `start`."""
        return scan_leases(self.system, spec)

    def clean_leases(self, spec, scanned=None):
        clean_leases(self.system, spec, scanned)

    def _read_pidfile(self, spec):
        data = self.system.read_bytes(spec.pid_path)
        try:
            return int(data.decode().strip()) if data is not None else None
        except ValueError:
            return None

    def _read_sidecar(self, spec):
        data = self.system.read_bytes(spec.sidecar_path)
        if data is None:
            return None
        try:
            record = json.loads(data)
            return Sidecar(
                pid=int(record["pid"]), command=tuple(record["command"]),
                config_sha256=str(record["config_sha256"]),
                started_at=float(record["started_at"]), proc_start=record.get("proc_start"),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def inspect(self, spec):
        """The adoption verdict for ``spec``: `Adopt` or `Refuse` (see supervise)."""
        pid = self._read_pidfile(spec)
        sidecar = self._read_sidecar(spec)
        proc = self.system.proc_info(pid) if pid is not None else None
        verdict = adoption(spec.command(), self.config_sha256(spec), pid, sidecar, proc)
        if proc is not None and (isinstance(verdict, Adopt) or verdict.stale_pid is not None):
            self._proc_start[pid] = proc.proc_start
        return verdict

    def find_running(self, spec):
        verdict = self.inspect(spec)
        return verdict.pid if isinstance(verdict, Adopt) else None

    def is_alive(self, pid):
        child = self._children.get(pid)
        if child is not None:
            returncode = child.poll()  # reaps it, so it never stays a zombie
            if returncode is not None:
                del self._children[pid]
                self._proc_start.pop(pid, None)
                self._exits[pid] = _describe_status(returncode)
                return False
        info = self.system.proc_info(pid)
        if info is None or info.state == "Z":
            return False
        known = self._proc_start.get(pid)
        return known is None or known == info.proc_start

    def describe_exit(self, pid):
        """How ``pid`` ended, as far as this backend knows."""
        return self._exits.get(pid, "exited")

    def stop(self, spec, pid, timeout=5.0):
        if self.is_alive(pid):
            self.system.kill(pid, signal.SIGTERM)
            deadline = self.system.time() + timeout
            while self.is_alive(pid) and self.system.time() < deadline:
                self.system.sleep(0.005)  # the outage lasts until this notices
            how = "SIGTERM"
            if self.is_alive(pid):
                self.system.kill(pid, signal.SIGKILL)
                how = "SIGKILL"
                deadline = self.system.time() + 2.0
                while self.is_alive(pid) and self.system.time() < deadline:
                    self.system.sleep(0.02)
            self.system.append(spec.log_path, f"{MARKER}stopped dhcpd {pid} ({how})\n")
        # Only remove records of this process: never a successor's.
        if self._read_pidfile(spec) in (pid, None):
            self.system.remove(spec.pid_path)
        sidecar = self._read_sidecar(spec)
        if sidecar is None or sidecar.pid == pid:
            self.system.remove(spec.sidecar_path)

    def log_tail(self, spec, lines=12, max_bytes=65536):
        """dhcpd's last log lines since rackd last started it."""
        data = self.system.read_bytes(spec.log_path) or b""
        text = data[-max_bytes:].decode("utf-8", "replace")
        since_start = text.rsplit(f"{MARKER}starting ", 1)
        if len(since_start) == 2:
            text = since_start[1].split("\n", 1)[1] if "\n" in since_start[1] else ""
        kept = [line for line in text.splitlines() if line.strip()]
        return "\n".join(kept[-lines:])
