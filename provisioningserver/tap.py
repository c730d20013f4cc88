"""The rackd service tree, assembled in one place.

    rackd (MultiService)
      ├─ dhcpd monitor, IPv4        (DhcpdMonitor: keeps dhcpd up, outlives rackd)
      ├─ dhcpd monitor, IPv6
      ├─ resume                     (at start: adopt or start what was applied)
      ├─ failover watch             (IPv4 failover peers' state over OMAPI, every 10 s)
      ├─ foreign-probe              (DHCPDISCOVERs on the served interfaces, every
      │                              foreign_probe_interval s; servers not ours -> region)
      ├─ control socket             (AMP on a unix socket, mode 0600: rackctl)
      ├─ metrics                    (Prometheus /metrics over HTTP, unless metrics is false)
      ├─ region                     (only when `region` is configured: one reconnecting
      │                              TLS client per region controller)
      └─ lease events               (unless lease_events is false)
           ├─ follow dhcpd log, v4/v6  (in one thread at idle CPU priority, IdleRunner:
           │                            dhcpd's per-packet lines -> commits, releases and
           │                            transactions; its expiry log() records; v4 lease
           │                            times from the leases file -> journal; problems
           │                            per pool counted in events.transactions)
           ├─ lease socket             (dhcp-notify datagrams and spool -> journal)
           ├─ forwarder                (journal -> region UpdateLeases, delete on ack)
           ├─ history pruning          (hourly; history_days, transactions_days/_max_rows)
           └─ size limit               (every minute: journal_max_bytes, oldest history and
                                        transactions first, never undelivered events)

Both the control socket and the region configure through one `Coalescer`, so
their documents are serialised together per IP family.

Every object is given what it needs when it is built; nothing is attached to
a service afterwards. What dhcpd serves is one `AppliedState`, written only
by the configurator and handed to each reader (failover watch, problem
counts, lease views, foreign probe, the follower's known clients), so no
reader reaches into another service. Listeners that only exist later (the
region link hearing of failover changes, the forwarder hearing of new
events) register through the producer's own ``on_change``/``observers``.
"""

import functools
import os

from twisted.application import service
from twisted.application.internet import TimerService
from twisted.internet import defer, threads
from twisted.application.internet import StreamServerEndpointService
from twisted.internet.endpoints import UNIXServerEndpoint

from provisioningserver.omapi.client import OmapiClient
from provisioningserver.dhcp import hosttable
from provisioningserver.dhcp.render import OMAPI_KEY_NAME
from provisioningserver.dhcpd.check import check_config
from provisioningserver.network.discovery import discover
from provisioningserver.rpc.local import ControlFactory
from provisioningserver.rpc.region import region_service
from provisioningserver.services.coalesce import Coalescer
from provisioningserver.services.configure import Configurator
from provisioningserver.services.configurelog import ConfigureLog
from provisioningserver.rpc import commands
from provisioningserver.rpc.local import LeaseViews
from provisioningserver.system.files import DhcpdPaths, ensure_directories
from provisioningserver.leases.forward import Forwarder
from provisioningserver.leases.journal import Journal
from provisioningserver.services.dhcpstate import AppliedState
from provisioningserver.leases.follow import LeaseFollowService, LogFollower
from provisioningserver.leases.lookups import KnownClients, LineEvents
from provisioningserver.leases.notify import LeaseSocketService
from provisioningserver.leases.retention import JournalLimit
from provisioningserver.system.idle import IdleRunner
from provisioningserver.system.keys import load_or_create_key
from provisioningserver.services.failoverwatch import FailoverWatch
from provisioningserver.services.foreign import ForeignProbe, peer_addresses, probe_interfaces
from provisioningserver.services.instruments import (
    ConfigureStats, LeaseEventCounts, OmapiStats, TimedOmapi,
)
from provisioningserver.services.metrics import MetricsCollector, Sources
from provisioningserver.services.metricshttp import MetricsService
from provisioningserver.services.stallwatch import StallWatch
from provisioningserver.system.memory import Settle, give_back
from provisioningserver.dhcpd.monitor import DhcpdMonitor
from provisioningserver.dhcpd.probe import make_probe
from provisioningserver.leases.problems import ProblemCounts
from provisioningserver.dhcpd.process import ProcessBackend
from provisioningserver.dhcpd.systemd import SystemdBackend


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
        backend = SystemdBackend() if config.service_backend == "systemd" else ProcessBackend()
        monitor = DhcpdMonitor(backend, reactor, probe=probe)
        monitor.setName(f"dhcpd-v{ip_version}")
        monitor.setServiceParent(top)
        monitors[ip_version] = monitor
    # Counted as things happen, for the metrics (services.instruments).
    omapi_stats, configure_stats, lease_counts = OmapiStats(), ConfigureStats(), LeaseEventCounts()

    def omapi_factory(ip_version, key):
        # dhcpd listens for OMAPI on every address; rackd talks to its own over loopback.
        return TimedOmapi(OmapiClient(reactor, "127.0.0.1", config.omapi_port(ip_version),
                                      OMAPI_KEY_NAME, key), reactor, omapi_stats, ip_version)

    key_source = functools.partial(load_or_create_key, config.state_dir)
    state = AppliedState(config.state_dir)

    # Failover state of the applied IPv4 document's peers, for status and partner-down.
    def peer_omapi_factory(address, key):
        # Both racks of a pair run dhcpd with the same OMAPI port and the region's key.
        return TimedOmapi(OmapiClient(reactor, address, config.omapi_port_v4, OMAPI_KEY_NAME,
                                      key), reactor, omapi_stats, 4, server=address)

    failover = FailoverWatch(reactor, functools.partial(state.config, 4), key_source,
                             omapi_factory, peer_omapi_factory=peer_omapi_factory,
                             safety_time=config.failover_safety_time)
    failover.setName("failover")
    configurator = Configurator(
        config, monitors,
        key_source=key_source,
        links=discover,
        clock=reactor,
        omapi_factory=omapi_factory,
        # dhcpd -t reads its check file from run_dir, which AppArmor lets it read.
        checker=functools.partial(check_config, directory=config.run_dir),
        state=state,
        failover_status=failover.status,
    )
    coalescer = Coalescer(configurator, reactor)
    coalescer.on_outcome(configure_stats)
    coalescer.on_outcome(ConfigureLog())  # one log line per configure run
    # What outlives the run is frozen out of the cyclic collector's walks
    # (system.memory.Settle); what it built and dropped goes back to the
    # system (in a thread: ms).
    coalescer.on_outcome(Settle())
    coalescer.on_outcome(lambda *_: threads.deferToThread(give_back))
    _Resume(configurator).setServiceParent(top)
    region = None
    if config.region:
        region = region_service(config, coalescer, reactor)
        region.setServiceParent(top)
        failover.on_change(region.report_services)
    views = events = None
    if config.lease_events:
        events = _lease_events(config, state, region, reactor, lease_counts)
        events.setServiceParent(top)
        views = events.views
    failover.setServiceParent(top)
    foreign = _foreign_probe(config, state, region, reactor)
    foreign.setServiceParent(top)
    if config.stall_log_seconds > 0:
        StallWatch(reactor, config.stall_log_seconds).setServiceParent(top)
    control = _ControlSocket(reactor, config.control_socket_path,
                             ControlFactory(coalescer, views, failover, foreign))
    control.setName("control")
    control.setServiceParent(top)
    if config.metrics_address is not None:
        sources = Sources(
            clock=reactor,
            dhcpd=lambda: {v: monitor.status() for v, monitor in monitors.items()},
            lease_events=lease_counts, configures=configure_stats, omapi=omapi_stats,
            leases=views, forwarder=views.forwarder.status if views is not None else None,
            failover=failover.status,
            # The transaction log's per-pool problems (None leaves them out).
            problems=events.transactions.problem_counts if events is not None else None,
            foreign_servers=foreign.servers,
        )
        metrics = MetricsService(reactor, config.metrics_address, MetricsCollector(sources))
        metrics.setName("metrics")
        metrics.setServiceParent(top)
    return top


class _LeaseEvents(service.MultiService):
    """The lease event services, and what the control socket reads of them."""

    def __init__(self, journal, views, transactions, threaded_journals, runner):
        super().__init__()
        self.journal = journal
        self.views = views
        self.transactions = transactions  # ProblemCounts: problem_counts(), problems()
        # The followers' and the forwarder's connections, used in threads.
        self.threaded_journals = threaded_journals
        self.runner = runner  # IdleRunner: the followers' thread

    def stopService(self):
        d = defer.maybeDeferred(super().stopService)  # waits for a poll in progress

        def close(result):
            self.runner.stop()
            for threaded in self.threaded_journals:
                threaded.close()
            self.journal.close()
            return result

        return d.addBoth(close)


def _lease_events(config, state, region, reactor, counts):
    journal = Journal(config.journal_path, retention=config.history_days * 24 * 3600,
                      transaction_retention=config.transactions_days * 24 * 3600,
                      transaction_rows=config.transactions_max_rows)
    transactions = ProblemCounts(state.config, reactor)
    journal.transaction_observers.append(transactions)

    def send(events):
        return region.call(commands.UpdateLeases, events=events)

    limit = JournalLimit(journal, config.journal_max_bytes)
    # Standalone (no region configured): no send, the forwarder's "standalone" state.
    # Batches are read and deleted in a thread, on a connection of the
    # forwarder's own: SQLite's waits (an fsync, another connection's lock)
    # do not hold the reactor (leases.forward).
    forward_journal = Journal(config.journal_path, threaded=True)
    forwarder = Forwarder(journal, send if region is not None else None, reactor, limit=limit,
                          reader=forward_journal,
                          run=lambda f, *args: threads.deferToThread(f, *args))
    journal.observers.append(counts)  # the metrics' lease event counts
    journal.observers.append(forwarder.nudge)  # new events go to the region at once
    views = LeaseViews(journal, state.config, reactor, forwarder, problems=transactions)
    # The followers write through a connection of their own, in a thread of
    # their own at idle priority; their committed batches reach the
    # observers (metrics, problem counts) in the reactor thread.
    def relay(events, transactions):
        reactor.callFromThread(journal.notify, events, transactions)

    follow_journal = Journal(config.journal_path, threaded=True, relay=relay)
    runner = IdleRunner(reactor, config.nice)
    events = _LeaseEvents(journal, views, transactions, (follow_journal, forward_journal),
                          runner)
    events.setName("lease-events")

    def reserved_macs():
        applied = state.config(4)
        return () if applied is None else hosttable.macs(applied.hosts)

    for ip_version in (4, 6):
        paths = DhcpdPaths.for_family(config, ip_version)
        known = None
        if ip_version == 4:  # dhcpd's v6 lines name DUIDs, not the MACs hosts name
            known = KnownClients(lambda: state.generation, reserved_macs)
        # With lease_source dhcp-notify the log still gives the transactions.
        follower = LogFollower(paths.log, follow_journal, f"dhcpd{ip_version}",
                               events=LineEvents(paths.leases, known),
                               lease_events=config.lease_source == "log")
        LeaseFollowService(follower, reactor, run=runner.run,
                           promote=runner.promote).setServiceParent(events)
    LeaseSocketService(config.lease_socket_path, config.lease_spool_path, journal,
                       reactor).setServiceParent(events)
    forwarder.setServiceParent(events)
    prune = TimerService(3600, lambda: (journal.prune_history(), journal.prune_transactions()))
    prune.clock = reactor
    prune.setServiceParent(events)
    # The size limit is checked more often than history is pruned by age:
    # a burst of events can fill it within the hour.
    trim = TimerService(60, limit.enforce)
    trim.clock = reactor
    trim.setServiceParent(events)
    return events


def _foreign_probe(config, state, region, reactor):
    def report(interface, servers):
        if region is None:
            return None
        return region.call(commands.ReportForeignDHCPServer, interface=interface,
                           servers=servers)

    foreign = ForeignProbe(
        reactor,
        interfaces=lambda: probe_interfaces(state.spec(4), config.foreign_probe_interfaces),
        links=discover, peers=lambda: peer_addresses(state.config(4)),
        interval=config.foreign_probe_interval, report=report)
    foreign.setName("foreign-probe")
    return foreign
