"""The lease journal: durable events, positions, pending/ack, history."""

import sqlite3
import threading

import pytest
from twisted.internet.task import Clock

from provisioningserver.dhcp.leaserecord import LeaseEvent
from provisioningserver.leases.journal import Journal
from provisioningserver.leases.journalfile import JournalError


def _event(ip="198.18.0.5", action="commit", **kw):
    return LeaseEvent(action=action, ip_family=4, ip=ip, mac="00:0c:01:02:03:04", **kw)


def _clock(now=1000.0):
    clock = Clock()
    clock.advance(now)
    clock.time = clock.seconds  # the journal reads clock.time()
    return clock


def test_events_and_position_are_recorded_together(tmp_path):
    """record stores the batch and the source position; both survive reopening."""
    path = str(tmp_path / "j.db")
    journal = Journal(path, clock=_clock())
    journal.record([_event(), _event("198.18.0.6")], "dhcpd4", (42, 1234))
    journal.close()
    journal = Journal(path, clock=_clock())
    assert journal.position("dhcpd4") == (42, 1234)
    assert [e.ip for _, e in journal.pending()] == ["198.18.0.5", "198.18.0.6"]
    assert journal.pending()[0][1].timestamp == 1000.0


def test_file_is_wal_and_private(tmp_path):
    """The journal is in WAL mode and readable by its owner only."""
    path = tmp_path / "j.db"
    Journal(str(path), clock=_clock()).close()
    assert sqlite3.connect(str(path)).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert path.stat().st_mode & 0o077 == 0


def test_a_failed_batch_leaves_neither_events_nor_position(tmp_path):
    """If the transaction fails, the position does not move either."""
    journal = Journal(str(tmp_path / "j.db"), clock=_clock())
    journal.record([_event()], "dhcpd4", (1, 10))

    class Broken:
        action = ip_family = ip = mac = duid = hostname = lease_time = object()
        timestamp = 1.0
        unknown_client = None

    with pytest.raises(Exception):
        journal.record([_event("198.18.0.7"), Broken()], "dhcpd4", (1, 99))
    assert journal.position("dhcpd4") == (1, 10)
    assert journal.pending_count() == 1


def test_record_returns_each_event_its_id(tmp_path):
    """The ids record returns are the ones pending lists, batch after batch,
    and an acknowledged id is never given out again."""
    journal = Journal(str(tmp_path / "j.db"), clock=_clock())
    first = journal.record([_event("198.18.0.%d" % i) for i in range(1, 4)], "s")
    journal.ack(first)
    second = journal.record([_event("198.18.0.%d" % i) for i in range(4, 6)], "s")
    assert journal.record([], "s") == []
    assert second[0] > first[-1]
    assert [(i, e.ip) for i, e in journal.pending()] == [
        (second[0], "198.18.0.4"), (second[1], "198.18.0.5")]


def test_observers_get_the_events_as_given_and_rows_get_the_time(tmp_path):
    """An event without a time is stored with the clock's; observers see the
    batch itself, without paying for a stamped copy of each event."""
    journal = Journal(str(tmp_path / "j.db"), clock=_clock(1234.0))
    seen = []
    journal.observers.append(seen.extend)
    events = [_event(), _event("198.18.0.6", timestamp=99.0)]
    journal.record(events, "s")
    assert seen == events
    assert [e.timestamp for _, e in journal.pending()] == [1234.0, 99.0]


def test_ack_deletes_only_the_acknowledged(tmp_path):
    """pending is in order; ack removes exactly the given ids."""
    journal = Journal(str(tmp_path / "j.db"), clock=_clock())
    ids = journal.record([_event("198.18.0.%d" % i) for i in range(1, 6)], "s")
    assert journal.ack(ids[:2] + [999]) == 2
    assert [e.ip for _, e in journal.pending(limit=2)] == ["198.18.0.3", "198.18.0.4"]
    assert journal.pending_count() == 3


def test_history_is_kept_after_ack_and_pruned_by_retention(tmp_path):
    """History outlives acknowledgement and goes after the retention period."""
    clock = _clock()
    journal = Journal(str(tmp_path / "j.db"), clock=clock, retention=100)
    ids = journal.record([_event(), _event(action="release")], "s")
    journal.ack(ids)
    assert [e.action for e in journal.history(ip="198.18.0.5")] == ["commit", "release"]
    assert len(journal.history(mac="00:0C:01:02:03:04")) == 2
    clock.advance(50)
    journal.record([_event("198.18.0.9")], "s")
    clock.advance(60)
    assert journal.prune_history() == 2
    assert [e.ip for e in journal.history()] == ["198.18.0.9"]


def test_a_newer_schema_is_refused(tmp_path):
    """A journal written by a newer rackd is not misread."""
    path = str(tmp_path / "j.db")
    Journal(path, clock=_clock()).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE schema_version SET version = 99")
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="schema version 99"):
        Journal(path, clock=_clock())


def test_a_threaded_journal_relays_its_batches_instead_of_notifying(tmp_path):
    """With ``relay`` set, a batch committed in another thread goes to it
    (rackd hands it to the reactor thread), and the journal's own observers
    are not called."""
    journal = Journal(str(tmp_path / "j.db"), threaded=True)
    seen, relayed = [], []
    journal.observers.append(seen.append)
    journal.relay = lambda events, transactions: relayed.append((events, transactions))
    event = LeaseEvent(action="expiry", ip_family=4, ip="198.18.1.9")
    thread = threading.Thread(target=journal.record, args=([event], "dhcpd4", (1, 10)))
    thread.start()
    thread.join()
    assert relayed == [([event], ())] and seen == []
    assert [(e.action, e.ip) for _, e in journal.pending()] == [("expiry", "198.18.1.9")]
    journal.close()


def test_a_journal_keeps_its_identity_and_another_file_has_its_own(tmp_path):
    """The journal's identity is made once and read back when the file is
    opened again (by this process or the next rackd); a new file gets a
    different one, so the region never takes its ids for an old file's."""
    path = str(tmp_path / "j.db")
    first = Journal(path)
    identity = first.identity
    first.close()
    assert Journal(path).identity == identity and len(identity) == 32
    assert Journal(str(tmp_path / "other.db")).identity != identity
