"""In-process counters for the metrics: OMAPI timing, configure outcomes seen
by the coalescer, lease events as the journal commits them."""

import pytest
from twisted.internet import defer, task
from twisted.python.failure import Failure

from provisioningserver.dhcp.errors import DocumentError, Problem
from provisioningserver.dhcp.leaserecord import LeaseEvent
from provisioningserver.omapi.client import AddHost, ChangeResult
from provisioningserver.omapi.errors import OmapiNotFound
from provisioningserver.services.coalesce import Coalescer, ConfigureTimeout
from provisioningserver.services.configure import Outcome, StartFailed
from provisioningserver.services.instruments import (
    ConfigureStats, Histogram, LeaseEventCounts, OmapiStats, TimedOmapi, configure_outcome,
)
from provisioningserver.leases.journal import Journal


class FakeOmapi:
    """Answers each request when the test says so."""

    def __init__(self):
        self.pending = []
        self.disconnected = False

    def failover_state(self, name):
        d = defer.Deferred()
        self.pending.append(d)
        return d

    def apply(self, changes):
        d = defer.Deferred()
        self.pending.append(d)
        return d

    def disconnect(self):
        self.disconnected = True
        return defer.succeed(None)


def test_a_request_is_timed_on_the_clock():
    """The latency is the clock's time from the call to the answer, under the
    client's family, server and the method's name; the answer passes through."""
    clock, stats, fake = task.Clock(), OmapiStats(), FakeOmapi()
    client = TimedOmapi(fake, clock, stats, 4)
    d = client.failover_state("pair")
    clock.advance(0.003)
    fake.pending.pop().callback("normal")
    assert d.result == "normal"
    counts, total = stats.latency.series[(4, "local", "failover_state")]
    assert sum(counts) == 1 and total == 0.003
    assert counts[OmapiStats().latency.buckets.index(0.005)] == 1
    assert not stats.errors


def test_a_failed_request_counts_its_exception_class_and_still_fails():
    """A failure is timed too, counted by exception class, and reaches the caller."""
    clock, stats, fake = task.Clock(), OmapiStats(), FakeOmapi()
    client = TimedOmapi(fake, clock, stats, 6, server="198.18.0.2")
    d = client.failover_state("pair")
    fake.pending.pop().errback(ConnectionRefusedError())
    assert isinstance(d.result, Failure) and d.result.check(ConnectionRefusedError)
    d.addErrback(lambda _: None)
    assert stats.errors == {(6, "198.18.0.2", "failover_state", "ConnectionRefusedError"): 1}
    assert sum(stats.latency.series[(6, "198.18.0.2", "failover_state")][0]) == 1


def test_a_batch_is_one_request_and_each_failed_change_an_error():
    """apply is timed once; each change that failed in it counts as an apply error."""
    clock, stats, fake = task.Clock(), OmapiStats(), FakeOmapi()
    client = TimedOmapi(fake, clock, stats, 4)
    change = AddHost(name="h", mac="02:00:00:00:00:01", ip="198.18.0.5")
    d = client.apply([change, change])
    fake.pending.pop().callback([ChangeResult(change),
                                 ChangeResult(change, error=OmapiNotFound("gone"))])
    assert len(d.result) == 2
    assert stats.errors == {(4, "local", "apply", "OmapiNotFound"): 1}
    assert sum(stats.latency.series[(4, "local", "apply")][0]) == 1


def test_disconnect_and_attributes_are_the_clients_own():
    """disconnect is not a request and is not timed; attributes pass through."""
    stats, fake = OmapiStats(), FakeOmapi()
    client = TimedOmapi(fake, task.Clock(), stats, 4)
    client.disconnect()
    assert fake.disconnected and not stats.latency.series
    assert client.pending is fake.pending


def test_histogram_puts_each_value_in_its_first_bucket():
    """Bounds are upper bounds, inclusive; above the last goes to +Inf."""
    histogram = Histogram((1.0, 2.0))
    for value in (0.5, 1.0, 1.5, 9.0):
        histogram.observe("k", value)
    assert histogram.series["k"] == ([2, 1, 1], 12.0)


def test_configure_outcome_labels():
    """An Outcome's action, or what failed: invalid, rejected, failed, timeout, error."""
    assert configure_outcome(Outcome(4, "applied-live", "hosts")) == "applied-live"
    assert configure_outcome(Failure(DocumentError([Problem("x", "bad")]))) == "invalid"
    assert configure_outcome(Failure(StartFailed("no", False, False))) == "failed"
    assert configure_outcome(Failure(ConfigureTimeout(4, 1, "running", True))) == "timeout"
    assert configure_outcome(Failure(RuntimeError("?"))) == "error"


class SlowConfigurator:
    def __init__(self):
        self.calls = []

    def configure(self, ip_version, document, dry_run=False):
        d = defer.Deferred()
        self.calls.append(d)
        return d


def test_the_coalescer_reports_each_run_once_with_its_duration():
    """Three callers, two runs: two outcomes counted, each with the time its
    run took; callers still get their results."""
    clock, configurator, stats = task.Clock(), SlowConfigurator(), ConfigureStats()
    coalescer = Coalescer(configurator, clock)
    coalescer.on_outcome(stats)
    results = []
    for n in range(3):
        coalescer.configure(4, {"n": n}).addBoth(results.append)
    clock.advance(2)
    configurator.calls[0].callback(Outcome(4, "started", "first"))
    clock.advance(0.5)
    configurator.calls[1].callback(Outcome(4, "applied-live", "hosts"))
    assert len(results) == 3
    assert stats.counts == {(4, "started"): 1, (4, "applied-live"): 1}
    assert stats.durations.series[(4, "started")][1] == 2
    assert stats.durations.series[(4, "applied-live")][1] == 0.5
    assert not clock.getDelayedCalls()


def test_a_failing_outcome_listener_does_not_hurt_the_callers():
    """A listener that raises is logged; the caller gets its outcome."""
    clock, configurator = task.Clock(), SlowConfigurator()
    coalescer = Coalescer(configurator, clock)
    coalescer.on_outcome(lambda *args: 1 / 0)
    d = coalescer.configure(4, {})
    configurator.calls[0].callback(Outcome(4, "started", "first"))
    assert d.result.action == "started"


class _Time:
    def time(self):
        return 1000.0


def commit(ip):
    return LeaseEvent(action="commit", ip_family=4, ip=ip, mac="02:00:00:00:00:01",
                      lease_time=600)


def test_journal_observers_see_committed_batches_only(tmp_path):
    """Observers count what the journal committed; a failing observer is
    logged and the events stay recorded."""
    journal = Journal(str(tmp_path / "j.db"), clock=_Time())
    counts = LeaseEventCounts()
    journal.observers.append(lambda events: 1 / 0)
    journal.observers.append(counts)
    journal.record([commit("198.18.0.100"), commit("198.18.0.101")], "test")
    with pytest.raises(ValueError):  # a malformed position: the batch rolls back
        journal.record([commit("198.18.0.102")], "test", position=(1,))
    assert counts.counts == {(4, "commit"): 2}
    assert journal.pending_count() == 2
    journal.close()
