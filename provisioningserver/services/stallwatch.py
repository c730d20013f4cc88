"""Noticing when the reactor thread stops answering, and where it was.

Everything rackd answers (the control socket, /metrics, the region link,
lease relay) waits while the reactor thread runs one piece of work, so a
long step there is a stall of the whole agent. `StallWatch` makes such a
stall visible: the reactor beats every `interval` seconds; a watcher thread
that sees no beat for longer than ``threshold`` samples the reactor
thread's stack, and when the reactor beats again one warning names how long
it was held and the frames it was held in (the innermost rackd frames, as
sampled). The longest stall is kept for the metrics.

The watcher thread only reads the clock and `sys._current_frames`; it takes
no lock the reactor thread waits on beyond the one around its samples.

A stack sample cannot show the cyclic garbage collector: a collection runs
inside whatever allocation triggered it, in whichever thread, and holds
the interpreter (and so the reactor thread) until it is done, so the
samples name an innocent line (a soak once saw 0.19 s "in" a SQLite
select). So the watch also times every collection (``gc.callbacks``) and
each warning says how much of the hold was the collector's, by oldest
generation, and whether the reactor thread ran it.
"""

import collections
import gc
import sys
import threading
import time
import traceback

from twisted.application import service
from twisted.internet import task
from twisted.logger import Logger

log = Logger()

DEFAULT_THRESHOLD = 0.5  # rackd.yaml stall_log_seconds
_PACKAGE = "provisioningserver"


def where(frame, limit=4):
    """The innermost ``limit`` rackd frames of a stack, as "module:line
    function" strings, innermost last; the innermost frame of all when no
    rackd frame is on it (a library called from elsewhere)."""
    summary = traceback.extract_stack(frame)
    ours = [f for f in summary if f"/{_PACKAGE}/" in f.filename]
    chosen = ours[-limit:] if ours else summary[-1:]
    text = []
    for f in chosen:
        name = f.filename.split(f"/{_PACKAGE}/", 1)[-1] if f"/{_PACKAGE}/" in f.filename \
            else f.filename.rsplit("/", 1)[-1]
        text.append(f"{name}:{f.lineno} {f.name}")
    innermost = summary[-1]
    if ours and innermost is not ours[-1]:
        text.append(f"({innermost.filename.rsplit('/', 1)[-1]}:{innermost.lineno} "
                    f"{innermost.name})")
    return " < ".join(reversed(text))


class Collections:
    """The garbage collector's time, as `gc.callbacks` reports it: ``take``
    returns and resets (seconds, count, oldest generation, seconds of that
    in ``thread``). The callback runs inside the collection, in any thread,
    so it takes no lock (a collection can start while one is held); the
    totals are swapped whole, one reference at a time, under the GIL."""

    def __init__(self, now=time.monotonic, thread=None):
        self.now, self.thread = now, thread
        self._started = {}
        self._totals = (0.0, 0, -1, 0.0)

    def __call__(self, phase, info):
        ident = threading.get_ident()
        if phase == "start":
            self._started[ident] = self.now()
            return
        started = self._started.pop(ident, None)
        if started is None:
            return
        took = self.now() - started
        seconds, count, oldest, here = self._totals
        self._totals = (seconds + took, count + 1, max(oldest, info.get("generation", 0)),
                        here + (took if ident == self.thread else 0.0))

    def take(self):
        totals, self._totals = self._totals, (0.0, 0, -1, 0.0)
        return totals


def describe(duration, samples, collected=(0.0, 0, -1, 0.0)):
    """The warning for one stall of ``duration`` seconds: the places sampled
    in it, the most frequent first, with their share of the samples, and
    the collector's part (`Collections.take`) when it ran."""
    seconds, count, oldest, here = collected
    gc_text = ""
    if count and seconds >= 0.001:
        where_run = "on the reactor thread" if here >= seconds / 2 else "in other threads"
        gc_text = (f"; {seconds:.2f} s of it in {count} garbage collection"
                   f"{'s' if count > 1 else ''} (up to generation {oldest}, {where_run})")
    if not samples:
        return f"the reactor was held for {duration:.2f} s (no sample of where){gc_text}"
    counts = collections.Counter(samples).most_common(3)
    places = "; ".join(f"{n * 100 // len(samples)}% in {place}" for place, n in counts)
    return f"the reactor was held for {duration:.2f} s: {places}{gc_text}"


class StallWatch(service.Service):
    """See the module docstring. ``clock`` is the reactor; ``now`` a
    monotonic clock; ``warn(text)`` receives each warning (default: the log)."""

    name = "stall-watch"

    def __init__(self, clock, threshold=DEFAULT_THRESHOLD, interval=0.05, now=time.monotonic,
                 warn=None):
        self.clock, self.threshold, self.interval, self.now = clock, threshold, interval, now
        self.warn = warn or (lambda text: log.warn("{text}", text=text))
        self.longest = 0.0
        self.stalls = 0
        self._beat = now()
        self._samples = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._loop = None
        self._reactor_thread = None
        self.collections = Collections(now)

    def startService(self):
        super().startService()
        self._reactor_thread = self.collections.thread = threading.get_ident()
        gc.callbacks.append(self.collections)
        self._beat = self.now()
        self._loop = task.LoopingCall(self.beat)
        self._loop.clock = self.clock
        self._loop.start(self.interval, now=False)
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="rackd-stall-watch",
                                        daemon=True)
        self._thread.start()

    def stopService(self):
        self._stop.set()
        if self.collections in gc.callbacks:
            gc.callbacks.remove(self.collections)
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        return super().stopService()

    def beat(self):
        """On the reactor: record the beat; report the stall that ends here."""
        now = self.now()
        held = now - self._beat - self.interval
        self._beat = now
        with self._lock:
            samples, self._samples = self._samples, []
        collected = self.collections.take()
        if held > self.longest:
            self.longest = held
        if held >= self.threshold:
            self.stalls += 1
            self.warn(describe(held, samples, collected))

    def sample(self):
        """In the watcher thread: where the reactor thread is, when it is late."""
        if self.now() - self._beat - self.interval < self.threshold / 2:
            return
        frame = sys._current_frames().get(self._reactor_thread)
        if frame is not None:
            place = where(frame)
            with self._lock:
                self._samples.append(place)

    def _watch(self):
        step = min(self.interval, self.threshold / 5) if self.threshold > 0 else self.interval
        while not self._stop.wait(step):
            self.sample()
