"""The rackd service tree, assembled in one place.

    rackd (MultiService)
      ├─ dhcpd monitor, IPv4        (DhcpdMonitor: keeps dhcpd up, outlives rackd)
      ├─ dhcpd monitor, IPv6
      ├─ resume                     (at start: adopt or start what was applied)
      ├─ control socket             (AMP on a unix socket, mode 0600: rackctl)
      └─ region                     (only when `region` is configured: one reconnecting
                                     TLS client per region controller)

Both the control socket and the region configure through one `Coalescer`, so
their documents are serialised together per IP family.
"""

import os

from twisted.application import service
from twisted.application.internet import StreamServerEndpointService
from twisted.internet.endpoints import UNIXServerEndpoint

from provisioningserver.dhcp.omapi import OmapiClient
from provisioningserver.dhcp.render import OMAPI_KEY_NAME
from provisioningserver.network.discovery import discover
from provisioningserver.rpc.local import ControlFactory
from provisioningserver.rpc.region import region_service
from provisioningserver.services.coalesce import Coalescer
from provisioningserver.services.configure import Configurator
from provisioningserver.services.files import ensure_directories
from provisioningserver.services.keys import load_or_create_key
from provisioningserver.services.monitor import DhcpdMonitor
from provisioningserver.services.probe import make_probe
from provisioningserver.services.process import ProcessBackend


class _Resume(service.Service):
    """Once the monitors run, bring back what was applied before."""

    def __init__(self, configurator):
        self.configurator = configurator

    def startService(self):
        super().startService()
        self.configurator.resume()


class _ControlSocket(StreamServerEndpointService):
    """The control socket; a stale socket file from a dead rackd is removed."""

    def __init__(self, reactor, path, factory):
        super().__init__(UNIXServerEndpoint(reactor, path, mode=0o600, wantPID=True), factory)
        self.path = path

    def privilegedStartService(self):
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, mode=0o755, exist_ok=True)
        super().privilegedStartService()


def makeService(config, reactor=None):
    if reactor is None:
        from twisted.internet import reactor
    ensure_directories(config)
    top = service.MultiService()
    top.setName("rackd")
    probe = make_probe(reactor, config)
    monitors = {}
    for ip_version in (4, 6):
        monitor = DhcpdMonitor(ProcessBackend(), reactor, probe=probe)
        monitor.setName(f"dhcpd-v{ip_version}")
        monitor.setServiceParent(top)
        monitors[ip_version] = monitor
    def omapi_factory(ip_version, key):
        # dhcpd listens for OMAPI on every address; rackd talks to its own over loopback.
        return OmapiClient(reactor, "127.0.0.1", config.omapi_port(ip_version), OMAPI_KEY_NAME,
                           key)

    configurator = Configurator(
        config, monitors,
        key_source=lambda: load_or_create_key(config.state_dir),
        links=discover,
        clock=reactor,
        omapi_factory=omapi_factory,
    )
    top.configurator = configurator
    coalescer = top.coalescer = Coalescer(configurator, reactor)
    _Resume(configurator).setServiceParent(top)
    control = _ControlSocket(reactor, config.control_socket_path, ControlFactory(coalescer))
    control.setName("control")
    control.setServiceParent(top)
    if config.region:
        region_service(config, coalescer, reactor).setServiceParent(top)
    return top
