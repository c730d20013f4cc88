"""The rackd service tree, assembled in one place.

    rackd (MultiService)
      ├─ dhcpd monitor, IPv4        (DhcpdMonitor: keeps dhcpd up, outlives rackd)
      ├─ dhcpd monitor, IPv6
      ├─ resume                     (at start: adopt or start what was applied)
      └─ control socket             (AMP on a unix socket, mode 0600: rackctl)
"""

import os

from twisted.application import service
from twisted.application.internet import StreamServerEndpointService
from twisted.internet.endpoints import UNIXServerEndpoint

from provisioningserver.network.discovery import addresses_by_interface
from provisioningserver.rpc.local import ControlFactory
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
    configurator = Configurator(
        config, monitors,
        key_source=lambda: load_or_create_key(config.state_dir),
        links=addresses_by_interface,
        clock=reactor,
    )
    top.configurator = configurator
    _Resume(configurator).setServiceParent(top)
    control = _ControlSocket(reactor, config.control_socket_path, ControlFactory(configurator))
    control.setName("control")
    control.setServiceParent(top)
    return top
