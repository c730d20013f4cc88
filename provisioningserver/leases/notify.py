"""The lease socket: records from scripts/dhcp-notify, into the journal.

dhcp-notify (run by dhcpd's ``execute()``) sends one record line
(`provisioningserver.dhcp.leaserecord`) as one datagram to a unix datagram
socket in rackd's state directory. When nothing listens there it appends
the line to the spool file instead, with a single O_APPEND write, and it
never runs longer than its bound (SPOOL_GRACE covers it).

A datagram cannot be read twice, so events are committed as soon as the
reactor has drained what the socket holds (one transaction per burst, not
per datagram). Every datagram is validated: anything that is not a record,
too long, or wrong in a field is counted, never raised, and logged without a
line each (`Rejections`): a broken or hostile sender once gave 523 log lines
for 524 datagrams. The first rejection is logged with its reason; those
that follow within `REJECT_LOG_INTERVAL` are counted by kind and told in one
summary line at the interval's end, until an interval passes with none.

The spool is drained at start, after the socket listens: from then on no
new hook writes to the spool, but one that found no socket just before
may still be writing, so draining waits SPOOL_GRACE seconds. Draining
renames the spool aside first (``.draining``), records its lines in one
transaction together with the file's (inode, size) as the spool's
position, deletes it, and then clears the position. A ``.draining`` file
found at start is the remainder of a crash: when the recorded position
names it, its events are already in the journal and it is only deleted;
otherwise it is recorded first. So a crash at any step neither loses nor
duplicates a spooled event. (A fresh rename clears the position before
reading, so a position left by an earlier file cannot match a new file
that happens to reuse its inode and size.)
"""

import os

from twisted.application import service
from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from provisioningserver.dhcp.leaserecord import MAX_RECORD, BadRecord, parse_record

SOURCE_SOCKET = "dhcp-notify"
SOURCE_SPOOL = "dhcp-notify-spool"
SPOOL_GRACE = 3.0  # seconds; longer than dhcp-notify's run-time bound
MAX_SPOOL = 64 << 20
REJECT_LOG_INTERVAL = 60.0  # seconds between summary lines of rejected datagrams
_DONE = (0, 0)  # the spool position when no drain is under way


class Counts:
    """What came in, by outcome; shown in status."""

    def __init__(self):
        self.events = 0
        self.rejected = 0
        self.spooled = 0


class Rejections:
    """Logs rejected datagrams, not one line each (see the module docstring).

    With a ``clock`` the summary comes at the end of each interval; without
    one (draining the spool at start) only when `flush` is called."""

    def __init__(self, log, clock=None, interval=REJECT_LOG_INTERVAL):
        self.log, self.clock, self.interval = log, clock, interval
        self.held = {}  # kind -> count, since the last line
        self._quiet = False
        self._call = None

    def reject(self, kind, detail):
        if not self._quiet:
            self._quiet = True
            self.log.warn("lease datagram rejected: {why} (those that follow are counted, "
                          "one line per {interval:g} s)", why=detail, interval=self.interval)
            if self.clock is not None:
                self._call = self.clock.callLater(self.interval, self._interval_ended)
            return
        self.held[kind] = self.held.get(kind, 0) + 1

    def _interval_ended(self):
        self._call = None
        if not self.held:
            self._quiet = False  # none in a whole interval: the next is logged in full
            return
        self._summary()
        self._call = self.clock.callLater(self.interval, self._interval_ended)

    def _summary(self):
        held, self.held = self.held, {}
        reasons = ", ".join(f"{kind}: {n}" for kind, n in
                            sorted(held.items(), key=lambda item: (-item[1], item[0])))
        self.log.warn("{n} more lease datagrams rejected since the last such line ({reasons})",
                      n=sum(held.values()), reasons=reasons)

    def flush(self):
        """Log what is held and stop the timer (at stop, or a drain's end)."""
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        if self.held:
            self._summary()
        self._quiet = False


def _kind(reason):
    """What a record's fault is counted as: the field it names ("mac: ..."),
    else the reason up to its first comma ("expected 11 fields, got 3")."""
    return reason.split(":", 1)[0] if ":" in reason else reason.split(",", 1)[0]


def parse_datagram(data, counts, rejections):
    """The event in ``data``, or None (counted and told to ``rejections``)."""
    if len(data) > MAX_RECORD:
        counts.rejected += 1
        rejections.reject("too long", f"{len(data)} bytes: too long")
        return None
    try:
        event = parse_record(data)
    except (BadRecord, ValueError) as exc:
        counts.rejected += 1
        rejections.reject(_kind(str(exc)), str(exc))
        return None
    if event is None:
        counts.rejected += 1
        rejections.reject("not a lease record", "not a lease record")
    return event


def drain_spool(path, journal, counts, log, rejections=None):
    """Record every line of the spool at ``path``; returns events recorded.
    Bad lines go to ``rejections`` (by default one of its own, flushed at
    the end)."""
    if rejections is None:
        rejections = Rejections(log)
        try:
            return drain_spool(path, journal, counts, log, rejections)
        finally:
            rejections.flush()
    draining = path + ".draining"
    total = 0
    resumed = os.path.exists(draining)
    if not resumed:
        try:
            os.rename(path, draining)
        except FileNotFoundError:
            return 0
        journal.record([], SOURCE_SPOOL, position=_DONE)
    with open(draining, "rb") as f:
        inode = os.fstat(f.fileno()).st_ino
        data = f.read(MAX_SPOOL)
        if f.read(1):
            log.warn("spool {path} larger than {n} bytes: the rest is dropped", path=path, n=MAX_SPOOL)
    events = []
    for line in data.split(b"\n"):
        if not line:
            continue
        event = parse_datagram(line, counts, rejections)
        if event is not None:
            events.append(event)
    position = (inode, len(data))
    if resumed and journal.position(SOURCE_SPOOL) == position:
        log.info("spool {path} was recorded before a crash; removing it", path=draining)
        events = []
    else:
        journal.record(events, SOURCE_SPOOL, position=position)
    os.unlink(draining)
    journal.record([], SOURCE_SPOOL, position=_DONE)
    counts.spooled += len(events)
    total += len(events)
    if os.path.exists(path):
        # A hook spooled between our rename and now: take that too.
        total += drain_spool(path, journal, counts, log, rejections)
    return total


class LeaseDatagrams(DatagramProtocol):
    """Validates datagrams and records them, one transaction per burst."""

    log = Logger()

    def __init__(self, journal, clock, counts=None, rejections=None):
        self.journal = journal
        self.clock = clock
        self.counts = counts or Counts()
        self.rejections = rejections or Rejections(self.log, clock)
        self._batch = []
        self._flush_call = None

    def datagramReceived(self, data, addr=None):
        event = parse_datagram(data, self.counts, self.rejections)
        if event is None:
            return
        self._batch.append(event.stamped(self.clock.seconds()))
        if self._flush_call is None:
            self._flush_call = self.clock.callLater(0, self.flush)

    def flush(self):
        if self._flush_call is not None and self._flush_call.active():
            self._flush_call.cancel()
        self._flush_call = None
        batch, self._batch = self._batch, []
        if batch:
            self.journal.record(batch, SOURCE_SOCKET)
            self.counts.events += len(batch)


class LeaseSocketService(service.Service):
    """Listens on ``socket_path``; drains ``spool_path`` once listening."""

    log = Logger()

    def __init__(self, socket_path, spool_path, journal, reactor, clock=None, grace=SPOOL_GRACE):
        self.socket_path = socket_path
        self.spool_path = spool_path
        self.journal = journal
        self.reactor = reactor
        self.clock = clock or reactor
        self.grace = grace
        self.counts = Counts()
        self.protocol = LeaseDatagrams(journal, self.clock, self.counts)
        self._port = None
        self._drain_call = None

    def startService(self):
        super().startService()
        try:
            os.unlink(self.socket_path)  # left by a rackd that died
        except FileNotFoundError:
            pass
        self._port = self.reactor.listenUNIXDatagram(self.socket_path, self.protocol, mode=0o660)
        self._drain_call = self.clock.callLater(self.grace, self.drain)

    def drain(self):
        self._drain_call = None
        try:
            drain_spool(self.spool_path, self.journal, self.counts, self.log,
                        self.protocol.rejections)
        except Exception:
            self.log.failure("draining the lease spool {path} failed", path=self.spool_path)

    def stopService(self):
        super().stopService()
        if self._drain_call is not None and self._drain_call.active():
            self._drain_call.cancel()
        self._drain_call = None
        self.protocol.rejections.flush()
        if self._port is not None:
            port, self._port = self._port, None
            self.protocol.flush()
            return port.stopListening()
