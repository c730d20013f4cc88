"""The test region drives the real rackd over TLS in a lab (issue C).

    region (198.18.10.1, eth0) ──veth── (eth1, 198.18.10.2) rack (198.18.0.1, eth0) ── switch ── client

The test region runs as a process in its own namespace (``python -m
tests.region.server``): it prints one JSON line per thing a rack sent, which
the test reads from its log, and takes commands for the rack on a unix
socket (`tests.region.control`). rackd checks the region's certificate
against a CA made for this test; both sides share a secret file.
"""

import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from tests.lab.dhclient import Dhclient
from tests.lab.rackd import REPO, RackdAgent
from tests.lab.rackd import wait_until
from tests.lab.test_agent import DOCUMENT, document
from tests.region import control
from tests.region.certs import make_pki, write_secret

pytestmark = pytest.mark.lab

REGION_IP, RACK_IP, PORT = "198.18.10.1", "198.18.10.2", 5250
RACK_ID = "rack-lab"


class RegionProcess:
    """The test region as a process in a lab host; each start logs to a file of its own."""

    def __init__(self, host, pki, secret_file, interface=REGION_IP, port=PORT, options=()):
        self.host, self.pki, self.secret_file = host, pki, secret_file
        self.interface, self.port, self.options = interface, port, list(options)
        short = tempfile.mkdtemp(prefix="rg")  # unix socket paths are short
        host.lab.teardown.push("remove " + short, lambda: shutil.rmtree(short, True))
        self.control = os.path.join(short, "control.sock")
        self.process = None
        self.starts = 0

    def start(self):
        self.starts += 1
        self.process = self.host.popen(
            [sys.executable, "-m", "tests.region.server", "--port", str(self.port),
             "--interface", self.interface, "--secret-file", self.secret_file,
             "--cert", self.pki.cert, "--key", self.pki.key, "--control", self.control,
             *self.options],
            name=f"region{self.starts}", cwd=REPO)
        wait_until(lambda: self.events("listening"), what="the region to listen")
        return self

    def stop(self):
        self.process.stop()

    def events(self, kind=None):
        """What this run of the region printed, oldest first."""
        found = []
        for line in self.process.log().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a traceback or a warning: shown in the failure report
            if isinstance(event, dict) and kind in (None, event.get("event")):
                found.append(event)
        return found

    def wait_for(self, kind, predicate=lambda event: True, timeout=20):
        return wait_until(lambda: [e for e in self.events(kind) if predicate(e)],
                          timeout=timeout, what=f"region event {kind}")[-1]

    def call(self, command, *calls):
        """Results of ``calls`` (argument mappings), all sent at once to the rack."""
        return control.request(self.control, command, calls or ({},))


def dhcpd_running(event):
    return any(s["service"] == "dhcpd" and s["status"] == "running" for s in event["services"])


def build(lab, relay=None, prefix=24, region_options=(), **settings):
    """Region, rack and client hosts; the region listening, rackd registered with it.

    With ``relay`` (a callable given the region's host), the region listens
    on its host's loopback instead, and ``relay`` starts whatever listens
    where rackd dials (REGION_IP:PORT) and relays to it there.
    ``region_options`` are more arguments for the test region."""
    switch = lab.add_switch("sw")
    rack, client, region_host = lab.add_host("rack"), lab.add_host("client"), lab.add_host("region")
    lab.attach(rack, switch)
    lab.attach(client, switch)
    rack.add_address("eth0", f"198.18.0.1/{prefix}")
    lab.link(region_host, rack, "eth0", "eth1")
    region_host.add_address("eth0", REGION_IP + "/24")
    rack.add_address("eth1", RACK_IP + "/24")
    pki = make_pki(lab.workdir, addresses=(REGION_IP,))
    secret_file = os.path.join(lab.workdir, "secret")
    write_secret(secret_file)
    if relay is None:
        region = RegionProcess(region_host, pki, secret_file, options=region_options).start()
    else:
        region = RegionProcess(region_host, pki, secret_file, interface="127.0.0.1",
                               options=region_options).start()
        relay(region_host)
    agent = RackdAgent(rack, region=[f"{REGION_IP}:{PORT}"], region_ca=pki.ca,
                       secret_file=secret_file, rack_id=RACK_ID, rack_name="lab-rack",
                       **settings).start()
    region.wait_for("services")
    return region, agent, client


def configure(region, doc):
    (result,) = region.call("ConfigureDHCPv4", {"document": doc})
    assert "reply" in result, result
    return result["reply"]["outcome"]


def test_region_configures_the_rack_over_tls_and_a_client_gets_its_lease(lab):
    """The rack registers with its id and name; ConfigureDHCPv4 from the region
    starts dhcpd, a real dhclient gets an address, and the rack reports
    dhcpd running to the region."""
    region, agent, client = build(lab)
    registered = region.wait_for("registered")
    assert (registered["rack"], registered["name"]) == (RACK_ID, "lab-rack")
    outcome = configure(region, DOCUMENT)
    assert outcome["action"] == "started"
    lease = Dhclient(client).obtain()
    assert lease.address.startswith("198.18.0.1") and lease.server_id == "198.18.0.1"
    region.wait_for("services", dhcpd_running)
    status = agent.status()["v4"]
    assert status["state"] == "running"
    assert status["config_fingerprint"] == outcome["fingerprint"]


def test_client_renews_while_the_region_is_away_and_the_rack_reregisters(lab):
    """With the region stopped, dhcpd keeps serving: the client's RENEW (6 s
    lease) succeeds. When the region comes back, the rack registers again and
    reports dhcpd running, without restarting it."""
    region, agent, client = build(lab, lease_time=6)
    configure(region, DOCUMENT)
    pid = agent.dhcpd_pid()
    dhclient = Dhclient(client)
    lease = dhclient.obtain()
    region.stop()
    seen = len(dhclient.events())
    renewed = dhclient.wait_for(("RENEW",), after=seen, timeout=15)
    assert renewed.address == lease.address
    region.start()
    again = region.wait_for("registered", timeout=30)
    assert again["rack"] == RACK_ID
    assert dhcpd_running(region.wait_for("services"))
    assert agent.dhcpd_pid() == pid


def test_invalid_document_via_rpc_names_the_field_and_changes_nothing(lab):
    """A document with a router outside its subnet fails INVALID_DOCUMENT naming
    the field; dhcpd's pid and config fingerprint stay as they were."""
    region, agent, _ = build(lab)
    configure(region, DOCUMENT)
    before = agent.status()["v4"]
    (result,) = region.call("ConfigureDHCPv4", {"document": document(router_ip="198.19.0.1")})
    assert result["error"] == "INVALID_DOCUMENT"
    fields = [e["field"] for e in json.loads(result["description"])["errors"]]
    assert "shared_networks[0].subnets[0].router_ip" in fields
    after = agent.status()["v4"]
    assert (after["pid"], after["config_fingerprint"]) == \
        (before["pid"], before["config_fingerprint"])


def test_ten_concurrent_configures_end_with_the_newest_applied(lab):
    """Ten ConfigureDHCPv4 calls sent at once all succeed, and what dhcpd then
    serves is the last one's (its DNS server reaches the client)."""
    region, agent, client = build(lab)
    docs = [document(dns_servers=[f"198.18.0.{60 + n}"]) for n in range(10)]
    results = region.call("ConfigureDHCPv4", *({"document": d} for d in docs))
    assert all("reply" in r for r in results), results
    newest = results[-1]["reply"]["outcome"]
    # The nine queued behind the first run were coalesced into fewer runs.
    assert len({r["reply"]["outcome"]["fingerprint"] for r in results}) < len(docs)
    assert agent.status()["v4"]["config_fingerprint"] == newest["fingerprint"]
    assert Dhclient(client).obtain().dns_servers == ("198.18.0.69",)


def _dhcpd_says(line, directory):
    """What the real dhcpd -t says about a config of that one line."""
    path = os.path.join(directory, "one-line.conf")
    with open(path, "w") as stream:
        stream.write(line + "\n")
    result = subprocess.run(["dhcpd", "-t", "-4", "-cf", path], capture_output=True, text=True)
    return result.stderr + result.stdout


def test_validate_returns_dhcpd_own_error_with_its_line(lab):
    """ValidateDHCPv4Config on a snippet dhcpd rejects returns dhcpd's message
    (the one dhcpd -t prints for that line), the line and its number, and
    changes nothing."""
    region, agent, _ = build(lab)
    snippet = "default-lease-time many;"
    bad = copy.deepcopy(DOCUMENT)
    bad["shared_networks"][0]["subnets"][0]["dhcp_snippets"] = [
        {"name": "broken", "value": snippet}]
    (result,) = region.call("ValidateDHCPv4Config", {"document": bad})
    errors = result["reply"]["errors"]
    assert errors, result
    first = errors[0]
    assert snippet in first["line"] and first["line_num"] > 0 and first["field"] is None
    assert f"line 1: {first['error']}" in _dhcpd_says(snippet, lab.workdir)
    (ok,) = region.call("ValidateDHCPv4Config", {"document": DOCUMENT})
    assert ok["reply"]["errors"] == []
    assert agent.status()["v4"]["state"] == "off"


def test_lease_events_reach_the_region(lab):
    """A client's commit is delivered to the region with UpdateLeases (its MAC
    and address), and the rack's journal is empty once the region acked it."""
    region, agent, client = build(lab)
    configure(region, DOCUMENT)
    lease = Dhclient(client).obtain()
    mac = client.mac("eth0")

    def delivered(event):
        return any(e["action"] == "commit" and e["mac"] == mac and e["ip"] == lease.address
                   for e in event["events"])

    region.wait_for("leases", delivered, timeout=30)
    wait_until(lambda: agent.status()["lease_events"]["pending"] == 0,
               what="the journal to drain")


def test_lease_events_of_a_region_outage_wait_and_arrive_when_it_returns(lab):
    """A commit made while the region is away waits in the journal and is
    delivered once the rack has registered again."""
    region, agent, client = build(lab)
    configure(region, DOCUMENT)
    region.stop()
    lease = Dhclient(client).obtain()
    mac = client.mac("eth0")
    wait_until(lambda: agent.status()["lease_events"]["pending"] >= 1,
               what="the commit to wait in the journal")
    region.start()

    def delivered(event):
        return any(e["action"] == "commit" and e["mac"] == mac and e["ip"] == lease.address
                   for e in event["events"])

    region.wait_for("leases", delivered, timeout=45)
