"""Does dhcpd answer? A TCP connection to its OMAPI port, with a deadline.

dhcpd opens its OMAPI listener only after it has read its config and leases
and set up its interfaces, so a connection that is accepted means the process
got through start-up, not merely that it exists.
"""

from twisted.internet import protocol
from twisted.internet.endpoints import TCP4ClientEndpoint


class _Drop(protocol.Protocol):
    def connectionMade(self):
        self.transport.loseConnection()


def omapi_answers(reactor, port, host="127.0.0.1", timeout=2.0):
    """Deferred[bool]: whether something accepts connections on ``port``."""
    endpoint = TCP4ClientEndpoint(reactor, host, port, timeout=timeout)
    d = endpoint.connect(protocol.Factory.forProtocol(_Drop))
    d.addCallbacks(lambda _: True, lambda _: False)
    return d


def make_probe(reactor, config):
    """probe(spec) for the monitor: OMAPI of that spec's family answers."""

    def probe(spec):
        return omapi_answers(reactor, config.omapi_port(spec.ip_version))

    return probe


