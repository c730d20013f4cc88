"""`gather.relay_warnings`: which relayed subnets the configure outcome warns about."""

import ipaddress

from provisioningserver.dhcp.document import parse_document
from provisioningserver.network.selection import select
from provisioningserver.services.gather import relay_warnings

IF = ipaddress.ip_interface
LINKS = {"eth0": [IF("198.18.41.1/24")], "eth1": [IF("198.18.43.1/24")]}


def _document(*remote, interface=None):
    return parse_document({"shared_networks": [
        {"name": "local0", "subnets": [{"subnet_cidr": "198.18.41.0/24"}]},
        {"name": "local1", "subnets": [{"subnet_cidr": "198.18.43.0/24"}]},
        {"name": "remote", "interface": interface, "subnets": list(remote)}]}, 4)


def test_relayed_subnet_without_a_boot_server_is_warned_about():
    """Two listening interfaces and none named: the relayed subnet gets no boot options,
    and the warning names what to set."""
    config = _document({"subnet_cidr": "198.18.40.0/24"})
    (warning,) = relay_warnings(config, select(config, LINKS))
    assert warning.startswith("subnet 198.18.40.0/24 has no address on this rack: served as "
                              "relayed, without boot options")
    assert "shared network's interface" in warning and "next_server" in warning


def test_no_warning_when_the_boot_server_is_known():
    """With the receiving interface named, or the subnet's own next_server, nothing to warn."""
    named = _document({"subnet_cidr": "198.18.40.0/24"}, interface="eth0")
    assert relay_warnings(named, select(named, LINKS)) == ()
    own = _document({"subnet_cidr": "198.18.40.0/24", "next_server": "198.18.41.1"})
    assert relay_warnings(own, select(own, LINKS)) == ()
