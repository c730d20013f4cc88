"""Supervision decisions for one dhcpd, as values: no clock, no processes.

How it works. The monitor (`provisioningserver.dhcpd.monitor`) holds two
things about each dhcpd: what is *expected* (on or off) and what it last
*observed* (a process running, a process that died and why, or nothing). Each
time either changes it asks `decide` what to do, and gets back one of a small
set of actions: nothing, start now, start after a delay, give up, or stop. The
monitor carries the action out with its clock and backend; this module never
touches either, so every decision is a row in a table test.

Restarts after a death back off exponentially, and a *storm* is cut short: the
deaths inside a sliding window (`RestartPolicy.storm_window`) are counted, the
delay before the next start doubles with each of them, and once more than
`storm_limit` have happened inside the window the monitor stops trying and
reports dhcpd dead with the reason, until someone asks for it again. Deaths
older than the window are forgotten, so a dhcpd that ran steadily for a while
gets a quick restart again the next time it dies. A start that does not lead
to dhcpd serving (it exits, or never answers) counts as a death too.

Adoption (a new rackd finding the dhcpd an old one started) is the other pure
rule here: `adoption` takes what the pid file, the sidecar record and /proc
say, and either adopts the pid or says why not; when the process is one that
rackd started at these paths but with another command or config, the verdict
also names it as *stale*, so that it is stopped before a new one starts
rather than left fighting the new one for the DHCP ports.
"""

import attrs

from provisioningserver.system.backoff import Backoff

# Observations.


@attrs.frozen
class Running:
    pid: int


@attrs.frozen
class Dead:
    reason: str


@attrs.frozen
class Absent:
    """Nothing runs and nothing died: never started, or stopped on purpose."""


# Actions.


@attrs.frozen
class Nothing:
    pass


@attrs.frozen
class StartNow:
    reason: str


@attrs.frozen
class StartAfter:
    delay: float
    reason: str


@attrs.frozen
class GiveUp:
    reason: str


@attrs.frozen
class Stop:
    pid: int
    reason: str


def _positive(instance, attribute, value):
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value!r}")


@attrs.frozen
class RestartPolicy:
    """How eagerly a dead dhcpd is restarted.

    The defaults restart after 1, 2, 4, 8 and 16 seconds (never more than
    ``max_delay``); a dhcpd that dies immediately each time has died six
    times within about 31 seconds, inside the 60-second window, so the sixth
    death is the one that gives up. A dhcpd that ran for a minute starts the
    sequence afresh.
    """

    initial_delay: float = attrs.field(default=1.0, validator=_positive)
    max_delay: float = attrs.field(default=30.0, validator=_positive)
    factor: float = attrs.field(default=2.0, validator=_positive)
    storm_window: float = attrs.field(default=60.0, validator=_positive)
    storm_limit: int = attrs.field(default=5, validator=_positive)

    def delay(self, recent_deaths):
        """Seconds to wait before the start that follows the n-th recent death."""
        backoff = Backoff(initial=self.initial_delay, maximum=self.max_delay, factor=self.factor)
        return backoff.delay(max(recent_deaths, 1))


def recent(deaths, now, policy):
    """The death times that still count: those inside the storm window."""
    return tuple(t for t in deaths if now - t < policy.storm_window)


def decide(expected_on, observed, deaths, now, policy):
    """The next action for one dhcpd.

    ``deaths`` are the times of earlier deaths, including the one ``observed``
    reports when it is `Dead` (the monitor records a death before asking).
    """
    if not expected_on:
        if isinstance(observed, Running):
            return Stop(observed.pid, "dhcpd is expected off")
        return Nothing()
    if isinstance(observed, Running):
        return Nothing()
    if isinstance(observed, Absent):
        return StartNow("dhcpd is expected on and is not running")
    counted = recent(deaths, now, policy)
    if len(counted) > policy.storm_limit:
        return GiveUp(
            f"{observed.reason}; dhcpd died {len(counted)} times within "
            f"{policy.storm_window:g}s, not restarting it again"
        )
    delay = policy.delay(len(counted))
    return StartAfter(delay, f"{observed.reason}; restarting in {delay:g}s")


# Adoption.


@attrs.frozen
class Sidecar:
    """What rackd recorded next to the pid file when it started dhcpd."""

    pid: int
    command: tuple
    config_sha256: str
    started_at: float
    proc_start: "int | None" = None  # /proc/PID/stat starttime: tells pid reuse apart


@attrs.frozen
class ProcInfo:
    """What /proc says about a pid."""

    cmdline: tuple
    state: str  # one letter, as in /proc/PID/stat ("Z" is a zombie)
    proc_start: int


@attrs.frozen
class Adopt:
    pid: int


@attrs.frozen
class Refuse:
    reason: str
    stale_pid: "int | None" = None  # rackd's own dhcpd at these paths, to stop first


def adoption(command, config_sha256, pidfile_pid, sidecar, proc):
    """May this running dhcpd be adopted for ``command`` and this config?

    ``pidfile_pid`` is the pid file's number (None when missing or
    unreadable), ``sidecar`` the `Sidecar` (or None), ``proc`` the `ProcInfo`
    of that pid (or None when there is no such process), ``config_sha256`` the
    digest of the config file as it is now (None when it is missing).
    """
    if pidfile_pid is None:
        return Refuse("no readable pid file")
    # A rackd killed between starting dhcpd and writing its start record
    # leaves a dhcpd that wrote its own pid file: one running this very
    # command line (these files) is rackd's, and must be stopped, not left
    # serving beside the next one.
    unrecorded = (pidfile_pid if proc is not None and proc.state != "Z"
                  and proc.cmdline == tuple(command) else None)
    if sidecar is None:
        return Refuse("no readable start record next to the pid file", unrecorded)
    if sidecar.pid != pidfile_pid:
        return Refuse(f"pid file says {pidfile_pid} but the start record says {sidecar.pid}",
                      unrecorded)
    if proc is None:
        return Refuse(f"process {pidfile_pid} is not running")
    if proc.state == "Z":
        return Refuse(f"process {pidfile_pid} has exited (zombie)")
    if sidecar.proc_start is not None and sidecar.proc_start != proc.proc_start:
        return Refuse(f"process {pidfile_pid} is not the one rackd started (pid reused)")
    if proc.cmdline != tuple(sidecar.command):
        return Refuse(f"process {pidfile_pid} is not the one rackd started (command line differs)")
    # From here on the process is rackd's dhcpd at these paths: if it may not
    # be adopted it must be stopped, not left running beside a new one.
    if tuple(command) != proc.cmdline:
        return Refuse(f"dhcpd {pidfile_pid} runs with another command line", pidfile_pid)
    if config_sha256 is None:
        return Refuse("the config file is missing", pidfile_pid)
    if config_sha256 != sidecar.config_sha256:
        return Refuse(f"the config file changed since dhcpd {pidfile_pid} started", pidfile_pid)
    return Adopt(pidfile_pid)
