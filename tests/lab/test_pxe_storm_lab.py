"""A PXE storm (issue N): 200 PXE clients DISCOVER within one second, each
is offered an address on its first or second try, and their 30 s PXE leases
keep renewing while perfdhcp loads the same dhcpd.

The clients are `tests.lab.storm` (one program, one socket, each client
acting as firmware would); rackd serves with its defaults (ping check on,
the ``pxe`` class's 30 s leases). ``RACKD_PXE_RENEW_SECONDS`` (default 65:
four renewals each) sets how long they renew; bench/pxestorm.py repeats
the storm and reports the spread.
"""

import json
import os
import sys

import pytest

from tests.lab.loadlab import CLIENT_IP, LeaseLoad
from tests.lab.rackd import REPO, rack_and_client

pytestmark = pytest.mark.lab

CLIENTS = 200
RENEW_SECONDS = float(os.environ.get("RACKD_PXE_RENEW_SECONDS", "65"))
STORM_DOCUMENT = {"shared_networks": [{"name": "lab", "subnets": [{
    "subnet_cidr": "198.18.0.0/16", "router_ip": "198.18.0.254",
    # 2,048 addresses: bench.pxestorm's repetitions share one rack, each with
    # 201 new clients and perfdhcp's 40, while the last one's leases still run.
    "pools": [{"ip_range_low": "198.18.1.0", "ip_range_high": "198.18.8.255"}],
}]}]}


def storm(client, renew_seconds, tag="storm", clients=CLIENTS, kind=0x5e):
    """Run `tests.lab.storm` in ``client`` (MACs of ``kind``); its JSON result."""
    out = client.path(f"{tag}.json")
    client.run([sys.executable, "-m", "tests.lab.storm", "--interface", "eth0",
                "--clients", str(clients), "--renew-for", str(renew_seconds),
                "--kind", str(kind), "--out", out],
               cwd=REPO, timeout=renew_seconds + 120)
    with open(out) as f:
        return json.load(f)


def storm_lab(lab):
    """rackd on a /16 serving the storm's pool; the client with an address for perfdhcp."""
    agent, client = rack_and_client(lab, prefix=16)
    client.add_address("eth0", f"{CLIENT_IP}/16")
    agent.configure(STORM_DOCUMENT)
    return agent, client


def test_pxe_storm_every_client_offered_by_its_second_try_and_leases_renew(lab):
    """200 PXE DISCOVERs within 1 s: every client gets an OFFER on its first
    or second try and is bound with the 30 s PXE lease; then, with perfdhcp
    loading dhcpd at 20 DORA/s, every client's renewals (each at half its
    lease) are all ACKed: none unanswered, none NAKed."""
    agent, client = storm_lab(lab)
    load = LeaseLoad(client, 20, RENEW_SECONDS + 15, clients=40)
    result = storm(client, RENEW_SECONDS)
    load.result()
    counts = result["summary"]
    assert result["first_discovers_within"] <= 1.0, result["first_discovers_within"]
    assert counts["never_offered"] == 0 and counts["bound"] == CLIENTS, counts
    assert counts["offered_first_try"] + counts["offered_second_try"] == CLIENTS, counts
    assert {c["lease_time"] for c in result["clients"]} == {30}
    least = min(c["renewed"] for c in result["clients"])
    assert least >= int(RENEW_SECONDS // 15) - 1, counts
    assert counts["renewals_unanswered"] == 0 and counts["renewals_naked"] == 0, counts
