"""This rack's address on each subnet of a document, for ``rackctl render``.

`rack_addresses` is the pure decision (an address of a local interface inside
the subnet); `local_addresses` is the I/O, read with netifaces through
`provisioningserver.network.discovery`. The agent itself goes through
`provisioningserver.network.selection`, which also picks interfaces.
"""

from provisioningserver.network.discovery import addresses_by_interface


def local_addresses():
    """Every address of this machine, as ``ipaddress.ip_interface`` values."""
    return [address for found in addresses_by_interface().values() for address in found]


def rack_addresses(config, interfaces):
    """{subnet network: this rack's address on it} for the subnets of ``config``
    that hold one of ``interfaces``; the lowest such address wins, so the
    choice does not depend on interface order."""
    found = {}
    for subnet in config.subnets:
        cidr = subnet.subnet_cidr
        inside = sorted(i.ip for i in interfaces if i.version == cidr.version and i.ip in cidr)
        if inside:
            found[cidr] = inside[0]
    return found
