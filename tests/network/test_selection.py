"""Interface selection for the agent: which interface serves each subnet."""

import ipaddress

import pytest

from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.dhcp.model import DHCPConfig
from provisioningserver.network.selection import select

IF = ipaddress.ip_interface


def config(interfaces=(), network_interface=None, cidrs=("198.18.0.0/24",)):
    return DHCPConfig.from_document({
        "interfaces": list(interfaces),
        "shared_networks": [{"name": "n", "interface": network_interface, "subnets": [
            {"subnet_cidr": c} for c in cidrs]}],
    }, 4)


LINKS = {
    "lo": [IF("127.0.0.1/8")],
    "eth0": [IF("198.18.0.1/24"), IF("2001:db8::1/64")],
    "eth1": [IF("198.18.1.1/24")],
}


def test_subnet_is_served_on_the_interface_with_an_address_in_it():
    """The interface carrying an address in the subnet is chosen, with that address."""
    chosen = select(config(), LINKS)
    assert chosen.interfaces == ("eth0",)
    assert chosen.rack_addresses == {ipaddress.ip_network("198.18.0.0/24"): ipaddress.ip_address("198.18.0.1")}


def test_relayed_subnet_has_no_rack_address_and_is_reported():
    """A subnet with no local address is relayed: no rack address, listed as relayed."""
    chosen = select(config(cidrs=("198.18.0.0/24", "198.19.5.0/24")), LINKS)
    assert chosen.relayed == (ipaddress.ip_network("198.19.5.0/24"),)
    assert ipaddress.ip_network("198.19.5.0/24") not in chosen.rack_addresses


def test_named_interfaces_must_exist():
    """An interface the document names that this rack lacks is an error naming it."""
    with pytest.raises(DocumentError) as caught:
        select(config(interfaces=["eth9"]), LINKS)
    assert caught.value.paths == ["interfaces[0]"]
    assert "eth9" in str(caught.value)


def test_named_interfaces_restrict_the_choice():
    """With interfaces named, a subnet on another interface counts as relayed."""
    chosen = select(config(interfaces=["eth1"]), LINKS)
    assert chosen.interfaces == ("eth1",)
    assert chosen.relayed == (ipaddress.ip_network("198.18.0.0/24"),)


def test_ambiguous_subnet_names_the_candidates():
    """A subnet with addresses on two interfaces is an error naming both."""
    links = dict(LINKS, eth2=[IF("198.18.0.9/24")])
    with pytest.raises(DocumentError) as caught:
        select(config(), links)
    assert "eth0, eth2" in str(caught.value)
    assert caught.value.paths == ["shared_networks[0].subnets[0].subnet_cidr"]


def test_nothing_to_listen_on_is_an_error():
    """No local address in any subnet and no interfaces named: nothing to serve on."""
    with pytest.raises(DocumentError, match="no interface of this rack"):
        select(config(cidrs=("198.19.9.0/24",)), LINKS)
