"""rackd on stacked devices: a bridge with ports, and a VLAN on a bond (issue M).

Bridge lab: the rack namespace has a bridge ``br0`` with two veth ports, p0
and p1, each to a client namespace; only br0 has the rack's address. rackd
(as the agent runs it, discovery included, in the rack namespace) must serve
on br0 and never on a port, ``rackctl interfaces DOC`` run in that namespace
must say which device, which address and why not the ports, and a real
dhclient behind a port must get its lease from rackd's dhcpd.

VLAN-on-bond lab: the rack's bond0 (active-backup) enslaves two veths whose
peers are ports of a switch namespace's bridge, as are the client's; VLAN
100 on the bond carries the rack's address, and the client runs dhclient on
its own VLAN 100. rackd must serve on bond0.100, never on bond0 or a member.
Where the kernel has no bonding or 802.1Q, that test alone is skipped with
the kernel's own answer (tests/lab/kernel.py); it is the one skip that
RACKD_REQUIRE_LAB=1 lets through, and ``-ra`` prints it in the summary.
"""

import json
import os
import sys

import pytest

from tests.lab.dhclient import Dhclient
from tests.lab.kernel import kernel_lacks
from tests.lab.rackd import REPO, RackdAgent

pytestmark = pytest.mark.lab

BRIDGED, TAGGED = "198.18.30.1", "198.18.40.1"


def document(third):
    return {"shared_networks": [{"name": f"n{third}", "subnets": [{
        "subnet_cidr": f"198.18.{third}.0/24",
        "pools": [{"ip_range_low": f"198.18.{third}.100",
                   "ip_range_high": f"198.18.{third}.150"}],
    }]}]}


def interfaces(host, doc):
    """``rackctl interfaces DOC`` in ``host``'s namespace: (text, JSON report)."""
    path = host.path("document.json")
    with open(path, "w") as f:
        json.dump(doc, f)
    env = dict(os.environ, PYTHONPATH=REPO)
    argv = [sys.executable, "-m", "provisioningserver.cli.rackctl", "interfaces"]
    text = host.run(argv + [path], cwd=REPO, env=env).stdout
    report = json.loads(host.run(argv + ["--json", path], cwd=REPO, env=env).stdout)
    return text, report


def dhcpd_argv(agent):
    with open(f"/proc/{agent.dhcpd_pid()}/cmdline", "rb") as f:
        return f.read().decode().rstrip("\0").split("\0")


def test_bridge_serves_never_its_ports_and_a_client_behind_a_port_gets_a_lease(lab):
    """rackd serves 198.18.30.0/24 on br0, not on its ports p0, p1; rackctl interfaces
    names br0, 198.18.30.1 and why not the ports; dhclient behind p0 gets a pool
    address from the rack, with the bridge's address as server and next-server."""
    rack = lab.add_host("rack")
    client_a, client_b = lab.add_host("client-a"), lab.add_host("client-b")
    lab.link(rack, client_a, "p0", "eth0")
    lab.link(rack, client_b, "p1", "eth0")
    rack.run(["ip", "link", "add", "br0", "type", "bridge", "stp_state", "0"])
    for port in ("p0", "p1"):
        rack.run(["ip", "link", "set", port, "master", "br0"])
    rack.set_up("br0")
    rack.add_address("br0", f"{BRIDGED}/24")

    text, report = interfaces(rack, document(30))
    [subnet] = report["selection"]["subnets"]
    assert report["selection"]["interfaces"] == ["br0"]
    assert (subnet["interface"], subnet["address"]) == ("br0", BRIDGED)
    assert subnet["why"] == (f"{BRIDGED} is on br0; served on br0 (a bridge); not on br0's "
                             "ports p0, p1: enslaved, they pass their frames up to br0")
    assert subnet["why"] in text and "dhcpd listens on: br0" in text
    assert {link["name"]: link["master"] for link in report["links"]
            if link["name"] in ("p0", "p1")} == {"p0": "br0", "p1": "br0"}

    agent = RackdAgent(rack).start()
    agent.configure(document(30))
    assert agent.status()["v4"]["interfaces"] == ["br0"]
    argv = dhcpd_argv(agent)
    assert argv[-1] == "br0" and "p0" not in argv and "p1" not in argv
    lease = Dhclient(client_a).obtain()
    assert lease.address.startswith("198.18.30.1") and lease.address != BRIDGED
    assert (lease.server_id, lease.next_server) == (BRIDGED, BRIDGED)


def test_vlan_on_an_active_backup_bond_serves_never_a_member(lab):
    """With bond0 (active-backup over e0, e1) and VLAN 100 on it carrying 198.18.40.1,
    rackd serves on bond0.100, not on bond0 or its members; rackctl interfaces says so;
    a client on VLAN 100 gets a lease. Skipped, with the kernel's answer, where the
    kernel has no bonding or 802.1Q."""
    kernel_lacks("bond", "vlan")
    rack, switch, client = lab.add_host("rack"), lab.add_switch("sw"), lab.add_host("client")
    lab.link(rack, switch, "e0", "s0")
    lab.link(rack, switch, "e1", "s1")
    lab.attach(client, switch)
    for port in ("s0", "s1"):
        switch.run(["ip", "link", "set", port, "master", "br0"])
    rack.run(["ip", "link", "add", "bond0", "type", "bond", "mode", "active-backup",
              "miimon", "100"])
    for member in ("e0", "e1"):
        rack.run(["ip", "link", "set", member, "down"])  # a bond takes only down devices
        rack.run(["ip", "link", "set", member, "master", "bond0"])
    rack.set_up("bond0")
    rack.run(["ip", "link", "add", "link", "bond0", "name", "bond0.100", "type", "vlan",
              "id", "100"])
    rack.set_up("bond0.100")
    rack.add_address("bond0.100", f"{TAGGED}/24")
    client.run(["ip", "link", "add", "link", "eth0", "name", "eth0.100", "type", "vlan",
                "id", "100"])
    client.set_up("eth0.100")

    text, report = interfaces(rack, document(40))
    [subnet] = report["selection"]["subnets"]
    assert report["selection"]["interfaces"] == ["bond0.100"]
    assert (subnet["interface"], subnet["address"]) == ("bond0.100", TAGGED)
    assert subnet["why"] == (
        f"{TAGGED} is on bond0.100; served on bond0.100 (VLAN 100 on bond0); not on its "
        "parent bond0 (with bond0's members e0, e1): they carry VLAN 100 tagged, and only "
        "bond0.100 receives its frames untagged")
    assert subnet["why"] in text
    links = {link["name"]: link for link in report["links"]}
    assert links["bond0"]["kind"] == "bond" and links["bond0"]["members"] == ["e0", "e1"]
    assert links["e0"]["master"] == links["e1"]["master"] == "bond0"

    agent = RackdAgent(rack).start()
    agent.configure(document(40))
    assert agent.status()["v4"]["interfaces"] == ["bond0.100"]
    argv = dhcpd_argv(agent)
    assert argv[-1] == "bond0.100" and not {"bond0", "e0", "e1"} & set(argv)
    lease = Dhclient(client, ifname="eth0.100").obtain()
    assert lease.address.startswith("198.18.40.1") and lease.address != TAGGED
    assert lease.server_id == TAGGED
