"""A small in-memory OMAPI server that speaks pypureomapi's messages.

It behaves like dhcpd 4.4 where the client can tell: the startup exchange,
an authenticator object opened by key name, unsigned status replies to
requests whose signature does not verify, status codes 23 (not found) and 18
(exists) with dhcpd's texts, host objects found by name or hardware address,
handles for update and delete. Setting ``hold`` keeps replies back until
``release`` so that tests can count outstanding requests; `pace` makes it a
dhcpd busy with its fsync, answering one request per interval of a clock,
in order, and `stop_answering` one that has gone silent.
"""

import struct

from pypureomapi import (
    OMAPI_OP_DELETE,
    OMAPI_OP_OPEN,
    OMAPI_OP_STATUS,
    OMAPI_OP_UPDATE,
    InBuffer,
    OmapiHMACMD5Authenticator,
    OmapiMessage,
    OmapiStartupMessage,
)
from twisted.internet.protocol import Protocol
from twisted.test import iosim

AUTHID = 7
NOT_FOUND = (23, b"no object matches specification")
EXISTS = (18, b"specified object already exists")
INVALIDKEY = (0x6000B, None)


def u32(value):
    return struct.pack("!I", value)


class FakeOmapiServer(Protocol):
    def __init__(self, key_name=b"omapi_key", key_secret=b"c2VjcmV0c2VjcmV0"):
        self.key_name = key_name
        self.auth = OmapiHMACMD5Authenticator(key_name, key_secret)
        self.auth.authid = AUTHID
        self.hold = False
        self.held = []
        self.received = []
        self.replied = 0
        self.max_outstanding = 0
        self.hosts = {}  # handle -> dict of attributes
        self.objects = {}  # (type, key attribute, value) -> attributes
        self.authenticated = False
        self._pacer = None
        self._paced = None
        self._next_handle = 100
        self._inbuffer = InBuffer()
        self._parser = self._inbuffer.parse_startup_message()

    def connectionMade(self):
        self.transport.write(OmapiStartupMessage().as_string())

    def dataReceived(self, data):
        self._inbuffer.feed(data)
        while True:
            parsed = next(self._parser)
            if parsed is None:
                return
            self._inbuffer.resetsize()
            self._parser = self._inbuffer.parse_message()
            if isinstance(parsed, OmapiMessage):
                self.received.append(parsed)
                self.max_outstanding = max(
                    self.max_outstanding, len(self.received) - self.replied
                )
                self._answer(parsed)

    def pace(self, clock, interval):
        """From now on answer one request every ``interval`` seconds of
        ``clock``, in the order received (as dhcpd does, committing each)."""
        self.hold = True
        self._pacer = (clock, interval)
        self._next_paced()

    def stop_answering(self):
        """Answer nothing more (replies are kept, never sent)."""
        self.hold = True
        self._pacer = None
        if self._paced is not None and self._paced.active():
            self._paced.cancel()
        self._paced = None

    def _next_paced(self):
        clock, interval = self._pacer
        self._paced = clock.callLater(interval, self._paced_reply)

    def _paced_reply(self):
        self._paced = None
        if self._pacer is None:
            return
        if self.held:
            self.release(1)
        self._next_paced()

    def release(self, count=None):
        """Send ``count`` held replies (all when None)."""
        count = len(self.held) if count is None else count
        out, self.held = self.held[:count], self.held[count:]
        for reply in out:
            self._write(reply)

    def _answer(self, request):
        if request.opcode == OMAPI_OP_OPEN and dict(request.message).get(b"type") == b"authenticator":
            return self._open_authenticator(request)
        if not (request.authid == AUTHID and request.verify({AUTHID: self.auth})):
            return self._status(request, INVALIDKEY, signed=False)
        if request.opcode == OMAPI_OP_OPEN:
            return self._open(request)
        if request.opcode == OMAPI_OP_UPDATE:
            if request.handle not in self.hosts:
                return self._status(request, (23, b"no matching handle"))
            self.hosts[request.handle].update(dict(request.obj))
            return self._status(request, (0, None))
        if request.opcode == OMAPI_OP_DELETE:
            if self.hosts.pop(request.handle, None) is None:
                return self._status(request, (23, b"no matching handle"))
            return self._status(request, (0, None))
        return self._status(request, (0x6000C, b"not implemented"))

    def _open_authenticator(self, request):
        if dict(request.obj).get(b"name") != self.key_name:
            return self._status(request, NOT_FOUND, signed=False)
        self.authenticated = True
        reply = OmapiMessage(
            opcode=OMAPI_OP_UPDATE, handle=AUTHID, rid=request.tid, obj=request.obj
        )
        self._send(reply, signed=False)

    def _open(self, request):
        kind = dict(request.message).get(b"type")
        wanted = dict(request.obj)
        flags = dict(request.message)
        if kind != b"host":
            for (okind, key, value), attrs in self.objects.items():
                if okind == kind and wanted.get(key) == value:
                    return self._update(request, 1, attrs)
            return self._status(request, NOT_FOUND)
        for handle, host in self.hosts.items():
            if any(wanted.get(k) == host.get(k) for k in (b"name", b"hardware-address") if k in wanted):
                if flags.get(b"exclusive") == u32(1):
                    return self._status(request, EXISTS)
                return self._update(request, handle, host)
        if flags.get(b"create") != u32(1):
            return self._status(request, NOT_FOUND)
        self._next_handle += 1
        self.hosts[self._next_handle] = dict(request.obj)
        return self._update(request, self._next_handle, self.hosts[self._next_handle])

    def _update(self, request, handle, attrs):
        reply = OmapiMessage(
            opcode=OMAPI_OP_UPDATE, handle=handle, rid=request.tid, obj=list(attrs.items())
        )
        self._send(reply)

    def _status(self, request, status, signed=True):
        result, text = status
        message = [(b"result", u32(result))] + ([(b"message", text)] if text else [])
        reply = OmapiMessage(opcode=OMAPI_OP_STATUS, rid=request.tid, message=message)
        self._send(reply, signed)

    def _send(self, reply, signed=True):
        if signed and self.authenticated:
            reply.sign(self.auth)
        if self.hold:
            self.held.append(reply)
        else:
            self._write(reply)

    def _write(self, reply):
        self.replied += 1
        self.transport.write(reply.as_string())

    def host_by_name(self, name):
        for host in self.hosts.values():
            if host.get(b"name") == name:
                return host
        return None


def connect_in_memory(server, protocol, clock):
    """iosim.connect with the test clock where this Twisted takes one (22.4,
    Debian 12's, does not: its pump never advances a clock, so do it by hand)."""
    arguments = (server, iosim.makeFakeServer(server), protocol, iosim.makeFakeClient(protocol))
    try:
        return iosim.connect(*arguments, greet=False, clock=clock)
    except TypeError:
        pump = iosim.connect(*arguments, greet=False)
        flush = pump.flush

        def flush_and_advance(debug=False, advanceClock=True):
            # The newer pump's flush(advanceClock=) as 22.4's flush and a tick.
            result = flush(debug)
            if advanceClock:
                clock.advance(0)
            return result

        pump.flush = flush_and_advance
        return pump
