"""The transaction log in the journal: migration, atomic recording with the
follower's position, retention by age and rows, and the query filters."""

import os
import sqlite3

from twisted.internet.task import Clock

from provisioningserver.leases.txlog import Transaction
from provisioningserver.leases import journalfile
from provisioningserver.leases.journal import Journal
from provisioningserver.leases.journalfile import SCHEMA_VERSION
from provisioningserver.leases.follow import LogFollower

DATA = os.path.join(os.path.dirname(__file__), "data", "dhcpd_transactions.log")


def _clock(now=1000.0):
    clock = Clock()
    clock.advance(now)
    clock.time = clock.seconds
    return clock


def _tx(type_="DISCOVER", mac="52:54:00:00:00:0a", ip=None, time=None):
    return Transaction(family=4, type=type_, mac=mac, ip=ip, interface="eth0", time=time)


def test_a_version_1_journal_is_migrated_keeping_its_data(tmp_path):
    """A journal from the previous schema gains the transactions table and
    keeps its pending events, history and positions."""
    path = str(tmp_path / "j.db")
    db = sqlite3.connect(path)
    db.executescript(journalfile.SCHEMA)  # version 1's tables, unchanged
    db.execute("INSERT INTO schema_version VALUES (1)")
    db.execute("INSERT INTO events (action, ip_family, ip, timestamp, source) "
               "VALUES ('commit', 4, '198.18.0.5', 10.0, 'dhcpd4')")
    db.execute("INSERT INTO history (action, ip_family, ip, timestamp, source) "
               "VALUES ('commit', 4, '198.18.0.5', 10.0, 'dhcpd4')")
    db.execute("INSERT INTO sources VALUES ('dhcpd4', 7, 99)")
    db.commit()
    db.close()
    journal = Journal(path, clock=_clock())
    assert [e.ip for _, e in journal.pending()] == ["198.18.0.5"]
    assert [e.ip for e in journal.history(ip="198.18.0.5")] == ["198.18.0.5"]
    assert journal.position("dhcpd4") == (7, 99)
    journal.record([], "dhcpd4", (7, 150), [_tx()])
    assert journal.transaction_count() == 1
    journal.close()
    version = sqlite3.connect(path).execute("SELECT version FROM schema_version").fetchall()
    assert version == [(SCHEMA_VERSION,)] and SCHEMA_VERSION == 2


def test_transactions_are_stamped_and_committed_with_the_position(tmp_path):
    """record stores the transactions, stamped with the clock, in the same
    commit as the position; the observers see the batch as given (a
    stamped copy of each would cost more than parsing its line)."""
    path = str(tmp_path / "j.db")
    journal = Journal(path, clock=_clock(500.0))
    seen = []
    journal.transaction_observers.append(seen.extend)
    journal.record([], "dhcpd4", (1, 42), [_tx(), _tx("OFFER", ip="198.18.0.50")])
    journal.close()
    journal = Journal(path, clock=_clock())
    assert journal.position("dhcpd4") == (1, 42)
    assert [(t.type, t.time) for t in journal.transactions()] == [("DISCOVER", 500.0),
                                                                  ("OFFER", 500.0)]
    assert [t.time for t in seen] == [None, None]


def test_a_failed_commit_stores_neither(tmp_path):
    """If the insert fails, the position does not move (the lines are read again)."""
    journal = Journal(str(tmp_path / "j.db"), clock=_clock())
    journal.record([], "dhcpd4", (1, 10), [_tx()])
    journal._db.execute("CREATE TRIGGER fail BEFORE INSERT ON transactions "
                        "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    try:
        journal.record([], "dhcpd4", (1, 20), [_tx()])
    except sqlite3.DatabaseError:
        pass
    assert journal.position("dhcpd4") == (1, 10)
    assert journal.transaction_count() == 1


def test_query_filters_by_mac_ip_since_and_keeps_the_newest(tmp_path):
    """mac (any case), ip and since narrow the log; limit keeps the newest,
    returned oldest first."""
    clock = _clock(100.0)
    journal = Journal(str(tmp_path / "j.db"), clock=clock)
    journal.record([], "dhcpd4", None, [_tx(), _tx("OFFER", ip="198.18.0.50")])
    clock.advance(100)
    journal.record([], "dhcpd4", None, [_tx("DISCOVER", mac="52:54:00:00:00:0b"),
                                        _tx("REQUEST", ip="198.18.0.50"),
                                        _tx("ACK", ip="198.18.0.50")])
    assert [t.type for t in journal.transactions(mac="52:54:00:00:00:0A")] == [
        "DISCOVER", "OFFER", "REQUEST", "ACK"]
    assert [t.type for t in journal.transactions(ip="198.18.0.50")] == ["OFFER", "REQUEST",
                                                                        "ACK"]
    assert [t.mac[-2:] for t in journal.transactions(since=150.0)] == ["0b", "0a", "0a"]
    assert [t.type for t in journal.transactions(limit=2)] == ["REQUEST", "ACK"]
    assert journal.transactions(mac="52:54:00:00:00:0b", ip="198.18.0.50") == []


def test_retention_by_age_and_by_rows(tmp_path):
    """prune_transactions drops what is older than the retention, then all
    but the newest transaction_rows."""
    clock = _clock(0.0)
    journal = Journal(str(tmp_path / "j.db"), clock=clock, transaction_retention=1000,
                      transaction_rows=3)
    journal.record([], "dhcpd4", None, [_tx(mac="52:54:00:00:00:01")])
    clock.advance(600)
    journal.record([], "dhcpd4", None, [_tx(mac="52:54:00:00:00:%02x" % n)
                                        for n in range(2, 7)])
    clock.advance(600)
    assert journal.prune_transactions() == 1 + 2
    assert [t.mac[-2:] for t in journal.transactions()] == ["04", "05", "06"]
    assert journal.prune_transactions() == 0


def test_follower_reads_recorded_dhcpd_lines_once_across_restarts(tmp_path):
    """The recorded dhcpd log, followed in two halves by two followers (a
    rackd restart between), gives every transaction exactly once."""
    log = str(tmp_path / "dhcpd.log")
    with open(DATA) as stream:
        lines = [line for line in stream if not line.startswith("#")]
    half = len(lines) // 2
    with open(log, "w") as stream:
        stream.writelines(lines[:half])
    journal = Journal(str(tmp_path / "j.db"), clock=_clock())
    follower = LogFollower(log, journal, "dhcpd4")
    follower.poll()
    follower.close()
    with open(log, "a") as stream:
        stream.writelines(lines[half:])
    follower = LogFollower(log, journal, "dhcpd4")
    follower.poll()
    follower.poll()
    assert journal.transaction_count() == 94  # as tests/leases/test_txlog.py counts
    assert follower.rejected_transactions == 0
    dora = [t.type for t in journal.transactions(mac="52:54:00:00:01:0a") if t.family == 4]
    assert dora == ["DISCOVER", "OFFER", "REQUEST", "ACK", "ACK"]
    assert [e.ip for _, e in journal.pending()] == ["2001:db8:40::102f"]  # the lease record


def test_follower_counts_garbled_and_oversized_lines(tmp_path):
    """Garbled transaction lines are counted and skipped; the good ones around
    them are kept; nothing raises."""
    log = str(tmp_path / "dhcpd.log")
    with open(log, "w") as stream:
        stream.write("DHCPDISCOVER from 52:54:00:00:00:0a via eth0\n"
                     "DHCPOFFER on 198.18.0.999 to 52:54:00:00:00:0a via eth0\n"
                     "DHCPREQUEST for " + "9" * 3000 + "\n"
                     "\x00\x01DHCPACK garbage\n"
                     "DHCPACK on 198.18.0.50 to 52:54:00:00:00:0a via eth0\n")
    journal = Journal(str(tmp_path / "j.db"), clock=_clock())
    follower = LogFollower(log, journal, "dhcpd4")
    follower.poll()
    assert [t.type for t in journal.transactions()] == ["DISCOVER", "ACK"]
    assert follower.rejected_transactions == 2
    assert follower.transactions == 2


def test_a_current_journal_reopens_with_its_transactions(tmp_path):
    """A version-2 journal opens again as it is: no second migration."""
    path = str(tmp_path / "j.db")
    journal = Journal(path, clock=_clock())
    journal.record([], "dhcpd4", None, [_tx()])
    journal.close()
    assert Journal(path, clock=_clock()).transaction_count() == 1
