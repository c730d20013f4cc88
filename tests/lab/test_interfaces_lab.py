"""rackd choosing where to serve on a real rack (issue F).

The rack namespace has a bridge ``br0`` whose one port (``port0``) is a veth
to client A, and a plain veth ``eth1`` to client B. The bridge carries
198.18.20.1/24 and eth1 198.18.21.1/24; the document names no interfaces, so
rackd must discover the links, serve the first subnet on the bridge (never on
its port) and the second on eth1, and give each subnet's clients the rack's
address on that subnet as next-server.
"""

import pytest

from tests.lab import rawclient
from tests.lab.rackd import RackdAgent

pytestmark = pytest.mark.lab

RACK_A, RACK_B = "198.18.20.1", "198.18.21.1"

DOCUMENT = {"shared_networks": [
    {"name": "bridged", "subnets": [{
        "subnet_cidr": "198.18.20.0/24",
        "pools": [{"ip_range_low": "198.18.20.100", "ip_range_high": "198.18.20.150"}],
    }]},
    {"name": "plain", "subnets": [{
        "subnet_cidr": "198.18.21.0/24",
        "pools": [{"ip_range_low": "198.18.21.100", "ip_range_high": "198.18.21.150"}],
    }]},
]}


def build(lab):
    """(agent, client A, client B) on the bridge-and-veth rack, rackd configured."""
    rack = lab.add_host("rack")
    client_a, client_b = lab.add_host("client-a"), lab.add_host("client-b")
    lab.link(rack, client_a, "port0", "eth0")
    lab.link(rack, client_b, "eth1", "eth0")
    rack.run(["ip", "link", "add", "br0", "type", "bridge", "stp_state", "0"])
    rack.run(["ip", "link", "set", "port0", "master", "br0"])
    rack.set_up("br0")
    rack.add_address("br0", f"{RACK_A}/24")
    rack.add_address("eth1", f"{RACK_B}/24")
    agent = RackdAgent(rack).start()
    agent.configure(DOCUMENT)
    return agent, client_a, client_b


def _in(address, third):
    return address.startswith(f"198.18.{third}.")


def test_each_subnet_served_on_its_device_with_its_next_server(lab):
    """dhcpd listens on br0 and eth1 (not on the bridge port); the client behind the
    bridge port gets an address in the bridge's subnet with next-server on the bridge,
    and the client on the plain veth one in eth1's subnet with next-server on eth1."""
    agent, client_a, client_b = build(lab)
    assert agent.status()["v4"]["interfaces"] == ["br0", "eth1"]
    for client, third, rack in ((client_a, 20, RACK_A), (client_b, 21, RACK_B)):
        answer = rawclient.query(client, arch=[0], request=True)
        assert answer["offers"] and answer["acks"], answer
        for reply in (answer["offers"][0], answer["acks"][0]):
            assert _in(reply["yiaddr"], third), reply
            assert reply["siaddr"] == rack
            assert reply["options"]["server-identifier"] == rack


def test_naming_the_bridge_port_is_refused_and_names_the_bridge(lab):
    """A document that names the bridge port in ``interfaces`` is refused, with a
    message that points at br0; dhcpd goes on serving on br0 and eth1."""
    agent, client_a, _ = build(lab)
    result = agent.configure(dict(DOCUMENT, interfaces=["port0"]), check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "port0" in output and "br0" in output, output
    assert agent.status()["v4"]["interfaces"] == ["br0", "eth1"]
    answer = rawclient.query(client_a, arch=[0])
    assert answer["offers"] and answer["offers"][0]["siaddr"] == RACK_A
