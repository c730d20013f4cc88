"""Opening the lease journal's file (`provisioningserver.leases.journal`).

The file is SQLite in WAL mode with ``synchronous=FULL``: a committed event
survives power loss, not only a crash. Opening it does three things before
the journal is used:

- it checks the file. A file that SQLite finds damaged (not a database, a
  torn or zeroed page: ``PRAGMA quick_check`` reads every page once, a few
  ms per MB), or one shorter than SQLite's 100-byte header (which SQLite
  alone would silently start anew), is moved aside as
  ``NAME.corrupt-TIMESTAMP`` with its -wal and -shm, and a new journal is
  started, with one log line: rackd serves, and the old file is kept for a
  post-mortem. A locked file or a full disk is not damage and is raised;
- it migrates the schema: version 1 (no transactions table) gets the table
  in one transaction; a file from a newer rackd is refused (`JournalError`)
  rather than misread;
- it reads the file's identity, a random name made on first use: the
  region keys the events it stores by (journal, id), so a journal started
  afresh is never taken for an old one.

A journal opened for another thread (``threaded``) is the second opening of
a file the first one checked, so it neither checks nor moves anything.
"""

import os
import sqlite3
import uuid

from twisted.logger import Logger

from provisioningserver.system.files import move_aside

log = Logger()

SCHEMA_VERSION = 2
SQLITE_HEADER = 100

SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    action TEXT NOT NULL, ip_family INTEGER NOT NULL, ip TEXT NOT NULL,
    mac TEXT, duid TEXT, hostname TEXT, lease_time INTEGER,
    timestamp REAL NOT NULL, unknown_client INTEGER, source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    action TEXT NOT NULL, ip_family INTEGER NOT NULL, ip TEXT NOT NULL,
    mac TEXT, duid TEXT, hostname TEXT, lease_time INTEGER,
    timestamp REAL NOT NULL, unknown_client INTEGER, source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_ip ON history (ip, timestamp);
CREATE INDEX IF NOT EXISTS history_mac ON history (mac, timestamp);
CREATE INDEX IF NOT EXISTS history_time ON history (timestamp);
CREATE TABLE IF NOT EXISTS sources (
    name TEXT PRIMARY KEY, inode INTEGER NOT NULL, offset INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS identity (journal TEXT NOT NULL);
"""

# Schema version 2: the columns are the Transaction fields kept, in order
# (`provisioningserver.leases.txlog.RECORD_FIELDS`).
TX_SCHEMA = """
CREATE TABLE IF NOT EXISTS transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    family INTEGER NOT NULL, type TEXT NOT NULL, time REAL NOT NULL,
    mac TEXT, duid TEXT, ip TEXT, interface TEXT, relay TEXT, server TEXT,
    hostname TEXT, peer TEXT, xid TEXT, network TEXT, reason TEXT
);
CREATE INDEX IF NOT EXISTS transactions_mac ON transactions (mac, id);
CREATE INDEX IF NOT EXISTS transactions_ip ON transactions (ip, id);
CREATE INDEX IF NOT EXISTS transactions_time ON transactions (time);
"""


class JournalError(Exception):
    """The journal file cannot be used (say, it comes from a newer rackd)."""


def open_journal(path, threaded, now):
    """The connection to the journal at ``path`` and the file's identity;
    a damaged file is moved aside (at time ``now()``) and a new one made."""
    try:
        return _open(path, threaded, check=not threaded)
    except sqlite3.OperationalError:
        raise  # locked, unreadable, a full disk: not the file's damage
    except sqlite3.DatabaseError as error:
        if threaded:  # the first journal opened on the file moves it aside
            raise
        aside = move_aside(path, now())
        for suffix in ("-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.replace(path + suffix, aside + suffix)
        log.warn("Lease journal {path} is damaged ({e}): moved aside to {aside}; "
                 "rackd starts a new, empty journal (events held in the old one are "
                 "not forwarded)", path=path, e=error, aside=aside)
        return _open(path, threaded, check=False)


def _open(path, threaded, check):
    new = not os.path.exists(path)
    if check and not new and 0 < os.path.getsize(path) < SQLITE_HEADER:
        raise sqlite3.DatabaseError(f"shorter than an SQLite header ({SQLITE_HEADER} bytes)")
    # isolation_level=None: transactions are explicit (BEGIN/COMMIT).
    # threaded: opened here, then used by one other thread (the follower's).
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=not threaded)
    try:
        if new:
            os.chmod(path, 0o600)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        if check and not new:
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]
            if verdict != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {verdict}")
        db.executescript(SCHEMA)
        _migrate(db, path)
        return db, _identity(db)
    except BaseException:
        db.close()
        raise


def _migrate(db, path):
    rows = db.execute("SELECT version FROM schema_version").fetchall()
    if not rows:
        db.executescript(TX_SCHEMA)
        db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
    elif rows[0][0] == 1:
        # One transaction: a crash leaves version 1 and no table, or both done.
        db.executescript("BEGIN IMMEDIATE;" + TX_SCHEMA +
                         f"UPDATE schema_version SET version = {SCHEMA_VERSION};COMMIT;")
    elif rows[0][0] != SCHEMA_VERSION:
        raise JournalError(f"{path}: schema version {rows[0][0]}, this rackd reads {SCHEMA_VERSION}")


def _identity(db):
    db.execute("BEGIN IMMEDIATE")
    try:
        row = db.execute("SELECT journal FROM identity").fetchone()
        if row is None:
            row = (uuid.uuid4().hex,)
            db.execute("INSERT INTO identity VALUES (?)", row)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return row[0]
