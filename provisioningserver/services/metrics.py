"""The Prometheus metrics: what rackd knows, as metric families, at scrape time.

`MetricsCollector` holds no numbers of its own. Each scrape asks `Sources`
for the current readings (pool usage computed by the same function as
`rackctl pools`, each dhcpd's monitor status, the forwarder's backlog, the
failover watch's last reading, and the optional sources of other
services) and for the in-process counters of
`provisioningserver.services.instruments`, and turns them into metric
families. A source that is None (lease events off, no foreign-server
probe) leaves its metrics out rather than reporting zeros that would look
like facts.

Every metric is named ``rackd_*``; labels are ``family`` ("4" or "6"),
``subnet`` and ``range`` for pools, ``action`` for lease events,
``outcome`` for configure runs, ``method`` and ``error`` for OMAPI,
``state`` for state sets (the current state has the value 1).

The collector reads Twisted and SQLite objects that belong to the reactor
thread, so it must be called there (`provisioningserver.services.metricshttp`
renders in the reactor thread for that reason).
"""

import ipaddress

import attrs
from prometheus_client.core import (
    CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily,
)
from prometheus_client.utils import floatToGoString

from provisioningserver import __version__
from provisioningserver.leases import reports

DHCPD_STATES = ("running", "off", "dead")
FORWARDER_STATES = ("idle", "sending", "waiting", "backoff", "standalone")


@attrs.frozen
class Sources:
    """Where the metrics come from; every reader is a no-argument callable."""

    clock: object  # seconds(): the time for lease expiry, as `rackctl pools` uses
    dhcpd: object  # () -> {ip_version: MonitorStatus}
    lease_events: object  # instruments.LeaseEventCounts
    configures: object  # instruments.ConfigureStats
    omapi: object  # instruments.OmapiStats
    leases: object = None  # rpc.local.LeaseViews, or None when lease events are off
    forwarder: object = None  # () -> Forwarder.status(), or None
    failover: object = None  # () -> FailoverWatch.status(), or None
    # () -> [(family, subnet, pool or None, kind, count)] from the transaction log
    problems: object = None
    # () -> records with interface, server_id, address, mac, offered, first_seen, last_seen
    foreign_servers: object = None


def _family(subnet):
    return str(ipaddress.ip_network(subnet).version)


def pool_metrics(usage):
    """Size, active, reserved and free per pool, from `reports.pool_usage`."""
    labels = ["family", "subnet", "range"]
    families = {
        key: GaugeMetricFamily(f"rackd_pool_{key}", text, labels=labels)
        for key, text in (
            ("size", "Addresses in the pool."),
            ("active", "Addresses of the pool with an active lease."),
            ("reserved", "Host reservations inside the pool."),
            ("free", "Addresses of the pool neither leased nor reserved."),
        )
    }
    for pool in usage:
        values = [_family(pool["subnet"]), pool["subnet"], pool["range"]]
        for key, family in families.items():
            family.add_metric(values, pool[key])
    return list(families.values())


def dhcpd_metrics(statuses):
    state = GaugeMetricFamily("rackd_dhcpd_state", "State of dhcpd per IP family "
                              "(1 for the current state).", labels=["family", "state"])
    restarts = GaugeMetricFamily("rackd_dhcpd_restarts", "Restarts after dhcpd died, "
                                 "since it was last started on request.", labels=["family"])
    for ip_version, status in sorted(statuses.items()):
        for name in DHCPD_STATES:
            state.add_metric([str(ip_version), name], 1 if status.state == name else 0)
        restarts.add_metric([str(ip_version)], status.restarts)
    return [state, restarts]


def _histogram(name, text, labels, histogram, label_values):
    family = HistogramMetricFamily(name, text, labels=labels)
    for key in sorted(histogram.series):
        counts, total = histogram.series[key]
        buckets, running = [], 0
        for bound, count in zip(histogram.buckets + (float("inf"),), counts):
            running += count
            buckets.append((floatToGoString(bound), running))
        family.add_metric(label_values(key), buckets, total)
    return family


def _configure_labels(key):
    return [str(key[0]), key[1]]


def configure_metrics(stats):
    labels = ["family", "outcome"]
    total = CounterMetricFamily("rackd_configure", "Configure and stop runs by how they "
                                "ended: applied-live, started, restarted, unchanged, "
                                "stopped, or a failure.", labels=labels)
    for key, count in sorted(stats.counts.items()):
        total.add_metric(_configure_labels(key), count)
    return [total, _histogram("rackd_configure_duration_seconds",
                              "Time a configure or stop run took, from its start to its "
                              "outcome.", labels, stats.durations, _configure_labels)]


def _omapi_labels(key):
    return [str(key[0]), key[1], key[2]]


def omapi_metrics(stats):
    latency = _histogram("rackd_omapi_request_duration_seconds",
                         "Time an OMAPI request (or batch, for apply) took to be answered.",
                         ["family", "server", "method"], stats.latency, _omapi_labels)
    errors = CounterMetricFamily("rackd_omapi_request_errors", "Failed OMAPI requests "
                                 "by exception class.",
                                 labels=["family", "server", "method", "error"])
    for key, count in sorted(stats.errors.items()):
        errors.add_metric(_omapi_labels(key) + [key[3]], count)
    return [latency, errors]


def lease_event_metrics(counts):
    total = CounterMetricFamily("rackd_lease_events", "Lease events journaled since rackd "
                                "started, by action.", labels=["family", "action"])
    for (family, action), count in sorted(counts.counts.items()):
        total.add_metric([str(family), action], count)
    return [total]


def forwarder_metrics(status):
    pending = GaugeMetricFamily("rackd_journal_pending_events", "Lease events journaled "
                                "and not yet acknowledged by the region.",
                                value=status["pending"])
    size = GaugeMetricFamily("rackd_journal_size_bytes", "Bytes of the lease journal on "
                             "disk.", value=status["journal_bytes"])
    sent = CounterMetricFamily("rackd_lease_events_forwarded", "Lease events the region "
                               "acknowledged since rackd started.", value=status["sent"])
    state = GaugeMetricFamily("rackd_forwarder_state", "State of the forwarder to the "
                              "region (1 for the current state).", labels=["state"])
    for name in FORWARDER_STATES:
        state.add_metric([name], 1 if status["state"] == name else 0)
    over = GaugeMetricFamily("rackd_journal_over_limit", "1 when undelivered lease events "
                             "alone fill journal_max_bytes (nothing more can be removed).",
                             value=1 if status.get("journal_over_limit") else 0)
    return [pending, size, sent, state, over]


def failover_metrics(status):
    state = GaugeMetricFamily("rackd_failover_state", "Failover state of each DHCPv4 peer "
                              "relationship, this server's (side=local) and its partner's "
                              "(1 for the current state).", labels=["peer", "side", "state"])
    readable = GaugeMetricFamily("rackd_failover_reading_ok", "Whether the last reading of "
                                 "the peer's failover state succeeded.", labels=["peer"])
    for reading in status.get("peers", ()):
        peer = str(reading.get("peer"))
        ok = "error" not in reading
        readable.add_metric([peer], 1 if ok else 0)
        if ok:
            state.add_metric([peer, "local", str(reading["local_state"])], 1)
            state.add_metric([peer, "partner", str(reading["partner_state"])], 1)
    return [state, readable]


def problem_metrics(rows):
    family = GaugeMetricFamily("rackd_dhcp_problems", "Requests dhcpd could not serve, "
                               "by kind (no_free_leases, nak), as the transaction log "
                               "counts them.", labels=["family", "subnet", "range", "kind"])
    for ip_family, subnet, pool, kind, count in rows:
        family.add_metric([str(ip_family), str(subnet), "" if pool is None else str(pool),
                           str(kind)], count)
    return [family]


def foreign_server_metrics(records):
    labels = ["interface", "server_id", "address", "mac"]
    seen = GaugeMetricFamily("rackd_foreign_dhcp_server_last_seen_timestamp_seconds",
                             "When a DHCP server other than this rack's last answered a "
                             "probe.", labels=labels)
    first = GaugeMetricFamily("rackd_foreign_dhcp_server_first_seen_timestamp_seconds",
                              "When a DHCP server other than this rack's was first seen.",
                              labels=labels)
    count = GaugeMetricFamily("rackd_foreign_dhcp_servers", "DHCP servers other than this "
                              "rack's seen.", value=len(records))
    for record in records:
        values = [str(getattr(record, name)) for name in labels]
        seen.add_metric(values, record.last_seen)
        first.add_metric(values, record.first_seen)
    return [count, first, seen]


class MetricsCollector:
    """A prometheus_client collector over `Sources`; see the module docstring."""

    def __init__(self, sources):
        self.sources = sources

    def collect(self):
        s = self.sources
        info = GaugeMetricFamily("rackd_info", "rackd's version.", labels=["version"])
        info.add_metric([__version__], 1)
        families = [info]
        families += dhcpd_metrics(s.dhcpd())
        families += configure_metrics(s.configures)
        families += omapi_metrics(s.omapi)
        families += lease_event_metrics(s.lease_events)
        if s.leases is not None:
            families += pool_metrics(reports.pool_usage(
                s.leases.journal.latest(), s.leases.configs(), s.clock.seconds()))
        if s.forwarder is not None:
            families += forwarder_metrics(s.forwarder())
        if s.failover is not None:
            families += failover_metrics(s.failover())
        if s.problems is not None:
            families += problem_metrics(s.problems())
        if s.foreign_servers is not None:
            families += foreign_server_metrics(list(s.foreign_servers()))
        return families
