"""AMP that bad input cannot take down: the control socket's and the region link's.

Twisted's AMP loses a connection to bad input in three ways, and lets one
peer grow rackd without bound in a fourth; rackd did each of them until
this module:

- An argument that does not decode (a chunk count of 0 or 10^20, chunks
  missing, data that is not zlib, a bomb past 256 MiB, JSON nested 100,000
  deep, ``ip_version=b"x"``) raises inside ``parseArguments``, before the
  responder runs, where no declared error can catch it: AMP answers
  "Unknown Error" and closes the connection. Here it is answered as the
  declared ``INVALID_DOCUMENT``, naming the argument and why, and the
  connection stays open.
- An error description is one AMP value, at most 65,535 bytes; 3,000 field
  errors are more, and the reply then raises `TooLong` while it is sent:
  the caller gets no reply at all and the connection drops. Here every
  error description is fitted first (`ampbox.fit_description`: the first
  field errors, and ``omitted``, the count of the rest).
- A box is buffered until its empty key, and a box may hold any number of
  keys: a peer sending a box that never ends made rackd hold all of it (a
  64 MiB one grew rackd from 60 to 124 MiB). Here an unfinished box may
  hold ``max_box`` bytes (`ampbox.MAX_BOX`; the region link asks far less
  before its peer has authenticated); past that the connection is closed
  with one log line. That is the one case where closing is right: the
  rest of the box can only be skipped by reading it.
- A reply waits in the transport's write buffer until the peer reads it,
  and AMP answers every request it reads: a peer that sent small requests
  and never read made rackd keep every reply (8 s of them grew rackd by
  16.7 MiB on the control socket and 29.3 MiB on the region link before
  authentication; bench/amp_buffer.py --flood). Here the protocol is a
  streaming producer of the socket's transport: once more than the
  transport's ``bufferSize`` (64 KiB) waits unsent, the transport pauses
  it, and it reads nothing more from that peer (what it has read but not
  parsed waits too: AMP's parser stops between boxes when paused); once
  the buffer has drained, it reads again. The same 8 s grew rackd by 0.1
  MiB, as much as a peer that reads. Other peers are not slowed: each
  connection pauses alone.

How the producer is registered, and why not simply on ``self.transport``:

- Only from the first data on. Before it, nothing was asked, so there is
  nothing to answer; and it keeps the producer out of a TLS handshake.
- On the transport that owns the socket, below TLS's wrapper (the region
  link's `TLSMemoryBIOProtocol`), for two reasons. The wrapper pauses its
  producer whenever it buffers a write the handshake is not ready for, and
  pausing stops the socket reading, so the handshake that would resume it
  never finishes (an earlier attempt, registered at connectionMade, stalled
  so). And the wrapper's ``loseConnection`` does not close while a producer
  is registered, until that producer unregisters; `ClientService` stops by
  calling ``loseConnection`` on the transport itself, so rackd's stop
  waits for ever (tests/region/test_tls.py hung so, with the producer
  registered on the wrapper from the first data on). Under the wrapper the
  bound is the same 64 KiB, of TLS records.
- Closing needs nothing from the close paths (``loseConnection`` is called
  by this module, by `GatedAMP`, by AMP itself and by `ClientService`): a
  socket's transport closes once its buffer is flushed when its producer
  is not paused, and when it is, it asks the producer to resume; a
  producer whose transport is closing unregisters instead, and the close
  goes ahead. A peer that never reads is then not closed (as before: a
  closing transport flushes first), but it holds at most the bound.

How an argument's fault is told from the responder's: a `CommandLocator`'s
responder parses the box's arguments before it calls the method, and calls
the method through ``maybeDeferred``; so what it raises at once is the
arguments', and what its Deferred fails with is the method's, which the
command's declared errors (and `rpc.local.translate`) deal with.
"""

from twisted.internet import defer
from twisted.internet.interfaces import IPushProducer
from twisted.logger import Logger
from twisted.protocols import amp
from twisted.protocols.policies import ProtocolWrapper
from zope.interface import implementer

from provisioningserver.rpc import ampbox, control, controlspec

log = Logger()

INVALID_DOCUMENT = controlspec.INVALID_DOCUMENT.encode("ascii")


@implementer(IPushProducer)
class GuardedAMP(amp.AMP):
    """`amp.AMP` with the four guards of the module docstring."""

    max_box = ampbox.MAX_BOX  # bytes one unfinished box may hold
    backpressure = True  # read nothing while the replies fill the write buffer

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._box_bytes = 0
        self._overflowed = False
        self._socket = None  # the transport this is the producer of
        self._produced = False  # registered once; not again once released

    def dataReceived(self, data):
        if data and not self._produced and self.backpressure:
            self._produced = True
            self._socket = socket_transport(self.transport)
            self._socket.registerProducer(self, True)  # a closed one calls stopProducing
        super().dataReceived(data)

    def pauseProducing(self):
        """More than the bound waits unsent: stop reading, and parsing."""
        self.paused = True
        self._socket.pauseProducing()

    def resumeProducing(self):
        """The write buffer has drained: read and parse again, unless closing."""
        if self._socket.disconnecting:
            self._release()  # a registered producer would hold the close back
            return
        self.paused = False
        self._socket.resumeProducing()
        self.dataReceived(b"")  # what was read before the pause

    def stopProducing(self):
        """The socket is gone: nothing more to read."""
        self.paused = True
        self._socket = None

    def _release(self):
        socket, self._socket = self._socket, None
        if socket is not None:
            socket.unregisterProducer()

    def connectionLost(self, reason):
        self._release()
        super().connectionLost(reason)

    def stringReceived(self, string):
        if self._overflowed:
            return  # the connection is closing: the rest is not read
        self._box_bytes += 2 + len(string)
        if self._box_bytes > self.max_box:
            self._overflowed = True
            log.warn("Closing the AMP connection from {peer}: a box passed {limit} bytes "
                     "without ending", peer=peer_of(self), limit=self.max_box)
            self.transport.loseConnection()
            return
        super().stringReceived(string)
        if self.state == "init":  # that was a box's empty key: the next box starts
            self._box_bytes = 0

    def dispatchCommand(self, box):
        responder = self.locator.locateResponder(box[amp.COMMAND])
        if responder is None:
            return super().dispatchCommand(box)  # AMP's own "unhandled command"
        try:
            answered = responder(box)
        except Exception as error:  # raised before the method ran: its arguments
            answered = defer.fail(unreadable(error))
        return defer.maybeDeferred(lambda: answered).addErrback(fitted)


def unreadable(error):
    """The declared error for arguments that could not be read."""
    if not isinstance(error, ampbox.BadArgument):
        # Twisted's own argument types name no argument.
        error = ampbox.BadArgument("", f"an argument cannot be read: "
                                       f"{type(error).__name__}: {error}"[:300])
    return amp.RemoteAmpError(INVALID_DOCUMENT, str(control.bad_argument(error)))


def fitted(failure):
    """``failure``, its error description made to fit one AMP value."""
    error = failure.value
    if isinstance(error, amp.RemoteAmpError):
        text = error.description
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        fit = ampbox.fit_description(text)
        if fit != text:
            return defer.fail(amp.RemoteAmpError(error.errorCode, fit, error.fatal))
    return failure


def socket_transport(transport):
    """The transport under any wrappers (TLS's): the one that owns the socket."""
    while isinstance(transport, ProtocolWrapper):
        transport = transport.transport
    return transport


def peer_of(protocol):
    """The far end of a connection, for the log ("?" once it is gone)."""
    try:
        return str(protocol.transport.getPeer())
    except AttributeError:
        return "?"
