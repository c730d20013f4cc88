"""When requests leave: at once, not on the reactor's next turn.

Twisted's TCP transport buffers a write and sends it when the reactor next
finds the socket writable, after the read in hand has been handled whole.
`omapi.sending.Sender` sends a request as it is written, and of the
requests a read's replies make room for, the first at once and the rest
together at the end of the read: on the socket itself under a plain TCP
transport, else through the transport and its ``doWrite``.
`KernelTransport` below stands in for a transport of the second kind: what
is written reaches ``sent`` (the kernel) only through ``doWrite``;
`SocketTransport` has a real socket (one end of a socketpair) under it.
"""

import socket

from pypureomapi import (
    OMAPI_OP_UPDATE,
    InBuffer,
    OmapiHMACMD5Authenticator,
    OmapiMessage,
    OmapiStartupMessage,
)
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from provisioningserver.omapi.errors import OmapiConnectionLost
from provisioningserver.omapi.objects import object_open
from provisioningserver.omapi.protocol import OmapiConnection
from provisioningserver.omapi.sending import Sender
from provisioningserver.omapi.wire import encode_startup
from tests.omapi.fake import AUTHID
from tests.omapi.test_client import SECRET, failure_of, result_of, server_reply


class KernelTransport(StringTransport):
    """A StringTransport that hands its buffer on only when ``doWrite`` is
    called, as Twisted's TCP transports do; each call that finds something
    to send is one entry of ``sent``."""

    connected = True

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
    assert transport.sent.pop() == encode_startup()
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


def test_a_reads_first_request_leaves_at_once_and_the_rest_together_at_its_end():
    """Three replies in one read, each of whose callbacks sends a further
    request: the first is sent as it is made, before the next reply is
    handled; the other two wait for the end of the read and go in one
    send."""
    connection, transport = ready_connection()
    first = [lookup(connection, i) for i in range(3)]
    replies = b"".join(server_reply(r, (23, b"x")) for r in requests_in(b"".join(transport.sent)))
    transport.sent.clear()
    seen_mid_read = []
    for i, waiting in enumerate(first):
        def again(_, i=i):
            lookup(connection, 10 + i)
            seen_mid_read.append(len(transport.sent))
        waiting.addCallback(again)
    connection.dataReceived(replies)
    assert seen_mid_read == [1, 1, 1]
    assert [[m.obj for m in requests_in(sent)] for sent in transport.sent] == [
        [[(b"name", b"h10")]], [[(b"name", b"h11")], [(b"name", b"h12")]]]


def test_requests_held_in_a_read_that_drops_the_connection_are_not_sent():
    """A read whose replies cause requests and then a protocol error: the
    first request already left, the held ones are never sent, and every
    request outstanding fails."""
    connection, transport = ready_connection()
    first = [lookup(connection, i) for i in range(2)]
    replies = b"".join(server_reply(r, (23, b"x")) for r in requests_in(b"".join(transport.sent)))
    transport.sent.clear()
    later = []
    for waiting in first:
        waiting.addCallback(lambda _: later.append(lookup(connection, len(later) + 10)))
    stray = server_reply(OmapiMessage(tid=1, rid=12345))
    connection.dataReceived(replies + stray)
    assert [[m.obj for m in requests_in(sent)] for sent in transport.sent] == [[[(b"name", b"h10")]]]
    assert not connection.usable
    for waiting in later:
        failure_of(waiting, OmapiConnectionLost)


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


class SocketTransport(KernelTransport):
    """A KernelTransport with a real, non-blocking socket under it."""

    def __init__(self, sock):
        super().__init__()
        self.socket = sock

    def getHandle(self):
        return self.socket


def socket_sender():
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    transport = SocketTransport(ours)
    return Sender(transport), transport, ours, theirs


def test_under_a_plain_socket_each_write_is_one_send_on_it():
    """With a socket under the transport, a write goes straight to it: the
    peer can read it at once, and the transport's buffer is never used."""
    sender, transport, ours, theirs = socket_sender()
    with ours, theirs:
        sender.write(b"one")
        sender.write(b"two")
        assert sender.direct and theirs.recv(100) == b"onetwo"
        assert transport.value() == b"" and transport.sent == []


def test_a_write_the_kernel_will_not_take_whole_goes_on_through_the_transport():
    """Once the socket's buffer is full, the rest of that write and every
    later write go to the transport, in order: nothing overtakes the rest."""
    sender, transport, ours, theirs = socket_sender()
    with ours, theirs:
        chunk = bytes(range(256)) * 256
        written = 0
        while sender.direct:
            sender.write(chunk)
            written += 1
        sender.write(b"after")
        assert not sender.direct
        stream = b"".join(transport.sent) + transport.value()
        received = bytearray()
        while True:
            try:
                received += theirs.recv(1 << 20, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
        assert bytes(received) + stream == chunk * written + b"after"
        assert stream.endswith(b"after") and len(stream) > len(b"after")


def test_send_delivers_each_reply_once_and_survives_a_deliver_that_raises():
    """`send` hands each reply to its plain function exactly once; one that
    raises is logged, and the connection goes on answering the next."""
    from twisted.logger import globalLogPublisher

    connection, transport = ready_connection()
    got, logged = [], []

    def broken(reply, error):
        got.append((reply.rid, error))
        raise RuntimeError("a bug in the caller")

    globalLogPublisher.addObserver(logged.append)
    try:
        connection.send(object_open(b"host", name="a"), "look up a", broken)
        (request,) = requests_in(transport.sent.pop())
        connection.dataReceived(server_reply(request, (23, b"x")))
    finally:
        globalLogPublisher.removeObserver(logged.append)
    assert got == [(request.tid, None)]
    assert any("not handled" in e.get("log_format", "") for e in logged)
    assert connection.usable and connection.outstanding == 0
    waiting = lookup(connection, 2)
    (request,) = requests_in(transport.sent.pop())
    connection.dataReceived(server_reply(request, (23, b"x")))
    assert result_of(waiting).rid == request.tid
