"""Rejected lease datagrams are counted and logged without a line each."""

from twisted.internet.task import Clock
from twisted.logger import Logger

from provisioningserver.leases.notify import (
    REJECT_LOG_INTERVAL, Counts, LeaseDatagrams, drain_spool)
from tests.leases.test_notify import RECORD, _journal
from tests.logged import logged as logged_under

SHORT = b"rackd-lease 1 commit 4 198.18.1.1"  # 5 fields of 11
BAD_MAC = b"rackd-lease 1 commit 4 198.18.1.1 zz - 600 - unknown 1700000000"


def logged(action):
    """The lines rackd's lease socket logged while ``action`` ran."""
    return logged_under(action, "provisioningserver.leases.notify")


def test_a_flood_of_bad_datagrams_is_one_line_and_one_summary(tmp_path):
    """524 bad datagrams in a burst: the first is logged with its reason,
    the other 523 in one summary line at the interval's end, by kind; the
    count in status has all 524 and a good record still goes through."""
    clock = Clock()
    protocol = LeaseDatagrams(_journal(tmp_path), clock)

    def flood():
        for i in range(524):
            protocol.datagramReceived([SHORT, BAD_MAC, b"x" * 70000][i % 3])
        protocol.datagramReceived(RECORD % 9)
        clock.advance(REJECT_LOG_INTERVAL)

    lines = logged(flood)
    assert len(lines) == 2, lines
    assert "expected 11 fields, got 5" in lines[0]
    assert lines[1].startswith("523 more lease datagrams rejected")
    assert "expected 11 fields: 174" in lines[1] and "mac: 175" in lines[1]
    assert "too long: 174" in lines[1]
    assert protocol.counts.rejected == 524 and protocol.counts.events == 1


def test_a_flood_that_goes_on_gets_one_line_per_interval_then_quiet_resets(tmp_path):
    """While bad datagrams keep coming there is one summary per interval;
    after an interval with none the next one is logged in full again, and
    no timer is left behind."""
    clock = Clock()
    protocol = LeaseDatagrams(_journal(tmp_path), clock)

    def three_intervals():
        for _ in range(3):
            for _ in range(100):
                protocol.datagramReceived(SHORT)
            clock.advance(REJECT_LOG_INTERVAL)

    lines = logged(three_intervals)
    assert len(lines) == 4
    assert [line.split(" ")[0] for line in lines[1:]] == ["99", "100", "100"]
    assert len(logged(lambda: clock.advance(REJECT_LOG_INTERVAL))) == 0
    assert not clock.getDelayedCalls()
    again = logged(lambda: protocol.datagramReceived(SHORT))
    assert len(again) == 1 and "expected 11 fields, got 5" in again[0]
    protocol.rejections.flush()
    assert not clock.getDelayedCalls()


def test_flush_tells_what_is_held_and_cancels_the_timer(tmp_path):
    """At stop, the rejections counted since the last line are logged at
    once, and nothing stays scheduled."""
    clock = Clock()
    protocol = LeaseDatagrams(_journal(tmp_path), clock)
    for _ in range(5):
        protocol.datagramReceived(b"hello")
    lines = logged(protocol.rejections.flush)
    assert lines == ["4 more lease datagrams rejected since the last such line "
                     "(not a lease record: 4)"]
    assert not clock.getDelayedCalls()


def test_a_spool_full_of_bad_lines_is_two_lines(tmp_path):
    """Draining a spool of 1,000 bad lines logs the first and one summary."""
    spool = str(tmp_path / "spool")
    with open(spool, "wb") as f:
        f.write((SHORT + b"\n") * 1000 + RECORD % 1)
    counts = Counts()
    lines = logged(lambda: drain_spool(spool, _journal(tmp_path), counts,
                                       Logger(namespace="provisioningserver.leases.notify")))
    assert len(lines) == 2 and lines[1].startswith("999 more")
    assert counts.rejected == 1000 and counts.spooled == 1
