"""A peer that never reads its replies, in memory: rackd's AMP stops reading
from it once 64 KiB of replies wait unsent, and reads again once they have
gone (provisioningserver.rpc.guarded, the fourth guard).

The transport here is Twisted's own `FileDescriptor`, the write buffer of
rackd's UNIX and TCP transports, with only the socket replaced: its peer
takes bytes when the test says so. So what pauses and resumes the protocol,
and when a closing transport closes, is Twisted's code, not a fake's.
"""

from twisted.internet import abstract, task
from twisted.internet.address import UNIXAddress
from twisted.internet.interfaces import IPushProducer
from twisted.internet.testing import MemoryReactor, StringTransport
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.python.failure import Failure
from zope.interface.verify import verifyObject

from provisioningserver.rpc import ampbox
from provisioningserver.rpc.auth import Challenges
from provisioningserver.rpc.guarded import GuardedAMP, socket_transport
from provisioningserver.rpc.local import ControlLocator
from provisioningserver.rpc.region import GatedAMP
from tests.rpc.test_local import FakeConfigurator

BOUND = abstract.FileDescriptor.bufferSize  # 64 KiB: what may wait unsent
STATUS = ampbox.encode_box({ampbox.COMMAND: b"GetStatus", ampbox.ASK: b"1"})


class MemorySocket(abstract.FileDescriptor):
    """`FileDescriptor` over a socket in memory whose peer reads only in
    `peer_reads`; reading and writing are its reactor's reader and writer sets."""

    def __init__(self, protocol):
        super().__init__(reactor=MemoryReactor())
        self.connected = 1
        self.protocol = protocol
        self.taken = bytearray()  # what the peer has read
        self.lost = None  # the reason, once the connection is lost
        self._open = False
        protocol.makeConnection(self)
        self.startReading()

    def writeSomeData(self, data):
        if not self._open:
            return 0  # the peer reads nothing: the kernel's buffers are full
        self.taken += data
        return len(data)

    def getPeer(self):
        return UNIXAddress("peer.sock")

    def getHost(self):
        return UNIXAddress("rackd.sock")

    @property
    def reading(self):
        return self in self.reactor.getReaders()

    def buffered(self):
        """Bytes waiting unsent in the transport's write buffer."""
        return len(self.dataBuffer) - self.offset + self._tempDataLen

    def peer_sends(self, data):
        """``data`` arrives; delivered, as a reactor would, only while reading."""
        if self.reading:
            self.protocol.dataReceived(data)
            return True
        return False

    def peer_reads(self):
        """The peer reads all that comes, until nothing more is written."""
        self._open = True
        while self.lost is None and self in self.reactor.getWriters():
            why = self.doWrite()
            if why:  # what the reactor does with a descriptor that is done
                self.stopReading()
                self.stopWriting()
                self.connectionLost(Failure(why))
        self._open = False

    def connectionLost(self, reason):
        super().connectionLost(reason)
        self.lost = reason
        self.protocol.connectionLost(reason)


def control_socket():
    return MemorySocket(GuardedAMP(locator=ControlLocator(FakeConfigurator())))


def replies(data):
    return ampbox.BoxReader().feed(bytes(data))


REPLY = len(ampbox.encode_box({})) + 93  # one GetStatus answer: 95 bytes


def test_reading_stops_once_64_kib_of_replies_wait_and_resumes_when_they_have_gone():
    """3,000 GetStatus in one read: rackd answers until more than 64 KiB
    waits unsent, then stops reading and parsing (the rest of that read
    waits); once the peer has read, it answers the rest and reads again."""
    socket = control_socket()
    assert socket.peer_sends(STATUS * 3000)
    assert not socket.reading
    assert BOUND < socket.buffered() <= BOUND + REPLY
    socket.peer_sends(STATUS)  # not delivered: rackd does not read
    socket.peer_reads()
    assert socket.reading and socket.buffered() == 0
    assert len(replies(socket.taken)) == 3000


def test_a_peer_that_never_reads_is_read_no_further_however_long_it_sends():
    """A flood of 100 reads of 1,000 requests each: once the first read's
    replies fill the buffer nothing more is read, and what waits stays at
    the bound (without the guard: all 100,000 answered, 9 MB waiting)."""
    socket = control_socket()
    delivered = sum(socket.peer_sends(STATUS * 1000) for _ in range(100))
    assert delivered == 1
    assert socket.buffered() <= BOUND + REPLY


def test_closing_while_paused_closes_once_the_peer_has_read():
    """A transport closed while its producer is paused flushes first, then
    closes: the producer unregisters when asked to resume (a registered
    one would hold the close back for ever), and reads nothing more."""
    socket = control_socket()
    socket.peer_sends(STATUS * 3000)
    socket.loseConnection()
    assert socket.lost is None  # 64 KiB still to send
    socket.peer_reads()
    assert socket.lost is not None and socket.producer is None
    assert len(replies(socket.taken)) < 3000  # the requests held back are not answered


def test_closing_while_reading_closes_at_once_when_nothing_waits():
    """With the producer registered and not paused, a close goes through as
    without one (AMP's, GatedAMP's and ClientService's loseConnection)."""
    socket = control_socket()
    socket.peer_sends(STATUS * 10)
    socket.peer_reads()
    socket.loseConnection()
    socket.peer_reads()
    assert socket.lost is not None and len(replies(socket.taken)) == 10


def test_the_peer_going_away_while_paused_leaves_nothing_registered():
    """The transport's own connectionLost stops the producer; the
    protocol's connectionLost then has nothing left to unregister."""
    socket = control_socket()
    socket.peer_sends(STATUS * 3000)
    socket.connectionLost(Failure(ConnectionResetError()))
    assert socket.producer is None and socket.protocol.paused


def test_before_authentication_the_region_link_stops_reading_too():
    """GatedAMP answers NOT_AUTHENTICATED to a flood of GetDHCPStatus from
    a peer that has not authenticated; past 64 KiB of those it reads no more."""
    clock = task.Clock()
    socket = MemorySocket(GatedAMP(lambda: b"s" * 32, Challenges(), clock))
    flood = ampbox.encode_box({ampbox.COMMAND: b"GetDHCPStatus", ampbox.ASK: b"1"}) * 1000
    delivered = sum(socket.peer_sends(flood) for _ in range(20))
    assert delivered < 20 and not socket.reading
    assert socket.buffered() <= 2 * BOUND
    socket.connectionLost(Failure(ConnectionResetError()))
    assert clock.getDelayedCalls() == []


def test_the_producer_is_registered_below_a_wrapper_and_only_from_the_first_data():
    """Under a wrapper (TLS's is one) the producer is the socket transport's,
    not the wrapper's, and only once data has come: before, the handshake."""
    bottom = StringTransport()
    protocol = GuardedAMP(locator=ControlLocator(FakeConfigurator()))
    wrapper = ProtocolWrapper(WrappingFactory(None), protocol)
    wrapper.makeConnection(bottom)
    assert socket_transport(protocol.transport) is bottom
    assert bottom.producer is None
    wrapper.dataReceived(STATUS)
    assert bottom.producer is protocol and bottom.streaming


def test_it_is_a_push_producer_and_the_bench_can_turn_it_off():
    """GuardedAMP provides IPushProducer; with ``backpressure`` False (the
    bench's "bound off") nothing is registered."""
    assert verifyObject(IPushProducer, GuardedAMP())

    class Off(GuardedAMP):
        backpressure = False

    socket = MemorySocket(Off(locator=ControlLocator(FakeConfigurator())))
    socket.peer_sends(STATUS * 3000)
    assert socket.reading and socket.buffered() == 3000 * REPLY
