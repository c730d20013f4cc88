"""One configure at a time per IP family, coalescing callers that queue up.

A region may send documents faster than dhcpd can be restarted, and the
operator may use rackctl at the same time. Applying every document in turn
would only delay the one that matters, the newest. So per family there is at
most one run in progress and one *batch* waiting:

    idle ──configure──> running(batch A) ──configure──> running(A), waiting(B)
                             │                               │ configure (C replaces B's
                             │                               │  document; C joins B's callers)
                             v                               v
                      A's callers get A's outcome    A ends: B/C's batch runs,
                                                     all its callers get its outcome

Every caller therefore gets the outcome of the run that applied its document
or a newer one. A stop request queues the same way (the newest request wins).
Dry runs change nothing, so they are not coalesced: they go straight to the
configurator, whose own lock orders them.

No caller hangs: each has a deadline. A caller still waiting when it passes
gets `ConfigureTimeout`. If its batch had not started and nobody else waits
for it, the batch is withdrawn and the error says the state is known
(nothing of that document was applied). If the batch is running, the run
is cancelled: the configurator stops at its next step and, if it had
already changed dhcpd (a written config, OMAPI changes), puts the last
applied config back and restarts dhcpd with it. Every caller of that batch
then gets `ConfigureTimeout` saying what the run left: nothing changed,
rolled back, or a rollback that failed. Should the rollback itself hang, the
callers are answered ``GRACE`` seconds later with the state unknown.
"""

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from provisioningserver.services.configure import ConfigureCancelled

log = Logger()

DEFAULT_TIMEOUT = 120.0
GRACE = 30.0


class ConfigureTimeout(Exception):
    def __init__(self, ip_version, seconds, phase, state_known, rollback=None):
        self.ip_version, self.seconds = ip_version, seconds
        self.phase, self.state_known = phase, state_known
        self.rollback = rollback  # what the cancelled run left, in words
        if rollback is not None:
            tail = rollback
        elif state_known:
            tail = "the document was withdrawn unapplied; dhcpd keeps what it had"
        else:
            tail = "it is still being applied; the DHCP status will tell how it ended"
        super().__init__(f"IPv{ip_version} configure not done after {seconds:g} s "
                         f"({phase}): {tail}")

    def to_dict(self):
        return {"ip_version": self.ip_version, "seconds": self.seconds,
                "phase": self.phase, "state_known": self.state_known,
                "rollback": self.rollback}


class _Batch:
    """Work for one run (a configure or a stop) and the callers it answers."""

    def __init__(self, job):
        self.job = job
        self.waiters = []
        self.deferred = None  # the run, once started
        self.started = None  # the clock's time when it started
        self.cancelled = False


class Coalescer:
    """The configurator's interface (configure, stop, status, resume), with
    per-family coalescing and deadlines; see the module docstring."""

    def __init__(self, configurator, clock, timeout=DEFAULT_TIMEOUT):
        self.configurator = configurator
        self.clock = clock
        self.timeout = timeout
        self.running = {4: None, 6: None}
        self.waiting = {4: None, 6: None}
        self.runs = {4: 0, 6: 0}  # how many runs were started, for tests and status
        self.listeners = []
        self.outcome_listeners = []

    def configure(self, ip_version, document, dry_run=False):
        if dry_run:
            return self._deadline(ip_version, defer.maybeDeferred(
                self.configurator.configure, ip_version, document, True))
        return self._enqueue(ip_version, lambda: self.configurator.configure(
            ip_version, document, False))

    def stop(self, ip_version):
        return self._enqueue(ip_version, lambda: self.configurator.stop(ip_version))

    def status(self):
        return self.configurator.status()

    def serves(self, ip_version, document):
        return self.configurator.serves(ip_version, document)

    def resume(self):
        return self.configurator.resume()

    def on_change(self, listener):
        """``listener(ip_version)`` after every run that may have changed dhcpd."""
        self.listeners.append(listener)

    def on_outcome(self, listener):
        """``listener(ip_version, result, seconds)`` after every run: its `Outcome` or
        `Failure` (as its callers get it) and how long it took on the clock."""
        self.outcome_listeners.append(listener)

    def _enqueue(self, ip_version, job):
        batch = self.waiting[ip_version]
        if batch is None:
            batch = self.waiting[ip_version] = _Batch(job)
        else:
            batch.job = job  # the newest request replaces the one not yet started
        caller = defer.Deferred()
        batch.waiters.append(caller)
        timer = self.clock.callLater(self.timeout, self._expire, ip_version, caller)
        caller.addBoth(self._cancel_timer, timer)
        self._run_next(ip_version)
        return caller

    @staticmethod
    def _cancel_timer(result, timer):
        if timer.active():
            timer.cancel()
        return result

    def _run_next(self, ip_version):
        if self.running[ip_version] is not None or self.waiting[ip_version] is None:
            return
        batch = self.running[ip_version] = self.waiting[ip_version]
        self.waiting[ip_version] = None
        self.runs[ip_version] += 1
        batch.started = self.clock.seconds()
        d = batch.deferred = defer.maybeDeferred(batch.job)
        d.addBoth(self._finished, ip_version, batch)

    def _finished(self, result, ip_version, batch):
        self.running[ip_version] = None
        if isinstance(result, Failure) and result.check(ConfigureCancelled):
            cancelled = result.value
            result = Failure(ConfigureTimeout(ip_version, self.timeout, "running",
                                              cancelled.restored, str(cancelled)))
        elif isinstance(result, Failure) and result.check(defer.CancelledError):
            result = Failure(ConfigureTimeout(
                ip_version, self.timeout, "running", False,
                "cancelled; what it left is not known: the DHCP status tells what dhcpd serves"))
        for caller in batch.waiters:
            if not caller.called:
                caller.callback(result)
        for listener in self.listeners:
            try:
                listener(ip_version)
            except Exception:
                log.failure("A configure listener failed")
        seconds = self.clock.seconds() - batch.started
        for listener in self.outcome_listeners:
            try:
                listener(ip_version, result, seconds)
            except Exception:
                log.failure("A configure outcome listener failed")
        self._run_next(ip_version)
        # Every caller has its own copy of the result; this chain ends here.
        return None

    def _expire(self, ip_version, caller):
        if caller.called:
            return
        batch = self.waiting[ip_version]
        if batch is not None and caller in batch.waiters:
            batch.waiters.remove(caller)
            withdrawn = not batch.waiters
            if withdrawn:
                self.waiting[ip_version] = None
            error = ConfigureTimeout(ip_version, self.timeout, "queued", withdrawn)
        else:
            # The run takes too long: cancel it. The configurator puts the applied
            # state back if it had changed anything, and every caller of the batch
            # learns how that went (in _finished); a rollback that itself hangs
            # still answers the caller after GRACE seconds.
            running = self.running[ip_version]
            if running is not None and not running.cancelled:
                running.cancelled = True
                running.deferred.cancel()
            if not caller.called:
                timer = self.clock.callLater(GRACE, self._give_up, ip_version, caller)
                caller.addBoth(self._cancel_timer, timer)
            return
        caller.errback(error)

    def _give_up(self, ip_version, caller):
        if not caller.called:
            caller.errback(ConfigureTimeout(ip_version, self.timeout + GRACE, "running", False))

    def _deadline(self, ip_version, d):
        """A dry run's result, or ConfigureTimeout (a dry run changes nothing,
        so the state is known either way)."""
        caller = defer.Deferred()

        def expire():
            if not caller.called:
                caller.errback(ConfigureTimeout(ip_version, self.timeout, "running", True))

        timer = self.clock.callLater(self.timeout, expire)

        def done(result):
            if not caller.called:
                caller.callback(result)
            return None

        caller.addBoth(self._cancel_timer, timer)
        d.addBoth(done)
        return caller
