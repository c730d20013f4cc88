"""The metrics endpoint: /metrics only, the exposition text, HTTP as scrapers
speak it, and a port that cannot be had leaves rackd running."""

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet.error import CannotListenError
from twisted.internet.testing import MemoryReactor, StringTransport
from twisted.logger import LogLevel, formatEvent, globalLogPublisher

from provisioningserver.services import metricshttp
from provisioningserver.services.metricshttp import CONTENT_TYPE, MetricsFactory, MetricsService


class Counting:
    """A collector that counts how often it was read."""

    def __init__(self):
        self.reads = 0

    def collect(self):
        self.reads += 1
        yield GaugeMetricFamily("rackd_reads", "Times read.", value=self.reads)


def connect(collector):
    """A connection to the endpoint: (protocol, transport)."""
    proto = MetricsFactory(collector).buildProtocol(("127.0.0.1", 40000))
    transport = StringTransport()
    proto.makeConnection(transport)
    return proto, transport


def answers(data):
    """The answers in ``data``: [(status code, headers, body)]."""
    found = []
    while data:
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        headers = dict(line.split(b": ", 1) for line in lines[1:])
        length = int(headers[b"Content-Length"])
        found.append((int(lines[0].split(b" ")[1]), headers, data[:length]))
        data = data[length:]
    return found


def get(collector, path, extra=b""):
    """One GET of ``path`` on a new connection: (status code, headers, body)."""
    proto, transport = connect(collector)
    proto.dataReceived(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n")
    (answer,) = answers(transport.value())
    return answer


def test_metrics_is_the_exposition_text_read_at_each_get():
    """GET /metrics renders the collector anew each time, as Prometheus text."""
    collector = Counting()
    get(collector, b"/metrics")
    code, headers, body = get(collector, b"/metrics?x=1")
    assert code == 200
    assert headers[b"Content-Type"] == CONTENT_TYPE
    (family,) = text_string_to_metric_families(body.decode("utf-8"))
    assert family.name == "rackd_reads" and family.samples[0].value == 2


def test_every_other_path_is_not_found():
    """/, /metrics/x and anything else are 404, and do not read the collector."""
    collector = Counting()
    for path in (b"/", b"/index.html", b"/metrics/x", b"/debug"):
        code, _, _ = get(collector, path)
        assert code == 404, path
    assert collector.reads == 0


def test_requests_on_one_connection_are_answered_in_order_until_one_says_close():
    """Keep-alive as Prometheus scrapes: two requests in one write answered in
    order, a HEAD answered without its body, then Connection: close answered
    and the connection closed."""
    collector = Counting()
    proto, transport = connect(collector)
    proto.dataReceived(b"GET /metrics HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\n")
    assert [code for code, _, _ in answers(transport.value())] == [200, 404]
    transport.clear()
    proto.dataReceived(b"HEAD /metrics HTTP/1.1\r\n\r\n")
    head, _, body = transport.value().partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and body == b""
    transport.clear()
    proto.dataReceived(b"GET /metrics HTTP/1.1\r\n")
    assert transport.value() == b"" and not transport.disconnecting
    proto.dataReceived(b"Connection: close\r\n\r\n")
    ((code, headers, _),) = answers(transport.value())
    assert code == 200 and headers[b"Connection"] == b"close"
    assert transport.disconnecting and collector.reads == 3


def test_http_1_0_closes_after_the_answer():
    """A client speaking HTTP/1.0 gets its answer and the connection closed."""
    proto, transport = connect(Counting())
    proto.dataReceived(b"GET /metrics HTTP/1.0\r\n\r\n")
    assert answers(transport.value())[0][0] == 200 and transport.disconnecting


def test_what_the_endpoint_does_not_take_is_refused():
    """Another method is 405; a body, a bad request line or an endless head is 400
    and closes the connection; none reads the collector."""
    collector = Counting()
    proto, transport = connect(collector)
    proto.dataReceived(b"POST /metrics HTTP/1.1\r\n\r\n")
    assert answers(transport.value())[0][0] == 405 and not transport.disconnecting
    for request in (b"GET /metrics HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody",
                    b"GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                    b"GARBAGE\r\n\r\n", b"GET /metrics HTTP/1.1\r\nbad header\r\n\r\n",
                    b"GET /metrics HTTP/1.1\r\nX: " + b"y" * 20000):
        proto, transport = connect(collector)
        proto.dataReceived(request)
        assert answers(transport.value())[0][0] == 400, request[:40]
        assert transport.disconnecting
    assert collector.reads == 0


def test_an_idle_connection_is_closed():
    """A connection that sends nothing for IDLE_SECONDS is closed."""
    from twisted.internet import task

    clock = task.Clock()
    proto = MetricsFactory(Counting()).buildProtocol(None)
    proto.callLater = clock.callLater
    transport = StringTransport()
    proto.makeConnection(transport)
    clock.advance(metricshttp.IDLE_SECONDS - 1)
    proto.dataReceived(b"GET /metrics HTTP/1.1\r\n\r\n")
    clock.advance(metricshttp.IDLE_SECONDS - 1)
    assert not transport.disconnecting
    clock.advance(1)
    assert transport.disconnecting
    proto.connectionLost()
    assert clock.getDelayedCalls() == []


def test_the_service_listens_on_the_configured_address():
    """IPv4 and IPv6 addresses each get their own kind of endpoint."""
    for host in ("127.0.0.1", "::1"):
        reactor = MemoryReactor()
        service = MetricsService(reactor, (host, 5249), Counting())
        service.privilegedStartService()
        service.startService()
        (port, _factory, _backlog, interface) = reactor.tcpServers[0]
        assert (port, interface) == (5249, host)
        service.stopService()


class BusyReactor(MemoryReactor):
    def listenTCP(self, port, factory, backlog=50, interface=""):
        raise CannotListenError(interface, port, OSError("address in use"))


def test_a_busy_port_is_logged_and_not_fatal():
    """Starting with the port taken raises nothing (rackd goes on serving DHCP)
    but logs an error naming the address; stopping afterwards is clean."""
    seen = []
    globalLogPublisher.addObserver(seen.append)
    try:
        service = MetricsService(BusyReactor(), ("127.0.0.1", 5249), Counting())
        service.privilegedStartService()
        service.startService()
        service.stopService()
    finally:
        globalLogPublisher.removeObserver(seen.append)
    errors = [formatEvent(e) for e in seen if e.get("log_level") == LogLevel.error]
    assert errors == ["metrics: cannot listen on 127.0.0.1:5249 (Couldn't listen on "
                      "127.0.0.1:5249: address in use.); rackd runs without its metrics "
                      "endpoint"]
