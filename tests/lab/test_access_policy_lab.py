"""Access policy against the real dhcpd (issue I, item 1): a known-only pool
gives a stranger nothing while a reserved machine is served."""

import pytest

from tests.lab import rawclient
from tests.lab.dhclient import Dhclient
from tests.lab.rackd import rack_and_client

pytestmark = pytest.mark.lab

RESERVED_MAC = "52:54:00:12:34:56"


def document(known_only):
    return {
        "shared_networks": [{"name": "lab", "subnets": [{
            "subnet_cidr": "198.18.0.0/24",
            "pools": [{"ip_range_low": "198.18.0.100", "ip_range_high": "198.18.0.150",
                       "known_clients_only": known_only}]}]}],
        "hosts": [{"host": "node-01", "mac": RESERVED_MAC, "ip": "198.18.0.42"}],
    }


def test_known_only_pool_serves_reserved_machines_and_not_strangers(lab):
    """With the pool open, a stranger gets a pool address; made known-only, the
    stranger gets no offer while the reserved machine still gets its address."""
    agent, client = rack_and_client(lab)

    agent.configure(document(known_only=False))
    open_offers = rawclient.query(client, mac="52:54:00:aa:bb:01")["offers"]
    assert open_offers and open_offers[0]["yiaddr"].startswith("198.18.0.1")

    assert agent.configure(document(known_only=True))["action"] == "restarted"
    assert rawclient.query(client, mac="52:54:00:aa:bb:02", timeout=3)["offers"] == []
    reserved = rawclient.query(client, mac=RESERVED_MAC, request=True)
    assert reserved["offers"][0]["yiaddr"] == "198.18.0.42"
    assert reserved["acks"][0]["yiaddr"] == "198.18.0.42"


def test_option_overrides_reach_a_real_client(lab):
    """A host's overrides win over its subnet's values, and the subnet's own
    overrides reach every client: the real dhclient receives both."""
    agent, client = rack_and_client(lab)
    mac = client.mac("eth0")
    doc = {
        "shared_networks": [{"name": "lab", "subnets": [{
            "subnet_cidr": "198.18.0.0/24", "dns_servers": ["198.18.0.2"],
            "options": {"default-lease-time": 1234, "max-lease-time": 1234},
            "pools": [{"ip_range_low": "198.18.0.100", "ip_range_high": "198.18.0.150"}]}]}],
        "hosts": [{"host": "node-01", "mac": mac, "ip": "198.18.0.42",
                   "options": {"domain-name-servers": ["198.18.0.53", "198.18.0.54"],
                               "host-name": "node-01", "domain-name": "lab.example"}}],
    }
    agent.configure(doc)
    lease = Dhclient(client).obtain()
    assert lease.address == "198.18.0.42"
    assert lease.dns_servers == ("198.18.0.53", "198.18.0.54")
    assert lease.variables.get("new_host_name") == "node-01"
    assert lease.domain_name == "lab.example"
    assert lease.lease_time == 1234
