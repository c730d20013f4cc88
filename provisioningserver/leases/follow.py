"""Following dhcpd's log file into the lease journal.

dhcpd runs with ``-d``; its stderr is a file rackd opened with O_APPEND
(state_dir/log/dhcpd.log), never a pipe. dhcpd writes a line there for
every message it receives or sends; with rackd's default event source
(`LineEvents`) each DHCPACK, BOOTP reply, DHCPv6 Reply NA and release line
becomes a commit or release event (`provisioningserver.leases.logevents`), and
the ``on expiry`` ``log()`` of `provisioningserver.dhcp.hooks` adds one
record line per expiry. dhcpd writes each line as two ``write(2)`` calls
(text, then newline), so only complete lines are consumed; a partial tail
waits for the next poll.

Where we are is (inode, offset), stored by the journal in the same
transaction as the events read up to that offset. So:

- events written while rackd is down are read when it comes back;
- a crash before a commit re-reads the same lines, after it never;
- a dhcpd restart appends to the same file: nothing changes for us;
- dhcpd rewriting its leases file creates no event: events come from the
  log only; the leases file gives DHCPv4 lease times (`LeasesFileTail`).

The file is replaced (new inode at the path) only when rackd starts a
dhcpd with a new log file: we finish the old file through the descriptor
we hold, then switch to the new one at offset 0. A file shorter than our
offset was truncated (someone else did it): we start again at 0 and count
it. dhcpd cannot reopen its stderr, so the file is never rotated by
renaming while dhcpd runs; instead the consumed prefix is freed with
``fallocate(PUNCH_HOLE)``: offsets stay valid, the writer is untouched,
and the disk space comes back (the file is sparse, its size keeps growing).

Every per-packet line is also a `provisioningserver.leases.txlog`
transaction, stored in the same transaction as the events and the
position, so the same guarantees hold for them.

`LogFollower` does the reading (synchronous, testable with real files);
`LeaseFollowService` polls it on an injected clock.
"""

import ctypes
import ctypes.util
import errno
import os

from twisted.application import service
from twisted.internet import defer, task
from twisted.logger import Logger

from provisioningserver.dhcp.leaserecord import MAGIC, BadRecord, parse_record
from provisioningserver.leases.leasetimes import LeaseTimes
from provisioningserver.leases.logevents import Unusable, lease_event
from provisioningserver.leases.txlog import BadTransaction, parse_transaction

CHUNK = 1 << 20
MAX_LINE = 4096  # a longer run without a newline is not dhcpd's: skipped
PUNCH_EVERY = 16 << 20
_BLOCK = 4096
_RECORD = MAGIC.encode()  # what every record line starts with

_FALLOC_FL_KEEP_SIZE = 0x01
_FALLOC_FL_PUNCH_HOLE = 0x02


def punch_hole(fd, length):
    """Free the first ``length`` bytes of ``fd`` (rounded down to a block).

    Returns False where the file system or libc cannot do it.
    """
    length -= length % _BLOCK
    if length <= 0:
        return True
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    flags = _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE
    result = libc.fallocate(
        ctypes.c_int(fd), ctypes.c_int(flags), ctypes.c_int64(0), ctypes.c_int64(length)
    )
    return result == 0


class LogFollower:
    """Reads dhcpd's log at ``path`` into ``journal``: its lease events and
    its per-packet lines (transactions), with the position they end at."""

    log = Logger()

    def __init__(self, path, journal, source, events=None, chunk=CHUNK,
                 punch_every=PUNCH_EVERY):
        self.path = path
        self.journal = journal
        self.source = source
        # LineEvents: commits and releases come from dhcpd's own lines; a
        # record line then is an expiry, or a static lease's time (a commit).
        self.line_events = events
        self.stopping = False
        self.chunk = max(chunk, MAX_LINE)
        self.punch_every = punch_every
        self._fd = None
        self._inode = None
        self._offset = 0
        self._punched = 0
        self.events = 0
        self.transactions = 0
        self.rejected = 0
        self.rejected_transactions = 0
        self.superseded = 0
        self.truncations = 0
        self.replacements = 0

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open(self):
        """Open the file at ``path``, resuming where the journal says."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        st = os.fstat(fd)
        saved = self.journal.position(self.source)
        self._fd, self._inode, self._offset = fd, st.st_ino, 0
        if saved is not None and saved[0] == st.st_ino:
            if saved[1] <= st.st_size:
                self._offset = saved[1]
            else:
                self.truncations += 1
        self._punched = 0
        return True

    def poll(self):
        """Read every complete line there is; returns the events recorded.

        Setting ``stopping`` (from another thread) ends it after the chunk
        in hand; what is left is read by the next poll."""
        if self._fd is None and not self._open():
            return 0
        recorded = 0
        while not self.stopping:
            data = os.pread(self._fd, self.chunk, self._offset)
            if data:
                before = self._offset
                recorded += self._consume(data)
                if len(data) == self.chunk and self._offset > before:
                    continue
            if not self._switched():
                break
        return recorded

    def _consume(self, data):
        end = data.rfind(b"\n") + 1
        if end == 0:
            if len(data) < MAX_LINE:
                return 0  # a line still being written
            end = len(data)  # no newline for MAX_LINE bytes: not a log line
            self.rejected += 1
            self.log.warn("skipped {n} bytes without a newline in {path}", n=end, path=self.path)
            return self._commit([], end)
        events, transactions = [], []
        line_events = self.line_events
        if line_events is not None:
            line_events.refresh()  # the leases file, before the ACKs it explains
        for line in data[:end].split(b"\n")[:-1]:
            if line.startswith(_RECORD):
                try:
                    event = parse_record(line)
                except (BadRecord, ValueError) as exc:
                    self.rejected += 1
                    self.log.warn("bad lease record in {path}: {why}", path=self.path,
                                  why=str(exc))
                    continue
                if event is not None:
                    if line_events is None or event.action == "expiry":
                        events.append(event)
                    elif event.action == "commit":
                        line_events.note(event)  # a static lease's time, for its ACK
                    else:
                        self.superseded += 1  # from the config of an older rackd
                    continue
            try:
                transaction = parse_transaction(line)
            except (BadTransaction, ValueError):
                # Counted, not logged: a client can make dhcpd write odd lines
                # at any rate, and our log must not grow with them.
                self.rejected_transactions += 1
                continue
            if transaction is not None:
                transactions.append(transaction)
                if line_events is not None:
                    event = line_events.event(transaction)
                    if event is not None:
                        events.append(event)
        return self._commit(events, end, transactions)

    def _commit(self, events, consumed, transactions=()):
        offset = self._offset + consumed
        self.journal.record(events, self.source, (self._inode, offset), transactions)
        self._offset = offset
        self.events += len(events)
        self.transactions += len(transactions)
        if self.punch_every and offset - self._punched >= self.punch_every:
            if punch_hole(self._fd, offset):
                self._punched = offset
            else:
                self.punch_every = 0  # not supported here: stop trying
        return len(events)

    def _switched(self):
        """At EOF: follow a truncation or a replacement; True if we moved."""
        size = os.fstat(self._fd).st_size
        if size < self._offset:
            self.truncations += 1
            self.log.warn("{path} was truncated; reading it again from 0", path=self.path)
            self._offset = 0
            self._punched = 0
            return True
        try:
            st = os.stat(self.path)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return False
            raise
        if st.st_ino == self._inode:
            return False
        self.replacements += 1
        self.close()
        fd = os.open(self.path, os.O_RDONLY)
        self._fd, self._inode, self._offset, self._punched = fd, os.fstat(fd).st_ino, 0, 0
        return True


class LeasesFileTail:
    """Reads dhcpd's leases file as it grows into a `LeaseTimes`.

    Only complete records are read (up to a closing brace at the start of a
    line); the rest waits. dhcpd rewrites the file at start and about
    hourly (a new inode at the path, holding every current lease), and rackd
    rewrites it before each dhcpd start: then it is read again from 0."""

    def __init__(self, path, chunk=CHUNK):
        self.path = path
        self.chunk = chunk
        self.times = LeaseTimes()
        self.rereads = 0
        self._inode = None
        self._offset = 0

    def refresh(self):
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            st = os.fstat(fd)
            if st.st_ino != self._inode or st.st_size < self._offset:
                if self._inode is not None:
                    self.rereads += 1
                self._inode, self._offset, self.times = st.st_ino, 0, LeaseTimes()
            while self._offset < st.st_size:
                data = os.pread(fd, self.chunk, self._offset)
                end = data.rfind(b"\n}\n") + 3
                if end < 3:
                    if len(data) < self.chunk:
                        return  # a record still being written
                    end = len(data)  # a chunk without a record's end: not dhcpd's
                self.times.feed(data[:end].decode("utf-8", "replace"))
                self._offset += end
        finally:
            os.close(fd)


class KnownClients:
    """Whether a reservation names a MAC: ``macs()`` returns the MACs of
    the applied hosts, and is asked again when ``path`` (the applied state)
    changes."""

    def __init__(self, path, macs):
        self.path = path
        self.macs = macs
        self._seen = self  # not a stat result: the first refresh asks macs()
        self._known = frozenset()

    def refresh(self):
        try:
            st = os.stat(self.path)
            seen = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            seen = None
        if seen != self._seen:
            self._known = frozenset(self.macs())
            self._seen = seen

    def __call__(self, mac):
        return mac in self._known


class LineEvents:
    """The default source's commit and release events, from dhcpd's lines
    (`provisioningserver.leases.logevents`), with DHCPv4 lease times from the
    leases file at ``leases_path`` (or, for a fixed-address lease, from the
    record logged before its DHCPACK) and the unknown-client flag from
    ``known`` (a `KnownClients`; without one, the flag is not set)."""

    log = Logger()

    NOTES = 4096  # lease times waiting for their DHCPACK line, at most

    def __init__(self, leases_path, known=None):
        self.leases = LeasesFileTail(leases_path)
        self.known = known
        self.unusable = 0
        self._notes = {}  # (ip, mac) -> lease time, oldest first

    def note(self, event):
        """A commit record: dhcpd logs one for a fixed-address lease (which
        it keeps out of the leases file) just before its DHCPACK line, whose
        event takes the lease time from it."""
        self._notes.pop((event.ip, event.mac), None)
        self._notes[(event.ip, event.mac)] = event.lease_time
        if len(self._notes) > self.NOTES:  # DHCPACK lines that never came
            del self._notes[next(iter(self._notes))]

    def _lease_time(self, ip, mac):
        noted = self._notes.pop((ip, mac), None)
        return noted if noted is not None else self.leases.times.lease_time(ip, mac)

    def refresh(self):
        self.leases.refresh()
        if self.known is not None:
            self.known.refresh()

    def _known(self, mac):
        return None if self.known is None else self.known(mac)

    def event(self, transaction):
        try:
            return lease_event(transaction, self._lease_time, self._known)
        except (Unusable, ValueError) as exc:
            self.unusable += 1
            if self.unusable == 1 or self.unusable % 1000 == 0:  # a client may repeat it
                self.log.warn("a lease line without an event ({n} so far): {why}",
                              n=self.unusable, why=str(exc))
            return None


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

    def _failed(self, failure):
        # A disk or journal error must not stop the loop: the offset was not
        # committed, so the next poll reads the same lines again.
        self.errors += 1
        self.log.failure("reading {path} failed", failure, path=self.follower.path)

    def _poll(self):
        self._polling = self.run(self.follower.poll).addErrback(self._failed)

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
