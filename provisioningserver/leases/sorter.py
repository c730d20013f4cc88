"""Sorting dhcpd's log lines into lease events and transactions (pure).

dhcpd, run with ``-d``, writes a line for every DHCP message it receives
or sends; rackd's hooks add a record line (``rackd-lease 1 ...``,
`provisioningserver.dhcp.leaserecord`) for what dhcpd's own lines do not
say. `LineSorter` is fed the bytes of that log as they are read and hands
back, per batch of complete lines, what they are: lease events, per-packet
transactions (`provisioningserver.leases.txlog`), and how many bytes they
took. It reads no file and no clock: dhcpd's lines carry no time, so the
journal stamps what it stores. Shaped like h11's Connection and
`provisioningserver.omapi.wire.Decoder`: `feed` bytes, then `take`.

Lines. dhcpd writes each line as two ``write(2)`` calls (text, then the
newline), so only complete lines are sorted; a partial one is kept for the
next feed and is not counted as consumed. A run of ``max_line`` bytes with
no newline at all is not dhcpd's: it is skipped, consumed and counted.
`reset` drops a kept partial line when the file starts anew (truncated or
replaced: `provisioningserver.leases.tail`).

What each complete line is, in order:

    record line, not parseable             rejected (counted, a warning)
    record line, with lookups: expiry      an event
                           commit          noted: a fixed-address lease's
                                           time, for the DHCPACK after it
                           release         superseded (an older rackd's config)
    record line, without lookups           an event, whatever its action
    transaction line                       a transaction; with lookups, also
                                           the event it is (`logevents`)
    looks like a transaction, garbled      rejected_transactions (counted only:
                                           a client can make dhcpd write odd
                                           lines at any rate)
    anything else                          nothing

With lookups (rackd's default event source) commits and releases come from
dhcpd's own lines; what those lines do not say comes from ``lookups``
(`ILookups`): the DHCPv4 lease time (the leases file, unless a record
noted it) and whether a reservation names the client. Those are lookups in
memory; whoever holds the files refreshes them before feeding the lines
they explain (`provisioningserver.leases.follow`).

Warnings are data too (a `Notice`: a Twisted logger format and its
fields): the caller logs them with the path it read.
"""

import attrs
from zope.interface import Interface

from provisioningserver.dhcp.leaserecord import MAGIC, BadRecord, parse_record
from provisioningserver.leases.logevents import Unusable, lease_event
from provisioningserver.leases.txlog import BadTransaction, parse_transaction

MAX_LINE = 4096  # a longer run without a newline is not dhcpd's: skipped
NOTES = 4096  # lease times waiting for their DHCPACK line, at most
_RECORD = MAGIC.encode()  # what every record line starts with


class ILookups(Interface):
    """What dhcpd's lines do not say, looked up in memory."""

    def lease_time(ip, mac):
        """The lease time of ``mac``'s DHCPv4 lease on ``ip``, or None."""

    def known(mac):
        """True when a reservation names ``mac``, False when none does,
        None when that cannot be told."""


@attrs.frozen
class Notice:
    """Something to log: a logger ``format`` and its ``fields``."""

    format: str
    fields: dict = attrs.field(factory=dict)


@attrs.frozen
class Batch:
    """What the complete lines of a feed are, and the bytes they took."""

    events: list = attrs.field(factory=list)
    transactions: list = attrs.field(factory=list)
    consumed: int = 0
    warnings: list = attrs.field(factory=list)


class LineSorter:
    """Sorts dhcpd's log lines; with ``lookups`` (an `ILookups`), commits
    and releases come from dhcpd's own lines, else from record lines.

    ``events=False``: transactions only. With ``lease_source: dhcp-notify``
    the events come through dhcp-notify, so the log's lines must not make
    them a second time."""

    def __init__(self, lookups=None, max_line=MAX_LINE, events=True):
        self.lookups = lookups
        self.events = events
        self.max_line = max_line
        self.rejected = 0
        self.rejected_transactions = 0
        self.superseded = 0
        self.unusable = 0
        self._buffer = b""
        self._lines = False  # whether the buffer holds a complete line
        self._notes = {}  # (ip, mac) -> lease time, oldest first
        self._warnings = []  # Notices for the next batch

    @property
    def pending(self):
        return len(self._buffer)

    @property
    def has_lines(self):
        """Whether `take` has complete lines to sort (the lookups are asked
        only then)."""
        return self._lines

    def feed(self, data):
        self._buffer += data
        self._lines = self._lines or b"\n" in data

    def reset(self):
        self._buffer, self._lines = b"", False

    def take(self):
        """The `Batch` of the complete lines fed; a partial line is kept."""
        data = self._buffer
        end = data.rfind(b"\n") + 1
        if end == 0:
            if len(data) < self.max_line:
                return Batch(warnings=self._drain())  # a line still being written
            self.rejected += 1
            self._buffer = b""
            self._warnings.append(Notice("skipped {n} bytes without a newline in {path}",
                                         {"n": len(data)}))
            return Batch(consumed=len(data), warnings=self._drain())
        self._buffer, self._lines = data[end:], False
        events, transactions = [], []
        for line in data[:end].split(b"\n")[:-1]:
            self._sort(line, events, transactions)
        return Batch(events, transactions, end, self._drain())

    def _drain(self):
        warnings, self._warnings = self._warnings, []
        return warnings

    def _sort(self, line, events, transactions):
        lookups = self.lookups
        if line.startswith(_RECORD):
            if not self.events:
                return  # an older config's record line: dhcp-notify carries events now
            try:
                event = parse_record(line)
            except (BadRecord, ValueError) as exc:
                self.rejected += 1
                self._warnings.append(Notice("bad lease record in {path}: {why}",
                                             {"why": str(exc)}))
                return
            if event is not None:
                if lookups is None or event.action == "expiry":
                    events.append(event)
                elif event.action == "commit":
                    self.note(event)  # a static lease's time, for its ACK
                else:
                    self.superseded += 1  # from the config of an older rackd
                return
        try:
            transaction = parse_transaction(line)
        except (BadTransaction, ValueError):
            self.rejected_transactions += 1
            return
        if transaction is not None:
            transactions.append(transaction)
            if lookups is not None and self.events:
                event = self.event(transaction)
                if event is not None:
                    events.append(event)

    def note(self, event):
        """A commit record: dhcpd logs one for a fixed-address lease (which
        it keeps out of the leases file) just before its DHCPACK line, whose
        event takes the lease time from it."""
        self._notes.pop((event.ip, event.mac), None)
        self._notes[(event.ip, event.mac)] = event.lease_time
        if len(self._notes) > NOTES:  # DHCPACK lines that never came
            del self._notes[next(iter(self._notes))]

    def _lease_time(self, ip, mac):
        noted = self._notes.pop((ip, mac), None)
        return noted if noted is not None else self.lookups.lease_time(ip, mac)

    def event(self, transaction):
        """The event ``transaction`` is (with lookups), or None; one that
        should be an event but lacks its client is counted as unusable."""
        try:
            return lease_event(transaction, self._lease_time, self.lookups.known)
        except (Unusable, ValueError) as exc:
            self.unusable += 1
            if self.unusable == 1 or self.unusable % 1000 == 0:
                # Not every one: a client may repeat it at any rate.
                self._warnings.append(Notice(
                    "a lease line without an event ({n} so far): {why}",
                    {"n": self.unusable, "why": str(exc)}))
            return None
