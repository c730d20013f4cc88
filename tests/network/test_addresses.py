"""This rack's address on each subnet, from the machine's interface addresses."""

import ipaddress

from provisioningserver.dhcp.model import DHCPConfig
from provisioningserver.network.addresses import local_addresses, rack_addresses


def _config():
    return DHCPConfig.from_document({"shared_networks": [{"name": "n", "subnets": [
        {"subnet_cidr": "198.18.0.0/24"}, {"subnet_cidr": "198.18.1.0/24"}]}]}, 4)


def test_rack_address_is_a_local_address_inside_the_subnet():
    """A subnet gets the lowest local address inside it; a subnet with none is absent."""
    interfaces = [ipaddress.ip_interface(a) for a in
                  ("127.0.0.1/8", "198.18.0.9/24", "198.18.0.3/24", "2001:db8::1/64")]
    assert rack_addresses(_config(), interfaces) == {
        ipaddress.ip_network("198.18.0.0/24"): ipaddress.ip_address("198.18.0.3")}


def test_local_addresses_include_loopback():
    """local_addresses reads the machine's interfaces (loopback is always there)."""
    assert ipaddress.ip_interface("127.0.0.1/8") in local_addresses()
