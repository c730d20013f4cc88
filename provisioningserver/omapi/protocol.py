"""One OMAPI conversation with dhcpd over a TCP connection, for Twisted.

How it works. Both sides first send a startup message (protocol version 100,
header size 24); a different version ends the connection. The client then
opens dhcpd's *authenticator* object with the key's name and algorithm, sent
unsigned; dhcpd answers with the authenticator id that every later message
carries and is signed with (HMAC-MD5 over the message without its
authenticator id). A wrong secret is not refused at that point: dhcpd only
notices it on the first signed request and answers that one with an unsigned
status. So the connection sends one harmless signed lookup before it calls
itself ready, and a wrong key surfaces as `OmapiNotAuthorized` at connect
time instead of on the caller's first real request.

After that, requests may be written back to back. Each gets a fresh
transaction id (tid); dhcpd answers in order and puts the request's tid in the
reply's rid, which is how a reply finds its request. A reply signed by
anyone else, or with a signature that does not verify, is never taken as a
success. A request is answered through a Deferred (`request`), or, for the
thousands of a batch, through a plain function called inside the read that
brought the reply (`send`), which costs no Deferred per request.

Timeouts go by progress, not by request. dhcpd answers in order and commits
(fsyncs) every host change before it reads the next request, so the last of
16 outstanding adds waits for the 15 before it: a timer per request would
call a dhcpd that is busy but answering "gone". One timer per connection
runs while requests are outstanding; every reply moves its deadline to
``timeout`` seconds later (cheaply: the reply notes the time, and the timer,
when it fires, re-arms itself for what is left). It expires only when
nothing at all was answered for ``timeout`` seconds; then the connection is
aborted, because the position of the stream is unknown, and every
outstanding request fails with the same `OmapiTimeout`. A timer that fires
late, because rackd's own reactor was busy, first lets the reactor read
what has arrived meanwhile (one more turn), so that replies waiting in the
socket are not mistaken for silence. How many requests are outstanding at
once is the caller's business (`OmapiClient` keeps a window).

Requests leave at once, in the reactor turn that made them, not on the
next one: see `omapi.sending`.

The framing is `omapi_wire`'s (pypureomapi's format, encoded and decoded
with less CPU); its size limit counts the bytes of one incomplete message,
so many small pipelined replies may arrive in one read.
"""

import random
from functools import partial

from pypureomapi import OMAPI_OP_STATUS, OMAPI_OP_UPDATE, OmapiMessage
from pypureomapi import OmapiError as PureOmapiError
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol
from twisted.logger import Logger

from provisioningserver.omapi.errors import (
    OmapiConnectionLost,
    OmapiError,
    OmapiNotAuthorized,
    OmapiProtocolError,
    OmapiTimeout,
)
from provisioningserver.omapi.objects import (
    authenticator_open,
    check_reply,
    object_open,
)
from provisioningserver.omapi.sending import Sender
from provisioningserver.omapi.wire import (
    Decoder,
    encode,
    encode_signed,
    encode_startup,
    sign,
    verifies,
)

_KEY_CHECK_NAME = "rackd-omapi-key-check"

log = Logger()


# A timer that fires this much later than asked was held up by the reactor,
# not by dhcpd: give the reactor a turn to read replies before deciding. The
# second look is a short delay, not callLater(0), so that the reactor polls
# its sockets before it (a reactor runs due calls before it polls again).
_LATE = 0.25
_SECOND_LOOK = 0.01


def _settle(deferred, reply, error):
    if error is None:
        deferred.callback(reply)
    else:
        deferred.errback(error)


class OmapiConnection(Protocol):
    """The client side of one OMAPI connection.

    ``ready`` fires with this protocol once the key is accepted, or fails with
    an `OmapiError`; ``closed`` fires when the connection is gone. ``authenticator`` is a fresh pypureomapi HMAC-MD5
    authenticator (it learns its id from this connection).
    """

    def __init__(self, clock, authenticator, timeout, peer="dhcpd"):
        self.ready = Deferred()
        self.closed = Deferred()
        self._clock = clock
        self._authenticator = authenticator
        self._timeout = timeout
        self._peer = peer
        self._decoder = Decoder()
        self._pending = {}
        self._tid = random.SystemRandom().randrange(1, 1 << 31)
        self._signed = False
        self._lost_because = None
        self._handshake_timer = None
        self._silence_timer = None
        self._sender = None
        self._last_progress = 0.0
        self.connected = False

    @property
    def usable(self):
        """True while requests may be sent on this connection."""
        return self.connected and self.ready.called and self._lost_because is None

    @property
    def outstanding(self):
        return len(self._pending)

    def connectionMade(self):
        self.connected = True
        self._sender = Sender(self.transport)
        self._handshake_timer = self._clock.callLater(
            self._timeout, self._handshake_timed_out
        )
        self._sender.write(encode_startup())

    def request(self, message, doing):
        """Sign and send ``message``; a Deferred firing with dhcpd's reply.

        The reply is not interpreted here beyond its signature: see
        `omapi_objects.check_reply`. ``doing`` names the request in errors.
        """
        done = Deferred()
        self.send(message, doing, partial(_settle, done))
        return done

    def send(self, message, doing, deliver):
        """`request` without a Deferred: sign and send ``message``, and call
        ``deliver(reply, None)`` with dhcpd's reply, or ``deliver(None,
        error)`` with an `OmapiError`, exactly once. ``deliver`` runs inside
        the read that brought the reply and may send again at once; it must
        not raise (what it raises is logged, and the read goes on). A batch
        of thousands pays for this path per change, not for a Deferred.
        """
        if self._lost_because is not None or not self.connected:
            raise OmapiConnectionLost(f"{doing}: connection to {self._peer} is closed")
        self._send(message, doing, deliver, sign_it=True)

    def drop(self, error):
        """Abort the connection: every outstanding request fails now, since no
        later reply on this stream can be trusted to be in step."""
        if self._lost_because is None:
            self._lost_because = error
        self._fail_outstanding()
        if self.connected:
            self.transport.abortConnection()

    def dataReceived(self, data):
        self._decoder.feed(data)
        self._sender.hold_after_first()
        try:
            self._parse()
        except OmapiProtocolError as e:
            self.drop(OmapiProtocolError(f"bad OMAPI frame from {self._peer}: {e}"))
        finally:
            self._sender.release(send=self._lost_because is None)

    def connectionLost(self, reason):
        self.connected = False
        if self._handshake_timer is not None and self._handshake_timer.active():
            self._handshake_timer.cancel()
        why = self._lost_because
        if why is None:
            why = OmapiConnectionLost(
                f"connection to {self._peer} lost: {reason.getErrorMessage()}"
            )
            self._lost_because = why
        self._fail_outstanding()
        if not self.ready.called:
            self.ready.errback(why)
        self.closed.callback(None)

    def _fail_outstanding(self):
        why = self._lost_because
        self._stop_silence_timer()
        pending, self._pending = self._pending, {}
        for deliver, doing in pending.values():
            if isinstance(why, OmapiTimeout):
                error = OmapiTimeout(f"{doing}: {why}")
            else:
                error = OmapiConnectionLost(f"{doing}: no reply, {why}")
            self._deliver(deliver, None, error)

    def _deliver(self, deliver, reply, error):
        try:
            deliver(reply, error)
        except Exception:
            log.failure("OMAPI reply to {peer} not handled", peer=self._peer)

    def _send(self, message, doing, deliver, sign_it):
        self._tid = (self._tid + 1) % (1 << 32) or 1
        message.tid = self._tid
        # An oversized message fails here, before it is pending.
        data = encode_signed(message, self._authenticator) if sign_it else encode(message)
        if not self._pending:
            # An idle connection's silence starts now, not at its last reply.
            self._last_progress = self._clock.seconds()
            if self._silence_timer is None:
                self._silence_timer = self._clock.callLater(
                    self._timeout, self._silence_check, self._last_progress + self._timeout)
        self._pending[message.tid] = (deliver, doing)
        self._sender.write(data)

    def _handshake_request(self, message, doing, sign_it):
        done = Deferred()
        self._send(message, doing, partial(_settle, done), sign_it)
        return done

    def _parse(self):
        while self._lost_because is None:
            parsed = self._decoder.next_message()
            if parsed is None:
                return
            if isinstance(parsed, OmapiMessage):
                self._reply_received(parsed)
            else:
                self._startup_received(parsed)

    def _startup_received(self, startup):
        try:
            startup.validate()
        except PureOmapiError as e:
            self.drop(OmapiProtocolError(f"{self._peer} speaks another OMAPI: {e}"))
            return
        doing = f"open authenticator for key {self._authenticator.user.decode()!r}"
        opened = self._handshake_request(authenticator_open(self._authenticator), doing,
                                         sign_it=False)
        opened.addCallback(self._authenticator_opened, doing)
        opened.addErrback(self._handshake_failed)

    def _authenticator_opened(self, reply, doing):
        if reply.opcode == OMAPI_OP_STATUS:
            # dhcpd answers "no object matches" for a key name it lacks.
            try:
                check_reply(reply, doing)
            except OmapiError as e:
                raise OmapiNotAuthorized(
                    f"{self._peer} does not accept key "
                    f"{self._authenticator.user.decode()!r}: {e.server_message or e}"
                ) from None
        if reply.opcode != OMAPI_OP_UPDATE or reply.handle == 0:
            raise OmapiProtocolError(f"{doing}: no authenticator handle in reply")
        self._authenticator.authid = reply.handle
        self._signed = True
        check = self._handshake_request(
            object_open(b"host", name=_KEY_CHECK_NAME),
            f"first signed request with key {self._authenticator.user.decode()!r}",
            sign_it=True,
        )
        check.addCallbacks(self._key_checked, self._handshake_failed)

    def _key_checked(self, reply):
        if self._handshake_timer.active():
            self._handshake_timer.cancel()
        log.debug("OMAPI connection to {peer} authenticated", peer=self._peer)
        self.ready.callback(self)

    def _handshake_failed(self, failure):
        error = failure.value
        if not isinstance(error, OmapiError):
            error = OmapiProtocolError(f"OMAPI handshake with {self._peer}: {error}")
        self.drop(error)

    def _handshake_timed_out(self):
        self.drop(
            OmapiTimeout(
                f"no OMAPI handshake from {self._peer} within {self._timeout}s"
            )
        )

    def _silence_check(self, due, second_look=False):
        """The silence timer: re-arm it for what is left of the deadline since
        the last reply, or time the connection out."""
        self._silence_timer = None
        if not self._pending or self._lost_because is not None:
            return
        now = self._clock.seconds()
        deadline = self._last_progress + self._timeout
        if now < deadline:
            self._silence_timer = self._clock.callLater(
                deadline - now, self._silence_check, deadline)
        elif now - due > _LATE and not second_look:
            self._silence_timer = self._clock.callLater(
                _SECOND_LOOK, self._silence_check, due, second_look=True)
        else:
            self.drop(OmapiTimeout(
                f"no reply from {self._peer} within {self._timeout}s"
                f" ({len(self._pending)} requests outstanding); connection dropped"))

    def _stop_silence_timer(self):
        if self._silence_timer is not None:
            if self._silence_timer.active():
                self._silence_timer.cancel()
            self._silence_timer = None

    def _reply_received(self, reply):
        request = self._pending.pop(reply.rid, None)
        if request is None:
            self.drop(
                OmapiProtocolError(
                    f"{self._peer} answered a request never sent (rid {reply.rid})"
                )
            )
            return
        deliver, doing = request
        self._last_progress = self._clock.seconds()
        problem = self._signature_problem(reply, doing)
        if problem is None:
            self._deliver(deliver, reply, None)
        else:
            self._deliver(deliver, None, problem)
            self.drop(OmapiNotAuthorized(f"connection dropped: {problem}"))
        # After the delivery, which may have sent the next request.
        if not self._pending:
            self._stop_silence_timer()

    def _signature_problem(self, reply, doing):
        """None for a reply that may be believed; else the error to raise."""
        if not self._signed:
            return None
        authid = self._authenticator.authid
        if reply.authid == authid:
            if verifies(reply, self._authenticator):
                return None
            return OmapiNotAuthorized(f"{doing}: reply signature does not verify")
        # dhcpd rejects a bad signature with an unsigned status: believe it
        # only as a failure, never as a success.
        try:
            check_reply(reply, doing)
        except OmapiError as e:
            return e if isinstance(e, OmapiNotAuthorized) else OmapiNotAuthorized(
                f"{doing}: unsigned reply: {e}"
            )
        return OmapiNotAuthorized(f"{doing}: reply is not signed with our key")
