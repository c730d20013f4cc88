"""Discovery on real devices in a network namespace, checked against iproute2.

The namespace holds a bridge with two veth ports, and a plain veth pair whose
far end starts down; discovery runs inside it (``ip netns exec``, which also
mounts the namespace's own /sys) and prints its snapshot as JSON, and the
same namespace's ``ip -d -j link`` and ``ip -j addr`` are the reference.
"""

import ipaddress
import json
import os
import subprocess
import sys

import pytest

from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.network.discovery import discover
from provisioningserver.network.links import Snapshot
from provisioningserver.network.selection import select
from tests.network import fakesys

pytestmark = pytest.mark.lab

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SETUP = [
    # Without DAD, addresses (link-local ones too) are final when added, so
    # the two readers below cannot see different tentative states.
    "netns exec {ns} sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0",
    "-n {ns} link set lo up",
    "-n {ns} link add br0 type bridge",
    "-n {ns} link add p0 type veth peer name h0",
    "-n {ns} link add p1 type veth peer name h1",
    "-n {ns} link set p0 master br0",
    "-n {ns} link set p1 master br0",
    "-n {ns} link add v0 mtu 1400 type veth peer name v1",
    "-n {ns} addr add 198.18.1.1/24 dev br0",
    "-n {ns} addr add 2001:db8:1::1/64 dev br0 nodad",
    "-n {ns} addr add 198.18.2.1/24 dev v0",
    "-n {ns} addr add 198.18.3.1/24 dev v0",
    "-n {ns} addr add 2001:db8:2::1/64 dev v0 nodad",
    "-n {ns} link set br0 up",
    "-n {ns} link set p0 up", "-n {ns} link set h0 up",
    "-n {ns} link set p1 up", "-n {ns} link set h1 up",
    "-n {ns} link set v0 up",  # v1 stays down, so v0 has no carrier
]

PROBE = """
import json
from provisioningserver.network.discovery import addresses_by_interface, discover
from provisioningserver.network.record import describe
found = addresses_by_interface()
print(json.dumps({"snapshot": discover(addresses=lambda: found).to_dict(),
                  "recorded": describe("/", found)}))
"""


def ip(*argv):
    return subprocess.run(["ip", *argv], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def namespace():
    name = f"rkh7-{os.getpid()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)  # a crashed run's leftover
    ip("netns", "add", name)
    try:
        for line in SETUP:
            ip(*line.format(ns=name).split())
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def observe(ns):
    """(discovery's output, ip link, ip addr), read until iproute2 agrees before and after."""
    for _ in range(10):
        before = (json.loads(ip("-n", ns, "-d", "-j", "link")), json.loads(ip("-n", ns, "-j", "addr")))
        probe = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", PROBE], cwd=ROOT,
                               env=dict(os.environ, PYTHONPATH=ROOT), check=True,
                               capture_output=True, text=True)
        after = (json.loads(ip("-n", ns, "-d", "-j", "link")), json.loads(ip("-n", ns, "-j", "addr")))
        if _stable(before) == _stable(after):
            return json.loads(probe.stdout), after[0], after[1]
    raise AssertionError("the namespace's links kept changing")


def _stable(reading):
    links, addrs = reading
    return ([(l["ifname"], l["operstate"], tuple(l["flags"])) for l in links],
            [(a["ifname"], sorted(i["local"] for i in a.get("addr_info", []))) for a in addrs])


def _kind(link):
    if link.get("link_type") == "loopback":
        return "loopback"
    info = link.get("linkinfo", {}).get("info_kind")
    return {"bridge": "bridge", "bond": "bond", "vlan": "vlan"}.get(info, "other")


def test_snapshot_matches_iproute2(namespace):
    """Names, kinds, masters, ports, MAC, MTU, state and addresses agree with ip -d -j link / ip -j addr."""
    found, links, addrs = observe(namespace)
    snapshot = Snapshot.from_dict(found["snapshot"])
    assert set(snapshot.names) == {l["ifname"] for l in links} == \
        {"lo", "br0", "p0", "h0", "p1", "h1", "v0", "v1"}
    addresses = {a["ifname"]: {f"{i['local']}/{i['prefixlen']}" for i in a.get("addr_info", [])}
                 for a in addrs}
    for reference in links:
        link = snapshot[reference["ifname"]]
        assert link.kind == _kind(reference), link.name
        assert link.master == reference.get("master"), link.name
        assert link.mac == reference["address"], link.name
        assert link.mtu == reference["mtu"], link.name
        assert link.admin_up == ("UP" in reference["flags"]), link.name
        assert link.operstate == reference["operstate"].lower(), link.name
        assert {str(a) for a in link.addresses} == addresses[link.name], link.name
    assert snapshot["br0"].ports == ("p0", "p1")
    assert not snapshot["v0"].running  # its peer is down
    assert any(a.ip.is_link_local for a in snapshot["br0"].addresses)


def test_recorded_tree_reads_like_the_real_one(namespace, tmp_path):
    """The namespace's sysfs, recorded and expanded again, gives the same snapshot: the
    fake trees the other tests use have the kernel's layout."""
    found, _, _ = observe(namespace)
    recorded = found["recorded"]
    root = fakesys.expand(recorded, str(tmp_path))
    assert discover(root, fakesys.addresses(recorded)).to_dict() == found["snapshot"]


def test_selection_on_the_real_snapshot(namespace):
    """The bridge serves its subnet, not its ports; a subnet only on the carrier-less veth is
    refused as down until its peer comes up."""
    def snapshot():
        return Snapshot.from_dict(observe(namespace)[0]["snapshot"])

    def config(*cidrs, version=4):
        return parse_document({"shared_networks": [{"name": "n", "subnets": [
            {"subnet_cidr": c} for c in cidrs]}]}, version)

    chosen = select(config("198.18.1.0/24", "198.18.9.0/24"), snapshot())
    assert chosen.interfaces == ("br0",)
    assert chosen.rack_addresses == {ipaddress.ip_network("198.18.1.0/24"):
                                     ipaddress.ip_address("198.18.1.1")}
    with pytest.raises(DocumentError, match="198.18.2.0/24 is only on v0, which is down"):
        select(config("198.18.2.0/24"), snapshot())
    ip("-n", namespace, "link", "set", "v1", "up")
    chosen = select(config("198.18.2.0/24", "198.19.7.0/24"), snapshot())
    assert chosen.interfaces == ("v0",)
    assert chosen.empty_subnets == (ipaddress.ip_network("198.18.3.0/24"),)
    v6 = select(config("2001:db8:1::/64", "2001:db8:2::/64", version=6), snapshot())
    assert v6.interfaces == ("br0", "v0")
