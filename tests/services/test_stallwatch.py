"""The stall watch: a reactor held past the threshold is reported once, with
where it was held; beats on time report nothing."""

import threading
import time

from twisted.internet import task

from provisioningserver.services import stallwatch
from provisioningserver.services.stallwatch import StallWatch, describe, where


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def _watch(threshold=0.5):
    warnings = []
    now = Clock()
    watch = StallWatch(task.Clock(), threshold=threshold, interval=0.05, now=now,
                       warn=warnings.append)
    watch._reactor_thread = threading.get_ident()
    return watch, now, warnings


def test_beats_on_time_report_nothing():
    """Beats one interval apart (and a little late) are no stall."""
    watch, now, warnings = _watch()
    for _ in range(10):
        now.t += 0.06
        watch.beat()
    assert warnings == [] and watch.stalls == 0
    assert 0 < watch.longest < 0.02


def test_a_long_hold_is_reported_once_with_its_samples():
    """A beat 1.05 s after the last: one warning of a 1.00 s hold, naming
    the place sampled (here the sampler itself, called on this thread), and
    the longest."""
    watch, now, warnings = _watch()
    now.t += 1.05
    watch.sample()  # the watcher thread, while the reactor is held
    watch.sample()
    watch.beat()
    assert watch.stalls == 1 and abs(watch.longest - 1.0) < 1e-9
    [text] = warnings
    assert text.startswith("the reactor was held for 1.00 s: 100% in ")
    assert "services/stallwatch.py:" in text and " sample" in text
    now.t += 0.05
    watch.beat()
    assert len(warnings) == 1


def test_no_sample_while_the_reactor_is_on_time():
    """The watcher samples only once the beat is late by half the threshold."""
    watch, now, warnings = _watch()
    now.t += 0.1
    watch.sample()
    assert watch._samples == []


def test_where_names_the_innermost_frame_when_no_rackd_frame_is_on_the_stack():
    """A stack of tests and pytest only: its innermost frame, by file and line;
    and the warning's wording, most frequent place first."""
    import sys

    assert where(sys._getframe()).startswith(
        "test_stallwatch.py:") and where(sys._getframe()).endswith(
        " test_where_names_the_innermost_frame_when_no_rackd_frame_is_on_the_stack")
    assert describe(0.7, []) == "the reactor was held for 0.70 s (no sample of where)"
    assert describe(0.7, ["a", "a", "b", "a"]) == (
        "the reactor was held for 0.70 s: 75% in a; 25% in b")


def test_the_watch_runs_with_a_real_thread_and_stops():
    """Started as a service, a real busy reactor thread is sampled and the
    thread ends when the service stops."""
    warnings = []
    clock = task.Clock()
    watch = StallWatch(clock, threshold=0.1, interval=0.01, warn=warnings.append)
    watch.startService()
    try:
        deadline = time.monotonic() + 0.4
        while time.monotonic() < deadline:  # the "reactor" (this thread) is busy
            sum(range(1000))
        clock.advance(0.01)  # the next beat
        assert watch.stalls == 1
        [text] = warnings
        assert "test_the_watch_runs_with_a_real_thread_and_stops" in text
    finally:
        watch.stopService()
        watch._thread.join(2)
    assert not watch._thread.is_alive()
    assert stallwatch.DEFAULT_THRESHOLD == 0.5


def test_a_hold_names_the_garbage_collectors_part():
    """Collections timed through the gc callback within a held interval are
    named in that hold's warning: their total, count, oldest generation and
    whether the reactor thread ran them; the next beat starts afresh."""
    watch, now, warnings = _watch()
    watch.collections.thread = threading.get_ident()
    collect = watch.collections
    collect("start", {"generation": 0})
    now.t += 0.01
    collect("stop", {"generation": 0})
    collect("start", {"generation": 2})
    now.t += 0.70
    collect("stop", {"generation": 2})
    now.t += 0.05
    watch.beat()
    [text] = warnings
    assert text == ("the reactor was held for 0.71 s (no sample of where); 0.71 s of it in "
                    "2 garbage collections (up to generation 2, on the reactor thread)")
    assert watch.collections.take() == (0.0, 0, -1, 0.0)


def test_collections_in_another_thread_are_told_apart():
    """A collection run by another thread (the configure's, holding the
    interpreter) is reported as such."""
    collect = stallwatch.Collections(now=time.monotonic, thread=-1)
    collect("start", {"generation": 2})
    collect("stop", {"generation": 2})
    seconds, count, oldest, here = collect.take()
    assert count == 1 and oldest == 2 and here == 0.0
    assert "in other threads" in describe(0.3, [], (0.2, 1, 2, 0.0))


def test_the_watch_times_real_collections_while_it_runs():
    """Started, the watch is on gc.callbacks and times a real gc.collect();
    stopped, it is off them."""
    import gc

    watch = StallWatch(task.Clock(), threshold=0.5)
    watch.startService()
    try:
        assert watch.collections in gc.callbacks
        gc.collect()
        seconds, count, oldest, here = watch.collections.take()
        assert count >= 1 and oldest == 2 and here == seconds
    finally:
        watch.stopService()
    assert watch.collections not in gc.callbacks
