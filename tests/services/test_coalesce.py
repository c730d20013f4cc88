"""The coalescer: one configure per family at a time, newest document wins, deadlines."""

from twisted.internet import defer, task

from provisioningserver.services.configure import ConfigureCancelled
from provisioningserver.services.coalesce import GRACE, Coalescer, ConfigureTimeout
from provisioningserver.services.configure import Outcome


class SlowConfigurator:
    """Each configure or stop waits until the test finishes it."""

    def __init__(self):
        self.calls = []  # (ip_version, document or "stop", dry_run, Deferred)

    def configure(self, ip_version, document, dry_run=False):
        d = defer.Deferred()
        self.calls.append((ip_version, document, dry_run, d))
        return d

    def stop(self, ip_version):
        d = defer.Deferred()
        self.calls.append((ip_version, "stop", False, d))
        return d

    def status(self):
        return {"v4": {"state": "running"}}

    def finish(self, index, action="restarted"):
        ip_version, document, _, d = self.calls[index]
        d.callback(Outcome(ip_version, action, f"applied {document}"))


def results_of(deferreds):
    results = []
    for d in deferreds:
        d.addBoth(results.append)
    return results


def test_ten_concurrent_configures_apply_the_newest_document_in_two_runs():
    """Ten configures at once: the first runs, the other nine coalesce into
    one run of the newest document; every caller gets an outcome, none an error."""
    clock = task.Clock()
    configurator = SlowConfigurator()
    coalescer = Coalescer(configurator, clock)
    results = results_of([coalescer.configure(4, {"n": i}) for i in range(10)])
    assert [c[1] for c in configurator.calls] == [{"n": 0}]
    configurator.finish(0)
    assert [c[1] for c in configurator.calls] == [{"n": 0}, {"n": 9}]
    configurator.finish(1)
    assert len(results) == 10
    assert all(isinstance(r, Outcome) for r in results)
    assert results[0].reason == "applied {'n': 0}"
    assert {r.reason for r in results[1:]} == {"applied {'n': 9}"}
    assert coalescer.runs[4] == 2
    assert not clock.getDelayedCalls(), "no deadline left behind"


def test_families_run_independently():
    """An IPv6 configure does not wait for a running IPv4 one."""
    configurator = SlowConfigurator()
    coalescer = Coalescer(configurator, task.Clock())
    coalescer.configure(4, {"v": 4})
    coalescer.configure(6, {"v": 6})
    assert [(c[0], c[1]) for c in configurator.calls] == [(4, {"v": 4}), (6, {"v": 6})]


def test_a_failure_reaches_every_caller_of_that_run():
    """When the coalesced run fails, each of its callers gets the error."""
    configurator = SlowConfigurator()
    coalescer = Coalescer(configurator, task.Clock())
    first = results_of([coalescer.configure(4, {"n": 0})])
    queued = results_of([coalescer.configure(4, {"n": i}) for i in (1, 2)])
    configurator.finish(0)
    configurator.calls[1][3].errback(RuntimeError("dhcpd exploded"))
    assert isinstance(first[0], Outcome)
    assert [r.value.args for r in queued] == [("dhcpd exploded",)] * 2


def test_a_stop_queued_after_a_configure_wins():
    """A stop requested while a configure waits replaces it (the newest request)."""
    configurator = SlowConfigurator()
    coalescer = Coalescer(configurator, task.Clock())
    coalescer.configure(4, {"n": 0})
    coalescer.configure(4, {"n": 1})
    coalescer.stop(4)
    configurator.finish(0)
    assert configurator.calls[1][1] == "stop"


def test_dry_runs_are_not_coalesced():
    """A dry run goes straight to the configurator, with dry_run set."""
    configurator = SlowConfigurator()
    coalescer = Coalescer(configurator, task.Clock())
    coalescer.configure(4, {"n": 0})
    coalescer.configure(4, {"n": 1}, dry_run=True)
    assert [(c[1], c[2]) for c in configurator.calls] == [({"n": 0}, False), ({"n": 1}, True)]


def test_a_running_configure_past_its_deadline_is_cancelled_and_reports_what_it_left():
    """A configure that outlives the timeout is cancelled; its caller gets
    ConfigureTimeout saying what the run left (here the fake cannot tell)."""
    clock = task.Clock()
    configurator = SlowConfigurator()
    coalescer = Coalescer(configurator, clock, timeout=10)
    results = results_of([coalescer.configure(4, {"n": 0})])
    clock.advance(9.9)
    assert results == []
    clock.advance(0.2)
    error = results[0].value
    assert isinstance(error, ConfigureTimeout)
    assert (error.phase, error.state_known) == ("running", False)
    assert "cancelled" in str(error)
    assert coalescer.running[4] is None
    assert clock.getDelayedCalls() == []


def test_a_cancelled_run_that_rolled_back_says_so():
    """When the configurator reports a rollback, the caller's error says the
    state is known and that dhcpd serves the last applied config."""
    clock = task.Clock()

    class RollingBack(SlowConfigurator):
        def configure(self, ip_version, document, dry_run=False):
            return defer.Deferred(lambda d: d.errback(
                ConfigureCancelled(rolled_back=True, restored=True)))

    coalescer = Coalescer(RollingBack(), clock, timeout=10)
    results = results_of([coalescer.configure(4, {"n": 0})])
    clock.advance(10)
    error = results[0].value
    assert (error.phase, error.state_known) == ("running", True)
    assert "rolled back: dhcpd serves the last applied config" in str(error)


def test_a_hanging_rollback_still_answers_and_a_queued_caller_withdraws():
    """If the cancelled run's rollback hangs, its caller is answered GRACE
    seconds later (state unknown); a caller queued behind it that times out
    alone withdraws its document, which is never applied."""
    clock = task.Clock()
    hung = defer.Deferred()

    class HangingRollback(SlowConfigurator):
        @defer.inlineCallbacks
        def configure(self, ip_version, document, dry_run=False):
            self.calls.append((ip_version, document, dry_run, None))
            try:
                yield defer.Deferred()
            except defer.CancelledError:
                yield hung  # the rollback never ends

    configurator = HangingRollback()
    coalescer = Coalescer(configurator, clock, timeout=10)
    first = results_of([coalescer.configure(4, {"n": 0})])
    clock.advance(5)
    queued = results_of([coalescer.configure(4, {"n": 1})])
    clock.advance(5)  # the first caller's deadline: the run is cancelled, rollback hangs
    assert first == []
    clock.advance(5)  # the queued caller's deadline
    assert (queued[0].value.phase, queued[0].value.state_known) == ("queued", True)
    clock.advance(GRACE)
    assert (first[0].value.phase, first[0].value.state_known) == ("running", False)
    assert len(configurator.calls) == 1, "the withdrawn document was not applied"
    hung.callback(None)


def test_a_dry_run_past_its_deadline_times_out():
    """A dry run that hangs ends in ConfigureTimeout too (nothing changed, so known)."""
    clock = task.Clock()
    coalescer = Coalescer(SlowConfigurator(), clock, timeout=3)
    results = results_of([coalescer.configure(6, {}, dry_run=True)])
    clock.advance(3)
    assert isinstance(results[0].value, ConfigureTimeout)
    assert results[0].value.state_known


def test_listeners_hear_of_every_run():
    """on_change listeners are called with the family after each run."""
    configurator = SlowConfigurator()
    coalescer = Coalescer(configurator, task.Clock())
    heard = []
    coalescer.on_change(heard.append)
    coalescer.configure(6, {})
    configurator.finish(0)
    assert heard == [6]


def test_status_is_the_configurators():
    """status() passes through, so the coalescer can stand in for the configurator."""
    assert Coalescer(SlowConfigurator(), task.Clock()).status() == {"v4": {"state": "running"}}
