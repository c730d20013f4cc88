"""``rackctl interfaces``: the snapshot, and where a document would be served."""

import argparse
import ipaddress
import io
import json

import pytest
import yaml

from provisioningserver.cli.interfaces import add_interfaces_arguments, run_interfaces
from provisioningserver.network.discovery import discover
from tests.network import fakesys


@pytest.fixture
def run(tmp_path):
    """run(*argv) -> (exit code, stdout, stderr) against the recorded bonded rack."""
    description = fakesys.load("rack-bonds")
    root = fakesys.expand(description, str(tmp_path / "root"))

    def invoke(*argv):
        parser = argparse.ArgumentParser()
        add_interfaces_arguments(parser)
        out, err = io.StringIO(), io.StringIO()
        code = run_interfaces(parser.parse_args(argv), out, err,
                              discover=lambda: discover(root, fakesys.addresses(description)))
        return code, out.getvalue(), err.getvalue()
    return invoke


@pytest.fixture
def document(tmp_path):
    def write(*cidrs, pool_peer=None, **extra):
        subnets = [{"subnet_cidr": c} for c in cidrs]
        if pool_peer is not None:  # a pool of the first subnet names this failover peer
            first = ipaddress.ip_network(cidrs[0]).network_address
            subnets[0]["pools"] = [{"ip_range_low": str(first + 100),
                                    "ip_range_high": str(first + 150), "failover_peer": pool_peer}]
        path = tmp_path / "doc.yaml"
        path.write_text(yaml.safe_dump(dict(extra, shared_networks=[
            {"name": "n", "subnets": subnets}])))
        return str(path)
    return write


def test_snapshot_lists_every_link_with_its_stacking(run):
    """Without a document: each link with kind, state and stacking, unusable ones marked."""
    code, out, _ = run()
    assert code == 0
    assert "bond0.100" in out and "VLAN 100 on bond0" in out
    assert "members eno1, eno2" in out and "ports bond0" in out
    assert "cannot carry DHCP: an IP tunnel (link type none)" in out
    assert "down (down)" in out


def test_snapshot_as_json(run):
    """--json gives the snapshot's links as data."""
    code, out, _ = run("--json")
    links = {link["name"]: link for link in json.loads(out)["links"]}
    assert code == 0
    assert links["br0"]["ports"] == ["bond0"] and links["br0"]["kind"] == "bridge"
    assert "198.18.0.2/24" in links["br0"]["addresses"]


def test_document_shows_interface_address_and_why(run, document):
    """With a document: per subnet the interface and rack address, or relayed, and why."""
    code, out, _ = run(document("198.18.0.0/24", "198.19.99.0/24"))
    assert code == 0
    assert "198.18.0.0/24: br0 198.18.0.2; boot server 198.18.0.2" in out
    assert "198.19.99.0/24: relayed, received on br0; boot server 198.18.0.2" in out
    assert "its relayed packets arrive on br0, so its boot server is 198.18.0.2" in out
    assert "dhcpd listens on: br0" in out


def test_relay_only_document_explains_the_receiving_interface(run, tmp_path):
    """A document of relayed subnets only, naming br0 as the receiving interface:
    each subnet says relayed, received on br0, its boot server (the rack's br0
    address, or the subnet's next_server), and br0's own network is declared empty."""
    path = tmp_path / "relay.yaml"
    path.write_text(yaml.safe_dump({"shared_networks": [{"name": "remote", "interface": "br0",
        "subnets": [{"subnet_cidr": "198.19.40.0/24"},
                    {"subnet_cidr": "198.19.44.0/24", "next_server": "198.18.0.9"}]}]}))
    code, out, _ = run(str(path))
    assert code == 0, out
    assert "198.19.40.0/24: relayed, received on br0; boot server 198.18.0.2" in out
    assert "198.19.44.0/24: relayed, received on br0; boot server 198.18.0.9" in out
    assert "the subnet's next_server (not an address of this rack" in out
    assert "dhcpd listens on: br0" in out
    assert "empty subnet declarations (listening networks the document lacks): 198.18.0.0/24" in out
    code, out, _ = run("--json", str(path))
    subnets = json.loads(out)["selection"]["subnets"]
    assert [(s["received_on"], s["boot_server"]) for s in subnets] == [
        ("br0", "198.18.0.2"), ("br0", "198.18.0.9")]


def test_document_selection_as_json(run, document):
    """--json carries the selection: interfaces, subnets with reasons, empty subnets."""
    code, out, _ = run("--json", "--ipv6", document("2001:db8:100::/64", "2001:db8:99::/64"))
    selection = json.loads(out)["selection"]
    assert code == 0
    assert selection["interfaces"] == ["bond0.100"]
    assert selection["subnets"][0]["address"] == "2001:db8:100::2"
    assert selection["subnets"][1]["relayed"] is True
    assert selection["empty_subnets"] == []


def test_selection_error_exits_2_naming_the_field(run, document):
    """A failover address not on this rack is reported with its path, exit code 2."""
    path = document("198.18.0.0/24", failover_peers=[
        {"name": "f", "mode": "primary", "address": "198.18.0.77", "peer_address": "198.18.0.3"}],
        pool_peer="f")
    code, out, err = run("--json", path)
    assert code == 2
    assert json.loads(out)["errors"][0]["field"] == "failover_peers[0].address"
    assert "failover_peers[0].address: 198.18.0.77 is not an address of this rack" in err


def test_unreadable_document_exits_2(run, tmp_path):
    """A missing document file is a usage error that says which file."""
    code, _, err = run(str(tmp_path / "missing.yaml"))
    assert code == 2
    assert "cannot read" in err and "missing.yaml" in err
