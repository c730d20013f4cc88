"""The follower's thread: idle CPU priority, promotion, failures (IdleRunner).

Scheduling is per thread: the runner's cases run the real reactor and
thread pool in a fresh process and read each thread's policy back from the
kernel; the test runner's own threads are never touched.
"""

import json
import os
import subprocess
import sys

import pytest

from provisioningserver.system import priority


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The runner with the real reactor and thread pool, in a fresh process: the
# test runner's own reactor and thread priorities are never touched.
SCRIPT = """
import json, os, threading
from twisted.internet import defer, reactor
from provisioningserver.system.idle import IdleRunner

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


def test_a_promotion_that_fails_is_false_not_an_error():
    """A thread id the kernel refuses gives False (logged), never an exception."""
    assert priority.promote(-1, 10) is False
