"""The metrics endpoint: ``GET /metrics`` over HTTP, on the configured address.

prometheus_client ships `prometheus_client.twisted.MetricsResource`, but it
runs the registry in the reactor's thread pool (it is a WSGI app), and the
collector reads objects that belong to the reactor thread: the journal's
SQLite connection refuses to be used from another thread, and the services'
state may change under a reader in one. So this resource renders in the
reactor thread with prometheus_client's own text encoder; a scrape costs
what `rackctl pools` costs, and both are as cheap as the journal's newest-
event query.

Only ``/metrics`` exists; every other path is 404. The address comes from
rackd.yaml (``metrics``, localhost by default): the endpoint has no
authentication, so exposing it beyond the node is the operator's choice. A
port that is taken is logged and leaves rackd running without metrics:
DHCP matters more than its statistics.
"""

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from twisted.application import service
from twisted.application.internet import StreamServerEndpointService
from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import Site

log = Logger()

# The classic text format, which generate_latest writes (0.16 and later).
CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"


class NotFound(Resource):
    """404 for every path but /metrics (twisted.web.pages is newer than Debian 12's
    Twisted, and its older NoResource is deprecated)."""

    isLeaf = True

    def render(self, request):
        request.setResponseCode(404)
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        return b"not found: this server has /metrics only\n"


class Root(Resource):
    def getChild(self, name, request):
        return NotFound()


class MetricsPage(Resource):
    """The exposition text of ``registry``, rendered at each GET."""

    isLeaf = True

    def __init__(self, registry):
        super().__init__()
        self.registry = registry

    def render_GET(self, request):
        if request.postpath not in ([], [b""]):
            return NotFound().render(request)
        request.setHeader(b"Content-Type", CONTENT_TYPE)
        return generate_latest(self.registry)


class QuietSite(Site):
    """A scrape every few seconds is not news: no access log, no factory chatter."""

    noisy = False

    def log(self, request):
        pass


def metrics_site(collector):
    """A `Site` serving ``collector`` at /metrics, and nothing else."""
    registry = CollectorRegistry()
    registry.register(collector)
    root = Root()
    root.putChild(b"metrics", MetricsPage(registry))
    site = QuietSite(root)
    site.displayTracebacks = False
    return site


class MetricsService(StreamServerEndpointService):
    """Listens on ``(host, port)``; a failure to listen is logged, not fatal."""

    def __init__(self, reactor, address, collector):
        host, port = address
        endpoint_type = TCP6ServerEndpoint if ":" in host else TCP4ServerEndpoint
        super().__init__(endpoint_type(reactor, port, interface=host), metrics_site(collector))
        self.address = address

    def privilegedStartService(self):
        # As StreamServerEndpointService's, but a failure is ours to report.
        service.Service.privilegedStartService(self)
        self._waitingForPort = self.endpoint.listen(self.factory)
        self._waitingForPort.addErrback(self._failed)

    def _failed(self, failure):
        host, port = self.address
        log.error("metrics: cannot listen on {host}:{port} ({error}); rackd runs without "
                  "its metrics endpoint", host=host, port=port, error=failure.value)
