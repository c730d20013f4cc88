"""The metrics endpoint: /metrics only, the exposition text, and a port that
cannot be had leaves rackd running."""

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet.error import CannotListenError
from twisted.internet.testing import MemoryReactor
from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.web.test.requesthelper import DummyRequest

from provisioningserver.services.metricshttp import CONTENT_TYPE, MetricsService, metrics_site


class Counting:
    """A collector that counts how often it was read."""

    def __init__(self):
        self.reads = 0

    def collect(self):
        self.reads += 1
        yield GaugeMetricFamily("rackd_reads", "Times read.", value=self.reads)


def get(site, path):
    """Render GET ``path`` on ``site``; (status code, headers, body)."""
    request = DummyRequest(path.lstrip(b"/").split(b"/"))
    request.uri = path
    resource = site.getResourceFor(request)
    body = resource.render(request)
    if isinstance(body, bytes):
        request.write(body)
    return request.responseCode or 200, request.responseHeaders, b"".join(request.written)


def test_metrics_is_the_exposition_text_read_at_each_get():
    """GET /metrics renders the collector anew each time, as Prometheus text."""
    collector = Counting()
    site = metrics_site(collector)
    get(site, b"/metrics")
    code, headers, body = get(site, b"/metrics")
    assert code == 200
    assert headers.getRawHeaders(b"content-type") == [CONTENT_TYPE]
    (family,) = text_string_to_metric_families(body.decode("utf-8"))
    assert family.name == "rackd_reads" and family.samples[0].value == 2


def test_every_other_path_is_not_found():
    """/, /metrics/x and anything else are 404, and do not read the collector."""
    collector = Counting()
    site = metrics_site(collector)
    for path in (b"/", b"/index.html", b"/metrics/x", b"/debug"):
        code, _, _ = get(site, path)
        assert code == 404, path
    assert collector.reads == 0


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
