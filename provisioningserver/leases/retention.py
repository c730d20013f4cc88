"""Keeping the lease journal within ``journal_max_bytes``.

The journal (`provisioningserver.leases.journal`) holds three kinds of rows:
events the region has not taken yet, the history of every event, and
dhcpd's transaction lines. Only the first is a promise: an undelivered
event is never dropped to save space. History and transactions are for
reports, and give way, oldest first, when the journal is over its limit:
first history (oldest rows; the events in it are delivered copies or
copies of what is still pending, which stays in the events table), then
transactions.

Size is measured as the pages SQLite uses (page count less free pages),
not the file's length: a DELETE frees pages for reuse without shrinking
the file, so the file stops growing once rows are removed, and the used
size says whether the removal was enough. When undelivered events alone
fill the limit, nothing more can be removed: `JournalLimit` then reports
an alarm, shown by ``rackctl status`` and in the metrics
(``rackd_journal_over_limit``), until the region takes them.
"""

from twisted.logger import Logger

log = Logger()

# Rows removed per statement at most: a long DELETE would hold the
# journal's write lock (and the followers writing through it) too long.
CHUNK = 5000
ROUNDS = 50


class JournalLimit:
    """Enforces ``max_bytes`` on ``journal`` (None: no limit)."""

    def __init__(self, journal, max_bytes):
        self.journal = journal
        self.max_bytes = max_bytes
        self.removed = 0  # history and transaction rows removed, since start
        self.alarm = False  # undelivered events alone are over the limit

    def used_bytes(self):
        db = self.journal.connection()
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        return (pages - free) * page_size

    def enforce(self):
        """Remove the oldest history, then transactions, until the journal
        is within its limit; returns the rows removed."""
        if self.max_bytes is None:
            return 0
        removed = 0
        for table in ("history", "transactions"):
            for _ in range(ROUNDS):
                used = self.used_bytes()
                if used <= self.max_bytes:
                    break
                rows = self.journal.row_count(table)
                if not rows:
                    break
                # In proportion to the excess, with a margin, in chunks.
                share = (used - self.max_bytes) / used
                count = max(100, min(CHUNK, int(rows * share * 1.2) + 1))
                removed += self.journal.remove_oldest(table, count)
        self.alarm = self.used_bytes() > self.max_bytes
        if removed:
            log.info("Lease journal over {limit} bytes: removed the oldest {n} rows of "
                     "history and transactions", limit=self.max_bytes, n=removed)
        if self.alarm:
            log.warn("Lease journal over {limit} bytes with undelivered events alone: "
                     "{pending} wait for the region", limit=self.max_bytes,
                     pending=self.journal.pending_count())
        self.removed += removed
        return removed

    def status(self):
        return {"journal_max_bytes": self.max_bytes,
                "journal_used_bytes": self.used_bytes(),
                "journal_over_limit": self.alarm,
                "journal_rows_removed": self.removed}
