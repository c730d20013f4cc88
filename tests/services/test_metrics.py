"""The metrics collector: every source becomes its metric families, read at
scrape time; the exposition text parses with Prometheus's own parser."""

import attrs
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import task
from twisted.python.failure import Failure

from provisioningserver import __version__
from provisioningserver.dhcp.leaserecord import LeaseEvent
from provisioningserver.dhcp.model import DHCPConfig
from provisioningserver.rpc.local import ControlLocator, LeaseViews
from provisioningserver.services.configure import ConfigRejected, Outcome
from provisioningserver.services.foreign import ForeignServer
from provisioningserver.services.instruments import (
    ConfigureStats, LeaseEventCounts, OmapiStats,
)
from provisioningserver.leases.journal import Journal
from provisioningserver.services.metrics import MetricsCollector, Sources
from provisioningserver.dhcpd.monitor import MonitorStatus

DOC4 = {
    "shared_networks": [{"name": "lab", "subnets": [{
        "subnet_cidr": "198.18.0.0/24",
        "pools": [{"ip_range_low": "198.18.0.100", "ip_range_high": "198.18.0.109"},
                  {"ip_range_low": "198.18.0.200", "ip_range_high": "198.18.0.201"}],
    }]}],
    "hosts": [{"host": "known", "mac": "02:00:00:00:00:aa", "ip": "198.18.0.5"}],
}
DOC6 = {
    "shared_networks": [{"name": "lab", "subnets": [{
        "subnet_cidr": "2001:db8::/64",
        "pools": [{"ip_range_low": "2001:db8::100", "ip_range_high": "2001:db8::1ff"}],
    }]}],
}


def commit(ip, mac, family=4, when=1000.0):
    return LeaseEvent(action="commit", ip_family=family, ip=ip, mac=mac, lease_time=600,
                      timestamp=when)


@attrs.frozen
class WallClock:
    """The journal reads time as the time module offers it."""

    clock: object

    def time(self):
        return self.clock.seconds()


class FakeForwarder:
    over_limit = False

    def status(self):
        return {"state": "waiting", "pending": 7, "sent": 12, "failures": 0,
                "journal_bytes": 4096, "journal_max_bytes": 1 << 20,
                "journal_over_limit": self.over_limit}


def failover_status():
    return {"peers": [
        {"peer": "pair", "local_state": "communications-interrupted",
         "partner_state": "normal", "local_since": 900.0, "for_seconds": 100},
        {"peer": "other", "error": "no such failover peer"},
    ], "checked_at": 1000.0, "safety_time": 600, "drift": {}}


def build(tmp_path, **optional):
    """Sources over a real journal (two v4 leases, one v6) and fakes for the rest."""
    clock = task.Clock()
    clock.advance(1100)
    journal = Journal(str(tmp_path / "leases.db"), clock=WallClock(clock))
    counts = LeaseEventCounts()
    journal.observers.append(counts)
    journal.record([commit("198.18.0.100", "02:00:00:00:00:01"),
                    commit("198.18.0.101", "02:00:00:00:00:02"),
                    commit("2001:db8::100", None, family=6)], "test")
    journal.record([attrs.evolve(commit("198.18.0.101", "02:00:00:00:00:02"),
                                 action="release", timestamp=1050.0)], "test")
    configs = {4: DHCPConfig.from_document(DOC4, 4), 6: DHCPConfig.from_document(DOC6, 6)}
    views = LeaseViews(journal, configs.get, clock, FakeForwarder())
    configures = ConfigureStats()
    configures(4, Outcome(4, "started", "first"), 0.4)
    configures(4, Outcome(4, "applied-live", "hosts"), 0.02)
    configures(4, Outcome(4, "applied-live", "hosts"), 0.03)
    configures(6, Failure(ConfigRejected(None)), 0.1)
    omapi = OmapiStats()
    omapi.observe((4, "local", "apply"), 0.004)
    omapi.observe((4, "local", "failover_state"), 0.002, ConnectionRefusedError())
    statuses = {
        4: MonitorStatus("running", 123, 1000.0, "started", 0, None),
        6: MonitorStatus("dead", None, 1000.0, "died", 3, None),
    }
    sources = Sources(clock=clock, dhcpd=lambda: statuses, lease_events=counts,
                      configures=configures, omapi=omapi, leases=views,
                      forwarder=views.forwarder.status, failover=failover_status,
                      **optional)
    return sources, views


def scrape(sources):
    """The exposition text, parsed back: {sample name: {labels tuple: value}}."""
    registry = CollectorRegistry()
    registry.register(MetricsCollector(sources))
    text = generate_latest(registry).decode("utf-8")
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[key] = sample.value
    return samples


def one(samples, name, **labels):
    return samples[name][tuple(sorted(labels.items()))]


def test_pool_numbers_are_those_of_rackctl_pools(tmp_path):
    """Every pool of both families has size, active, reserved and free equal to
    what the control socket's GetPools (rackctl pools) answers."""
    sources, views = build(tmp_path)
    samples = scrape(sources)
    pools = ControlLocator(None, views).get_pools().result["pools"]
    assert len(pools) == 3
    for pool in pools:
        family = "6" if ":" in pool["subnet"] else "4"
        for key in ("size", "active", "reserved", "free"):
            assert one(samples, f"rackd_pool_{key}", family=family, subnet=pool["subnet"],
                       range=pool["range"]) == pool[key]
    assert one(samples, "rackd_pool_active", family="4", subnet="198.18.0.0/24",
               range="198.18.0.100-198.18.0.109") == 1
    assert one(samples, "rackd_pool_size", family="6", subnet="2001:db8::/64",
               range="2001:db8::100-2001:db8::1ff") == 256


def test_dhcpd_state_is_a_state_set_per_family(tmp_path):
    """The current state of each dhcpd is 1, the others 0; restarts are reported."""
    samples = scrape(build(tmp_path)[0])
    assert one(samples, "rackd_dhcpd_state", family="4", state="running") == 1
    assert one(samples, "rackd_dhcpd_state", family="4", state="dead") == 0
    assert one(samples, "rackd_dhcpd_state", family="6", state="dead") == 1
    assert one(samples, "rackd_dhcpd_restarts", family="6") == 3


def test_lease_events_by_family_and_action(tmp_path):
    """Each journaled event counts once under its family and action."""
    samples = scrape(build(tmp_path)[0])
    assert one(samples, "rackd_lease_events_total", family="4", action="commit") == 2
    assert one(samples, "rackd_lease_events_total", family="4", action="release") == 1
    assert one(samples, "rackd_lease_events_total", family="6", action="commit") == 1


def test_configure_outcomes_and_durations(tmp_path):
    """Runs count by family and outcome (live apart from restarts); the duration
    histogram has cumulative buckets, a count and a sum per outcome."""
    samples = scrape(build(tmp_path)[0])
    assert one(samples, "rackd_configure_total", family="4", outcome="applied-live") == 2
    assert one(samples, "rackd_configure_total", family="4", outcome="started") == 1
    assert one(samples, "rackd_configure_total", family="6", outcome="rejected") == 1
    assert one(samples, "rackd_configure_duration_seconds_count", family="4",
               outcome="applied-live") == 2
    assert one(samples, "rackd_configure_duration_seconds_sum", family="4",
               outcome="applied-live") == 0.05
    assert one(samples, "rackd_configure_duration_seconds_bucket", family="4",
               outcome="applied-live", le="0.01") == 0
    assert one(samples, "rackd_configure_duration_seconds_bucket", family="4",
               outcome="applied-live", le="0.05") == 2
    assert one(samples, "rackd_configure_duration_seconds_bucket", family="4",
               outcome="started", le="+Inf") == 1


def test_omapi_latency_and_errors(tmp_path):
    """Each request is in the latency histogram; a failure also counts under
    its exception class."""
    samples = scrape(build(tmp_path)[0])
    assert one(samples, "rackd_omapi_request_duration_seconds_count", family="4",
               server="local", method="apply") == 1
    assert one(samples, "rackd_omapi_request_duration_seconds_bucket", family="4",
               server="local", method="failover_state", le="0.0025") == 1
    assert one(samples, "rackd_omapi_request_errors_total", family="4", server="local",
               method="failover_state", error="ConnectionRefusedError") == 1


def test_journal_backlog_and_forwarder(tmp_path):
    """The forwarder's status: pending events, journal bytes, sent, its state."""
    samples = scrape(build(tmp_path)[0])
    assert one(samples, "rackd_journal_pending_events") == 7
    assert one(samples, "rackd_journal_size_bytes") == 4096
    assert one(samples, "rackd_lease_events_forwarded_total") == 12
    assert one(samples, "rackd_forwarder_state", state="waiting") == 1
    assert one(samples, "rackd_forwarder_state", state="idle") == 0
    assert one(samples, "rackd_journal_over_limit") == 0


def test_the_journal_alarm_is_a_metric(tmp_path, monkeypatch):
    """Undelivered events alone over journal_max_bytes: the gauge is 1."""
    monkeypatch.setattr(FakeForwarder, "over_limit", True)
    samples = scrape(build(tmp_path)[0])
    assert one(samples, "rackd_journal_over_limit") == 1


def test_failover_states_and_unreadable_peers(tmp_path):
    """A readable peer shows its local and partner states; an unreadable one
    shows only that its reading failed."""
    samples = scrape(build(tmp_path)[0])
    assert one(samples, "rackd_failover_state", peer="pair", side="local",
               state="communications-interrupted") == 1
    assert one(samples, "rackd_failover_state", peer="pair", side="partner",
               state="normal") == 1
    assert one(samples, "rackd_failover_reading_ok", peer="pair") == 1
    assert one(samples, "rackd_failover_reading_ok", peer="other") == 0
    assert not any(dict(k).get("peer") == "other" for k in samples["rackd_failover_state"])


def test_optional_sources_are_absent_until_given(tmp_path):
    """Without the transaction log and the foreign-server probe their metrics
    are left out, not reported as zeros; rackd_info is always there."""
    samples = scrape(build(tmp_path)[0])
    assert not any(name.startswith(("rackd_dhcp_problems", "rackd_foreign_dhcp"))
                   for name in samples)
    assert one(samples, "rackd_info", version=__version__) == 1


def test_problem_counts_and_foreign_servers_when_given(tmp_path):
    """The transaction log's counts per pool and kind, and each foreign server
    seen, with its first and last sighting."""
    problems = [(4, "198.18.0.0/24", "198.18.0.100-198.18.0.109", "no_free_leases", 5),
                (4, "198.18.0.0/24", None, "nak", 2)]
    servers = [ForeignServer("eth0", "198.18.0.66", "198.18.0.66", "02:00:00:00:00:66",
                       "198.18.0.77", 900.0, 1000.0)]
    sources, _ = build(tmp_path, problems=lambda: problems, foreign_servers=lambda: servers)
    samples = scrape(sources)
    assert one(samples, "rackd_dhcp_problems", family="4", subnet="198.18.0.0/24",
               range="198.18.0.100-198.18.0.109", kind="no_free_leases") == 5
    assert one(samples, "rackd_dhcp_problems", family="4", subnet="198.18.0.0/24",
               range="", kind="nak") == 2
    who = dict(interface="eth0", server_id="198.18.0.66", address="198.18.0.66",
               mac="02:00:00:00:00:66")
    assert one(samples, "rackd_foreign_dhcp_servers") == 1
    assert one(samples, "rackd_foreign_dhcp_server_last_seen_timestamp_seconds", **who) == 1000
    assert one(samples, "rackd_foreign_dhcp_server_first_seen_timestamp_seconds", **who) == 900


def test_lease_events_off_leaves_pool_and_backlog_metrics_out(tmp_path):
    """With no lease views (lease_events: false) there are no pool, journal or
    forwarder metrics; the rest still scrape."""
    sources, _ = build(tmp_path)
    samples = scrape(attrs.evolve(sources, leases=None, forwarder=None))
    assert not any(name.startswith(("rackd_pool_", "rackd_journal_", "rackd_forwarder"))
                   for name in samples)
    assert one(samples, "rackd_dhcpd_state", family="4", state="running") == 1


def test_values_are_read_at_each_scrape(tmp_path):
    """A lease recorded after one scrape shows in the next."""
    sources, views = build(tmp_path)
    labels = dict(family="4", subnet="198.18.0.0/24", range="198.18.0.100-198.18.0.109")
    assert one(scrape(sources), "rackd_pool_active", **labels) == 1
    views.journal.record([commit("198.18.0.102", "02:00:00:00:00:03")], "test")
    samples = scrape(sources)
    assert one(samples, "rackd_pool_active", **labels) == 2
    assert one(samples, "rackd_pool_free", **labels) == 8
    assert one(samples, "rackd_lease_events_total", family="4", action="commit") == 3
