"""The foreign DHCP probe against real servers on one switch (issue I, item 4).

Three namespaces on one switch: the rack (rackd and its dhcpd at 198.18.0.1),
an unmanaged dhcpd at 198.18.0.3 with a pool of its own, and, once the rack's
document names 198.18.0.2 as its failover peer, a plain dhcpd at that address
standing in for the partner (it answers with that server identifier).
``rackctl probe`` must report exactly the unmanaged server, with its MAC and
the address it offers.
"""

import ipaddress
import json
import textwrap

import pytest

from tests.lab.dhcpserver import Dhcpd
from tests.lab.rackd import RackdAgent

pytestmark = pytest.mark.lab

RACK, PEER, ROGUE = "198.18.0.1", "198.18.0.2", "198.18.0.3"

SUBNET = {
    "subnet_cidr": "198.18.0.0/24",
    "router_ip": "198.18.0.254",
    "pools": [{"ip_range_low": "198.18.0.100", "ip_range_high": "198.18.0.150"}],
}
ALONE = {"shared_networks": [{"name": "lab", "subnets": [SUBNET]}]}
# The same rack as half of a failover pair with PEER. The pair never reaches
# normal here (the "peer" is a plain dhcpd), which does not matter: the probe
# must leave out whatever answers from the peer's address.
PAIRED = {
    "failover_peers": [{"name": "pair", "mode": "primary", "address": RACK,
                        "peer_address": PEER, "mclt": 10, "max_response_delay": 5}],
    "shared_networks": [{"name": "lab", "subnets": [{**SUBNET, "pools": [
        {"ip_range_low": "198.18.0.100", "ip_range_high": "198.18.0.150",
         "failover_peer": "pair"}]}]}],
}


def plain_dhcpd(low, high):
    return textwrap.dedent(f"""\
        default-lease-time 600;
        max-lease-time 600;
        ping-check false;
        subnet 198.18.0.0 netmask 255.255.255.0 {{
          range {low} {high};
        }}
        """)


def probe(agent, *args):
    """The servers of eth0 in ``rackctl probe --json [args]``."""
    entries = json.loads(agent.rackctl("probe", "--json", *args).stdout)
    assert [e["interface"] for e in entries] == ["eth0"]
    assert entries[0]["error"] is None
    return entries[0]["servers"]


def assert_only_rogue(servers, rogue):
    assert [(s["server_id"], s["address"], s["mac"]) for s in servers] == \
        [(ROGUE, ROGUE, rogue.mac("eth0"))]
    offered = ipaddress.ip_address(servers[0]["offered"])
    assert ipaddress.ip_address("198.18.0.200") <= offered <= ipaddress.ip_address("198.18.0.210")


def test_probe_reports_the_unmanaged_server_only(lab):
    """An unmanaged dhcpd on the rack's link is reported (server identifier,
    sender IP and MAC, an offer from its pool), on the named interface and on
    the served ones by default; the rack's own dhcpd, which answers the same
    probe, is not; nor, once the rack's document names it as failover peer, a
    server answering from the peer's address. Status shows the latest probe."""
    switch = lab.add_switch("sw")
    rack, peer, rogue = (lab.add_host(n) for n in ("rack", "peer", "rogue"))
    for host in (rack, peer, rogue):
        lab.attach(host, switch)
    rack.add_address("eth0", f"{RACK}/24")
    peer.add_address("eth0", f"{PEER}/24")
    rogue.add_address("eth0", f"{ROGUE}/24")
    Dhcpd(rogue, plain_dhcpd("198.18.0.200", "198.18.0.210")).start()
    agent = RackdAgent(rack, foreign_probe_interval=0).start()
    assert agent.configure(ALONE)["interfaces"] == ["eth0"]

    assert_only_rogue(probe(agent, "eth0"), rogue)
    # The rack's dhcpd answered the probe too (so leaving it out means something).
    assert f"to {rack.mac('eth0')} via eth0" in agent.dhcpd_log()
    text = agent.rackctl("probe").stdout
    assert f"server {ROGUE} from {ROGUE} ({rogue.mac('eth0')})" in text

    peer_dhcpd = Dhcpd(peer, plain_dhcpd("198.18.0.160", "198.18.0.170")).start()
    agent.configure(PAIRED)
    assert_only_rogue(probe(agent), rogue)
    # The peer answered the probe.
    assert f"to {rack.mac('eth0')} via eth0" in peer_dhcpd.log()

    status = agent.status()["foreign_dhcp"]
    assert [s["server_id"] for e in status["interfaces"] for s in e["servers"]] == [ROGUE]
    assert f"server {ROGUE}" in agent.rackctl("status").stdout


def test_probe_of_an_unknown_interface_is_refused(lab):
    """rackctl probe on an interface the rack lacks exits 2 naming the field."""
    switch = lab.add_switch("sw")
    rack = lab.add_host("rack")
    lab.attach(rack, switch)
    rack.add_address("eth0", f"{RACK}/24")
    agent = RackdAgent(rack, foreign_probe_interval=0).start()
    result = agent.rackctl("probe", "--json", "nope0", check=False)
    assert result.returncode == 2
    assert json.loads(result.stdout)["errors"][0]["field"] == "interface"


def test_the_region_hears_of_the_unmanaged_server(lab):
    """With a region connected over TLS, each probe's findings reach it as
    ReportForeignDHCPServer: the unmanaged server on the served interface."""
    from tests.lab.test_region_lab import build, configure

    region, agent, client = build(lab, foreign_probe_interval=0)
    client.add_address("eth0", f"{ROGUE}/24")  # the client host runs the unmanaged dhcpd
    Dhcpd(client, plain_dhcpd("198.18.0.200", "198.18.0.210")).start()
    assert configure(region, ALONE)["interfaces"] == ["eth0"]
    agent.rackctl("probe")
    event = region.wait_for("foreign-dhcp")
    assert event["interface"] == "eth0"
    assert [(s["server_id"], s["ip"], s["mac"]) for s in event["servers"]] == \
        [(ROGUE, ROGUE, client.mac("eth0"))]
