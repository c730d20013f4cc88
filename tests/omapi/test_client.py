"""The OMAPI client in memory: framing, signing, pipelining, timeouts, loss,
and the mapping of dhcpd's status replies onto exceptions."""

import base64

import pytest
from pypureomapi import (
    OMAPI_OP_STATUS,
    InBuffer,
    OMAPI_OP_UPDATE,
    OmapiHMACMD5Authenticator,
    OmapiMessage,
    OmapiStartupMessage,
)
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import formatEvent, globalLogPublisher
from twisted.python.failure import Failure

from provisioningserver.omapi import errors
from provisioningserver.omapi.client import (
    AddHost,
    LookupHost,
    OmapiClient,
    RemoveHost,
    UpdateHostIP,
)
from provisioningserver.omapi.objects import FailoverState, HostInfo
from provisioningserver.omapi.protocol import OmapiConnection
from tests.omapi.fake import AUTHID, FakeOmapiServer, connect_in_memory, u32

SECRET = base64.b64encode(b"s3cret-for-the-omapi-tests!").decode()
MAC = "02:00:00:00:00:01"


class Lab:
    """An `OmapiClient` on a memory reactor, connected on demand to a fake
    server that shares one set of host objects across reconnections."""

    def __init__(self, window=16, timeout=5.0, secret=SECRET, key_name="omapi_key"):
        self.reactor = MemoryReactorClock()
        self.client = OmapiClient(
            self.reactor, "198.18.201.1", 7911, key_name, secret, timeout, window
        )
        self.hosts = {}
        self.servers = []

    def connect(self):
        """Complete the client's pending TCP connection to a fresh server."""
        _, _, factory, _, _ = self.reactor.tcpClients.pop(0)
        server = FakeOmapiServer(key_secret=SECRET.encode())
        server.hosts = self.hosts
        protocol = factory.buildProtocol(None)
        self.pump = connect_in_memory(server, protocol, self.reactor)
        self.pump.flush()
        self.servers.append(server)
        return server


@pytest.fixture
def lab():
    return Lab()


def result_of(deferred):
    results = []
    deferred.addBoth(results.append)
    assert results, "no result yet"
    if isinstance(results[0], Failure):
        results[0].raiseException()
    return results[0]


def failure_of(deferred, kind):
    results = []
    deferred.addBoth(results.append)
    assert results and isinstance(results[0], Failure), f"no failure: {results}"
    assert isinstance(results[0].value, kind), results[0].value
    return results[0].value


def has_result(deferred):
    seen = []
    deferred.addBoth(lambda outcome: seen.append(outcome) or outcome)
    return bool(seen)


def warm_up(lab):
    """Open the client's connection with a lookup whose outcome is ignored."""
    pumped(lab, lab.client.lookup_host(name="warm-up")).addErrback(lambda _: None)


def pumped(lab, deferred):
    if lab.reactor.tcpClients:
        lab.connect()
    lab.pump.flush()
    return deferred


# Operations against the fake server.


def test_add_lookup_update_remove_round_trip(lab):
    """A host added is found by MAC and name, moves with an update, and is
    gone after a remove."""
    result_of(pumped(lab, lab.client.add_host("h1", MAC, "198.18.201.10")))
    found = result_of(pumped(lab, lab.client.lookup_host(mac=MAC)))
    assert found == HostInfo("h1", MAC, "198.18.201.10")
    result_of(pumped(lab, lab.client.update_host_ip("198.18.201.11", name="h1")))
    found = result_of(pumped(lab, lab.client.lookup_host(name="h1")))
    assert found.ip == "198.18.201.11"
    result_of(pumped(lab, lab.client.remove_host(mac=MAC)))
    failure_of(pumped(lab, lab.client.lookup_host(name="h1")), errors.OmapiNotFound)
    assert len(lab.servers) == 1, "one connection serves every request"


def test_requests_are_signed_with_the_key(lab):
    """Every request after the authenticator open carries the authenticator
    id dhcpd handed out and an HMAC-MD5 signature under the key."""
    result_of(pumped(lab, lab.client.add_host("h1", MAC, "198.18.201.10")))
    server = lab.servers[0]
    key = OmapiHMACMD5Authenticator(b"omapi_key", SECRET.encode())
    key.authid = AUTHID
    first, *signed = server.received
    assert first.authid == 0
    assert signed and all(m.authid == AUTHID and m.verify({AUTHID: key}) for m in signed)


@pytest.mark.parametrize(
    "call, kind, words",
    [
        (lambda c: c.add_host("h1", MAC, "198.18.201.10"), errors.OmapiKeyConflict, "already exists"),
        (lambda c: c.lookup_host(mac="02:00:00:00:00:09"), errors.OmapiNotFound, "no object"),
        (lambda c: c.remove_host(name="nobody"), errors.OmapiNotFound, "remove host 'nobody'"),
        (lambda c: c.update_host_ip("198.18.201.9", mac="02:00:00:00:00:09"), errors.OmapiNotFound, "set ip-address"),
        (lambda c: c.lookup_lease(ip="198.18.201.99"), errors.OmapiNotFound, "lease of 198.18.201.99"),
    ],
)
def test_dhcpd_errors_become_distinct_exceptions(lab, call, kind, words):
    """Status replies become the exception for their code, with a message
    naming the request and quoting dhcpd."""
    result_of(pumped(lab, lab.client.add_host("h1", MAC, "198.18.201.10")))
    error = failure_of(pumped(lab, call(lab.client)), kind)
    assert words in str(error)


@pytest.mark.parametrize(
    "result, kind",
    [
        (23, errors.OmapiNotFound),
        (18, errors.OmapiKeyConflict),
        (errors.DHCP_R_KEYCONFLICT, errors.OmapiKeyConflict),
        (errors.DHCP_R_INVALIDKEY, errors.OmapiNotAuthorized),
        (errors.DHCP_R_KEY_UNKNOWN, errors.OmapiNotAuthorized),
        (6, errors.OmapiNotAuthorized),
        (25, errors.OmapiError),
    ],
)
def test_status_codes_map_to_exceptions(result, kind):
    """Each status code dhcpd sends maps to one exception class, keeping the
    code and dhcpd's text."""
    error = errors.error_from_status(result, "text", "do it")
    assert type(error) is kind
    assert (error.result, error.server_message) == (result, "text")
    assert str(error).startswith("do it: dhcpd said 'text'")


def test_lease_and_failover_state_are_decoded(lab):
    """Lease and failover-state attributes come back as named states,
    addresses and integers."""
    warm_up(lab)
    lab.servers[0].objects = {
        (b"lease", b"ip-address", bytes([198, 18, 201, 50])): {
            b"ip-address": bytes([198, 18, 201, 50]),
            b"state": u32(2),
            b"hardware-address": bytes.fromhex("020000000001"),
            b"ends": u32(1700000000),
            b"client-hostname": b"box",
        },
        (b"failover-state", b"name", b"peer"): {
            b"name": b"peer",
            b"local-state": u32(2),
            b"partner-state": u32(3),
        },
    }
    lease = result_of(pumped(lab, lab.client.lookup_lease(ip="198.18.201.50")))
    assert (lease.state, lease.mac, lease.ends, lease.hostname) == (
        "active", MAC, 1700000000, "box")
    state = result_of(pumped(lab, lab.client.failover_state("peer")))
    assert state == FailoverState("peer", "normal", "communications-interrupted")


def test_batch_applies_in_order_per_host(lab):
    """A batch returns one result per change in order; changes to the same
    host run in the order given, so remove-then-add of one MAC works."""
    result_of(pumped(lab, lab.client.add_host("h1", MAC, "198.18.201.10")))
    changes = [
        RemoveHost(mac=MAC),
        AddHost("h1", MAC, "198.18.201.12"),
        AddHost("h2", "02:00:00:00:00:02", "198.18.201.13"),
        UpdateHostIP("198.18.201.14", name="h2"),
        LookupHost(name="h2"),
        RemoveHost(name="nobody"),
    ]
    results = result_of(pumped(lab, lab.client.apply(changes)))
    assert [r.change for r in results] == changes
    assert [r.ok for r in results] == [True, True, True, True, True, False]
    assert results[4].value.ip == "198.18.201.14"
    assert isinstance(results[5].error, errors.OmapiNotFound)


def test_batch_of_bad_addresses_fails_each_change_without_sending(lab):
    """Thousands of adds whose address cannot be packed each fail with
    ValueError at once, without even a connection to dhcpd, and the batch
    completes (they used to chain window slots synchronously until the stack
    ran out)."""
    changes = [AddHost(f"h{i}", "02:00:00:%02x:%02x:01" % (i >> 8, i & 255), "198.18.300.1")
               for i in range(2000)]
    results = result_of(lab.client.apply(changes))
    assert len(results) == 2000
    assert all(isinstance(r.error, ValueError) for r in results)
    assert lab.reactor.tcpClients == [] and lab.hosts == {}


# Authentication.


def test_wrong_secret_is_not_authorized():
    """A secret dhcpd does not share fails the request with
    OmapiNotAuthorized at connect time and does not keep the connection."""
    lab = Lab(secret=base64.b64encode(b"another secret").decode())
    error = failure_of(pumped(lab, lab.client.lookup_host(name="h")), errors.OmapiNotAuthorized)
    assert "wrong secret" in str(error)
    assert lab.servers[0].transport.disconnected


def test_unknown_key_name_is_not_authorized():
    """A key name dhcpd does not know fails with OmapiNotAuthorized that names
    the key."""
    lab = Lab(key_name="stranger")
    error = failure_of(pumped(lab, lab.client.lookup_host(name="h")), errors.OmapiNotAuthorized)
    assert "'stranger'" in str(error)


def handshaken_connection(timeout=5.0):
    """An OmapiConnection on a StringTransport past startup and key check."""
    clock = Clock()
    auth = OmapiHMACMD5Authenticator(b"omapi_key", SECRET.encode())
    connection = OmapiConnection(clock, auth, timeout)
    transport = StringTransport()
    connection.makeConnection(transport)
    connection.dataReceived(OmapiStartupMessage().as_string())
    opened = last_request(transport, after_startup=True)
    connection.dataReceived(
        OmapiMessage(opcode=OMAPI_OP_UPDATE, handle=AUTHID, rid=opened.tid).as_string()
    )
    connection.dataReceived(
        server_reply(last_request(transport, after_startup=True), (23, b"no object"))
    )
    assert connection.usable
    transport.clear()
    return connection, transport, clock


def last_request(transport, after_startup=False):
    """The last message written to ``transport``."""
    buffer = InBuffer(transport.value())
    parser = buffer.parse_startup_message() if after_startup else buffer.parse_message()
    found = None
    while True:
        parsed = next(parser)
        if parsed is None:
            return found
        found = parsed
        parser = buffer.parse_message()


def server_reply(request, status=(0, None), key_secret=SECRET.encode(), obj=()):
    message = [(b"result", u32(status[0]))] + ([(b"message", status[1])] if status[1] else [])
    reply = OmapiMessage(opcode=OMAPI_OP_STATUS, rid=request.tid, message=message, obj=list(obj))
    key = OmapiHMACMD5Authenticator(b"omapi_key", key_secret)
    key.authid = AUTHID
    reply.sign(key)
    return reply.as_string()


def test_reply_with_bad_signature_is_not_believed():
    """A reply signed with another key fails the request with
    OmapiNotAuthorized and drops the connection."""
    connection, transport, _ = handshaken_connection()
    done = connection.request(OmapiMessage.open(b"host"), "look")
    forged = server_reply(last_request(transport), key_secret=base64.b64encode(b"forger"))
    connection.dataReceived(forged)
    failure_of(done, errors.OmapiNotAuthorized)
    assert transport.disconnecting or not connection.usable


# Framing.


def test_reply_split_across_reads():
    """A reply that arrives one byte per read is assembled and delivered
    once complete."""
    connection, transport, _ = handshaken_connection()
    done = connection.request(OmapiMessage.open(b"host"), "look")
    reply = server_reply(last_request(transport), (23, b"no object matches specification"))
    for i in range(len(reply) - 1):
        connection.dataReceived(reply[i : i + 1])
    assert not has_result(done)
    connection.dataReceived(reply[-1:])
    assert result_of(done).opcode == OMAPI_OP_STATUS


def test_many_replies_in_one_read():
    """Replies to requests written back to back, arriving in one read larger
    than pypureomapi's 64 KiB buffer limit, each reach their own request."""
    connection, transport, _ = handshaken_connection()
    requests, waiting = [], []
    for i in range(1500):
        transport.clear()
        waiting.append(connection.request(OmapiMessage.open(b"host"), f"look {i}"))
        requests.append(last_request(transport))
    replies = b"".join(server_reply(r, (23, b"x" * 40)) for r in requests)
    assert len(replies) > 65536
    connection.dataReceived(replies)
    assert all(result_of(d).rid == r.tid for d, r in zip(waiting, requests))
    assert connection.outstanding == 0


def test_reply_to_unknown_request_drops_connection():
    """A reply whose rid matches no request means the stream is out of step:
    the connection is dropped and outstanding requests fail."""
    connection, transport, _ = handshaken_connection()
    done = connection.request(OmapiMessage.open(b"host"), "look")
    stray = OmapiMessage(tid=1, rid=12345)
    connection.dataReceived(server_reply(stray))
    assert transport.disconnecting
    connection.connectionLost(Failure(ConnectionRefusedError()))
    failure_of(done, errors.OmapiConnectionLost)


# Pipelining, timeouts, loss.


def test_pipelining_keeps_at_most_window_outstanding():
    """With replies held back, no more than ``window`` requests reach the
    server; each reply lets one more through, and all complete in order."""
    lab = Lab(window=4)
    warm_up(lab)
    server = lab.servers[0]
    server.hold = True
    before = len(server.received)
    batch = lab.client.apply([LookupHost(name=f"h{i}") for i in range(20)])
    lab.pump.flush()
    assert len(server.received) - before == 4
    while server.held:
        server.release(1)
        lab.pump.flush()
        assert len(server.received) - server.replied <= 4
    results = result_of(batch)
    assert len(results) == 20 and all(isinstance(r.error, errors.OmapiNotFound) for r in results)
    assert server.max_outstanding <= 4


def test_window_is_capped():
    """A window above 16 is refused: dhcpd 4.4 aborted with 32 outstanding adds."""
    with pytest.raises(ValueError, match="1..16"):
        OmapiClient(MemoryReactorClock(), "198.18.201.1", 7911, "k", SECRET, window=17)


def test_timeout_fails_request_and_drops_connection():
    """Requests left with no reply for the timeout fail with OmapiTimeout,
    all of them alike; the connection is dropped, and the next request opens
    a new connection."""
    lab = Lab(timeout=2.0)
    warm_up(lab)
    lab.servers[0].hold = True
    first = lab.client.lookup_host(name="a")
    second = lab.client.lookup_host(name="b")
    lab.pump.flush()
    lab.reactor.advance(1.9)
    assert not has_result(first)
    lab.reactor.advance(0.2)
    lab.pump.flush()
    assert "within 2.0s" in str(failure_of(first, errors.OmapiTimeout))
    assert "within 2.0s" in str(failure_of(second, errors.OmapiTimeout))
    again = lab.client.add_host("h1", MAC, "198.18.201.10")
    result_of(pumped(lab, again))
    assert len(lab.servers) == 2
    assert not lab.reactor.getDelayedCalls(), "no timers left behind"


def test_connection_loss_fails_outstanding_and_reconnects_lazily(lab):
    """Losing the connection fails every outstanding request with
    OmapiConnectionLost; nothing reconnects until the next request."""
    warm_up(lab)
    lab.servers[0].hold = True
    waiting = [lab.client.lookup_host(name=f"h{i}") for i in range(3)]
    lab.pump.flush()
    lab.servers[0].transport.loseConnection()
    lab.pump.flush()
    for d in waiting:
        failure_of(d, errors.OmapiConnectionLost)
    assert not lab.reactor.tcpClients
    result_of(pumped(lab, lab.client.add_host("h1", MAC, "198.18.201.10")))
    assert len(lab.servers) == 2


def test_refused_connection_fails_with_connection_lost(lab):
    """A connection dhcpd refuses fails the queued requests with a message
    naming the address."""
    waiting = lab.client.lookup_host(name="h")
    _, _, factory, _, _ = lab.reactor.tcpClients.pop(0)
    factory.clientConnectionFailed(None, Failure(ConnectionRefusedError()))
    error = failure_of(waiting, errors.OmapiConnectionLost)
    assert "198.18.201.1:7911" in str(error)


# The secret.


def test_secret_never_appears_in_errors_reprs_or_logs():
    """Neither the base64 secret nor its bytes appear in any exception
    message, repr or log line, through wrong keys, timeouts and losses."""
    logged = []
    globalLogPublisher.addObserver(logged.append)
    try:
        texts = []
        lab = Lab(secret=SECRET, key_name="stranger")
        texts.append(str(failure_of(pumped(lab, lab.client.lookup_host(name="h")), errors.OmapiError)))
        for secret in (SECRET, base64.b64encode(b"another secret").decode()):
            lab = Lab(secret=secret, timeout=1.0)
            outcome = pumped(lab, lab.client.lookup_host(name="h"))
            texts += [repr(lab.client), str(vars(lab.client))]
            lab.servers[0].hold = True
            slow = lab.client.lookup_host(name="x")
            lab.pump.flush()
            lab.reactor.advance(2)
            lab.pump.flush()
            for d in (outcome, slow):
                d.addErrback(lambda f: texts.extend([str(f.value), repr(f.value)]))
        with pytest.raises(ValueError) as bad:
            OmapiClient(MemoryReactorClock(), "h", 1, "k", SECRET[:-3] + "!")
        texts.append(str(bad.value))
    finally:
        globalLogPublisher.removeObserver(logged.append)
    texts += [formatEvent(e) for e in logged] + [repr(e) for e in logged]
    everything = "\n".join(texts)
    assert "OmapiNotAuthorized" in everything or "not accept" in everything
    for secret in (SECRET, SECRET[:-3], base64.b64decode(SECRET).decode(), "another secret"):
        assert secret not in everything


def test_encoding_and_signing_match_pypureomapi():
    """The client's faster encoder and signer produce exactly pypureomapi's
    bytes, and its verifier accepts what pypureomapi signs."""
    from provisioningserver.omapi.objects import host_create
    from provisioningserver.omapi.protocol import encode, sign, verifies

    key = OmapiHMACMD5Authenticator(b"omapi_key", SECRET.encode())
    key.authid = AUTHID
    ours, theirs = (host_create("h1", MAC, "198.18.201.10") for _ in range(2))
    theirs.tid = ours.tid
    sign(ours, key)
    theirs.sign(key)
    assert encode(ours) == theirs.as_string()
    assert encode(ours, forsigning=True) == theirs.as_string(forsigning=True)
    assert verifies(theirs, key)
    theirs.signature = bytes(16)
    assert not verifies(theirs, key)
