"""The dhcpd monitor: one Twisted service per IP family keeps dhcpd as expected.

Callers say what they want (`DhcpdMonitor.ensure_running`,
`DhcpdMonitor.ensure_stopped`); the monitor makes it so and then watches: it
polls the process on its clock while dhcpd is expected on, and when dhcpd dies
it asks `provisioningserver.dhcpd.supervise.decide` what to do (restart
after a backoff, or give up after a restart storm) and does it.

A start counts only once dhcpd is ready, and there is no fixed wait for it:
the probe (an OMAPI connect; dhcpd listens only once it has read its config
and leases and set up its interfaces) is tried at once and then every
``probe_retry`` (50 ms) until ``probe_deadline``, and after each try the
process must still be alive. So a dhcpd ready in 80 ms counts as started
within about 100 ms, while one that exits during start-up, or answers and
is gone right after (something else held the port), is seen as dead with
its exit status, not as started. Only without a probe (the tests' default;
rackd always has one) is the sign a process still alive after
``settle_time``. A start that fails verification is a death like any other,
so it backs off and counts towards the storm limit, and the caller of an
explicit start gets `DhcpdDidNotStart` with the end of dhcpd's log.

Operations are serialised with one lock, so a crash restart never races a
configure. Backend calls that may block (start, stop, adoption checks, and the
liveness checks of a start, a ``systemctl show`` under systemd) run in
the reactor's thread pool when the clock has one, and inline otherwise (a
`task.Clock` in tests). Stopping the service stops the watching only: dhcpd
keeps serving while rackd is down, and the next rackd adopts it.

A restart does first what can be done while the old dhcpd still serves:
the config was rendered, checked and written by the caller, and the
backend's ``prepare_start`` scans the leases file (seconds at 50,000
leases). Only then is the old dhcpd stopped, and ``start`` gets what
``prepare_start`` returned, so inside the outage only the bytes dhcpd
appended since the scan are split. A start with nothing to stop (the first,
or after a crash) skips the step: ``start`` then does all of it.

The backend interface (`ProcessBackend` and `SystemdBackend` implement it):
``prepare_start(spec) -> prepared``, ``start(spec, prepared=None) -> pid``,
``inspect(spec) -> Adopt | Refuse``, ``is_alive(pid)``, ``describe_exit(pid)``,
``stop(spec, pid)``, ``log_tail(spec) -> str``, ``record_config(spec)``.
"""

import attrs
from twisted.application import service
from twisted.internet import defer, task
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger

from provisioningserver.system import crashpoint
from provisioningserver.dhcpd.supervise import (
    Adopt, Dead, GiveUp, RestartPolicy, StartAfter, decide, recent,
)

log = Logger()


class DhcpdDidNotStart(Exception):
    """dhcpd was started but did not come up; carries the end of its log."""

    def __init__(self, reason, log_tail=""):
        self.reason = reason
        self.log_tail = log_tail
        message = reason
        if log_tail:
            message += "; dhcpd's log ends with:\n" + log_tail
        super().__init__(message)


@attrs.frozen
class Outcome:
    """What `DhcpdMonitor.ensure_running` did: unchanged, adopted, started or restarted."""

    action: str
    pid: int
    reason: str


@attrs.frozen
class MonitorStatus:
    state: str  # "running" | "off" | "dead"
    pid: "int | None"
    since: "float | None"
    reason: "str | None"
    restarts: int
    spec: object  # the DhcpdSpec dhcpd runs (or last ran) with, or None
    next_start: "float | None" = None  # when a restart is scheduled


class DhcpdMonitor(service.Service):
    def __init__(self, backend, clock, policy=RestartPolicy(), probe=None, poll_interval=1.0,
                 settle_time=0.5, probe_deadline=5.0, probe_retry=0.05):
        self.backend = backend
        self.clock = clock
        self.policy = policy
        self.probe = probe  # spec -> Deferred[bool]; None: a live process is enough
        self.poll_interval = poll_interval
        self.settle_time = settle_time
        self.probe_deadline = probe_deadline
        self.probe_retry = probe_retry
        self._lock = defer.DeferredLock()
        self._expected_on = False
        self._spec = None
        self._pid = None
        self._state, self._since, self._reason = "off", None, None
        self._deaths = ()
        self._restarts = 0
        self._gave_up = False
        self._poll_call = None
        self._restart_call = None

    # The public face.

    def status(self):
        next_start = self._restart_call.getTime() if self._restart_call else None
        return MonitorStatus(self._state, self._pid, self._since, self._reason,
                             self._restarts, self._spec, next_start)

    def ensure_running(self, spec, restart=False):
        """Deferred[Outcome]: dhcpd runs ``spec``, verified; see the module docstring."""
        return self._lock.run(self._ensure_running, spec, restart)

    def ensure_stopped(self, spec=None):
        """Stop the watched dhcpd, and any dhcpd rackd started at ``spec``'s files."""
        return self._lock.run(self._ensure_stopped, spec)

    def record_config(self, spec):
        """The config at ``spec`` changed live (hosts over OMAPI): dhcpd serves
        it as it is now, so a later rackd may adopt this dhcpd."""
        self.backend.record_config(spec)

    def startService(self):
        super().startService()
        if self._expected_on and self._pid is not None:
            self._schedule_poll()
        elif self._expected_on and self._state == "dead" and not self._gave_up:
            self._restart_call = self.clock.callLater(0, self._restart)

    def stopService(self):
        # Watching stops; dhcpd does not. Wait for an operation in flight.
        super().stopService()
        self._cancel(poll=True, restart=True)
        return self._lock.run(lambda: None)

    # Operations, each run under the lock.

    @defer.inlineCallbacks
    def _ensure_running(self, spec, restart):
        self._cancel(restart=True)
        self._expected_on, self._gave_up = True, False
        self._deaths, self._restarts = (), 0  # a request starts the restart count afresh
        prepared, changed = None, False
        if self._pid is not None and self._spec != spec:
            prepared = yield self._blocking(self.backend.prepare_start, spec)
            yield self._blocking(self.backend.stop, self._spec, self._pid)
            self._pid, changed = None, True
        verdict = yield self._blocking(self.backend.inspect, spec)
        if isinstance(verdict, Adopt) and not restart:
            action = "unchanged" if verdict.pid == self._pid else "adopted"
            try:
                yield self._verify(spec, verdict.pid, settle=0)
            except DhcpdDidNotStart as error:
                log.warn("Not adopting IPv{v} dhcpd {pid}: {e}", v=spec.ip_version,
                         pid=verdict.pid, e=error.reason)
            else:
                if action == "adopted":
                    self._now_running(spec, verdict.pid, f"adopted dhcpd {verdict.pid}")
                else:
                    self._schedule_poll()
                return Outcome(action, verdict.pid, "dhcpd already runs this spec and config")
        reason = "restart requested" if isinstance(verdict, Adopt) else verdict.reason
        stale = verdict.pid if isinstance(verdict, Adopt) else verdict.stale_pid
        stopped = False
        to_stop = {stale, self._pid} - {None}
        if to_stop and prepared is None:
            prepared = yield self._blocking(self.backend.prepare_start, spec)
        for pid in to_stop:
            yield self._blocking(self.backend.stop, spec, pid)
            stopped = True
        if stopped or changed:
            crashpoint.reached("stopped")
        self._pid = None
        pid = yield self._start_verified(spec, prepared)
        return Outcome("restarted" if stopped else "started", pid, reason)

    @defer.inlineCallbacks
    def _ensure_stopped(self, spec):
        self._cancel(poll=True, restart=True)
        self._expected_on, self._gave_up = False, False
        stopped = set()
        if self._pid is not None:
            yield self._blocking(self.backend.stop, self._spec, self._pid)
            stopped.add(self._pid)
        spec = spec if spec is not None else self._spec
        if spec is not None:
            verdict = yield self._blocking(self.backend.inspect, spec)
            found = verdict.pid if isinstance(verdict, Adopt) else verdict.stale_pid
            if found is not None and found not in stopped:
                yield self._blocking(self.backend.stop, spec, found)
        if stopped or (spec is not None and found is not None):
            log.info("IPv{v} dhcpd stopped on request", v=spec.ip_version if spec else "?")
        self._pid, self._spec = None, None
        self._set_state("off", "stopped on request")

    @defer.inlineCallbacks
    def _start_verified(self, spec, prepared=None):
        self._spec = spec
        try:
            pid = yield self._blocking(self.backend.start, spec, prepared)
        except Exception as error:  # whatever stops the spawn is a failed start
            reason = f"could not start dhcpd: {error}"
            self._died(reason)
            raise DhcpdDidNotStart(reason, self._tail(spec))
        self._pid = pid
        try:
            yield self._verify(spec, pid, settle=self.settle_time)
        except DhcpdDidNotStart as error:
            if self.backend.is_alive(pid):
                yield self._blocking(self.backend.stop, spec, pid)
            self._died(error.reason)
            raise
        self._now_running(spec, pid, f"started dhcpd {pid}")
        return pid

    @defer.inlineCallbacks
    def _verify(self, spec, pid, settle):
        """Fires when dhcpd ``pid`` is ready; DhcpdDidNotStart when it dies or
        does not answer by the deadline (see the module docstring)."""
        if self.probe is None:  # no readiness signal: alive after the settle time
            if settle:
                yield task.deferLater(self.clock, settle, lambda: None)
            yield self._alive_or_raise(spec, pid)
            return
        deadline = self.clock.seconds() + self.probe_deadline
        while True:
            answered = yield self._probe_once(spec, max(deadline - self.clock.seconds(), 0.01))
            # Alive after the answer too: a dhcpd that exits right after its
            # start is dead, even if something answered on its port.
            yield self._alive_or_raise(spec, pid)
            if answered:
                return
            if self.clock.seconds() >= deadline:
                raise DhcpdDidNotStart(
                    f"dhcpd {pid} did not answer within {self.probe_deadline:g}s", self._tail(spec))
            yield task.deferLater(self.clock, self.probe_retry, lambda: None)

    @defer.inlineCallbacks
    def _alive_or_raise(self, spec, pid):
        alive = yield self._blocking(self.backend.is_alive, pid)
        if not alive:
            raise DhcpdDidNotStart(f"dhcpd {pid} {self.backend.describe_exit(pid)} while starting",
                                   self._tail(spec))

    def _probe_once(self, spec, timeout):
        d = defer.maybeDeferred(self.probe, spec)
        d.addTimeout(timeout, self.clock)
        d.addErrback(lambda failure: False)  # a timeout or an error: no answer
        return d

    # Watching and restarting.

    def _schedule_poll(self):
        if self.running and self._expected_on and self._pid is not None and self._poll_call is None:
            self._poll_call = self.clock.callLater(self.poll_interval, self._poll)

    def _poll(self):
        self._poll_call = None
        return self._lock.run(self._check)

    def _check(self):
        if not self._expected_on or self._pid is None:
            return
        if self.backend.is_alive(self._pid):
            self._schedule_poll()
            return
        pid, self._pid = self._pid, None
        self._died(f"dhcpd {pid} {self.backend.describe_exit(pid)}")

    def _died(self, reason):
        """Record a death (or a failed start) and act on the policy's decision."""
        self._pid = None
        now = self.clock.seconds()
        self._deaths = recent(self._deaths + (now,), now, self.policy)
        action = decide(self._expected_on, Dead(reason), self._deaths, now, self.policy)
        self._set_state("dead", action.reason)
        ip = self._spec.ip_version if self._spec else "?"
        if isinstance(action, StartAfter):
            log.warn("IPv{v} dhcpd: {r}", v=ip, r=action.reason)
            if self.running:
                self._restart_call = self.clock.callLater(action.delay, self._restart)
        elif isinstance(action, GiveUp):
            log.error("IPv{v} dhcpd: {r}", v=ip, r=action.reason)
            self._gave_up = True

    def _restart(self):
        self._restart_call = None
        d = self._lock.run(self._restart_locked)
        d.addErrback(lambda failure: failure.trap(DhcpdDidNotStart))  # already recorded
        return d

    def _restart_locked(self):
        if not self._expected_on or self._pid is not None or self._spec is None:
            return None
        self._restarts += 1
        return self._start_verified(self._spec)

    # Small things.

    def _now_running(self, spec, pid, reason):
        log.info("IPv{v} {r} ({path})", v=spec.ip_version, r=reason, path=spec.config_path)
        self._spec, self._pid = spec, pid
        self._set_state("running", reason)
        self._schedule_poll()

    def _set_state(self, state, reason):
        if state != self._state or reason != self._reason:
            self._since = self.clock.seconds()
        self._state, self._reason = state, reason

    def _cancel(self, poll=False, restart=False):
        for name, wanted in (("_poll_call", poll), ("_restart_call", restart)):
            call = getattr(self, name)
            if wanted and call is not None:
                if call.active():
                    call.cancel()
                setattr(self, name, None)

    def _tail(self, spec):
        try:
            return self.backend.log_tail(spec)
        except OSError:
            return ""

    def _blocking(self, function, *args):
        """Run a backend call that may block: in the thread pool, if the clock has one."""
        pool = getattr(self.clock, "getThreadPool", None)
        if pool is None:
            return defer.maybeDeferred(function, *args)
        return deferToThreadPool(self.clock, pool(), function, *args)
