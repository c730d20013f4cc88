"""This node's interface addresses, read with netifaces.

(The full link snapshot, with kinds, parents and members, comes with the
interface-selection work; the agent needs only names and addresses here.)
"""

import ipaddress

import netifaces


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
                if version == 6:
                    # netifaces gives IPv6 masks as ffff:ffff::/64 or ffff:ffff::
                    prefix = mask.split("/", 1)[1] if "/" in mask else \
                        bin(int(ipaddress.IPv6Address(mask))).count("1")
                else:
                    prefix = mask
                try:
                    found.append(ipaddress.ip_interface(f"{address}/{prefix}"))
                except ValueError:
                    continue
        result[name] = found
    return result
