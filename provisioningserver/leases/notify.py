"""The lease socket: records from scripts/dhcp-notify, into the journal.

dhcp-notify (run by dhcpd's ``execute()``) sends one record line
(`provisioningserver.dhcp.leaserecord`) as one datagram to a unix datagram
socket in rackd's state directory. When nothing listens there it appends
the line to the spool file instead, with a single O_APPEND write, and it
never runs longer than its bound (SPOOL_GRACE covers it).

A datagram cannot be read twice, so events are committed as soon as the
reactor has drained what the socket holds (one transaction per burst, not
per datagram). Every datagram is validated: anything that is not a record,
too long, or wrong in a field is counted and logged, never raised.

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
_DONE = (0, 0)  # the spool position when no drain is under way


class Counts:
    """What came in, by outcome; shown in status."""

    def __init__(self):
        self.events = 0
        self.rejected = 0
        self.spooled = 0


def parse_datagram(data, counts, log):
    """The event in ``data``, or None (counted and logged) if it has none."""
    if len(data) > MAX_RECORD:
        counts.rejected += 1
        log.warn("lease datagram of {n} bytes rejected: too long", n=len(data))
        return None
    try:
        event = parse_record(data)
    except (BadRecord, ValueError) as exc:
        counts.rejected += 1
        log.warn("lease datagram rejected: {why}", why=str(exc))
        return None
    if event is None:
        counts.rejected += 1
        log.warn("lease datagram rejected: not a lease record")
    return event


def drain_spool(path, journal, counts, log):
    """Record every line of the spool at ``path``; returns events recorded."""
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
        event = parse_datagram(line, counts, log)
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
        total += drain_spool(path, journal, counts, log)
    return total


class LeaseDatagrams(DatagramProtocol):
    """Validates datagrams and records them, one transaction per burst."""

    log = Logger()

    def __init__(self, journal, clock, counts=None):
        self.journal = journal
        self.clock = clock
        self.counts = counts or Counts()
        self._batch = []
        self._flush_call = None

    def datagramReceived(self, data, addr=None):
        event = parse_datagram(data, self.counts, self.log)
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
            drain_spool(self.spool_path, self.journal, self.counts, self.log)
        except Exception:
            self.log.failure("draining the lease spool {path} failed", path=self.spool_path)

    def stopService(self):
        super().stopService()
        if self._drain_call is not None and self._drain_call.active():
            self._drain_call.cancel()
        self._drain_call = None
        if self._port is not None:
            port, self._port = self._port, None
            self.protocol.flush()
            return port.stopListening()
