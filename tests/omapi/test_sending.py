"""When requests leave: at once, not on the reactor's next turn.

Twisted's TCP transport buffers a write and sends it when the reactor next
finds the socket writable, after the read in hand has been handled whole.
`OmapiConnection` calls the transport's ``doWrite`` itself after each
request, so that a request leaves in the turn that made it, even while the
rest of a read's replies wait to be handled. `KernelTransport`
below stands in for the TCP transport: what is written reaches ``sent`` (the
kernel) only through ``doWrite``.
"""

from pypureomapi import (
    OMAPI_OP_UPDATE,
    InBuffer,
    OmapiHMACMD5Authenticator,
    OmapiMessage,
    OmapiStartupMessage,
)
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from provisioningserver.omapi.objects import object_open
from provisioningserver.omapi.protocol import OmapiConnection
from tests.omapi.fake import AUTHID
from tests.omapi.test_client import SECRET, result_of, server_reply


class KernelTransport(StringTransport):
    """A StringTransport that hands its buffer on only when ``doWrite`` is
    called, as Twisted's TCP transports do; each call that finds something
    to send is one entry of ``sent``."""

    def __init__(self):
        super().__init__()
        self.sent = []
        self.no_delay = False

    def setTcpNoDelay(self, enabled):
        self.no_delay = enabled

    def doWrite(self):
        if self.value():
            self.sent.append(self.value())
            self.clear()


def requests_in(data):
    """The OMAPI messages in ``data``, in order."""
    buffer, found = InBuffer(data), []
    while (parsed := next(buffer.parse_message())) is not None:
        found.append(parsed)
        buffer.resetsize()
    return found


def ready_connection():
    """An OmapiConnection on a KernelTransport, past startup and key check."""
    transport = KernelTransport()
    connection = OmapiConnection(Clock(), OmapiHMACMD5Authenticator(b"omapi_key", SECRET.encode()),
                                 5.0)
    connection.makeConnection(transport)
    transport.clear()  # the startup message
    connection.dataReceived(OmapiStartupMessage().as_string())
    (opening,) = requests_in(transport.sent.pop())
    connection.dataReceived(
        OmapiMessage(opcode=OMAPI_OP_UPDATE, handle=AUTHID, rid=opening.tid).as_string())
    (check,) = requests_in(transport.sent.pop())
    connection.dataReceived(server_reply(check, (23, b"no object")))
    assert result_of(connection.ready) is connection and transport.sent == []
    return connection, transport


def lookup(connection, i):
    return connection.request(object_open(b"host", name=f"h{i}"), f"look up h{i}")


def test_nagle_is_turned_off():
    """The connection asks its transport for TCP_NODELAY as it is made."""
    _, transport = ready_connection()
    assert transport.no_delay


def test_a_request_outside_a_read_is_sent_before_request_returns():
    """A request made from outside a read is handed to the kernel within
    `request`, nothing of it left in the transport's buffer."""
    connection, transport = ready_connection()
    lookup(connection, 1)
    assert transport.value() == b""
    assert [m.obj for m in requests_in(transport.sent[0])] == [[(b"name", b"h1")]]


def test_a_request_a_reply_makes_room_for_leaves_before_the_next_reply():
    """Three replies in one read, each of whose callbacks sends a further
    request: each request is sent as it is made, before the next reply of
    the same read is handled."""
    connection, transport = ready_connection()
    first = [lookup(connection, i) for i in range(3)]
    replies = b"".join(server_reply(r, (23, b"x")) for r in requests_in(b"".join(transport.sent)))
    transport.sent.clear()
    seen_mid_read = []
    for i, waiting in enumerate(first):
        def again(_, i=i):
            seen_mid_read.append(len(transport.sent))
            lookup(connection, 10 + i)
        waiting.addCallback(again)
    connection.dataReceived(replies)
    assert seen_mid_read == [0, 1, 2]
    assert [m.obj for sent in transport.sent for m in requests_in(sent)] == [
        [(b"name", f"h{10 + i}".encode())] for i in range(3)]


def test_a_read_that_causes_no_request_sends_nothing():
    """A reply whose callback sends nothing makes no send at all."""
    connection, transport = ready_connection()
    waiting = lookup(connection, 1)
    (request,) = requests_in(transport.sent.pop())
    connection.dataReceived(server_reply(request, (23, b"x")))
    result_of(waiting)
    assert transport.sent == []


def test_a_closing_transport_is_left_to_send_by_itself():
    """Once the transport is closing, requests are only buffered: its own
    last write is what closes it, so the connection does not write for it."""
    connection, transport = ready_connection()
    transport.loseConnection()
    lookup(connection, 1)
    assert transport.sent == []
    assert [m.obj for m in requests_in(transport.value())] == [[(b"name", b"h1")]]
