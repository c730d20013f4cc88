"""A non-blocking OMAPI client for one dhcpd: host reservations, leases,
failover state.

`OmapiClient` keeps one authenticated connection (`OmapiConnection`) and
sends every request on it. Requests are pipelined: up to ``window`` may be
outstanding at once, never more than `MAX_WINDOW`, because dhcpd 4.4.3-P1
aborts (an assertion in dst_api.c) when too many are outstanding. With a
client slow enough to leave its window part empty, 140 deletes or 1,000
lookups killed it and 128 and 256 did not; once the client's codec was fast
enough to keep the window full, 32 outstanding host adds killed it, while 24
survived and 4, 8 and 16 survived repeated runs of thousands. The rate grows
little beyond 8 outstanding (dhcpd then spends its time in the fsync of its
leases file that every host change costs), so the default of 8 keeps a
quarter of the smallest window seen to kill dhcpd, and 16 is the cap. The
default stays 8, not 16, on the evidence of run F (BENCHMARKS.md, "OMAPI at
its limit"): once a request left the moment its slot freed, the client at
8 was as fast at the median as at 16 (0.91x and 0.92x of the best raw rate
over nine rounds; 16 was steadier, never under 0.88x), too little to go
from a quarter of the 32 outstanding that killed dhcpd to half of it.
(Long names do not move that limit: 10,000 adds of 200-character names at
16, 6 KB outstanding, left dhcpd running, so it goes by requests, not
bytes.)
A remove or update is two requests (open, then delete or update by the
handle) and holds one window slot throughout, since a handle belongs to the
connection that opened it. A batch (`apply`) is read from its iterable only
as slots free (`omapi.batch`), so 40,000 changes cost the window's worth of
requests in memory, not 40,000 of them queued on the semaphore. Its adds
and lookups take a path with no Deferred at all (`_start_change`): dhcpd
commits every change before it reads the next request, so whatever CPU the
client spends between a reply and its successor request is time dhcpd
waits, on a machine whose other core the client shares with it.

Reconnection is lazy: a lost connection is re-opened by the next request, not
by a background loop with backoff. rackd stops and restarts dhcpd itself and
falls back to a restart when OMAPI fails, so a loop would mostly spin against
a dhcpd that is down on purpose; a lazy re-open gives every request a fresh
attempt and a prompt answer (bounded by the timeout) instead of a wait on a
backoff schedule, and needs no timers while idle.

The key secret is held only inside a closure that makes authenticators; it
is never put into a message, a repr or a log line.
"""

import binascii
from collections import deque

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.endpoints import (
    TCP4ClientEndpoint,
    TCP6ClientEndpoint,
    connectProtocol,
)
from twisted.logger import Logger

from provisioningserver.omapi import objects
from provisioningserver.omapi.batch import PacedBatch
from provisioningserver.omapi.changes import (  # the changes are imported from here too
    AddHost,
    ChangeResult,
    LookupHost,
    RemoveHost,
    UpdateHostIP,
    one_request,
    which,
)
from provisioningserver.omapi.errors import OmapiConnectionLost, OmapiError
from provisioningserver.omapi.protocol import OmapiConnection
from provisioningserver.omapi.wire import HMACMD5Authenticator

MAX_WINDOW = 16
DEFAULT_WINDOW = 8

log = Logger()


class Window:
    """The slots of the window: at most ``limit`` taken at once; a slot that
    is released goes to the longest waiter first. (Twisted's
    DeferredSemaphore does the same with a Deferred for every acquisition,
    even a free one, which a batch pays once per change.)"""

    def __init__(self, limit):
        self.limit = limit
        self.free = limit
        self.waiting = deque()

    def take(self):
        """Take a free slot at once; False when none is free."""
        if self.free:
            self.free -= 1
            return True
        return False

    def wait(self):
        """A Deferred that fires once a slot is released to it."""
        waiter = Deferred()
        self.waiting.append(waiter)
        return waiter

    def release(self):
        if self.waiting:
            self.waiting.popleft().callback(None)
        else:
            self.free += 1


class OmapiClient:
    """OMAPI requests to one dhcpd; every method returns a Deferred."""

    def __init__(
        self, reactor, host, port, key_name, key_secret, timeout=5.0,
        window=DEFAULT_WINDOW
    ):
        if not 1 <= window <= MAX_WINDOW:
            raise ValueError(f"window must be 1..{MAX_WINDOW}, not {window}")
        name = key_name.encode("utf-8")
        secret = key_secret.encode("ascii") if isinstance(key_secret, str) else key_secret
        try:
            HMACMD5Authenticator(name, secret)
        except (binascii.Error, ValueError):
            raise ValueError(
                f"the secret of OMAPI key {key_name!r} is not valid base64"
            ) from None
        self._new_authenticator = lambda: HMACMD5Authenticator(name, secret)
        self._reactor = reactor
        self._host = host
        self._port = port
        self._key_name = key_name
        self._timeout = timeout
        self._slots = Window(window)
        self._connection = None
        self._waiting = []

    def __repr__(self):
        return (
            f"<OmapiClient {self._host}:{self._port} key={self._key_name!r}"
            f" window={self._slots.limit}>"
        )

    # Host objects.

    def add_host(self, name, mac, ip):
        # Built before a window slot is taken: a bad MAC or address fails here,
        # at once, instead of inside the slot, where thousands of such failures
        # would release and retake slots in one ever deeper synchronous chain.
        try:
            message, doing, interpret = one_request(AddHost(name, mac, ip))
        except ValueError as error:
            return fail(error)
        return self._request(message, doing, interpret)

    def update_host_ip(self, ip, mac=None, name=None):
        doing = f"set ip-address of {which(mac, name)} to {ip}"
        found = objects.object_open(b"host", mac=mac, name=name)

        async def update(connection):
            handle = objects.opened_handle(await connection.request(found, doing), doing)
            reply = await connection.request(objects.host_set_ip(handle, ip), doing)
            objects.check_reply(reply, doing)

        return self._run(lambda connection: Deferred.fromCoroutine(update(connection)))

    def remove_host(self, mac=None, name=None):
        doing = f"remove {which(mac, name)}"
        found = objects.object_open(b"host", mac=mac, name=name)

        async def remove(connection):
            handle = objects.opened_handle(await connection.request(found, doing), doing)
            reply = await connection.request(objects.object_delete(handle), doing)
            objects.check_reply(reply, doing)

        return self._run(lambda connection: Deferred.fromCoroutine(remove(connection)))

    def lookup_host(self, mac=None, name=None):
        """A `HostInfo`, or failure with `OmapiNotFound`."""
        return self._request(*one_request(LookupHost(mac=mac, name=name)))

    # Leases and failover.

    def lookup_lease(self, ip=None, mac=None):
        """A `LeaseInfo`, or failure with `OmapiNotFound`."""
        doing = f"look up lease of {ip if ip is not None else mac}"
        return self._lookup(
            objects.object_open(b"lease", mac=mac, ip=ip), doing, objects.lease_info
        )

    def failover_state(self, name):
        """The `FailoverState` of failover peer ``name``."""
        doing = f"look up failover state of peer {name!r}"
        return self._lookup(objects.failover_open(name), doing, objects.failover_state)

    def set_failover_local_state(self, name, state_name):
        """Move this server of failover peer ``name`` to ``state_name`` (for
        `rackctl failover partner-down`, "partner-down"); decide first with
        `provisioningserver.dhcp.failover.partner_down`."""
        doing = f"set failover peer {name!r} to {state_name}"
        found = objects.failover_open(name)

        async def update(connection):
            handle = objects.opened_handle(await connection.request(found, doing), doing)
            reply = await connection.request(
                objects.failover_set_local_state(handle, state_name), doing)
            objects.check_reply(reply, doing)

        return self._run(lambda connection: Deferred.fromCoroutine(update(connection)))

    # Batches.

    def apply(self, changes):
        """Apply `AddHost`, `UpdateHostIP`, `RemoveHost` and `LookupHost`
        changes, pipelined within the window; a list of `ChangeResult` in
        the order given. A failed change does not stop the others; changes
        that name the same MAC or host name run one after the other, in the
        order given, so that a batch may remove a host and add it anew.
        ``changes`` is read as the window frees (see `omapi.batch`), so a
        generator serves as well as a list.
        """
        return PacedBatch(changes, self._start_change, self._slots.limit).run()

    def disconnect(self):
        """Close the connection; a Deferred that fires once it is closed."""
        connection, self._connection = self._connection, None
        if connection is None or not connection.connected:
            return succeed(None)
        connection.drop(OmapiConnectionLost("connection closed by the client"))
        return connection.closed

    # Machinery.

    def _start_change(self, change, report):
        """Start one change of a batch; ``report(ChangeResult)`` once done.

        An add or a lookup on a usable connection with a free slot goes
        straight to `OmapiConnection.send`, and its reply reports from
        inside the read that brought it: no Deferred, callback chain or
        coroutine per change (bench.omapi_cpu: 56 us of CPU per add before,
        42 us after, on a shared machine). Everything else (two-request changes, a
        connection still to open, a window another caller holds) takes the
        Deferred path of the single-change methods.
        """
        try:
            single = one_request(change)
        except ValueError as error:
            report(ChangeResult(change, error=error))
            return
        connection = self._connection
        if single is None or connection is None or not connection.usable:
            self._one_safely(change).addCallback(report)
            return
        message, doing, interpret = single
        if not self._slots.take():
            self._request(message, doing, interpret).addCallbacks(
                lambda value: report(ChangeResult(change, value=value)),
                lambda failure: report(ChangeResult(change, error=failure.value)))
            return
        slots = self._slots

        def replied(reply, error):
            slots.release()
            if error is None:
                try:
                    value = interpret(reply, doing)
                except Exception as raised:
                    error = raised
                else:
                    report(ChangeResult(change, value=value))
                    return
            report(ChangeResult(change, error=error))

        try:
            connection.send(message, doing, replied)
        except Exception as error:
            replied(None, error)

    def _one_safely(self, change):
        try:
            return self._one(change)
        except Exception as error:
            return succeed(ChangeResult(change, error=error))

    def _one(self, change):
        if isinstance(change, AddHost):
            running = self.add_host(change.name, change.mac, change.ip)
        elif isinstance(change, UpdateHostIP):
            running = self.update_host_ip(change.ip, mac=change.mac, name=change.name)
        elif isinstance(change, RemoveHost):
            running = self.remove_host(mac=change.mac, name=change.name)
        elif isinstance(change, LookupHost):
            running = self.lookup_host(mac=change.mac, name=change.name)
        else:
            raise TypeError(f"not an OMAPI host change: {change!r}")
        running.addCallbacks(
            lambda value: ChangeResult(change, value=value),
            lambda failure: ChangeResult(change, error=failure.value),
        )
        return running

    def _lookup(self, message, doing, interpret):
        return self._request(
            message, doing, lambda reply, doing: interpret(objects.check_reply(reply, doing)))

    def _request(self, message, doing, interpret):
        """One request and its reply, ``interpret(reply, doing)``ed, holding a
        slot: one Deferred with a few callbacks rather than a coroutine and a
        Deferred per step."""
        return self._run(
            lambda connection: connection.request(message, doing).addCallback(
                interpret, doing))

    def _run(self, operation):
        """Run ``operation(connection)`` (a Deferred) holding one window slot."""
        if self._slots.take():
            return self._in_slot(operation)
        waiting = self._slots.wait()
        waiting.addCallback(lambda _: self._in_slot(operation))
        return waiting

    def _in_slot(self, operation):
        connection = self._connection
        if connection is not None and connection.usable:
            try:
                running = operation(connection)
            except Exception as error:
                running = fail(error)
        else:
            running = self._connected()
            running.addCallback(operation)
        running.addBoth(self._release_slot)
        return running

    def _release_slot(self, outcome):
        self._slots.release()
        return outcome

    def _connected(self):
        if self._connection is not None and self._connection.usable:
            return succeed(self._connection)
        waiter = Deferred()
        self._waiting.append(waiter)
        if len(self._waiting) == 1:
            self._open()
        return waiter

    def _open(self):
        peer = f"dhcpd OMAPI at {self._host}:{self._port}"
        connection = OmapiConnection(
            self._reactor, self._new_authenticator(), self._timeout, peer
        )
        endpoint_type = TCP6ClientEndpoint if ":" in self._host else TCP4ClientEndpoint
        endpoint = endpoint_type(
            self._reactor, self._host, self._port, timeout=self._timeout
        )
        connecting = connectProtocol(endpoint, connection)
        connecting.addCallback(lambda _: connection.ready)

        def opened(ready):
            self._connection = ready
            log.info("OMAPI connection to {peer} open", peer=peer)
            return ready

        def failed(failure):
            error = failure.value
            if not isinstance(error, OmapiError):
                error = OmapiConnectionLost(
                    f"cannot connect to {peer}: {failure.getErrorMessage()}"
                )
            log.warn("OMAPI connection to {peer} failed: {error}", peer=peer, error=error)
            return error

        connecting.addCallbacks(opened, failed)
        connecting.addCallback(self._wake_waiters)

    def _wake_waiters(self, outcome):
        waiting, self._waiting = self._waiting, []
        for waiter in waiting:
            if isinstance(outcome, Exception):
                waiter.errback(outcome)
            else:
                waiter.callback(outcome)
