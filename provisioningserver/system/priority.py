"""CPU priority: dhcpd's clients first, rackd's bookkeeping after.

dhcpd is single-threaded and answers nobody while it is off the CPU. rackd
shares the machine with it, and its heaviest steady work, following
dhcpd's log into the journal, can lag and catch up from the file without
losing anything. So rackd lowers its own priority (rackd.yaml ``nice``,
default 10) before it starts any thread, and gives each dhcpd it spawns
the niceness rackd itself was started with. bench/lease_events.py measures
the difference (BENCHMARKS.md).

Linux keeps niceness per thread, and a thread inherits its creator's: hence
"before any thread". Lowering a priority needs CAP_SYS_NICE; where rackd
lacks it, dhcpd keeps rackd's niceness and that is logged.

The follower itself runs lower still, in a thread of its own under
SCHED_IDLE (`idle_thread`): it gets only CPU time no other thread wants, so
at dhcpd's full rate on a busy machine it waits instead of competing, and
is `promote`d back to rackd's niceness when it has waited too long
(`provisioningserver.system.idle.IdleRunner`).
"""

import os

from twisted.logger import Logger

log = Logger()

_started_at = None  # rackd's niceness before `lower_own`, which dhcpd gets back


def lower_own(nice):
    """Run this thread, and every thread it creates later, at ``nice``."""
    global _started_at
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if nice == current:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    except PermissionError:
        log.warn("cannot change rackd's niceness from {current} to {nice}: no privilege",
                 current=current, nice=nice)
        return
    _started_at = current


def restore(pid):
    """Give the process ``pid`` the niceness rackd was started with."""
    if _started_at is None:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, pid, _started_at)
    except PermissionError:
        log.warn("cannot give process {pid} niceness {nice}: no privilege", pid=pid,
                 nice=_started_at)
    except ProcessLookupError:
        pass  # it has exited already; the monitor sees that


def idle_thread():
    """Run the calling thread only when a CPU has nothing else to do
    (SCHED_IDLE). Returns False where that is not possible."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        return False
    return True


def promote(tid, nice):
    """Schedule the thread ``tid`` normally again, at ``nice``. Returns
    False (and logs) where that is not allowed."""
    try:
        os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
        os.setpriority(os.PRIO_PROCESS, tid, nice)
    except (AttributeError, OSError) as error:
        log.warn("cannot schedule thread {tid} normally at niceness {nice}: {error}", tid=tid,
                 nice=nice, error=error)
        return False
    return True
