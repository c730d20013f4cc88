"""Two racks serving one VLAN as a DHCPv4 failover pair (issue E).

Two rack namespaces, each running rackd (and its dhcpd), and a client
namespace, on one switch. The pair reaches normal; the primary goes away
(rackd stopped, its dhcpd killed); the secondary falls to
communications-interrupted, refuses partner-down before the safety time,
takes it with --force, the client renews its lease from the secondary, and
a reservation configured on both racks is served by the secondary alone.
The primary comes back and the pair returns to normal. `rackctl status`
shows each state along the way.
"""

import os
import signal

import pytest

from tests.lab.dhclient import Dhclient
from tests.lab.rackd import RackdAgent
from tests.lab.rackd import pid_alive, wait_until

pytestmark = pytest.mark.lab

PRIMARY, SECONDARY = "198.18.0.1", "198.18.0.2"
PEER = "lab-pair"


PAIR_KEY = "cGFpci1rZXktb2YtdGhlLWZhaWxvdmVyLWxhYi0wMQ=="


def document(mode, hosts=()):
    ours, theirs = (PRIMARY, SECONDARY) if mode == "primary" else (SECONDARY, PRIMARY)
    peer = {"name": PEER, "mode": mode, "address": ours, "peer_address": theirs,
            "max_response_delay": 5}
    if mode == "primary":
        peer["mclt"] = 10
    return {
        # Both racks of a pair get the region's one OMAPI key.
        "omapi_key": PAIR_KEY,
        "failover_peers": [peer],
        "shared_networks": [{"name": "lab", "subnets": [{
            "subnet_cidr": "198.18.0.0/24",
            "router_ip": "198.18.0.254",
            "pools": [{"ip_range_low": "198.18.0.100", "ip_range_high": "198.18.0.150",
                       "failover_peer": PEER}],
        }]}],
        "hosts": list(hosts),
    }


def failover_state(agent):
    """This rack's (local, partner) state as `rackctl status` shows it, or None."""
    peers = (agent.status()["v4"].get("failover_state") or {}).get("peers", [])
    for peer in peers:
        if peer.get("peer") == PEER and "local_state" in peer:
            return peer["local_state"], peer["partner_state"]
    return None


def wait_state(agent, local, timeout=60):
    return wait_until(lambda: (failover_state(agent) or ("",))[0] == local and
                      failover_state(agent), timeout=timeout,
                      what=f"{agent.name} in {local}")


def test_pair_survives_the_primary(lab):
    """Both racks reach normal; with the primary gone the secondary goes to
    communications-interrupted, refuses partner-down without --force before the
    safety time, takes it with --force, renews the client's lease and serves a reservation both racks
    were given; the primary comes back and the pair returns to normal."""
    switch = lab.add_switch("sw")
    rack1, rack2, client = lab.add_host("rack1"), lab.add_host("rack2"), lab.add_host("client")
    reserved = lab.add_host("node")
    for host in (rack1, rack2, client, reserved):
        lab.attach(host, switch)
    rack1.add_address("eth0", f"{PRIMARY}/24")
    rack2.add_address("eth0", f"{SECONDARY}/24")
    primary = RackdAgent(rack1, name="rackd1", lease_time=20).start()
    secondary = RackdAgent(rack2, name="rackd2", lease_time=20).start()
    # The region sends both racks the same hosts; each applies its own document.
    hosts = [{"host": "node-01", "mac": reserved.mac("eth0"), "ip": "198.18.0.42"}]
    primary.configure(document("primary", hosts))
    secondary.configure(document("secondary", hosts))
    assert wait_state(primary, "normal") == ("normal", "normal")
    assert wait_state(secondary, "normal") == ("normal", "normal")
    # Each rack looks its reservations up on the other's dhcpd: both hold node-01.
    for agent in (primary, secondary):
        drift = wait_until(lambda a=agent: a.status()["v4"]["failover_state"]["drift"].get(PEER),
                           timeout=30, what=f"{agent.name}'s drift check")
        assert drift.get("in_sync") and drift["checked"] == 1, drift

    dhclient = Dhclient(client, timeout=30)
    first = dhclient.obtain()
    assert first.address.startswith("198.18.0.1")

    # The primary goes away: rackd first (it would restart dhcpd), then its dhcpd.
    pid = primary.dhcpd_pid()
    primary.stop()
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(pid), what="the primary's dhcpd to die")
    wait_state(secondary, "communications-interrupted")

    refused = secondary.rackctl("failover", "partner-down", PEER, check=False)
    assert refused.returncode == 1 and "safety time" in refused.stderr, refused
    forced = secondary.rackctl("failover", "partner-down", PEER, "--force")
    assert "partner-down" in forced.stdout
    assert failover_state(secondary)[0] == "partner-down"
    assert f"failover {PEER}: partner-down" in secondary.rackctl("status").stdout

    # With the primary gone, the reservation is served by the secondary alone.
    assert Dhclient(reserved, name="dhclient-node").obtain().address == "198.18.0.42"

    seen = len(dhclient.events())
    renewed = dhclient.wait_for(("RENEW", "REBIND"), after=seen, timeout=40)
    assert renewed.address == first.address

    # The primary comes back; the pair recovers to normal.
    primary.start()
    wait_state(secondary, "normal", timeout=120)
    assert wait_state(primary, "normal", timeout=60) == ("normal", "normal")
