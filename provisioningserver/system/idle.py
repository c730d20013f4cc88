"""A thread of its own at idle CPU priority, promoted when it waits too long.

rackd's heaviest steady work is following dhcpd's log into the journal
(`provisioningserver.leases.follow`). It may lag behind dhcpd and catch up
later from the file without losing anything, so it should only ever get CPU
time that dhcpd (and the reactor) do not want. `IdleRunner` gives it that:
one thread, started on the first call, which switches itself to SCHED_IDLE
(`provisioningserver.system.priority.idle_thread`) before running anything.

Idle alone could starve: on a machine with no idle CPU at all, a SCHED_IDLE
thread may never run, and the journal would stop moving. So every call
arms a timer on the reactor: a call still running ``max_delay`` seconds
after it was made has its thread promoted back to normal scheduling at
``nice`` (`priority.promote`) until it returns; the next call starts idle
again. Where promotion is refused (no CAP_SYS_NICE), later calls stop
going idle at all, since a thread that cannot be promoted could wait
forever. bench/lease_events.py measures what this buys (BENCHMARKS.md).

The reactor is a constructor argument (its ``callLater`` is the only clock
read), and Linux scheduling is per thread, so the tests run a real reactor
in a fresh process and read each thread's policy back from the kernel.
"""

import threading

from twisted.internet import threads
from twisted.python.threadpool import ThreadPool

from provisioningserver.system import priority


class IdleRunner:
    """Runs calls one at a time in a thread of its own, on CPU time no other
    thread wants (SCHED_IDLE, `provisioningserver.system.priority`).

    A call that has not returned ``max_delay`` seconds after it was made is
    promoted to niceness ``nice`` until it returns: under a load that leaves
    no CPU idle, the follower waits that long, then reads at rackd's
    priority, so events reach the journal late but never stall. The next
    call starts idle again."""

    def __init__(self, reactor, nice, max_delay=10.0, name="rackd-follow"):
        self.reactor = reactor
        self.nice = nice
        self.max_delay = max_delay
        self.promotions = 0
        self.idle = None  # whether calls run under SCHED_IDLE, once one ran
        self._pool = ThreadPool(1, 1, name)
        self._tid = None

    def run(self, f):
        """``f()`` in the thread; a Deferred of its result."""
        if not self._pool.started:
            self._pool.start()
        timer = self.reactor.callLater(self.max_delay, self.promote)

        def done(result):
            if timer.active():
                timer.cancel()
            return result

        return threads.deferToThreadPool(self.reactor, self._pool, self._call, f).addBoth(done)

    def _call(self, f):
        self._tid = threading.get_native_id()
        if self.idle is not False:
            self.idle = priority.idle_thread()
        return f()

    def promote(self):
        """Schedule the thread normally (at ``nice``) until its call returns.

        Where that is not allowed (no CAP_SYS_NICE), later calls stop going
        idle: a thread that cannot be promoted could wait forever."""
        if self._tid is None:
            return
        if priority.promote(self._tid, self.nice):
            self.promotions += 1
        else:
            self.idle = False

    def stop(self):
        """Stop the thread once its call has returned (wait for that first)."""
        if self._pool.started:
            self._pool.stop()
