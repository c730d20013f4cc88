"""Reading this node's links: addresses from netifaces, the rest from sysfs.

`discover` is the one I/O entry point the agent uses (``tap.py`` passes it to
the configurator); both sources are injectable so that tests can feed
recorded data, and the result is a plain `Snapshot`.
"""

import ipaddress

import attrs
import netifaces

from provisioningserver.network.links import Link, Snapshot
from provisioningserver.network.sysfs import read_links


def _prefix(version, mask):
    if version == 4:
        return mask
    # netifaces gives IPv6 masks as ffff:ffff::/64 or as ffff:ffff::
    if "/" in mask:
        return mask.split("/", 1)[1]
    return bin(int(ipaddress.IPv6Address(mask))).count("1")


def addresses_by_interface():
    """{interface name: [ipaddress.ip_interface, ...]} for every interface."""
    result = {}
    for name in netifaces.interfaces():
        found = []
        families = netifaces.ifaddresses(name)
        for family, version in ((netifaces.AF_INET, 4), (netifaces.AF_INET6, 6)):
            for entry in families.get(family, ()):
                address = entry.get("addr", "").split("%", 1)[0]
                mask = entry.get("netmask") or entry.get("mask")
                if not address or not mask:
                    continue
                try:
                    found.append(ipaddress.ip_interface(f"{address}/{_prefix(version, mask)}"))
                except ValueError:
                    continue
        result[name] = found
    return result


def discover(root="/", addresses=addresses_by_interface):
    """The node's `Snapshot`: every device sysfs knows, with the addresses
    ``addresses()`` reports for it. A name only one source knows (a device
    that came or went between the two reads) is kept, never dropped."""
    links = read_links(root)
    found = addresses()
    for name in found.keys() - links.keys():
        links[name] = Link(name=name, operstate="unknown", link_type="unknown")
    return Snapshot(attrs.evolve(link, addresses=tuple(found.get(name, ())))
                    for name, link in links.items())
