"""The relational rules of the DHCP config document (provisioningserver.dhcp.checks).

Each table row changes fields of a valid document (`tests.dhcp.documents`)
and names every problem that must come back, path and message word for word.
"""

import copy
import ipaddress
import tracemalloc

import pytest

from provisioningserver.dhcp import model
from provisioningserver.dhcp.checks import check_config
from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.errors import DocumentError
from tests.dhcp.documents import POOL, SUBNET, edit, problems, v4, v6

SUBNET1 = "shared_networks[0].subnets[1]"
POOL1 = f"{SUBNET}.pools[1]"
# dhcpd -t refuses both ("Failover configuration sanity check failed", "empty
# shared-network decl"); tests/dhcp/test_dhcpd_limits.py shows it does.
UNUSED_PEER = "'failover-1' is named by no pool; dhcpd refuses a failover peer that no pool uses"
EMPTY_NETWORK = "has no subnets; dhcpd refuses a shared network without one"


def _edits(document, *changes):
    for path, value in changes:
        document = edit(document, path, value)
    return document


V4_CASES = [
    pytest.param([(f"{POOL}.ip_range_high", "198.18.9.10")],
                 [(f"{POOL}.ip_range_high", "198.18.9.10 is outside subnet 198.18.0.0/24")],
                 id="pool-high-outside-subnet"),
    pytest.param([(f"{POOL}.ip_range_low", "198.18.1.100")],
                 [(f"{POOL}.ip_range_low", "198.18.1.100 is outside subnet 198.18.0.0/24")],
                 id="pool-low-outside-subnet"),
    pytest.param([(f"{POOL}.ip_range_low", "198.18.0.0")],
                 [(f"{POOL}.ip_range_low",
                   "198.18.0.0 is the network address of subnet 198.18.0.0/24")],
                 id="pool-low-network-address"),
    pytest.param([(f"{POOL1}.ip_range_high", "198.18.0.255")],
                 [(f"{POOL1}.ip_range_high",
                   "198.18.0.255 is the broadcast address of subnet 198.18.0.0/24")],
                 id="pool-high-broadcast-address"),
    pytest.param([(f"{POOL}.ip_range_high", "198.18.0.90")],
                 [(f"{POOL}.ip_range_low", "198.18.0.100 is above ip_range_high 198.18.0.90")],
                 id="pool-low-above-high"),
    pytest.param([(f"{POOL1}.ip_range_low", "198.18.0.140")],
                 [(POOL1, f"range 198.18.0.140-198.18.0.199 overlaps {POOL}")],
                 id="pools-overlap"),
    pytest.param([(f"{POOL1}.ip_range_low", "198.18.0.100"),
                  (f"{POOL1}.ip_range_high", "198.18.0.149")],
                 [(POOL1, f"range 198.18.0.100-198.18.0.149 overlaps {POOL}")],
                 id="pools-identical"),
    pytest.param([(f"{SUBNET}.router_ip", "198.18.0.120")],
                 [(POOL, "range 198.18.0.100-198.18.0.149 contains the router 198.18.0.120")],
                 id="router-inside-pool"),
    pytest.param([(f"{SUBNET}.router_ip", "198.18.1.1")],
                 [(f"{SUBNET}.router_ip", "198.18.1.1 is outside subnet 198.18.0.0/24")],
                 id="router-outside-subnet"),
    pytest.param([(f"{SUBNET}.router_ip", "198.18.0.255")],
                 [(f"{SUBNET}.router_ip",
                   "198.18.0.255 is the broadcast address of subnet 198.18.0.0/24")],
                 id="router-broadcast-address"),
    pytest.param([(f"{POOL}.failover_peer", "failover-2")],
                 [("failover_peers[0].name", UNUSED_PEER),
                  (f"{POOL}.failover_peer", "'failover-2' is not declared in failover_peers")],
                 id="failover-peer-undeclared"),
    pytest.param([(f"{POOL}.failover_peer", None)],
                 [("failover_peers[0].name", UNUSED_PEER)],
                 id="failover-peer-named-by-no-pool"),
    pytest.param([("failover_peers", [{"name": "failover-1", "mode": "primary",
                                       "address": "198.18.0.2", "peer_address": "198.18.0.3"},
                                      {"name": "spare", "mode": "primary",
                                       "address": "198.18.0.2", "peer_address": "198.18.0.4"}])],
                 [("failover_peers[1].name", "'spare' is named by no pool; dhcpd refuses a "
                                             "failover peer that no pool uses")],
                 id="second-failover-peer-named-by-no-pool"),
    pytest.param([("shared_networks[1]", {"name": "empty"})],
                 [("shared_networks[1].subnets", EMPTY_NETWORK)],
                 id="shared-network-without-subnets"),
    pytest.param([("shared_networks[1]", {"name": "empty", "subnets": []})],
                 [("shared_networks[1].subnets", EMPTY_NETWORK)],
                 id="shared-network-with-empty-subnets"),
    pytest.param([("hosts[0].ip", "198.18.5.5")],
                 [("hosts[0].ip", "198.18.5.5 is not in any subnet of this document")],
                 id="host-outside-every-subnet"),
    pytest.param([("hosts[0].ip", "198.18.0.120")],
                 [("hosts[0].ip", "198.18.0.120 is inside dynamic range "
                                  "198.18.0.100-198.18.0.149")],
                 id="host-inside-pool"),
    pytest.param([("hosts[0].ip", "198.18.0.1")],
                 [("hosts[0].ip", "198.18.0.1 is the router of subnet 198.18.0.0/24")],
                 id="host-is-router"),
    pytest.param([("hosts[0].ip", "198.18.0.0")],
                 [("hosts[0].ip", "198.18.0.0 is the network address of subnet 198.18.0.0/24")],
                 id="host-network-address"),
    pytest.param([("hosts[0].ip", "198.18.0.255")],
                 [("hosts[0].ip",
                   "198.18.0.255 is the broadcast address of subnet 198.18.0.0/24")],
                 id="host-broadcast-address"),
    pytest.param([("hosts[1].ip", "198.18.0.51"), ("hosts[1].mac", "52-54-00-00-00-01")],
                 [("hosts[1].mac", "52:54:00:00:00:01 is already reserved in "
                                   "subnet 198.18.0.0/24 by hosts[0]")],
                 id="same-mac-twice-in-one-subnet"),
    pytest.param([("hosts[1].ip", "198.18.0.50")],
                 [("hosts[1].ip", "198.18.0.50 is already reserved by hosts[0]")],
                 id="same-ip-twice"),
    pytest.param([("hosts[1].host", "node-01")],
                 [("hosts[1].host", "'node-01' is already the name of hosts[0]")],
                 id="same-host-name-twice"),
    pytest.param([("failover_peers[1]", {"name": "failover-1", "mode": "secondary",
                                         "address": "198.18.0.4",
                                         "peer_address": "198.18.0.5"})],
                 [("failover_peers[1].name",
                   "'failover-1' is already declared by failover_peers[0]")],
                 id="failover-peer-declared-twice"),
    pytest.param([("failover_peers[0].peer_address", "198.18.0.2")],
                 [("failover_peers[0].peer_address", "198.18.0.2 is this peer's own address")],
                 id="failover-peer-is-itself"),
    pytest.param([("shared_networks[1]", {"name": "vlan-5001"})],
                 [("shared_networks[1].name",
                   "'vlan-5001' is already used by shared_networks[0]"),
                  ("shared_networks[1].subnets", EMPTY_NETWORK)],
                 id="shared-network-name-twice"),
    pytest.param([(f"{SUBNET1}.subnet_cidr", "198.18.0.0/23")],
                 [(f"{SUBNET1}.subnet_cidr",
                   f"198.18.0.0/23 overlaps 198.18.0.0/24 ({SUBNET})")],
                 id="subnets-overlap"),
]


@pytest.mark.parametrize("changes, expected", V4_CASES)
def test_v4_rule(changes, expected):
    """Each relational rule of an IPv4 document reports its field and message."""
    document = _edits(v4(), *changes)
    assert problems(document, 4) == expected


def test_same_mac_in_different_subnets_accepted():
    """One MAC may be reserved in two subnets: VLANs share their parent's MAC."""
    assert problems(edit(v4(), "hosts[1].mac", "52:54:00:00:00:01"), 4) == []


V6_CASES = [
    pytest.param([(f"{POOL}.ip_range_high", "2001:db8:0:2::10")],
                 [(f"{POOL}.ip_range_high", "2001:db8:0:2::10 is outside subnet 2001:db8:0:1::/64")],
                 id="pool-outside-subnet"),
    pytest.param([(f"{POOL}.ip_range_low", "2001:db8:0:1::")],
                 [(f"{POOL}.ip_range_low", "2001:db8:0:1:: is the Subnet-Router anycast "
                                           "address of subnet 2001:db8:0:1::/64")],
                 id="pool-subnet-router-anycast"),
    pytest.param([(f"{POOL}.ip_range_high", "2001:db8:0:1::fff")],
                 [(f"{POOL}.ip_range_low",
                   "2001:db8:0:1::1000 is above ip_range_high 2001:db8:0:1::fff")],
                 id="pool-low-above-high"),
    pytest.param([(f"{SUBNET1}.pools[1]", {"ip_range_low": "2001:db8:0:2::1fff",
                                           "ip_range_high": "2001:db8:0:2::2fff"})],
                 [(f"{SUBNET1}.pools[1]",
                   f"range 2001:db8:0:2::1fff-2001:db8:0:2::2fff overlaps {SUBNET1}.pools[0]")],
                 id="pools-overlap"),
    pytest.param([("hosts[0].ip", "2001:db8:0:1::1100")],
                 [("hosts[0].ip", "2001:db8:0:1::1100 is inside dynamic range "
                                  "2001:db8:0:1::1000-2001:db8:0:1::1fff")],
                 id="host-inside-pool"),
    pytest.param([("hosts[0].ip", "2001:db8:0:1::1")],
                 [("hosts[0].ip", "2001:db8:0:1::1 is the router of subnet 2001:db8:0:1::/64")],
                 id="host-is-router"),
    pytest.param([("hosts[0].ip", "2001:db8:0:1::")],
                 [("hosts[0].ip", "2001:db8:0:1:: is the Subnet-Router anycast address "
                                  "of subnet 2001:db8:0:1::/64")],
                 id="host-subnet-router-anycast"),
    pytest.param([("hosts[0].ip", "2001:db8:0:9::1")],
                 [("hosts[0].ip", "2001:db8:0:9::1 is not in any subnet of this document")],
                 id="host-outside-every-subnet"),
    pytest.param([(f"{POOL}.failover_peer", "other")],
                 [(f"{POOL}.failover_peer", "'other' is not declared in failover_peers")],
                 id="failover-peer-undeclared"),
]


@pytest.mark.parametrize("changes, expected", V6_CASES)
def test_v6_rule(changes, expected):
    """The relational rules hold for IPv6 documents, with IPv6's reserved address."""
    document = _edits(v6(), *changes)
    assert problems(document, 6) == expected


def _single(cidr, low, high, host=None):
    document = {"shared_networks": [{"name": "p2p", "subnets": [
        {"subnet_cidr": cidr, "pools": [{"ip_range_low": low, "ip_range_high": high}]}]}]}
    if host:
        document["hosts"] = [{"host": "h", "mac": "52:54:00:00:00:09", "ip": host}]
    return document


@pytest.mark.parametrize("ip_version, document", [
    pytest.param(4, _single("198.18.2.0/31", "198.18.2.0", "198.18.2.1"), id="v4-slash31-pool"),
    pytest.param(4, _single("198.18.2.0/31", "198.18.2.0", "198.18.2.0", host="198.18.2.1"),
                 id="v4-slash31-host"),
    pytest.param(4, _single("198.18.2.7/32", "198.18.2.7", "198.18.2.7"), id="v4-slash32"),
    pytest.param(4, _single("198.18.2.0/30", "198.18.2.1", "198.18.2.2"), id="v4-slash30"),
    pytest.param(6, _single("2001:db8:0:9::/127", "2001:db8:0:9::", "2001:db8:0:9::1"),
                 id="v6-slash127"),
    pytest.param(6, _single("2001:db8:0:9::5/128", "2001:db8:0:9::5", "2001:db8:0:9::5"),
                 id="v6-slash128"),
    pytest.param(6, _single("2001:db8:0:9::/64", "2001:db8:0:9::1",
                            "2001:db8:0:9:ffff:ffff:ffff:ffff"), id="v6-has-no-broadcast"),
])
def test_small_subnets_use_every_address(ip_version, document):
    """In a /31 and /32 (RFC 3021) or /127 and /128 (RFC 6164) every address is a host's,
    and IPv6 has no broadcast address to keep out of a range."""
    assert problems(document, ip_version) == []


@pytest.mark.parametrize("cidr, address, message", [
    ("198.18.2.0/30", "198.18.2.3", "198.18.2.3 is the broadcast address of subnet 198.18.2.0/30"),
    ("198.18.2.0/30", "198.18.2.0", "198.18.2.0 is the network address of subnet 198.18.2.0/30"),
])
def test_slash30_keeps_network_and_broadcast(cidr, address, message):
    """From /30 down, the network and broadcast addresses are no client's."""
    document = _single(cidr, address, address)
    path = "shared_networks[0].subnets[0].pools[0]"
    assert problems(document, 4) == [(f"{path}.ip_range_low", message),
                                     (f"{path}.ip_range_high", message)]


def test_structural_and_relational_problems_reported_together():
    """An unknown field does not hide a pool outside its subnet: both come back."""
    document = edit(edit(v4(), "colour", "blue"), f"{POOL}.ip_range_high", "198.18.9.10")
    assert problems(document, 4) == [
        ("colour", "unknown field"),
        (f"{POOL}.ip_range_high", "198.18.9.10 is outside subnet 198.18.0.0/24")]


def test_dropped_pool_does_not_shift_paths():
    """A pool the parser could not read is dropped, yet the next pool's problem
    is reported at that pool's own index in the document."""
    document = _edits(v4(), (f"{POOL}.ip_range_low", "x"), (f"{POOL1}.ip_range_high", "198.18.9.9"))
    assert problems(document, 4) == [
        (f"{POOL}.ip_range_low", "'x' is not an IP address"),
        (f"{POOL1}.ip_range_high", "198.18.9.9 is outside subnet 198.18.0.0/24")]


def test_dropped_host_does_not_shift_paths():
    """Hosts after an unreadable one are named by their document index, in messages too."""
    document = v4()
    document["hosts"].append({"host": "node-03", "mac": "52:54:00:00:00:03", "ip": "198.18.1.50"})
    document = edit(document, "hosts[0].mac", "bad")
    assert problems(document, 4) == [
        ("hosts[0].mac", "'bad' is not a MAC address (six hex octets)"),
        ("hosts[2].ip", "198.18.1.50 is already reserved by hosts[1]")]


def test_dropped_shared_network_does_not_shift_paths():
    """A shared network dropped for a bad name leaves the next one its own path;
    hosts that may have lived in the dropped one are not called homeless."""
    document = v4()
    document["shared_networks"].append({"name": "vlan-5002", "subnets": [
        {"subnet_cidr": "198.18.4.0/24", "router_ip": "198.18.5.1"}]})
    document = edit(document, "shared_networks[0].name", "bad name")
    assert problems(document, 4) == [
        ("shared_networks[0].name", "'bad name' is not a valid name (letters, digits, "
                                    "'.', '_', ':', '-'; 64 at most)"),
        ("shared_networks[1].subnets[0].router_ip", "198.18.5.1 is outside subnet 198.18.4.0/24")]


def test_lost_subnet_leaves_its_hosts_alone():
    """With a subnet unreadable, a host in it is not reported as outside every subnet."""
    document = edit(v4(), f"{SUBNET}.subnet_cidr", "198.18.0.0/33")
    assert problems(document, 4) == [
        (f"{SUBNET}.subnet_cidr", "'198.18.0.0/33' is not a network in CIDR form (address/prefix)")]


def test_failover_peer_with_bad_address_is_still_declared():
    """A peer dropped for a bad address still declares its name for the pools."""
    document = edit(v4(), "failover_peers[0].address", "x")
    assert problems(document, 4) == [("failover_peers[0].address", "'x' is not an IP address")]


@pytest.mark.parametrize("path, value, message", [
    ("failover_peers[0].name", "bad name",
     "'bad name' is not a valid name (letters, digits, '.', '_', ':', '-'; 64 at most)"),
    ("failover_peers[0]", "failover-1", "expected a mapping, got a string"),
    ("failover_peers", {"name": "failover-1"}, "expected a list, got a mapping"),
])
def test_unreadable_peer_names_silence_the_undeclared_rule(path, value, message):
    """When a declared peer name cannot be read, no pool's peer is called undeclared."""
    assert problems(edit(v4(), path, value), 4) == [(path, message)]


def test_check_config_on_a_model_built_directly():
    """check_config works on a model built without the parser, indexing as the model does."""
    network = ipaddress.ip_network("198.18.0.0/24")
    subnet = model.Subnet(subnet_cidr=network, pools=[
        model.Pool(ip_range_low="198.18.0.10", ip_range_high="198.18.1.10")])
    config = model.DHCPConfig(
        ip_version=4, shared_networks=[model.SharedNetwork(name="n", subnets=[subnet])],
        hosts=[model.Host(host="h", mac="52:54:00:00:00:01", ip="198.18.0.20")])
    assert [(p.path, p.message) for p in check_config(config)] == [
        ("shared_networks[0].subnets[0].pools[0].ip_range_high",
         "198.18.1.10 is outside subnet 198.18.0.0/24")]


def test_a_dhcpv6_failover_peer_no_pool_names_is_accepted():
    """dhcpd6 has no failover (a peer only splits pools in halves), so a
    DHCPv6 peer that no pool names is no problem: dhcpd -t takes it."""
    document = v6()
    document["failover_peers"] = [{"name": "spare", "mode": "primary",
                                   "address": "2001:db8::2", "peer_address": "2001:db8::3"}]
    for network in document["shared_networks"]:
        for subnet in network["subnets"]:
            for pool in subnet.get("pools") or ():
                pool.pop("failover_peer", None)
    assert problems(document, 6) == []


def _copied_pools(networks, copies):
    """``networks`` shared networks, each with a subnet of ``copies`` equal pools."""
    document = v4()
    network = document["shared_networks"][0]
    subnet = network["subnets"][0]
    subnet["pools"] = [dict(subnet["pools"][0], failover_peer="failover-1")
                       for _ in range(copies)]
    network["subnets"] = [subnet]
    document["shared_networks"] = [copy.deepcopy(network) for _ in range(networks)]
    document["hosts"] = []
    return document


def test_each_overlapping_pool_is_reported_once():
    """A pool that overlaps several earlier ones is named once, with the
    earliest: 300 copies of a pool give 299 problems, not 44,850."""
    found = [(path, message) for path, message in problems(_copied_pools(1, 300), 4)
             if "overlaps" in message]
    assert found == [(f"{SUBNET}.pools[{p}]",
                      f"range 198.18.0.100-198.18.0.149 overlaps {POOL}")
                     for p in range(1, 300)]


def test_copied_pools_cost_memory_in_proportion():
    """The fuzzer's document that took 3.7 GB to read (seed 1, #6555: 300
    copies of a pool, the network grown with them) cost memory quadratic in
    the pools; refused now with a bounded peak, naming the pools' paths."""
    document = _copied_pools(16, 300)
    tracemalloc.start()
    try:
        with pytest.raises(DocumentError) as refused:
            parse_document(document, 4)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    paths = refused.value.paths
    assert len(paths) < 16 * 300 * 2
    assert "shared_networks[15].subnets[0].pools[299]" in paths
    assert peak < 20 * 2 ** 20, f"peak {peak / 2 ** 20:.0f} MiB"
