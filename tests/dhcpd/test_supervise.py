"""Supervision decisions as tables: backoff, storm limit, expected state, adoption."""

import pytest

from provisioningserver.dhcpd.supervise import (
    Absent, Adopt, Dead, GiveUp, Nothing, ProcInfo, Refuse, RestartPolicy, Running, Sidecar,
    StartAfter, StartNow, Stop, adoption, decide, recent,
)

POLICY = RestartPolicy()


@pytest.mark.parametrize("recent_deaths, delay", [
    (0, 1.0), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 16.0), (6, 30.0), (20, 30.0),
])
def test_backoff_doubles_up_to_the_maximum(recent_deaths, delay):
    """The delay starts at initial_delay, doubles per recent death, and is capped at max_delay."""
    assert POLICY.delay(recent_deaths) == delay


def test_policy_rejects_non_positive_values():
    """A policy with a zero or negative setting is refused, naming the field."""
    with pytest.raises(ValueError, match="storm_limit"):
        RestartPolicy(storm_limit=0)


@pytest.mark.parametrize("deaths, now, expected", [
    ((), 100.0, ()),
    ((10.0, 50.0, 99.0), 100.0, (50.0, 99.0)),  # 10.0 is 90s old: outside the 60s window
    ((40.0,), 100.0, ()),  # exactly the window's length ago: forgotten
    ((40.1,), 100.0, (40.1,)),
])
def test_recent_keeps_deaths_inside_the_window(deaths, now, expected):
    """Only deaths younger than storm_window count."""
    assert recent(deaths, now, POLICY) == expected


@pytest.mark.parametrize("expected_on, observed, deaths, now, action", [
    # Expected off: stop what runs, leave alone what does not.
    (False, Running(42), (), 0.0, Stop(42, "dhcpd is expected off")),
    (False, Dead("exited"), (0.0,), 0.0, Nothing()),
    (False, Absent(), (), 0.0, Nothing()),
    # Expected on.
    (True, Running(42), (), 0.0, Nothing()),
    (True, Absent(), (), 0.0, StartNow("dhcpd is expected on and is not running")),
    (True, Dead("x"), (100.0,), 100.0, StartAfter(1.0, "x; restarting in 1s")),
    (True, Dead("x"), (99.0, 100.0), 100.0, StartAfter(2.0, "x; restarting in 2s")),
    (True, Dead("x"), (0.0, 1.0, 3.0, 7.0, 15.0), 15.0, StartAfter(16.0, "x; restarting in 16s")),
    # A dhcpd that dies at once each time gives up at the sixth death.
    (True, Dead("x"), (0.0, 1.0, 3.0, 7.0, 15.0, 31.0), 31.0,
     GiveUp("x; dhcpd died 6 times within 60s, not restarting it again")),
    # Old deaths fall out of the window: the backoff starts afresh.
    (True, Dead("x"), (0.0, 1.0, 3.0, 7.0, 15.0, 200.0), 200.0,
     StartAfter(1.0, "x; restarting in 1s")),
])
def test_decide(expected_on, observed, deaths, now, action):
    """Each combination of expected state, observation and history has one action."""
    assert decide(expected_on, observed, deaths, now, POLICY) == action


def test_storm_limit_is_configurable():
    """With storm_limit=1 the second death inside the window gives up."""
    policy = RestartPolicy(storm_limit=1)
    assert isinstance(decide(True, Dead("x"), (0.0,), 0.0, policy), StartAfter)
    assert isinstance(decide(True, Dead("x"), (0.0, 1.0), 1.0, policy), GiveUp)


CMD = ("/usr/sbin/dhcpd", "-d", "-4", "-cf", "/s/dhcpd.conf")
OTHER_CMD = ("/usr/sbin/dhcpd", "-d", "-4", "-cf", "/s/dhcpd.conf", "eth1")
SIDECAR = Sidecar(pid=42, command=CMD, config_sha256="aa", started_at=5.0, proc_start=777)
PROC = ProcInfo(cmdline=CMD, state="S", proc_start=777)


@pytest.mark.parametrize("command, sha, pidfile_pid, sidecar, proc, verdict", [
    (CMD, "aa", 42, SIDECAR, PROC, Adopt(42)),
    # An older sidecar without a start tick is still adoptable.
    (CMD, "aa", 42, Sidecar(42, CMD, "aa", 5.0), PROC, Adopt(42)),
    (CMD, "aa", None, SIDECAR, PROC, Refuse("no readable pid file")),
    # No start record (rackd killed right after the spawn), or one of an
    # earlier dhcpd: a process running this command line is rackd's, to stop.
    (CMD, "aa", 42, None, PROC, Refuse("no readable start record next to the pid file", 42)),
    (CMD, "aa", 42, None, ProcInfo(("/bin/sleep", "100"), "S", 777),
     Refuse("no readable start record next to the pid file")),
    (OTHER_CMD, "aa", 42, None, PROC, Refuse("no readable start record next to the pid file")),
    (CMD, "aa", 43, SIDECAR, PROC, Refuse("pid file says 43 but the start record says 42", 43)),
    (CMD, "aa", 43, SIDECAR, None, Refuse("pid file says 43 but the start record says 42")),
    (CMD, "aa", 42, SIDECAR, None, Refuse("process 42 is not running")),
    (CMD, "aa", 42, SIDECAR, ProcInfo(CMD, "Z", 777), Refuse("process 42 has exited (zombie)")),
    (CMD, "aa", 42, SIDECAR, ProcInfo(CMD, "S", 999),
     Refuse("process 42 is not the one rackd started (pid reused)")),
    (CMD, "aa", 42, SIDECAR, ProcInfo(("/bin/sleep", "100"), "S", 777),
     Refuse("process 42 is not the one rackd started (command line differs)")),
    # rackd's own dhcpd, but not for this spec or this config: stale, to be stopped.
    (OTHER_CMD, "aa", 42, SIDECAR, PROC, Refuse("dhcpd 42 runs with another command line", 42)),
    (CMD, None, 42, SIDECAR, PROC, Refuse("the config file is missing", 42)),
    (CMD, "bb", 42, SIDECAR, PROC, Refuse("the config file changed since dhcpd 42 started", 42)),
])
def test_adoption(command, sha, pidfile_pid, sidecar, proc, verdict):
    """A running dhcpd is adopted only when pid file, start record, /proc and config agree;
    otherwise the verdict says why, and names rackd's own process when it is stale."""
    assert adoption(command, sha, pidfile_pid, sidecar, proc) == verdict
