"""journal_max_bytes enforced: oldest history and transactions give way,
undelivered events never do (leases.retention)."""

from provisioningserver.dhcp.leaserecord import LeaseEvent
from provisioningserver.leases.journal import Journal
from provisioningserver.leases.retention import JournalLimit


def commit(n):
    return LeaseEvent(action="commit", ip_family=4, ip="198.18.%d.%d" % (n // 250, n % 250 + 1),
                      mac="02:00:00:00:%02x:%02x" % (n // 256, n % 256), lease_time=600,
                      timestamp=1000.0 + n, hostname="h" * 200)


def fill(journal, count, start=0):
    journal.record([commit(n) for n in range(start, start + count)], "test")


def test_a_journal_within_its_limit_is_left_alone(tmp_path):
    """Nothing is removed and no alarm when the journal fits."""
    journal = Journal(str(tmp_path / "j.db"))
    fill(journal, 100)
    limit = JournalLimit(journal, 1 << 30)
    assert limit.enforce() == 0
    assert journal.row_count("history") == 100 and not limit.status()["journal_over_limit"]


def test_no_limit_means_nothing_is_removed(tmp_path):
    """max_bytes None: enforce() does nothing."""
    journal = Journal(str(tmp_path / "j.db"))
    fill(journal, 10)
    assert JournalLimit(journal, None).enforce() == 0


def test_oldest_history_goes_first_and_undelivered_events_stay(tmp_path):
    """Over the limit: the oldest history rows are removed until the used
    size fits; every undelivered event is still pending afterwards."""
    journal = Journal(str(tmp_path / "j.db"))
    fill(journal, 3000)
    journal.ack([i for i, _ in journal.pending(3000)])  # all delivered
    fill(journal, 20, start=3000)  # 20 undelivered
    half = JournalLimit(journal, None).used_bytes() // 2
    limit = JournalLimit(journal, half)
    assert limit.enforce() > 0
    assert limit.used_bytes() <= half
    kept = journal.history(limit=10_000)
    assert kept and kept[0].timestamp > 1000.0  # the oldest went
    assert kept[-1].timestamp == 1000.0 + 3019  # the newest stayed
    assert journal.pending_count() == 20
    assert not limit.status()["journal_over_limit"]


def test_undelivered_events_alone_over_the_limit_raise_the_alarm(tmp_path):
    """When removing all history cannot bring the journal under its limit,
    the undelivered events stay and the status says so."""
    journal = Journal(str(tmp_path / "j.db"))
    fill(journal, 2000)  # none delivered
    limit = JournalLimit(journal, 4096)
    limit.enforce()
    assert journal.pending_count() == 2000
    assert journal.row_count("history") == 0
    status = limit.status()
    assert status["journal_over_limit"] is True and status["journal_max_bytes"] == 4096


def test_the_file_stops_growing_once_rows_give_way(tmp_path):
    """Removed rows free pages that new events reuse: with enforcement
    after each burst, the file does not keep growing."""
    journal = Journal(str(tmp_path / "j.db"))
    limit = JournalLimit(journal, 256 * 1024)
    sizes = []
    for burst in range(12):
        fill(journal, 500, start=burst * 500)
        journal.ack([i for i, _ in journal.pending(1000)])
        limit.enforce()
        sizes.append(limit.used_bytes())
    assert max(sizes) <= 256 * 1024
    assert not limit.alarm
