"""The region's validate commands with a real thread pool: the reactor stays free.

`ValidateDHCPv4Config` reads, checks and renders the whole document. Here
the configurator runs its work on a real `ThreadPool` through
`deferToThreadPool`, as rackd does, with a reactor stand-in whose
``callFromThread`` queues the results for the test's own thread (the
reactor thread): whatever runs before those are delivered ran in the pool.
"""

import ipaddress
import json
import os
import queue

from twisted.internet import task
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from provisioningserver.config import RackdConfig
from provisioningserver.dhcpd.check import CheckResult
from provisioningserver.network.links import Snapshot
from provisioningserver.rpc.local import ControlLocator
from provisioningserver.rpc.rack_responders import RackResponders
from provisioningserver.services.coalesce import Coalescer
from provisioningserver.services.configure import Configurator
from provisioningserver.system.packed import PackedJSON
from tests.dhcp.documents import many_subnets
from tests.services.test_configure import FakeMonitor


class QueuedReactor:
    """What `deferToThreadPool` needs of a reactor: results come back as calls
    queued for the thread that runs `deliver`."""

    def __init__(self):
        self.calls = queue.Queue()

    def callFromThread(self, f, *args, **kwargs):
        self.calls.put((f, args, kwargs))

    def deliver(self, d, timeout=60):
        """Run the queued calls until ``d`` has fired."""
        while not d.called:
            f, args, kwargs = self.calls.get(timeout=timeout)
            f(*args, **kwargs)


def test_status_is_answered_while_a_3000_subnet_validate_runs(tmp_path):
    """While ValidateDHCPv4Config of 3,000 subnets (about 400 KiB of JSON)
    runs, the reactor thread answers GetDHCPStatus and the control socket's
    GetStatus (rackctl status) at once: the read, the checks and the render
    are in the pool. The validate then reports no errors."""
    config = RackdConfig(state_dir=str(tmp_path / "state"), run_dir=str(tmp_path / "run"),
                         dhcpd="/bin/true")
    for d in (config.state_dir, config.run_dir, os.path.join(config.state_dir, "log")):
        os.makedirs(d)
    reactor, pool, clock = QueuedReactor(), ThreadPool(1, 2, "validate-test"), task.Clock()
    pool.start()
    try:
        configurator = Configurator(
            config, {4: FakeMonitor(), 6: FakeMonitor()}, key_source=lambda: "agent-key",
            links=lambda: Snapshot.from_addresses(
                {"eth0": [ipaddress.ip_interface("198.18.0.5/15")]}),
            clock=clock, checker=lambda text, ip_version, dhcpd: CheckResult(ok=True),
            resolver=lambda config: {},
            run_in_thread=lambda f, *a, **k: deferToThreadPool(reactor, pool, f, *a, **k))
        coalescer = Coalescer(configurator, clock, timeout=120)
        region, control = RackResponders(coalescer), ControlLocator(configurator)
        document = PackedJSON(json.dumps(many_subnets(3000)).encode())

        validated = region.validate_v4(document)
        assert not validated.called
        assert region.get_status()["status"]["v4"]["state"] == "off"
        assert control.get_status()["status"]["v4"]["state"] == "off"
        assert not validated.called

        reactor.deliver(validated)
        assert validated.result == {"errors": []}
    finally:
        pool.stop()
    assert clock.getDelayedCalls() == []
