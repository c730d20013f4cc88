"""Valid DHCP config documents for the tests to break one field at a time.

`edit` addresses a field by the same path the parser reports
(``shared_networks[0].subnets[1].pools[0].ip_range_low``), so a table row
says where it breaks the document and where the problem must be reported
with one string.
"""

import copy
import ipaddress
import re

from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.errors import DocumentError

KEY = "dGhpcy1pcy1hLXRlc3Qta2V5LW5vdC1zZWNyZXQ="  # 28 bytes once decoded

SUBNET = "shared_networks[0].subnets[0]"
POOL = f"{SUBNET}.pools[0]"


def _snippet(name):
    return {"name": name, "description": f"{name} description", "value": "# raw text"}


def v4():
    """Two subnets of one shared network, failover, pools, hosts, snippets everywhere."""
    return {
        "omapi_key": KEY,
        "failover_peers": [{"name": "failover-1", "mode": "primary",
                            "address": "198.18.0.2", "peer_address": "198.18.0.3"}],
        "shared_networks": [{
            "name": "vlan-5001", "mtu": 9000, "interface": "eth0",
            "subnets": [
                {"subnet_cidr": "198.18.0.0/24", "router_ip": "198.18.0.1",
                 "dns_servers": ["198.18.0.2"], "ntp_servers": ["198.18.0.2", "ntp.example"],
                 "domain_name": "maas.example", "search_list": ["maas.example", "example"],
                 "pools": [{"ip_range_low": "198.18.0.100", "ip_range_high": "198.18.0.149",
                            "failover_peer": "failover-1",
                            "dhcp_snippets": [_snippet("pool snippet")]},
                           {"ip_range_low": "198.18.0.150", "ip_range_high": "198.18.0.199"}],
                 "dhcp_snippets": [_snippet("subnet snippet")],
                 "disabled_boot_architectures": ["uefi_ia32_tftp"]},
                {"subnet_cidr": "198.18.1.0/24", "router_ip": "198.18.1.1",
                 "pools": [{"ip_range_low": "198.18.1.100", "ip_range_high": "198.18.1.199"}]},
            ]}],
        "hosts": [
            {"host": "node-01", "mac": "52:54:00:00:00:01", "ip": "198.18.0.50",
             "dhcp_snippets": [_snippet("host snippet")]},
            {"host": "node-02", "mac": "52:54:00:00:00:02", "ip": "198.18.1.50"},
        ],
        "interfaces": ["eth0"],
        "global_dhcp_snippets": [_snippet("global snippet")],
    }


def v6():
    """The IPv6 counterpart of `v4`."""
    return {
        "omapi_key": KEY,
        "failover_peers": [{"name": "failover-1", "mode": "primary",
                            "address": "2001:db8:0:1::2", "peer_address": "2001:db8:0:1::3"}],
        "shared_networks": [{
            "name": "vlan-5001", "interface": "eth0",
            "subnets": [
                {"subnet_cidr": "2001:db8:0:1::/64", "router_ip": "2001:db8:0:1::1",
                 "dns_servers": ["2001:db8:0:1::2"], "ntp_servers": ["2001:db8:0:1::2"],
                 "domain_name": "maas.example", "search_list": ["maas.example"],
                 "pools": [{"ip_range_low": "2001:db8:0:1::1000",
                            "ip_range_high": "2001:db8:0:1::1fff",
                            "failover_peer": "failover-1"}]},
                {"subnet_cidr": "2001:db8:0:2::/64",
                 "pools": [{"ip_range_low": "2001:db8:0:2::1000",
                            "ip_range_high": "2001:db8:0:2::1fff"}]},
            ]}],
        "hosts": [
            {"host": "node-01", "mac": "52:54:00:00:00:01", "ip": "2001:db8:0:1::50"},
            {"host": "node-02", "mac": "52:54:00:00:00:02", "ip": "2001:db8:0:2::50"},
        ],
        "interfaces": ["eth0"],
    }


def base(ip_version):
    return v4() if ip_version == 4 else v6()


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path):
    return [name if name else int(index) for name, index in _STEP.findall(path)]


def edit(document, path, value):
    """A copy of ``document`` with the field at ``path`` set to ``value``;
    an index one past a list's end appends."""
    document = copy.deepcopy(document)
    *parents, last = _steps(path)
    node = document
    for step in parents:
        node = node[step]
    if isinstance(last, int) and last == len(node):
        node.append(value)
    else:
        node[last] = value
    return document


def remove(document, path):
    """A copy of ``document`` without the field at ``path``."""
    document = copy.deepcopy(document)
    *parents, last = _steps(path)
    node = document
    for step in parents:
        node = node[step]
    del node[last]
    return document


def problems(document, ip_version):
    """Every problem the parser reports, as (path, message) pairs; [] when valid."""
    try:
        parse_document(document, ip_version)
    except DocumentError as error:
        return [(p.path, p.message) for p in error.problems]
    return []


def many_subnets(subnets):
    """``subnets`` disjoint /26 subnets, each in its shared network, with a router and a pool."""
    networks = []
    for i in range(subnets):
        cidr = ipaddress.ip_network((0xC6120000 + 64 * i, 26))
        first = cidr.network_address
        networks.append({"name": f"net-{i}", "subnets": [{
            "subnet_cidr": str(cidr), "router_ip": str(first + 1),
            "pools": [{"ip_range_low": str(first + 10), "ip_range_high": str(first + 50)}]}]})
    return {"shared_networks": networks}
