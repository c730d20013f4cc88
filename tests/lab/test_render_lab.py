"""``rackctl render`` prints the config the agent writes, byte for byte (issue K).

The rack has eth0 with 198.18.0.1/24 and eth1 with 192.0.2.1/24, a network
the document does not declare (dhcpd needs an empty declaration to listen
there); the document names both interfaces, serves 198.18.0.0/24 from eth0
and has a second, relayed subnet with no address on the rack; it brings no OMAPI key,
so the agent's own key (created at its first configure) is used. rackd.yaml
sets what rackctl used to leave at its defaults: lease times, the boot
server's port, the OMAPI port.

After the agent has configured and written state_dir/dhcpd.conf, ``rackctl
render --config RACKD.YAML --show-secrets DOC``, run in the rack's namespace
(so that it discovers the same links), must print exactly that file. Nothing
is masked: --show-secrets prints the key, read from the same state_dir.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.lab.rackd import REPO, RackdAgent

pytestmark = pytest.mark.lab

SETTINGS = {"lease_time": 1234, "pxe_lease_time": 77, "omapi_port_v4": 7999,
            "boot": {"http_port": 5300}}

DOCUMENT = {
    "interfaces": ["eth0", "eth1"],
    "shared_networks": [
        {"name": "local", "subnets": [{
            "subnet_cidr": "198.18.0.0/24",
            "router_ip": "198.18.0.254",
            "pools": [{"ip_range_low": "198.18.0.100", "ip_range_high": "198.18.0.150"}],
        }]},
        {"name": "relayed", "subnets": [{
            "subnet_cidr": "198.18.5.0/24",
            "router_ip": "198.18.5.1",
            "pools": [{"ip_range_low": "198.18.5.100", "ip_range_high": "198.18.5.150"}],
        }]},
    ],
    "hosts": [{"host": "node-01", "mac": "52:54:00:00:00:01", "ip": "198.18.0.50"}],
}


def _rack(lab):
    rack = lab.add_host("rack")
    lab.attach(rack, lab.add_switch("sw"))
    lab.attach(rack, lab.add_switch("sw1"), ifname="eth1")
    rack.add_address("eth0", "198.18.0.1/24")
    rack.add_address("eth1", "192.0.2.1/24")
    return rack, RackdAgent(rack, **SETTINGS).start()


def _render(rack, agent, document_path):
    """rackctl render's stdout, as bytes, run in the rack's namespace."""
    result = subprocess.run(
        rack.command([sys.executable, "-m", "provisioningserver.cli.rackctl", "render",
                      "--config", agent.config_path, "--show-secrets", document_path]),
        capture_output=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


def test_render_prints_the_config_the_agent_writes(lab):
    """For the same document and rackd.yaml, rackctl render prints byte for byte
    the dhcpd.conf the agent wrote, non-default lease times, boot port, OMAPI port
    and key, relayed subnet and empty subnet declaration included."""
    rack, agent = _rack(lab)
    outcome = agent.configure(DOCUMENT)
    assert outcome["action"] == "started", outcome
    with open(os.path.join(agent.state_dir, "dhcpd.conf"), "rb") as stream:
        written = stream.read()
    document_path = rack.path("document.json")
    with open(document_path, "w") as stream:
        json.dump(DOCUMENT, stream)
    rendered = _render(rack, agent, document_path)
    text = written.decode()
    for expected in ("default-lease-time 1234;", "default-lease-time 77;", "omapi-port 7999;",
                     "http://198.18.0.1:5300/", "# No address of this rack on 198.18.5.0/24",
                     "subnet 192.0.2.0 netmask 255.255.255.0 { }", "secret \""):
        assert expected in text, expected
    assert rendered == written
