"""The follower's thread: idle CPU priority, promotion, stopping (IdleRunner
and LeaseFollowService with a runner), and the journal relaying its batches.

Scheduling is per thread: the runner's cases run the real reactor and
thread pool in a fresh process and read each thread's policy back from the
kernel; the test runner's own threads are never touched.
"""

import json
import os
import subprocess
import sys
import threading

import pytest
from twisted.internet import defer, task

from provisioningserver.dhcp.leaserecord import LeaseEvent
from provisioningserver.system import priority
from provisioningserver.leases.journal import Journal
from provisioningserver.leases.follow import LeaseFollowService, LogFollower


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The runner with the real reactor and thread pool, in a fresh process: the
# test runner's own reactor and thread priorities are never touched.
SCRIPT = """
import json, os, threading
from twisted.internet import defer, reactor
from provisioningserver.leases.follow import IdleRunner

def policy():
    tid = threading.get_native_id()
    return [os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, tid), tid]

def slow():
    release.wait(10)
    return policy()

release = threading.Event()
runner = IdleRunner(reactor, nice=7, max_delay=1.0)
seen = {}

@defer.inlineCallbacks
def main():
    try:
        seen["first"] = yield runner.run(policy)
        seen["idle"] = runner.idle
        seen["promotions_before_slow"] = runner.promotions
        reactor.callLater(2.5, release.set)
        seen["slow"] = yield runner.run(slow)
        seen["promotions_after_slow"] = runner.promotions
        seen["again"] = yield runner.run(policy)
        try:
            yield runner.run(lambda: 1 / 0)
        except ZeroDivisionError:
            seen["failure"] = "ZeroDivisionError"
        seen["reactor"] = [os.sched_getscheduler(0), threading.get_native_id()]
    finally:
        runner.stop()
        reactor.stop()

reactor.callWhenRunning(main)
reactor.run()
print(json.dumps(seen))
"""


@pytest.fixture(scope="module")
def seen():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=True)
    return json.loads(out.stdout)


def test_a_call_runs_in_its_own_thread_under_sched_idle(seen):
    """The call runs off the reactor thread, under SCHED_IDLE, and its result
    comes back as the Deferred's; the reactor thread keeps its policy."""
    policy, _, tid = seen["first"]
    assert seen["idle"] is True and policy == os.SCHED_IDLE
    assert seen["reactor"] == [os.SCHED_OTHER, seen["reactor"][1]] and tid != seen["reactor"][1]


def test_a_call_that_outlasts_max_delay_is_promoted_until_it_returns(seen):
    """After max_delay the thread is scheduled normally at ``nice``; the next
    call starts idle again."""
    assert seen["slow"][:2] == [os.SCHED_OTHER, 7]
    assert seen["promotions_after_slow"] == seen["promotions_before_slow"] + 1
    assert seen["again"][0] == os.SCHED_IDLE


def test_a_failing_call_fails_its_deferred(seen):
    """An exception in the thread is the Deferred's failure, not lost."""
    assert seen["failure"] == "ZeroDivisionError"


def _result(d):
    """What the Deferred ``d`` has fired with (it must have fired)."""
    seen = []
    d.addBoth(seen.append)
    assert seen, "the Deferred has not fired"
    return seen[0]


def test_a_threaded_journal_relays_its_batches_instead_of_notifying(tmp_path):
    """With ``relay`` set, a batch committed in another thread goes to it
    (rackd hands it to the reactor thread), and the journal's own observers
    are not called."""
    journal = Journal(str(tmp_path / "j.db"), threaded=True)
    seen, relayed = [], []
    journal.observers.append(seen.append)
    journal.relay = lambda events, transactions: relayed.append((events, transactions))
    event = LeaseEvent(action="expiry", ip_family=4, ip="198.18.1.9")
    thread = threading.Thread(target=journal.record, args=([event], "dhcpd4", (1, 10)))
    thread.start()
    thread.join()
    assert relayed == [([event], ())] and seen == []
    assert [(e.action, e.ip) for _, e in journal.pending()] == [("expiry", "198.18.1.9")]
    journal.close()


def _service(tmp_path, run, **kw):
    path = tmp_path / "dhcpd.log"
    path.write_text("")
    follower = LogFollower(str(path), Journal(str(tmp_path / "j.db")), "dhcpd4")
    return follower, LeaseFollowService(follower, kw.pop("clock", task.Clock()), run=run, **kw)


def test_stopping_waits_for_the_poll_in_progress_then_closes(tmp_path):
    """stopService asks a running poll to end (``stopping``), promotes its
    thread, and fires only once the poll has returned and the file is closed."""
    polls, promoted = [], []

    def run(f):
        polls.append(defer.Deferred())
        return polls[-1]

    follower, service = _service(tmp_path, run, promote=lambda: promoted.append(True))
    service.startService()
    stopped = service.stopService()
    assert follower.stopping and promoted == [True]
    assert not stopped.called
    polls[0].callback(0)
    assert _result(stopped) is None and follower._fd is None


def test_a_failed_poll_is_counted_and_the_loop_goes_on(tmp_path):
    """A poll that fails is counted (and logged); the next interval polls again."""
    clock, calls = task.Clock(), []

    def run(f):
        calls.append(f)
        return defer.fail(OSError("disk"))

    follower, service = _service(tmp_path, run, clock=clock)
    service.startService()
    clock.advance(0.5)
    assert (len(calls), service.errors) == (2, 2)
    assert _result(defer.maybeDeferred(service.stopService)) is None


def test_a_promotion_that_fails_is_false_not_an_error():
    """A thread id the kernel refuses gives False (logged), never an exception."""
    assert priority.promote(-1, 10) is False
