"""How a request leaves for dhcpd: at once, in the turn that made it.

Why. Twisted's TCP transport only buffers a write; it sends it when the
reactor next polls and finds the socket writable, which is after the whole
read in hand (every reply in it, and every callback those replies run) has
been handled. dhcpd works the same way round: it handles every request it
has read, committing (fsyncing) each, and only then writes their replies.
So a window's replies arrive together (10,000 adds at window 8 came in
1,250 reads when requests went Twisted's way), and dhcpd idles from the
last reply of a burst until rackd's next request arrives. What the client
spends in between is dhcpd's time.

How. Nagle's algorithm is turned off. Outside a read, a request goes to the
socket the moment it is encoded. While a read of replies is handled, the
first request they make room for goes at once, so that it is on its way to
dhcpd, on the other core, while the rest of the read is handled; the others
wait for the end of the read and go together in one ``send``. (One
``send`` per request cost 23 us each under cProfile, 15% of the client's
time outside ``epoll``: on loopback the sender's ``send`` also runs the
receiving side and wakes dhcpd, which by then has the first request to
work on anyway.)

A send is made on a plain TCP transport's socket itself
(`ISystemHandle.getHandle`): one ``send`` and nothing else, where Twisted's
own path is a ``write``, then ``doWrite`` to send it, with an ``epoll_ctl``
on either side to watch for writability and stop again. If the kernel does
not take a send whole (its buffer is full: dhcpd has stopped reading), the
rest goes to the transport's buffer, and from then on so does everything,
so the stream stays in order and the reactor sends it as the socket
drains; the transport is still asked to send at once (``doWrite``) unless
it is closing, since its own last write is what closes it. Any other
transport (TLS, or a test's) is written to and flushed the same way.
"""

import socket

from twisted.internet.interfaces import ISSLTransport


def _plain_socket(transport):
    """The connected socket under a plain TCP transport, else None."""
    get_handle = getattr(transport, "getHandle", None)
    if get_handle is None or ISSLTransport.providedBy(transport):
        return None
    handle = get_handle()
    return handle if isinstance(handle, socket.socket) else None


class Sender:
    """Writes one connection's bytes, in order, sending each at once."""

    def __init__(self, transport):
        self._transport = transport
        no_delay = getattr(transport, "setTcpNoDelay", None)
        if no_delay is not None:
            no_delay(True)
        self._socket = _plain_socket(transport)
        self._held = None
        self._first_gone = False

    def hold_after_first(self):
        """A read is being handled: its first write goes at once, to wake
        dhcpd; the rest wait for `release`, to go in one send."""
        self._held = []
        self._first_gone = False

    def release(self, send=True):
        """The read is handled: send what it held back (unless not ``send``:
        the connection was dropped meanwhile)."""
        held, self._held = self._held, None
        if held and send:
            self._send(b"".join(held))

    @property
    def direct(self):
        """True while writes go to the socket itself."""
        return self._socket is not None

    def write(self, data):
        if self._held is not None:
            if self._first_gone:
                self._held.append(data)
                return
            self._first_gone = True
        self._send(data)

    def _send(self, data):
        if self._socket is not None:
            try:
                sent = self._socket.send(data)
            except OSError:
                # Full (EAGAIN) or broken: the transport finds out which.
                sent = 0
            if sent == len(data):
                return
            self._socket = None
            data = data[sent:]
        transport = self._transport
        transport.write(data)
        write_now = getattr(transport, "doWrite", None)
        if (write_now is not None and getattr(transport, "connected", False)
                and not getattr(transport, "disconnecting", False)):
            write_now()
