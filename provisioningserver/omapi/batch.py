"""One batch of host changes, paced by the window and dhcpd's replies.

Why. `OmapiClient.apply` once turned every change of a batch into a running
request at once: a Deferred, a coroutine and a message per change, queued on
the window's semaphore. For 40,000 adds that was about 4 s of rackd's
reactor spent before the ninth request could go out (timers of the first
eight running all the while) and some 150 MB held until the end. A batch is
now pulled from its iterable only as fast as the window frees: at most
``window`` changes are started, each reply that completes one starts the
next, and the rest of the batch stays as the caller's values.

How. Changes that name the same MAC or host name must run one after the
other, in the order given (so that a batch may remove a host and add it
anew). Each key has a queue of the unfinished changes that name it, in
order; a change may start once it is at the head of every queue it is in.
A change pulled while an earlier one holds one of its keys is *parked*; when
a change finishes it leaves the heads of its queues, and any parked change
that is now at the head of all of its queues becomes ready. The earliest
parked change is always ready once nothing runs (everything before it has
finished), so parking cannot deadlock; it is bounded (`PARK_LIMIT`), so a
batch of one key repeated does not pull itself whole into memory either.

A change is started with a plain function to call when it is done, not
with a Deferred to wait on: the client's path for a one-request change
(nearly every change of a batch) then runs from dhcpd's reply to this
batch's next request without a Deferred, a callback chain or a coroutine
in between (see `OmapiClient.apply`). Requests that fail at once (a MAC
that cannot be packed) complete inside the call that starts them. `_pump`
is re-entrant-safe: a completion during a pump only records its result,
and the outer loop starts what follows, so thousands of immediate failures
run in a loop rather than a recursion.
"""

from collections import deque
from functools import partial

from twisted.internet.defer import Deferred

# Parked changes held at most, per window slot (see the module docstring).
PARK_LIMIT = 64


def change_keys(change):
    """The keys by which a change meets the changes it must follow."""
    mac, name = getattr(change, "mac", None), getattr(change, "name", None)
    if mac is None:
        return () if name is None else (("name", name.lower()),)
    if name is None:
        return (("mac", mac.lower()),)
    return (("mac", mac.lower()), ("name", name.lower()))


class PacedBatch:
    """Run ``start(change, report)`` for each of ``changes``, at most
    ``window`` at a time, in key order; ``start`` calls ``report(result)``
    exactly once, when the change is done (at once, or later), and never
    raises. ``done`` fires with the results in the order given."""

    def __init__(self, changes, start, window):
        self.done = Deferred()
        self._changes = iter(changes)
        self._start = start
        self._window = window
        self._park_limit = PARK_LIMIT * window
        self._results = []
        self._pulled = {}  # index -> (change, keys), until it finishes
        self._queues = {}  # key -> deque of unfinished indices naming it
        self._parked = set()
        self._ready = deque()
        self._running = 0
        self._exhausted = False
        self._pumping = False

    def run(self):
        self._pump()
        return self.done

    @property
    def running(self):
        return self._running

    @property
    def held(self):
        """Changes pulled from the iterable and not yet finished."""
        return len(self._pulled)

    def _pump(self):
        if self._pumping:
            return
        self._pumping = True
        try:
            while True:
                if self._ready and self._running < self._window:
                    self._begin(self._ready.popleft())
                elif (self._running < self._window and not self._exhausted
                      and len(self._parked) < self._park_limit):
                    self._pull()
                else:
                    break
        finally:
            self._pumping = False
        if self._exhausted and not self._pulled and not self.done.called:
            self.done.callback(self._results)

    def _pull(self):
        try:
            change = next(self._changes)
        except StopIteration:
            self._exhausted = True
            return
        index = len(self._results)
        self._results.append(None)
        keys = change_keys(change)
        self._pulled[index] = (change, keys)
        for key in keys:
            self._queues.setdefault(key, deque()).append(index)
        if self._at_heads(index):
            self._ready.append(index)
        else:
            self._parked.add(index)

    def _at_heads(self, index):
        _, keys = self._pulled[index]
        for key in keys:
            if self._queues[key][0] != index:
                return False
        return True

    def _begin(self, index):
        self._running += 1
        change, _ = self._pulled[index]
        self._start(change, partial(self._finished, index))

    def _finished(self, index, result):
        self._running -= 1
        self._results[index] = result
        _, keys = self._pulled.pop(index)
        for key in keys:
            queue = self._queues[key]
            queue.popleft()
            if not queue:
                del self._queues[key]
            elif queue[0] in self._parked and self._at_heads(queue[0]):
                self._parked.discard(queue[0])
                self._ready.append(queue[0])
        self._pump()
