"""The lease journal: every event, durable, before anything acts on it.

One SQLite database in the state directory, in WAL mode, holds:

- ``events``: events not yet acknowledged by the region, in arrival order
  (``id``); the forwarder reads them with `pending` and deletes them with
  `ack` only once the region has taken them;
- ``history``: every event ever recorded, kept for ``retention`` seconds,
  for reports (`history`, `prune_history`);
- ``sources``: how far each source has been read (a followed file's inode
  and byte offset);
- ``identity``: one random name for this journal file, made when the
  table is first seen. An event's id (its row id, never reused:
  AUTOINCREMENT) is unique only within one file, so the region keys what
  it stores by (journal, id): a redelivered batch (the ack lost with a
  cut link) is then recognised as one it holds, and a journal started
  afresh (a new file) can never be mistaken for an old one;
- ``transactions`` (schema version 2): dhcpd's per-packet log lines as
  `provisioningserver.leases.txlog` parses them, kept for
  ``transaction_retention`` seconds and at most ``transaction_rows`` rows
  (both enforced by `prune_transactions`, hourly).

`record` writes a batch of events and its source's new position in one
transaction. That is what makes batching safe: if rackd dies before the
commit, neither the events nor the position are there, and the follower
reads the same bytes again; after the commit both are, and it never reads
them twice. Sources that cannot read again (a datagram) commit per batch
they drain, as soon as they have it.

Opening the file (checking it, moving a damaged one aside, migrating the
schema, reading its identity) is `provisioningserver.leases.journalfile`'s;
`JournalError` is raised for a file this rackd cannot use.
"""

import operator
import os
import time

from twisted.logger import Logger

from provisioningserver.dhcp.leaserecord import LeaseEvent
from provisioningserver.leases.journalfile import open_journal
from provisioningserver.leases.txlog import RECORD_FIELDS, Transaction

log = Logger()

DEFAULT_RETENTION = 30 * 24 * 3600
DEFAULT_TRANSACTION_RETENTION = 7 * 24 * 3600
DEFAULT_TRANSACTION_ROWS = 1_000_000

# The tables that may lose rows to make room (leases.retention), by name.
_TRIMMABLE = {"history": "history", "transactions": "transactions"}

_EVENT_COLUMNS = (
    "action, ip_family, ip, mac, duid, hostname, lease_time, timestamp, unknown_client, source"
)


# Schema version 2: the columns are the Transaction fields kept, in order.
_TX_FIELDS = RECORD_FIELDS
_TX_COLUMNS = ", ".join(f'"{name}"' for name in _TX_FIELDS)


def _row(event, source, now):
    """The row for ``event``; ``now`` stands in for a missing timestamp."""
    unknown = None if event.unknown_client is None else int(event.unknown_client)
    timestamp = now if event.timestamp is None else event.timestamp
    return (
        event.action, event.ip_family, event.ip, event.mac, event.duid, event.hostname,
        event.lease_time, timestamp, unknown, source,
    )


_TX_VALUES = operator.attrgetter(*_TX_FIELDS)
_TX_TIME = _TX_FIELDS.index("time")


def _tx_row(transaction, now):
    """The row for ``transaction``; ``now`` stands in for a missing time.

    Built directly: at dhcpd's full rate the follower stores several
    transactions per lease, and `attrs.evolve` plus `attrs.astuple` cost
    more than parsing the line did."""
    row = _TX_VALUES(transaction)
    if row[_TX_TIME] is None:
        row = row[:_TX_TIME] + (now,) + row[_TX_TIME + 1:]
    return row


def _event(row):
    action, family, ip, mac, duid, hostname, lease_time, timestamp, unknown, _ = row
    return LeaseEvent(
        action=action, ip_family=family, ip=ip, mac=mac, duid=duid, hostname=hostname,
        lease_time=lease_time, timestamp=timestamp,
        unknown_client=None if unknown is None else bool(unknown),
    )


class Journal:
    """The lease journal in one SQLite file; time is read from ``clock``."""

    def __init__(self, path, clock=time, retention=DEFAULT_RETENTION,
                 transaction_retention=DEFAULT_TRANSACTION_RETENTION,
                 transaction_rows=DEFAULT_TRANSACTION_ROWS, threaded=False, relay=None):
        self.path = path
        self.clock = clock
        self.retention = retention
        self.transaction_retention = transaction_retention
        self.transaction_rows = transaction_rows
        # Called with each batch of transactions once it is committed (the
        # per-pool problem counts); like `observers`, never undoing the commit.
        self.transaction_observers = []
        # Called with each batch of events once it is committed (the metrics count
        # them); an observer that fails is logged and never undoes the commit.
        self.observers = []
        # Given: committed batches go to relay(events, transactions) instead of
        # the observers (a journal written in another thread hands them over).
        self.relay = relay
        self._db, self.identity = open_journal(path, threaded, clock.time)

    def close(self):
        self._db.close()

    def record(self, events, source, position=None, transactions=()):
        """Store ``events`` and ``transactions`` and, with them, ``source``'s
        new ``position``.

        ``position`` is (inode, offset) for a followed file, or None. Events
        and transactions without a time are stored with the clock's (the
        observers get them as given). Returns the new event ids.
        """
        now = self.clock.time()
        rows = [_row(event, source, now) for event in events]
        ids = []
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if rows:
                db.executemany(
                    f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", rows
                )
                # AUTOINCREMENT under BEGIN IMMEDIATE: this batch's ids are the
                # consecutive ones ending at the last.
                last = db.execute("SELECT last_insert_rowid()").fetchone()[0]
                ids = list(range(last - len(rows) + 1, last + 1))
                db.executemany(
                    f"INSERT INTO history ({_EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", rows
                )
            if transactions:
                marks = ",".join("?" * len(_TX_FIELDS))
                db.executemany(
                    f"INSERT INTO transactions ({_TX_COLUMNS}) VALUES ({marks})",
                    [_tx_row(t, now) for t in transactions])
            if position is not None:
                inode, offset = position
                db.execute(
                    "INSERT INTO sources (name, inode, offset) VALUES (?, ?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET inode = excluded.inode, "
                    "offset = excluded.offset",
                    (source, inode, offset),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if self.relay is not None:
            self.relay(events, transactions)
        else:
            self.notify(events, transactions)
        return ids

    def notify(self, events, transactions=()):
        """Hand a committed batch to the observers; one that fails is logged."""
        for observer in self.observers:
            try:
                observer(events)
            except Exception:
                log.failure("A journal observer failed")
        if transactions:
            for observer in self.transaction_observers:
                try:
                    observer(transactions)
                except Exception:
                    log.failure("A transaction observer failed")

    def position(self, source):
        """(inode, offset) recorded for ``source``, or None."""
        row = self._db.execute(
            "SELECT inode, offset FROM sources WHERE name = ?", (source,)
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def pending(self, limit=1000):
        """Up to ``limit`` unacknowledged (id, event) pairs, oldest first."""
        rows = self._db.execute(
            f"SELECT id, {_EVENT_COLUMNS} FROM events ORDER BY id LIMIT ?", (limit,)
        ).fetchall()
        return [(row[0], _event(row[1:])) for row in rows]

    def pending_count(self):
        return self._db.execute("SELECT count(*) FROM events").fetchone()[0]

    def ack(self, ids):
        """Delete the events the region acknowledged; returns how many went."""
        ids = list(ids)
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            deleted = 0
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                deleted += db.execute(f"DELETE FROM events WHERE id IN ({marks})", chunk).rowcount
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return deleted

    def history(self, ip=None, mac=None, limit=1000):
        """Recorded events for an address or a MAC, oldest first."""
        where, args = [], []
        if ip is not None:
            where.append("ip = ?")
            args.append(ip)
        if mac is not None:
            where.append("mac = ?")
            args.append(mac.lower())
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        rows = self._db.execute(
            f"SELECT {_EVENT_COLUMNS} FROM history {clause} ORDER BY timestamp, id LIMIT ?",
            args + [limit],
        ).fetchall()
        return [_event(row) for row in rows]

    def prune_history(self):
        """Forget history older than the retention; returns rows removed."""
        cutoff = self.clock.time() - self.retention
        cursor = self._db.execute("DELETE FROM history WHERE timestamp < ?", (cutoff,))
        return cursor.rowcount

    def transactions(self, mac=None, ip=None, since=None, limit=1000):
        """The newest ``limit`` transactions matching every filter given,
        oldest first. ``mac`` is matched lower-case; ``since`` is a time."""
        where, args = [], []
        for column, value in (("mac", mac and mac.lower()), ("ip", ip)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if since is not None:
            where.append("time >= ?")
            args.append(since)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        rows = self._db.execute(
            f"SELECT {_TX_COLUMNS} FROM transactions {clause} ORDER BY id DESC LIMIT ?",
            args + [limit],
        ).fetchall()
        return [Transaction(*row) for row in reversed(rows)]

    def transaction_count(self):
        return self._db.execute("SELECT count(*) FROM transactions").fetchone()[0]

    def prune_transactions(self):
        """Forget transactions older than ``transaction_retention`` and all but
        the newest ``transaction_rows``; returns the rows removed."""
        db = self._db
        cutoff = self.clock.time() - self.transaction_retention
        removed = db.execute("DELETE FROM transactions WHERE time < ?", (cutoff,)).rowcount
        removed += db.execute(
            "DELETE FROM transactions WHERE id <= (SELECT max(id) FROM transactions) - ?",
            (self.transaction_rows,)).rowcount
        return removed

    def latest(self):
        """The newest recorded event of every address (from the history)."""
        rows = self._db.execute(
            f"SELECT {_EVENT_COLUMNS} FROM history WHERE id IN "
            "(SELECT max(id) FROM history GROUP BY ip) ORDER BY id"
        ).fetchall()
        return [_event(row) for row in rows]

    def connection(self):
        """The SQLite connection, for `provisioningserver.leases.retention`."""
        return self._db

    def row_count(self, table):
        """Rows in ``history`` or ``transactions``."""
        return self._db.execute(f"SELECT count(*) FROM {_TRIMMABLE[table]}").fetchone()[0]

    def remove_oldest(self, table, count):
        """Delete the oldest ``count`` rows of ``history`` or ``transactions``
        (never ``events``: undelivered events stay); returns how many went."""
        name = _TRIMMABLE[table]
        return self._db.execute(
            f"DELETE FROM {name} WHERE id IN (SELECT id FROM {name} ORDER BY id LIMIT ?)",
            (count,)).rowcount

    def size_bytes(self):
        """Bytes on disk: the database and its write-ahead log."""
        total = 0
        for path in (self.path, self.path + "-wal"):
            try:
                total += os.path.getsize(path)
            except OSError:
                pass
        return total
