"""Timeouts by progress: a dhcpd that answers slowly, in order, is never
timed out; one that stops answering is, after ``timeout`` seconds of
silence, with every outstanding request failing alike.

The connection under test is an `OmapiConnection` on a `task.Clock`, wired
to the fake server of tests/omapi/fake.py in memory; the fake's `pace`
answers one request per interval of the same clock, as dhcpd does when each
host change waits for its fsync.
"""

import base64

from pypureomapi import OMAPI_OP_STATUS, OmapiHMACMD5Authenticator
from twisted.internet.task import Clock

from provisioningserver.omapi import errors
from provisioningserver.omapi.objects import object_open
from provisioningserver.omapi.protocol import OmapiConnection
from tests.omapi.fake import FakeOmapiServer, connect_in_memory
from tests.omapi.test_client import failure_of, has_result, result_of

SECRET = base64.b64encode(b"s3cret-for-the-omapi-tests!")


def connected(timeout):
    """A ready connection to a fake server, both on one fresh clock."""
    clock = Clock()
    server = FakeOmapiServer(key_secret=SECRET)
    auth = OmapiHMACMD5Authenticator(b"omapi_key", SECRET)
    connection = OmapiConnection(clock, auth, timeout, "fake dhcpd")
    pump = connect_in_memory(server, connection, clock)
    pump.flush()
    assert result_of(connection.ready) is connection
    return clock, server, connection, pump


def lookups(connection, count):
    return [connection.request(object_open(b"host", name=f"h{i}"), f"look up h{i}")
            for i in range(count)]


def test_slow_server_answering_in_order_is_not_timed_out():
    """100 requests outstanding on a server that answers one per 0.1 s (10 s
    for the last) all get their replies with a timeout of 1 s, because each
    reply shows dhcpd is still working through them; no timer is left."""
    clock, server, connection, pump = connected(timeout=1.0)
    server.pace(clock, 0.1)
    waiting = lookups(connection, 100)
    pump.flush()
    for _ in range(100):
        clock.advance(0.1)
        pump.flush()
    assert all(result_of(d).opcode == OMAPI_OP_STATUS for d in waiting)
    assert connection.usable and connection.outstanding == 0
    server.stop_answering()
    assert clock.getDelayedCalls() == []


def test_silent_server_times_out_after_timeout_and_fails_all_alike():
    """Once the server stops answering, nothing fails until ``timeout``
    seconds after its last reply; then every outstanding request fails with
    OmapiTimeout saying the same thing, and the connection is dropped."""
    clock, server, connection, pump = connected(timeout=1.0)
    server.pace(clock, 0.1)
    waiting = lookups(connection, 10)
    pump.flush()
    for _ in range(3):
        clock.advance(0.1)
        pump.flush()
    server.stop_answering()
    assert [has_result(d) for d in waiting] == [True] * 3 + [False] * 7
    clock.advance(0.99)
    pump.flush()
    assert not any(has_result(d) for d in waiting[3:])
    clock.advance(0.02)
    pump.flush()
    failed = [failure_of(d, errors.OmapiTimeout) for d in waiting[3:]]
    assert {str(e).split(": ", 1)[1] for e in failed} == {
        "no reply from fake dhcpd within 1.0s (7 requests outstanding); connection dropped"}
    assert [str(e).split(":")[0] for e in failed] == [f"look up h{i}" for i in range(3, 10)]
    assert not connection.usable
    assert clock.getDelayedCalls() == []


def test_idle_connection_measures_silence_from_the_next_request():
    """A connection idle for longer than the timeout does not time out the
    next request at once: its silence is counted from when it was sent."""
    clock, server, connection, pump = connected(timeout=1.0)
    clock.advance(5)
    server.hold = True
    (waiting,) = lookups(connection, 1)
    pump.flush()
    clock.advance(0.9)
    assert not has_result(waiting)
    server.release()
    pump.flush()
    assert result_of(waiting).opcode == OMAPI_OP_STATUS
    assert clock.getDelayedCalls() == []


def test_late_timer_reads_waiting_replies_before_timing_out():
    """When rackd's reactor was itself busy past the deadline, replies that
    arrived meanwhile are read before the verdict: the timer's first late
    firing only takes one more turn, and the replies count as progress."""
    clock, server, connection, pump = connected(timeout=1.0)
    server.hold = True
    waiting = lookups(connection, 3)
    pump.flush()
    server.release(2)  # written by dhcpd, not yet read by rackd
    clock.advance(4)  # the reactor was blocked for 4 s
    assert not any(has_result(d) for d in waiting)
    pump.flush(advanceClock=False)  # the reactor reads its sockets
    clock.advance(0.01)
    assert [has_result(d) for d in waiting] == [True, True, False]
    assert connection.usable
    clock.advance(1.0)
    failure_of(waiting[2], errors.OmapiTimeout)


def test_connection_loss_is_not_reported_as_a_timeout():
    """Requests outstanding when the connection is lost fail with
    OmapiConnectionLost, and the silence timer goes with the connection."""
    clock, server, connection, pump = connected(timeout=1.0)
    server.hold = True
    waiting = lookups(connection, 2)
    pump.flush()
    server.transport.loseConnection()
    pump.flush()
    for d in waiting:
        failure_of(d, errors.OmapiConnectionLost)
    assert clock.getDelayedCalls() == []
