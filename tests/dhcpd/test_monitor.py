"""DhcpdMonitor with a fake clock and a fake process backend."""

import attrs
import pytest
from twisted.internet import defer, task

from provisioningserver.dhcpd.monitor import DhcpdDidNotStart, DhcpdMonitor, Outcome
from provisioningserver.dhcpd.process import DhcpdSpec
from provisioningserver.dhcpd.supervise import ProcInfo, RestartPolicy, Sidecar, adoption

SPEC = DhcpdSpec(ip_version=4, dhcpd="/usr/sbin/dhcpd", config_path="/s/dhcpd.conf",
                 leases_path="/s/dhcpd.leases", pid_path="/r/dhcpd.pid", log_path="/s/dhcpd.log",
                 interfaces=("eth0",))


class FakeBackend:
    """Processes as a table; adoption goes through the real pure rule."""

    def __init__(self):
        self.processes = {}  # pid -> cmdline
        self.pidfiles = {}  # pid path -> pid
        self.sidecars = {}  # pid path -> Sidecar
        self.configs = {SPEC.config_path: "sha-1"}  # config path -> digest
        self.exits = {}
        self.started, self.stopped = [], []
        self.next_pid = 100
        self.dies_at_start = False  # the process is gone by the time anyone looks
        self.start_error = None
        self.calls = []  # ("prepare", n) / ("stop", pid) / ("start", prepared), in order

    def prepare_start(self, spec):
        self.calls.append(("prepare", len(self.calls)))
        return ("prepared", len(self.calls) - 1)

    def start(self, spec, prepared=None):
        self.calls.append(("start", prepared))
        if self.start_error is not None:
            raise self.start_error
        pid, self.next_pid = self.next_pid, self.next_pid + 1
        self.started.append(pid)
        command = tuple(spec.command())
        self.pidfiles[spec.pid_path] = pid
        self.sidecars[spec.pid_path] = Sidecar(pid, command, self.configs.get(spec.config_path), 0.0)
        if self.dies_at_start:
            self.exits[pid] = "exited with status 1"
        else:
            self.processes[pid] = command
        return pid

    def inspect(self, spec):
        pid = self.pidfiles.get(spec.pid_path)
        proc = ProcInfo(self.processes[pid], "S", 0) if pid in self.processes else None
        return adoption(spec.command(), self.configs.get(spec.config_path), pid,
                        self.sidecars.get(spec.pid_path), proc)

    def is_alive(self, pid):
        return pid in self.processes

    def describe_exit(self, pid):
        return self.exits.get(pid, "exited")

    def stop(self, spec, pid, timeout=5.0):
        self.calls.append(("stop", pid))
        if self.processes.pop(pid, None) is not None:
            self.stopped.append(pid)
        if self.pidfiles.get(spec.pid_path) == pid:
            del self.pidfiles[spec.pid_path]
            del self.sidecars[spec.pid_path]

    def log_tail(self, spec):
        return "No subnet declaration for eth0"

    def crash(self, pid, how="killed by SIGKILL"):
        del self.processes[pid]
        self.exits[pid] = how


@pytest.fixture
def clock():
    return task.Clock()


@pytest.fixture
def backend():
    return FakeBackend()


def make_monitor(backend, clock, **kwargs):
    monitor = DhcpdMonitor(backend, clock, **kwargs)
    monitor.startService()
    return monitor


def started(monitor, clock, spec=SPEC, restart=False):
    """ensure_running, with the clock moved past the settle time; its result."""
    d = monitor.ensure_running(spec, restart=restart)
    clock.advance(monitor.settle_time)
    results = []
    d.addBoth(results.append)
    assert results, "ensure_running did not fire"
    return results[0]


def test_start_then_status_running(backend, clock):
    """A first ensure_running starts dhcpd and reports it running once it settled."""
    monitor = make_monitor(backend, clock)
    results = []
    monitor.ensure_running(SPEC).addCallback(results.append)
    assert results == []  # not before the settle time
    clock.advance(0.5)
    assert results[0] == Outcome("started", 100, "no readable pid file")
    status = monitor.status()
    assert (status.state, status.pid, status.spec, status.restarts) == ("running", 100, SPEC, 0)
    assert status.since == 0.5


def test_crash_restarts_after_backoff(backend, clock):
    """A dead dhcpd is noticed at the next poll and restarted after the backoff delay."""
    monitor = make_monitor(backend, clock)
    started(monitor, clock)
    backend.crash(100)
    clock.advance(1.0)  # the poll
    status = monitor.status()
    assert status.state == "dead"
    assert status.reason == "dhcpd 100 killed by SIGKILL; restarting in 1s"
    assert status.next_start == clock.seconds() + 1.0
    clock.advance(1.0)  # the backoff
    clock.advance(0.5)  # the settle time
    status = monitor.status()
    assert (status.state, status.pid, status.restarts) == ("running", 101, 1)
    assert backend.started == [100, 101]


def test_backoff_grows_with_each_quick_death(backend, clock):
    """Deaths in quick succession wait 1, 2, 4 seconds before each restart."""
    monitor = make_monitor(backend, clock)
    started(monitor, clock)
    delays = []
    for _ in range(3):
        backend.crash(monitor.status().pid)
        clock.advance(1.0)
        delays.append(monitor.status().next_start - clock.seconds())
        clock.advance(delays[-1])
        clock.advance(0.5)
        assert monitor.status().state == "running"
    assert delays == [1.0, 2.0, 4.0]


def test_storm_limit_gives_up_and_reports_dead(backend, clock):
    """A dhcpd that dies at every start is retried with backoff, then given up on with
    the reason; no calls are left scheduled."""
    backend.dies_at_start = True
    monitor = make_monitor(backend, clock, policy=RestartPolicy(storm_limit=3))
    failure = started(monitor, clock)
    assert isinstance(failure.value, DhcpdDidNotStart)
    assert "dhcpd 100 exited with status 1 while starting" in str(failure.value)
    assert "No subnet declaration for eth0" in str(failure.value)  # the log's tail
    clock.pump([0.5] * 60)
    status = monitor.status()
    assert status.state == "dead"
    assert status.reason == ("dhcpd 103 exited with status 1 while starting; "
                             "dhcpd died 4 times within 60s, not restarting it again")
    assert backend.started == [100, 101, 102, 103]
    assert status.restarts == 3
    assert clock.getDelayedCalls() == []


def test_ensure_running_after_giving_up_starts_afresh(backend, clock):
    """After a storm, an explicit request tries again with a fresh history."""
    backend.dies_at_start = True
    monitor = make_monitor(backend, clock, policy=RestartPolicy(storm_limit=1))
    started(monitor, clock)
    clock.pump([0.5] * 10)
    assert "not restarting" in monitor.status().reason
    backend.dies_at_start = False
    assert started(monitor, clock).action == "started"
    assert monitor.status().state == "running"
    assert monitor.status().restarts == 0


def test_failed_spawn_is_a_failed_start(backend, clock):
    """An error from the backend's start is DhcpdDidNotStart, and is retried later."""
    backend.start_error = FileNotFoundError("no such file: /usr/sbin/dhcpd")
    monitor = make_monitor(backend, clock)
    failure = started(monitor, clock)
    assert "could not start dhcpd: no such file" in str(failure.value)
    assert monitor.status().next_start == 1.0  # it failed at once, at 0
    backend.start_error = None
    clock.advance(0.5)  # the retry, at 1.0
    clock.advance(0.5)  # its settle time
    assert monitor.status().state == "running"


def test_ensure_stopped(backend, clock):
    """ensure_stopped stops dhcpd, reports off and stops watching."""
    monitor = make_monitor(backend, clock)
    started(monitor, clock)
    d = monitor.ensure_stopped()
    assert d.called
    assert backend.stopped == [100]
    status = monitor.status()
    assert (status.state, status.pid, status.spec) == ("off", None, None)
    assert clock.getDelayedCalls() == []


def test_ensure_stopped_cancels_a_pending_restart(backend, clock):
    """Stopping while a restart waits out its backoff cancels the restart."""
    monitor = make_monitor(backend, clock)
    started(monitor, clock)
    backend.crash(100)
    clock.advance(1.0)
    monitor.ensure_stopped()
    assert clock.getDelayedCalls() == []
    assert monitor.status().state == "off"


def test_ensure_stopped_with_spec_stops_an_unwatched_dhcpd(backend, clock):
    """Given a spec, ensure_stopped also stops a dhcpd an earlier rackd left at its files."""
    FakeBackend.start(backend, SPEC)
    monitor = make_monitor(backend, clock)
    monitor.ensure_stopped(SPEC)
    assert backend.stopped == [100]


def test_adoption_without_restart(backend, clock):
    """A dhcpd already running this spec and config is adopted: same pid, nothing started."""
    pid = backend.start(SPEC)  # as an earlier rackd would have
    monitor = make_monitor(backend, clock)
    d = monitor.ensure_running(SPEC)
    assert d.result == Outcome("adopted", pid, "dhcpd already runs this spec and config")
    assert backend.started == [pid]
    assert (monitor.status().state, monitor.status().pid) == ("running", pid)
    # A second call changes nothing.
    assert monitor.ensure_running(SPEC).result.action == "unchanged"


def test_changed_config_restarts(backend, clock):
    """A running dhcpd whose config changed is stopped and a new one started."""
    old = backend.start(SPEC)
    backend.configs[SPEC.config_path] = "sha-2"
    monitor = make_monitor(backend, clock)
    outcome = started(monitor, clock)
    assert outcome == Outcome("restarted", 101, "the config file changed since dhcpd 100 started")
    assert backend.stopped == [old]


def test_restart_requested_restarts_an_adoptable_dhcpd(backend, clock):
    """restart=True replaces even a dhcpd that could be adopted."""
    monitor = make_monitor(backend, clock)
    started(monitor, clock)
    outcome = started(monitor, clock, restart=True)
    assert outcome == Outcome("restarted", 101, "restart requested")
    assert backend.stopped == [100]


def test_changed_spec_stops_the_old_dhcpd(backend, clock):
    """A spec with other files or interfaces stops the dhcpd of the old spec first."""
    monitor = make_monitor(backend, clock)
    started(monitor, clock)
    other = attrs.evolve(SPEC, pid_path="/r/other.pid", interfaces=("eth1",))
    outcome = started(monitor, clock, spec=other)
    assert outcome.action == "started"
    assert backend.stopped == [100]
    assert monitor.status().spec == other


def test_restart_prepares_the_start_before_stopping_the_old_dhcpd(backend, clock):
    """A restart calls prepare_start while the old dhcpd still runs, then stops
    it, then starts with what prepare_start returned."""
    monitor = make_monitor(backend, clock)
    started(monitor, clock)
    backend.calls.clear()
    started(monitor, clock, restart=True)
    assert backend.calls == [("prepare", 0), ("stop", 100), ("start", ("prepared", 0))]


def test_changed_spec_prepares_before_the_old_dhcpd_stops(backend, clock):
    """With a new spec, the old spec's dhcpd is stopped only after the new
    start was prepared, and that preparation is the one used."""
    monitor = make_monitor(backend, clock)
    started(monitor, clock)
    backend.calls.clear()
    started(monitor, clock, spec=attrs.evolve(SPEC, pid_path="/r/other.pid"))
    assert backend.calls == [("prepare", 0), ("stop", 100), ("start", ("prepared", 0))]


def test_start_with_nothing_to_stop_is_not_prepared_apart(backend, clock):
    """A first start, or one after a crash, has no outage to shorten: start
    does all of its work itself."""
    monitor = make_monitor(backend, clock)
    started(monitor, clock)
    backend.crash(100)
    clock.pump([1.0, 1.0, 0.5])
    assert monitor.status().state == "running"
    assert backend.calls == [("start", None), ("start", None)]


def test_stop_service_leaves_dhcpd_running(backend, clock):
    """Stopping the service stops watching, not dhcpd, and leaves no calls behind."""
    monitor = make_monitor(backend, clock)
    started(monitor, clock)
    d = monitor.stopService()
    assert d.called
    assert backend.is_alive(100)
    assert backend.stopped == []
    assert clock.getDelayedCalls() == []


def test_stop_service_during_backoff_then_start_again(backend, clock):
    """A restart pending at stopService is cancelled, and rescheduled by startService."""
    monitor = make_monitor(backend, clock)
    started(monitor, clock)
    backend.crash(100)
    clock.advance(1.0)
    monitor.stopService()
    assert clock.getDelayedCalls() == []
    monitor.startService()
    clock.advance(0)
    clock.advance(0.5)
    assert monitor.status().state == "running"


def test_probe_answers_after_a_while(backend, clock):
    """The start is verified once the probe answers, retried until it does."""
    answers = iter([False, False, True])
    monitor = make_monitor(backend, clock, probe=lambda spec: defer.succeed(next(answers)))
    d = monitor.ensure_running(SPEC)
    clock.pump([0.5, 0.2, 0.2])
    assert d.result.action == "started"


def test_probe_never_answers(backend, clock):
    """A dhcpd that never answers the probe is a failed start: stopped, and reported."""
    monitor = make_monitor(backend, clock, probe=lambda spec: defer.succeed(False))
    d = monitor.ensure_running(SPEC)
    clock.pump([0.5] + [0.2] * 30)
    failure = []
    d.addErrback(failure.append)
    assert "dhcpd 100 did not answer within 5s" in str(failure[0].value)
    assert backend.stopped == [100]
    assert monitor.status().state == "dead"
    # The retry that is under way finishes (and fails) before the stop runs.
    monitor.ensure_stopped()
    clock.pump([0.5] * 20)
    assert monitor.status().state == "off"
    assert clock.getDelayedCalls() == []


def test_probe_that_hangs_times_out(backend, clock):
    """A probe whose Deferred never fires counts as no answer at the deadline."""
    monitor = make_monitor(backend, clock, probe=lambda spec: defer.Deferred())
    d = monitor.ensure_running(SPEC)
    clock.pump([0.5] + [0.5] * 12)
    failure = []
    d.addErrback(failure.append)
    assert "did not answer" in str(failure[0].value)


def test_ready_as_soon_as_the_probe_answers(backend, clock):
    """No fixed wait: a dhcpd whose probe answers at once is started without
    the clock moving, and only the watching poll is left scheduled."""
    monitor = make_monitor(backend, clock, probe=lambda spec: defer.succeed(True))
    d = monitor.ensure_running(SPEC)
    assert d.result == Outcome("started", 100, "no readable pid file")
    assert monitor.status().since == 0
    assert [call.getTime() for call in clock.getDelayedCalls()] == [monitor.poll_interval]


def test_probe_is_polled_at_short_intervals(backend, clock):
    """A dhcpd that starts listening 0.12 s after the spawn counts as started
    at the next poll of the probe (0.15 s), long before the old 0.5 s settle."""
    monitor = make_monitor(backend, clock,
                           probe=lambda spec: defer.succeed(clock.seconds() >= 0.12))
    results = []
    monitor.ensure_running(SPEC).addCallback(results.append)
    clock.pump([0.05] * 3)
    assert results and results[0].action == "started"
    assert monitor.status().since == pytest.approx(0.15)


def test_dhcpd_that_dies_during_start_up_is_dead_not_started(backend, clock):
    """A dhcpd that exits before it answers is reported with its exit status
    at the next poll, not at the deadline, and counts as a death."""
    def probe(spec):
        if clock.seconds() >= 0.1 and backend.is_alive(100):
            backend.crash(100, "exited with status 1")
        return defer.succeed(False)

    monitor = make_monitor(backend, clock, probe=probe)
    failures = []
    monitor.ensure_running(SPEC).addErrback(failures.append)
    clock.pump([0.05] * 3)
    assert "dhcpd 100 exited with status 1 while starting" in str(failures[0].value)
    assert monitor.status().state == "dead"
    assert monitor.status().next_start == pytest.approx(0.1 + 1.0)


def test_dhcpd_gone_right_after_an_answer_is_not_started(backend, clock):
    """Something answers on the port but dhcpd itself has exited (another
    listener held the port): that is a failed start, not a started dhcpd."""
    def probe(spec):
        backend.crash(100, "exited with status 1")
        return defer.succeed(True)

    monitor = make_monitor(backend, clock, probe=probe)
    failures = []
    monitor.ensure_running(SPEC).addErrback(failures.append)
    assert "dhcpd 100 exited with status 1 while starting" in str(failures[0].value)
    assert backend.started == [100]
    assert monitor.status().state == "dead"
