"""Following dhcpd's log file into the lease journal.

dhcpd runs with ``-d``; its stderr is a file rackd opened with O_APPEND
(state_dir/log/dhcpd.log), never a pipe. It writes a line there for every
message it receives or sends, and the ``on expiry`` ``log()`` of
`provisioningserver.dhcp.hooks` adds one record line per expiry. Three
parts read it, and `LogFollower` only composes them:

    FileTail (leases.tail)       new bytes of the log, across truncation
                                 and replacement; frees the consumed prefix
    LineSorter (leases.sorter)   bytes -> lease events, transactions, counts
                                 (pure); complete lines only
    LineEvents (leases.lookups)  what the lines do not say: lease times from
                                 the leases file, reservations from the
                                 applied state; refreshed before each sort
    Journal (leases.journal)     events, transactions and position, stored
                                 in one transaction

Where we are is (inode, offset): the end of the last complete line sorted,
which is the tail's offset less the partial line the sorter keeps. The
journal stores it in the same transaction as the events and transactions
read up to it. So:

- events written while rackd is down are read when it comes back (the tail
  resumes at the stored position, if the inode is still the same);
- a crash before a commit re-reads the same lines, after it never; a
  commit that fails (disk, journal) puts the tail back to the stored
  position, so the next poll reads the same lines again;
- a dhcpd restart appends to the same file: nothing changes for us;
- dhcpd rewriting its leases file creates no event: events come from the
  log only; the leases file gives DHCPv4 lease times.

The file is replaced (new inode at the path) only when rackd starts a
dhcpd with a new log file: the tail finishes the old file through the
descriptor it holds, then switches to the new one at offset 0, and the
sorter drops a partial line of the old one. A file shorter than our offset
was truncated (someone else did it): we start again at 0, count it and
warn. dhcpd cannot reopen its stderr, so the file is never rotated by
renaming while dhcpd runs; instead the consumed prefix is punched out every
``punch_every`` bytes (`provisioningserver.leases.tail`).

Without `LineEvents` (``events=None``) record lines of every action are
the events and dhcpd's own lines are transactions only: the older event
source, still read from logs it wrote.

`LogFollower` does the reading (synchronous, testable with real files);
`LeaseFollowService` polls it on an injected clock, through a runner
(rackd's is `provisioningserver.system.idle.IdleRunner`).
"""

from twisted.application import service
from twisted.internet import defer, task
from twisted.logger import Logger

from provisioningserver.leases.sorter import MAX_LINE, LineSorter
from provisioningserver.leases.tail import CHUNK, TRUNCATED, FileTail

PUNCH_EVERY = 16 << 20
FAILURE_LOG_INTERVAL = 60.0


class LogFollower:
    """Reads dhcpd's log at ``path`` into ``journal``: its lease events and
    its per-packet lines (transactions), with the position they end at.
    ``events``: rackd's default source (a `LineEvents`), or None for
    record lines only. ``lease_events=False``: transactions only (the
    events come from dhcp-notify)."""

    log = Logger()

    def __init__(self, path, journal, source, events=None, chunk=CHUNK,
                 punch_every=PUNCH_EVERY, lease_events=True):
        self.journal = journal
        self.source = source
        self.line_events = events
        self.sorter = LineSorter(events, events=lease_events)
        self.tail = FileTail(path, chunk=max(chunk, MAX_LINE), punch_every=punch_every,
                             resume=lambda: journal.position(source))
        self.stopping = False
        self.events = 0  # committed to the journal
        self.transactions = 0

    path = property(lambda self: self.tail.path)
    punch_every = property(lambda self: self.tail.punch_every)
    truncations = property(lambda self: self.tail.truncations)
    replacements = property(lambda self: self.tail.replacements)
    rejected = property(lambda self: self.sorter.rejected)
    rejected_transactions = property(lambda self: self.sorter.rejected_transactions)
    superseded = property(lambda self: self.sorter.superseded)

    def close(self):
        self.tail.close()
        if self.line_events is not None:
            self.line_events.close()

    def poll(self):
        """Read every complete line there is; returns the events recorded.

        Setting ``stopping`` (from another thread) ends it after the chunk
        in hand; what is left is read by the next poll."""
        recorded = 0
        while not self.stopping:
            chunk = self.tail.read()
            if chunk is None:
                break
            if chunk.restart is not None:
                self.sorter.reset()  # a partial line of the old content
                if chunk.restart == TRUNCATED:
                    self.log.warn("{path} was truncated; reading it again from 0",
                                  path=self.path)
            recorded += self._consume(chunk.data)
        return recorded

    def _consume(self, data):
        """Sort ``data`` (after the partial line kept) and commit the batch."""
        sorter = self.sorter
        committed = self.tail.offset - len(data) - sorter.pending
        sorter.feed(data)
        try:
            if sorter.has_lines and self.line_events is not None:
                self.line_events.refresh()  # the leases file, before the ACKs it explains
            batch = sorter.take()
            for notice in batch.warnings:
                self.log.warn(notice.format, path=self.path, **notice.fields)
            if not batch.consumed:
                return 0
            offset = committed + batch.consumed
            self.journal.record(batch.events, self.source, (self.tail.inode, offset),
                                batch.transactions)
        except BaseException:
            # Not stored, so not read: the next poll reads these bytes again.
            self.tail.seek(committed)
            sorter.reset()
            raise
        self.events += len(batch.events)
        self.transactions += len(batch.transactions)
        self.tail.free(offset)
        return len(batch.events)


def _now(f):
    return defer.maybeDeferred(f)


class LeaseFollowService(service.Service):
    """Polls a `LogFollower` every ``interval`` seconds of ``clock``.

    ``run(f)`` makes each poll and returns a Deferred of its result: an
    `IdleRunner`'s ``run`` in rackd; by default the poll runs in the
    calling (reactor) thread. Stopping waits for a poll in progress."""

    log = Logger()

    def __init__(self, follower, clock, interval=0.5, run=_now, promote=None):
        self.follower = follower
        self.clock = clock
        self.interval = interval
        self.run = run
        self.promote = promote  # called at stop, so a starved poll ends soon
        self.errors = 0
        self._loop = None
        self._polling = None
        # While polls keep failing (a full disk fails every one, twice a
        # second): the first is logged with its traceback, the rest are
        # counted into one line per FAILURE_LOG_INTERVAL, and the first
        # poll that works again says how many failed.
        self._failing = 0
        self._held = 0
        self._told_at = None

    def _failed(self, failure):
        # A disk or journal error must not stop the loop: the offset was not
        # committed, so the next poll reads the same lines again.
        self.errors += 1
        self._failing += 1
        now = self.clock.seconds()
        if self._failing == 1:
            self._told_at = now
            self.log.failure("reading {path} failed (while it keeps failing, one line per "
                             "{interval:g} s)", failure, path=self.follower.path,
                             interval=FAILURE_LOG_INTERVAL)
            return
        self._held += 1
        if now - self._told_at >= FAILURE_LOG_INTERVAL:
            self.log.error("reading {path} still failing: {n} more failed polls, the last: "
                           "{error}", path=self.follower.path, n=self._held,
                           error=failure.getErrorMessage())
            self._held, self._told_at = 0, now

    def _succeeded(self, result):
        if self._failing:
            self.log.info("reading {path} works again, after {n} failed polls",
                          path=self.follower.path, n=self._failing)
            self._failing = self._held = 0
        return result

    def _poll(self):
        self._polling = self.run(self.follower.poll).addCallbacks(self._succeeded, self._failed)

        def finished(result):
            self._polling = None
            return result

        return self._polling.addBoth(finished)

    def startService(self):
        super().startService()
        self.follower.stopping = False
        self._loop = task.LoopingCall(self._poll)
        self._loop.clock = self.clock
        self._loop.start(self.interval, now=True)

    def stopService(self):
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
        polling = self._polling
        if polling is None:
            self.follower.close()
            return None
        self.follower.stopping = True
        if self.promote is not None:
            self.promote()
        done = defer.Deferred()

        def close(_):
            self.follower.close()
            done.callback(None)

        polling.addBoth(close)
        return done
