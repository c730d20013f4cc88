"""The forwarder: batches in order, deleted only after the region's ack,
waiting without a region, backing off when the region fails."""

from twisted.internet import defer, task
from twisted.internet.error import ConnectionDone, ConnectionLost

from provisioningserver.dhcp.leaserecord import LeaseEvent
from provisioningserver.leases.forward import Forwarder, NoRegionConnection
from provisioningserver.leases.journal import Journal
from provisioningserver.leases.retention import JournalLimit


class FakeRegion:
    """Records each batch; answers with what ``replies`` says next."""

    def __init__(self):
        self.batches = []
        self.pending = []  # Deferreds not answered yet
        self.mode = "defer"  # defer, absent, fail

    def send(self, events):
        self.batches.append(events)
        if self.mode == "absent":
            return defer.fail(NoRegionConnection("none"))
        if self.mode == "fail":
            return defer.fail(RuntimeError("region broke"))
        d = defer.Deferred()
        self.pending.append(d)
        return d

    def answer(self):
        d = self.pending.pop(0)
        d.callback({"stored": len(self.batches[-1])})


def commit(ip, n):
    return LeaseEvent(action="commit", ip_family=4, ip=ip, mac="02:00:00:00:00:%02x" % n,
                      lease_time=600, timestamp=1000.0 + n)


def build(tmp_path, **kwargs):
    clock = task.Clock()
    journal = Journal(str(tmp_path / "j.db"))
    region = FakeRegion()
    forwarder = Forwarder(journal, region.send, clock, **kwargs)
    return clock, journal, region, forwarder


def test_a_batch_leaves_the_journal_only_after_the_ack(tmp_path):
    """Events go oldest first in one batch; they stay in the journal while
    the reply is outstanding and go once it comes."""
    clock, journal, region, forwarder = build(tmp_path)
    journal.record([commit("198.18.0.10", 1), commit("198.18.0.10", 2)], "test")
    forwarder.startService()
    clock.advance(0)
    assert [e["mac"] for e in region.batches[0]] == ["02:00:00:00:00:01", "02:00:00:00:00:02"]
    assert journal.pending_count() == 2
    clock.advance(5)
    assert len(region.batches) == 1  # one batch in flight at a time
    region.answer()
    assert journal.pending_count() == 0
    assert forwarder.status()["sent"] == 2
    forwarder.stopService()
    assert clock.getDelayedCalls() == []


def test_batches_keep_arrival_order(tmp_path):
    """With a small batch size, batches follow arrival order, so each
    address's events reach the region in the order they happened."""
    clock, journal, region, forwarder = build(tmp_path, batch=2)
    journal.record([commit("198.18.0.%d" % (10 + n % 2), n) for n in range(5)], "test")
    forwarder.startService()
    for _ in range(3):
        clock.advance(0)
        region.answer()
    sent = [e["mac"][-2:] for batch in region.batches for e in batch]
    assert sent == ["00", "01", "02", "03", "04"]
    assert journal.pending_count() == 0
    forwarder.stopService()


def test_without_a_region_events_wait_and_go_later(tmp_path):
    """No region connection: nothing is deleted, the forwarder waits and
    sends once a region is there."""
    clock, journal, region, forwarder = build(tmp_path, interval=1.0)
    region.mode = "absent"
    journal.record([commit("198.18.0.10", 1)], "test")
    forwarder.startService()
    clock.advance(0)
    clock.advance(1)
    assert forwarder.status()["state"] == "waiting"
    assert journal.pending_count() == 1
    region.mode = "defer"
    clock.advance(1)
    region.answer()
    assert journal.pending_count() == 0
    forwarder.stopService()


def test_a_failing_region_is_backed_off_exponentially(tmp_path):
    """A failing UpdateLeases keeps the events and retries after 1, 2, 4 s,
    capped at max_delay; the error shows in status."""
    clock, journal, region, forwarder = build(tmp_path, initial_delay=1.0, max_delay=4.0)
    region.mode = "fail"
    journal.record([commit("198.18.0.10", 1)], "test")
    forwarder.startService()
    clock.advance(0)
    attempts = []
    for step in (1, 2, 4, 4):
        clock.advance(step - 0.01)
        attempts.append(len(region.batches))
        clock.advance(0.01)
    assert attempts == [1, 2, 3, 4]
    status = forwarder.status()
    assert status["state"] == "backoff" and "region broke" in status["last_error"]
    assert journal.pending_count() == 1
    forwarder.stopService()


def test_the_journal_limit_alarm_shows_in_the_status(tmp_path):
    """status carries the limit's reading: the alarm when undelivered events
    alone fill journal_max_bytes, none when the journal fits."""
    clock, journal, region, forwarder = build(tmp_path)
    journal.record([commit("198.18.0.%d" % n, n) for n in range(1, 200)], "test")
    tight = JournalLimit(journal, 1)
    tight.enforce()
    _, _, _, full = build(tmp_path, limit=tight)
    assert full.status()["journal_over_limit"] is True
    assert full.status()["journal_max_bytes"] == 1
    _, _, _, roomy = build(tmp_path / "..", limit=JournalLimit(journal, 1 << 40))
    assert roomy.status()["journal_over_limit"] is False
    assert forwarder.status()["journal_over_limit"] is False  # no limit given

def test_new_events_are_sent_when_the_journal_says_so_not_at_the_next_poll(tmp_path):
    """An idle forwarder observing the journal sends a new batch at once
    (nudge), long before its safety poll comes round."""
    clock, journal, region, forwarder = build(tmp_path, poll_interval=30.0)
    journal.observers.append(forwarder.nudge)
    forwarder.startService()
    clock.advance(0)
    assert forwarder.status()["state"] == "idle" and region.batches == []
    journal.record([commit("198.18.0.10", 1)], "test")
    clock.advance(0)
    assert len(region.batches) == 1
    region.answer()
    assert journal.pending_count() == 0
    forwarder.stopService()
    assert clock.getDelayedCalls() == []


def test_an_idle_forwarder_without_nudges_polls_at_the_safety_interval(tmp_path):
    """Events the observers never saw (another writer) still go, at the
    next safety poll and not before."""
    clock, journal, region, forwarder = build(tmp_path, poll_interval=30.0)
    forwarder.startService()
    clock.advance(0)
    journal.record([commit("198.18.0.10", 1)], "test")
    clock.advance(29)
    assert region.batches == []
    clock.advance(1)
    assert len(region.batches) == 1
    forwarder.stopService()


def test_a_nudge_while_backing_off_does_not_cut_the_backoff_short(tmp_path):
    """A failing region is not retried sooner because more events came."""
    clock, journal, region, forwarder = build(tmp_path, initial_delay=4.0, max_delay=4.0)
    journal.observers.append(forwarder.nudge)
    region.mode = "fail"
    journal.record([commit("198.18.0.10", 1)], "test")
    forwarder.startService()
    clock.advance(0)
    assert len(region.batches) == 1
    journal.record([commit("198.18.0.11", 2)], "test")
    clock.advance(3.9)
    assert len(region.batches) == 1
    forwarder.stopService()


def test_standalone_events_stay_in_the_history_and_leave_the_queue(tmp_path):
    """With no region configured (no send), the state is standalone, not
    waiting: each event leaves the queue of undelivered ones at once and stays
    in the history the reports read; nothing counts as sent."""
    clock = task.Clock()
    journal = Journal(str(tmp_path / "j.db"))
    forwarder = Forwarder(journal, None, clock)
    assert forwarder.status()["state"] == "standalone"
    forwarder.startService()
    journal.record([commit("198.18.0.10", 1), commit("198.18.0.11", 2)], "test")
    forwarder.nudge()
    clock.advance(0)
    clock.advance(0)
    status = forwarder.status()
    assert (status["state"], status["pending"], status["sent"]) == ("standalone", 0, 0)
    assert [e.ip for e in journal.latest()] == ["198.18.0.10", "198.18.0.11"]
    forwarder.stopService()
    assert clock.getDelayedCalls() == []


def test_a_batch_sent_again_carries_the_same_event_ids(tmp_path):
    """Each event goes with its journal id and the journal's identity; a
    batch whose reply was lost goes again with the same ids (so the region
    can store it once), and later events get higher ids."""
    clock, journal, region, forwarder = build(tmp_path, initial_delay=1.0)
    ids = journal.record([commit("198.18.0.10", 1), commit("198.18.0.11", 2)], "test")
    forwarder.startService()
    clock.advance(0)
    region.pending.pop(0).errback(ConnectionError("link cut before the reply"))
    clock.advance(1)
    first, again = region.batches
    assert [(e["journal"], e["id"]) for e in first] == [(journal.identity, i) for i in ids]
    assert [(e["journal"], e["id"]) for e in again] == [(journal.identity, i) for i in ids]
    region.answer()
    (later,) = journal.record([commit("198.18.0.12", 3)], "test")
    clock.advance(0)
    assert region.batches[-1][0]["id"] == later > max(ids)
    region.answer()
    forwarder.stopService()
    assert clock.getDelayedCalls() == []


def test_a_batch_cut_off_by_a_lost_connection_goes_again_without_backoff(tmp_path):
    """A connection lost under a batch (the link cut before the reply) is
    not a failing region: however often it happens in a row, the batch goes
    again after ``interval``, not after a growing backoff, and no failure
    is counted."""
    clock, journal, region, forwarder = build(tmp_path, interval=1.0, initial_delay=1.0,
                                              max_delay=60.0)
    journal.record([commit("198.18.0.10", 1)], "test")
    forwarder.startService()
    clock.advance(0)
    for lost in (ConnectionLost, ConnectionDone, ConnectionLost, ConnectionLost):
        region.pending.pop(0).errback(lost("link cut"))
        assert forwarder.status()["failures"] == 0
        clock.advance(1.0)
    assert len(region.batches) == 5
    region.answer()
    assert journal.pending_count() == 0
    forwarder.stopService()
    assert clock.getDelayedCalls() == []


class HeldRuns:
    """A `run` that holds each call until released, as a thread would
    finish it later; records which function each call ran."""

    def __init__(self):
        self.held = []

    def __call__(self, f, *args):
        d = defer.Deferred()
        self.held.append((f.__name__, f, args, d))
        return d

    def release(self):
        name, f, args, d = self.held.pop(0)
        d.callback(f(*args))
        return name


def test_reading_and_deleting_go_through_run_on_the_reader(tmp_path):
    """The batch is read and, once acked, deleted through ``run`` on the
    reader's connection (in the agent: a thread, off the reactor); a tick
    while the read is outstanding starts no second turn; the events leave
    only when the delete has run."""
    clock = task.Clock()
    journal = Journal(str(tmp_path / "j.db"))
    reader = Journal(str(tmp_path / "j.db"))
    region, runs = FakeRegion(), HeldRuns()
    forwarder = Forwarder(journal, region.send, clock, reader=reader, run=runs)
    journal.record([commit("198.18.0.10", 1)], "test")
    forwarder.startService()
    clock.advance(0)
    assert [name for name, *_ in runs.held] == ["pending"] and region.batches == []
    first = forwarder.tick()
    assert forwarder.tick() is first and len(runs.held) == 1
    assert runs.release() == "pending"
    assert len(region.batches) == 1 and runs.held == []
    region.answer()
    assert [name for name, *_ in runs.held] == ["ack"]
    assert journal.pending_count() == 1 and forwarder.sent == 0
    assert runs.release() == "ack"
    assert journal.pending_count() == 0 and forwarder.sent == 1
    assert forwarder.state == "idle"
    forwarder.stopService()
    assert not clock.getDelayedCalls()


def test_a_failing_read_backs_off_and_is_reported(tmp_path):
    """A read that fails in its thread (a locked or damaged journal) backs
    off like a failing region, and the status names it."""
    clock, journal, region, _ = build(tmp_path)

    def broken(f, *args):
        return defer.fail(OSError("disk I/O error"))

    forwarder = Forwarder(journal, region.send, clock, run=broken)
    forwarder.startService()
    clock.advance(0)
    assert forwarder.state == "backoff" and region.batches == []
    assert forwarder.status()["last_error"] == "OSError: disk I/O error"
    forwarder.stopService()
