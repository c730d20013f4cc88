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
