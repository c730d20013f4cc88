"""The monitor logs every dhcpd start, stop and death (one line each)."""

from twisted.internet import task

from tests.dhcpd.test_monitor import SPEC, FakeBackend, make_monitor, started
from tests.logged import logged


def lines(action):
    return logged(action, "provisioningserver.dhcpd")


def test_a_start_a_death_and_a_stop_are_each_logged():
    """Start, crash (with the restart decision) and stop each leave a line
    naming the family and the pid."""
    backend, clock = FakeBackend(), task.Clock()
    monitor = make_monitor(backend, clock)
    assert lines(lambda: started(monitor, clock)) == [
        "IPv4 started dhcpd 100 (/s/dhcpd.conf)"]
    death = lines(lambda: (backend.crash(100), clock.advance(monitor.poll_interval)))
    assert len(death) == 1 and "IPv4 dhcpd: dhcpd 100 killed by SIGKILL" in death[0]
    again = lines(lambda: (clock.advance(1), clock.advance(monitor.settle_time)))  # the restart
    assert again == ["IPv4 started dhcpd 101 (/s/dhcpd.conf)"]
    stop = lines(lambda: monitor.ensure_stopped(SPEC))
    assert stop == ["IPv4 dhcpd stopped on request"]
    assert lines(lambda: monitor.ensure_stopped(SPEC)) == []  # nothing ran: nothing to say
    monitor.stopService()
