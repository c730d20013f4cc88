"""The metrics endpoint of the real rackd (issue I): /metrics, fetched inside
the rack's namespace where it listens on loopback, parses with Prometheus's
text parser and its pool numbers are those of rackctl pools."""

import json
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.lab.dhclient import Dhclient
from tests.lab.rackd import rack_and_client, wait_until
from tests.lab.test_agent import DOCUMENT

pytestmark = pytest.mark.lab

PORT = 9249  # not the default, so the test shows the key is read
FETCH = ("import sys, urllib.request; "
         "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())")


def document(hosts=()):
    doc = json.loads(json.dumps(DOCUMENT))
    doc["shared_networks"][0]["subnets"][0]["pools"].append(
        {"ip_range_low": "198.18.0.200", "ip_range_high": "198.18.0.209"})
    doc["hosts"] = [{"host": name, "mac": mac, "ip": ip} for name, mac, ip in hosts]
    return doc


def fetch(agent, path="/metrics", check=True):
    return agent.host.run([sys.executable, "-c", FETCH, f"http://127.0.0.1:{PORT}{path}"],
                          check=check)


def scrape(agent):
    """{sample name: {sorted labels tuple: value}}, parsed by prometheus_client."""
    samples = {}
    for family in text_string_to_metric_families(fetch(agent).stdout):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = \
                sample.value
    return samples


def value(samples, name, **labels):
    return samples[name][tuple(sorted(labels.items()))]


def test_metrics_match_rackctl_pools_after_a_lease(lab):
    """After a dhclient lease and a live host change: every pool's size, active,
    reserved and free equal rackctl pools --json; dhcpd v4 is running; the
    configure outcomes (started, applied-live), the commit and the OMAPI batch
    are counted, the commit waits in the journal; any other path is 404."""
    agent, client = rack_and_client(lab, metrics=f"127.0.0.1:{PORT}")
    assert agent.configure(document())["action"] == "started"
    lease = Dhclient(client).obtain()
    wait_until(lambda: any(p["active"] for p in
                           json.loads(agent.rackctl("pools", "--json").stdout)),
               what="the lease counted by rackctl pools")
    outcome = agent.configure(document([("known", "02:00:5e:10:00:99", "198.18.0.20")]))
    assert outcome["action"] == "applied-live"

    samples = scrape(agent)
    pools = json.loads(agent.rackctl("pools", "--json").stdout)
    assert [p["range"] for p in pools] == ["198.18.0.100-198.18.0.150",
                                           "198.18.0.200-198.18.0.209"]
    for pool in pools:
        labels = dict(family="4", subnet=pool["subnet"], range=pool["range"])
        for key in ("size", "active", "reserved", "free"):
            assert value(samples, f"rackd_pool_{key}", **labels) == pool[key], (key, pool)
    assert value(samples, "rackd_pool_active", family="4", subnet="198.18.0.0/24",
                 range="198.18.0.100-198.18.0.150") == 1
    assert lease.address.startswith("198.18.0.1")

    assert value(samples, "rackd_dhcpd_state", family="4", state="running") == 1
    assert value(samples, "rackd_dhcpd_state", family="6", state="off") == 1
    assert value(samples, "rackd_configure_total", family="4", outcome="started") == 1
    assert value(samples, "rackd_configure_total", family="4", outcome="applied-live") == 1
    assert value(samples, "rackd_configure_duration_seconds_count", family="4",
                 outcome="started") == 1
    assert value(samples, "rackd_lease_events_total", family="4", action="commit") >= 1
    assert value(samples, "rackd_omapi_request_duration_seconds_count", family="4",
                 server="local", method="apply") >= 1
    # No region (standalone): events are kept for the reports, not queued for
    # a region that does not exist, so the backlog stays empty.
    assert value(samples, "rackd_forwarder_state", state="standalone") == 1
    assert value(samples, "rackd_journal_pending_events") == 0

    missing = fetch(agent, "/", check=False)
    assert missing.returncode != 0 and "404" in missing.stderr
