"""The metrics endpoint: ``GET /metrics`` over HTTP, on the configured address.

prometheus_client ships `prometheus_client.twisted.MetricsResource`, but it
runs the registry in the reactor's thread pool (it is a WSGI app), and the
collector reads objects that belong to the reactor thread: the journal's
SQLite connection refuses to be used from another thread, and the services'
state may change under a reader in one. So the page is rendered in the
reactor thread with prometheus_client's own text encoder; a scrape costs
what `rackctl pools` costs, and both are as cheap as the journal's newest-
event query.

The HTTP is rackd's own, not twisted.web: a server that answers one path
needs a request line, the end of the headers and a length, and twisted.web
(its server, resources, templates, and the URL and IDNA libraries they
import) was 2.8 MB of rackd's 47.5 MB at rest (measured: VmRSS of a fresh
interpreter importing the rest of the agent, then this module with and
without it). What it does, and nothing else:

- ``GET`` and ``HEAD`` of ``/metrics`` (a query string is ignored) give the
  exposition text with its length; any other path is 404 and any other
  method 405, each with a line of text; neither reads the collector;
- requests are answered in order on one connection (HTTP/1.1 keep-alive,
  as Prometheus scrapes); ``Connection: close`` or HTTP/1.0 closes after
  the answer;
- a request with a body, a head over 16 KiB or a malformed request line is
  answered 400 and the connection closed, and a connection idle for 60 s
  is closed.

The address comes from rackd.yaml (``metrics``, localhost by default): the
endpoint has no authentication, so exposing it beyond the node is the
operator's choice. A port that is taken is logged and leaves rackd running
without metrics: DHCP matters more than its statistics.
"""

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from twisted.application import service
from twisted.application.internet import StreamServerEndpointService
from twisted.internet import protocol
from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint
from twisted.logger import Logger
from twisted.protocols.policies import TimeoutMixin

log = Logger()

# The classic text format, which generate_latest writes (0.16 and later).
CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"
TEXT = b"text/plain; charset=utf-8"
MAX_HEAD = 16 * 1024
IDLE_SECONDS = 60
_REASONS = {200: b"OK", 400: b"Bad Request", 404: b"Not Found", 405: b"Method Not Allowed"}


class MetricsProtocol(protocol.Protocol, TimeoutMixin):
    """One HTTP connection to the endpoint (see the module docstring)."""

    def __init__(self, page):
        self.page = page  # () -> the exposition text
        self.buffer = b""

    def connectionMade(self):
        self.setTimeout(IDLE_SECONDS)

    def dataReceived(self, data):
        self.resetTimeout()
        self.buffer += data
        while self.transport is not None and not self.transport.disconnecting:
            head, found, rest = self.buffer.partition(b"\r\n\r\n")
            if not found:
                if len(self.buffer) > MAX_HEAD:
                    self.answer(400, TEXT, b"request head too large\n", close=True)
                return
            self.buffer = rest
            self.request(head)

    def request(self, head):
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(head) > MAX_HEAD or len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            return self.answer(400, TEXT, b"bad request\n", close=True)
        method, target, version = parts
        headers = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon:
                return self.answer(400, TEXT, b"bad header\n", close=True)
            headers[name.strip().lower()] = value.strip().lower()
        if headers.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in headers:
            return self.answer(400, TEXT, b"this server takes no request body\n", close=True)
        close = version == b"HTTP/1.0" or headers.get(b"connection") == b"close"
        head_only = method == b"HEAD"
        if method not in (b"GET", b"HEAD"):
            return self.answer(405, TEXT, b"GET or HEAD only\n", close, extra=b"Allow: GET, HEAD\r\n")
        if target.partition(b"?")[0] not in (b"/metrics", b"/metrics/"):
            return self.answer(404, TEXT, b"not found: this server has /metrics only\n", close,
                               head_only=head_only)
        return self.answer(200, CONTENT_TYPE, self.page(), close, head_only=head_only)

    def answer(self, code, content_type, body, close=False, extra=b"", head_only=False):
        head = (b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s%s\r\n"
                % (code, _REASONS[code], content_type, len(body), extra,
                   b"Connection: close\r\n" if close else b""))
        self.transport.write(head if head_only else head + body)
        if close:
            self.setTimeout(None)
            self.transport.loseConnection()

    def timeoutConnection(self):
        self.transport.loseConnection()

    def connectionLost(self, reason=None):
        self.setTimeout(None)


class MetricsFactory(protocol.Factory):
    """Serves ``collector`` at /metrics, and nothing else; a scrape every few
    seconds is not news: no factory chatter."""

    noisy = False

    def __init__(self, collector):
        self.registry = CollectorRegistry()
        self.registry.register(collector)

    def page(self):
        """The exposition text a GET of /metrics answers, read now."""
        return generate_latest(self.registry)

    def buildProtocol(self, addr):
        return MetricsProtocol(self.page)


class MetricsService(StreamServerEndpointService):
    """Listens on ``(host, port)``; a failure to listen is logged, not fatal."""

    def __init__(self, reactor, address, collector):
        host, port = address
        endpoint_type = TCP6ServerEndpoint if ":" in host else TCP4ServerEndpoint
        super().__init__(endpoint_type(reactor, port, interface=host), MetricsFactory(collector))
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
