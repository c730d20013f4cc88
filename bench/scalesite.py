"""The site bench/configure_scale.py gives rackd: one document described
by a few numbers, so that each step of the bench changes exactly one thing.

Hosts of each kind get a MAC prefix and an address range of their own, all
in 198.18.0.0/15: the N base hosts from 198.18.1.0 (50,000 fit below
198.18.200.0), the one-at-a-time extras from 198.18.250.0, the live-add
batch from 198.18.200.0, and the hosts pypureomapi adds behind rackd's back
from 198.19.0.0, outside the served /16 (dhcpd stores them all the same; a
restart through rackd cleans them out of the leases file). A rename bumps
the generation, which is in every base host's name and nowhere else; a
structural change swaps the one DNS server.
"""

import ipaddress

DNS = ("198.18.0.53", "198.18.0.54")
POOL = ("198.18.0.100", "198.18.0.200")


def _mac(kind, i):
    return "02:%02x:%02x:%02x:%02x:01" % (kind, i >> 16, (i >> 8) & 255, i & 255)


def base_host(i, generation):
    return {"host": f"h{i}-g{generation}", "mac": _mac(0x10, i),
            "ip": str(ipaddress.IPv4Address("198.18.1.0") + i)}


def extra_host(k):
    return {"host": f"extra{k}", "mac": _mac(0x11, k),
            "ip": str(ipaddress.IPv4Address("198.18.250.0") + k)}


def live_host(i):
    return {"host": f"live{i}", "mac": _mac(0x12, i),
            "ip": str(ipaddress.IPv4Address("198.18.200.0") + i)}


def raw_host(i):
    return {"host": f"raw{i}", "mac": _mac(0x13, i),
            "ip": str(ipaddress.IPv4Address("198.19.0.0") + i)}


class Site:
    """The document rackd is given, as a few numbers."""

    def __init__(self):
        self.size, self.generation, self.dns, self.extras, self.live = 0, 0, DNS[0], [], []

    def document(self):
        hosts = [base_host(i, self.generation) for i in range(self.size)]
        return {"shared_networks": [{"name": "lab", "subnets": [{
            "subnet_cidr": "198.18.0.0/16", "router_ip": "198.18.0.254",
            "domain_name": "scale.example", "dns_servers": [self.dns],
            "pools": [{"ip_range_low": POOL[0], "ip_range_high": POOL[1]}]}]}],
            "hosts": hosts + self.extras + self.live}
