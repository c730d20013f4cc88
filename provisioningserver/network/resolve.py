"""NTP host names to addresses, before rendering.

dhcpd's ntp-servers option carries addresses; a document may name servers by
host name. Names are resolved here, once per configure, so templates see only
addresses; a name that does not resolve (for the document's family) is left
out of the map, and the renderer reports it as a warning: never a silent drop.
"""

import ipaddress
import socket


def resolve_ntp(config, getaddrinfo=socket.getaddrinfo):
    """{host name: (addresses, ...)} for the NTP host names of ``config``."""
    family = socket.AF_INET6 if config.ip_version == 6 else socket.AF_INET
    names = {s for subnet in config.subnets for s in subnet.ntp_servers if isinstance(s, str)}
    found = {}
    for name in sorted(names):
        try:
            infos = getaddrinfo(name, None, family, socket.SOCK_DGRAM)
        except OSError:
            continue
        addresses = tuple(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
        if addresses:
            found[name] = addresses
    return found
