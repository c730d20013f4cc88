"""NTP host names are resolved before rendering; the unresolvable are left out."""

import ipaddress
import socket

from provisioningserver.dhcp.document import parse_document
from provisioningserver.network.resolve import resolve_ntp


def config(ntp, version=4):
    cidr = "198.18.0.0/24" if version == 4 else "2001:db8::/64"
    return parse_document({"shared_networks": [{"name": "n", "subnets": [
        {"subnet_cidr": cidr, "ntp_servers": ntp}]}]}, version)


def fake_getaddrinfo(table):
    def getaddrinfo(name, port, family, kind):
        if name not in table:
            raise socket.gaierror(socket.EAI_NONAME, "not known")
        return [(family, kind, 17, "", (address, 0)) for address in table[name]]
    return getaddrinfo


def test_names_resolve_to_addresses_and_addresses_are_left_alone():
    """Host names map to their addresses (duplicates dropped); literal addresses
    are not looked up; a name that does not resolve is absent."""
    found = resolve_ntp(config(["ntp.lab.example", "198.18.0.9", "gone.lab.example"]),
                        fake_getaddrinfo({"ntp.lab.example": ["198.18.0.7", "198.18.0.7",
                                                              "198.18.0.8"]}))
    assert found == {"ntp.lab.example": (ipaddress.ip_address("198.18.0.7"),
                                         ipaddress.ip_address("198.18.0.8"))}


def test_family_is_asked_for():
    """A v6 document asks getaddrinfo for AF_INET6 addresses."""
    asked = []

    def getaddrinfo(name, port, family, kind):
        asked.append(family)
        return [(family, kind, 17, "", ("2001:db8::7", 0, 0, 0))]

    assert resolve_ntp(config(["ntp.lab.example"], 6), getaddrinfo) == {
        "ntp.lab.example": (ipaddress.ip_address("2001:db8::7"),)}
    assert asked == [socket.AF_INET6]
