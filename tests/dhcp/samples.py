"""Documents and render inputs shared by the rendering and validation tests.

The large documents are generated from a seed rather than stored: three
shared networks, several subnets, failover pools, snippets at every level and
200 reservations, the same on every run.
"""

import ipaddress
import pathlib
import random

from provisioningserver.dhcp.document import document_from_file, parse_document
from provisioningserver.dhcp.render import BootSettings, RenderInputs

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
GOLDEN = pathlib.Path(__file__).resolve().parent / "golden"
KEY = "Z29sZGVuLWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY="
NTP_ADDRESSES = {
    "ntp.example": ("198.18.200.1", "2001:db8:200::1"),
}


def example_version(path):
    return 6 if "v6" in pathlib.Path(path).stem else 4


def example(name):
    path = EXAMPLES / name
    return document_from_file(path, example_version(path))


def examples():
    return sorted(p.name for p in EXAMPLES.glob("*.yaml"))


def inputs_for(config, *, relayed=(), **overrides):
    """Fixed inputs: the rack is ``.2`` (``::2``) on every subnet not in ``relayed``."""
    racks = {s.subnet_cidr: s.subnet_cidr.network_address + 2
             for s in config.subnets if str(s.subnet_cidr) not in relayed}
    fields = dict(rack_addresses=racks, omapi_port=7911 if config.ip_version == 4 else 7912,
                  omapi_key=config.omapi_key or KEY, boot=BootSettings(),
                  ntp_addresses=NTP_ADDRESSES)
    fields.update(overrides)
    return RenderInputs(**fields)


def _snippet(name, value, description=""):
    return {"name": name, "description": description, "value": value}


def large_document(ip_version, seed=5001, hosts=200):
    """A deterministic document with 3 shared networks and ``hosts`` reservations."""
    rng = random.Random(seed)
    v4 = ip_version == 4

    def net(i):
        return ipaddress.ip_network(f"198.18.{10 + i}.0/24" if v4 else f"2001:db8:{0x100 + i:x}::/64")

    def at(network, n):
        return str(network.network_address + n)

    peers = [
        {"name": "peer-a", "mode": "primary",
         "address": "198.18.10.2" if v4 else "2001:db8:100::2",
         "peer_address": "198.18.10.3" if v4 else "2001:db8:100::3"},
        {"name": "peer-b", "mode": "secondary",
         "address": "198.18.13.2" if v4 else "2001:db8:103::2",
         "peer_address": "198.18.13.3" if v4 else "2001:db8:103::3"},
    ]
    layout = [("rack-a", 3, 9000), ("rack-b", 3, 1500), ("rack-c", 2, None)]
    shared, slots, index = [], [], 0
    for name, count, mtu in layout:
        subnets = []
        for _ in range(count):
            network = net(index)
            subnet = {
                "subnet_cidr": str(network),
                "dns_servers": [at(network, 2), at(network, 3)][: rng.randint(1, 2)],
                "ntp_servers": [[at(network, 2)], ["ntp.example"],
                                ["ntp.example", "ntp-missing.example"], []][index % 4],
                "domain_name": f"{name}.example",
                "search_list": [f"{name}.example", "example"],
                "pools": [{"ip_range_low": at(network, 100), "ip_range_high": at(network, 199)}],
            }
            if v4:
                subnet["router_ip"] = at(network, 1)
            if index % 3 == 0:
                subnet["pools"][0]["failover_peer"] = "peer-a" if index < 3 else "peer-b"
                subnet["pools"][0]["dhcp_snippets"] = [
                    _snippet(f"pool {index}", "deny unknown-clients;", "known clients only")]
            if index % 4 == 1:
                subnet["disabled_boot_architectures"] = rng.sample(
                    ["uefi_amd64_http", "uefi_arm64_http", "s390x", "pxe"], 2)
            if index % 2 == 0:
                subnet["dhcp_snippets"] = [_snippet(
                    f"subnet {index} lease", "max-lease-time 1200;", "longer leases here")]
            subnets.append(subnet)
            # Reservations go below and above the pool.
            slots += [(network, n) for n in list(range(10, 100)) + list(range(200, 250))]
            index += 1
        entry = {"name": name, "subnets": subnets}
        if mtu is not None:
            entry["mtu"] = mtu
        shared.append(entry)
    chosen = sorted(rng.sample(range(len(slots)), hosts))
    reservations = []
    for i, slot in enumerate(chosen):
        network, n = slots[slot]
        host = {"host": f"node-{i:03d}", "mac": f"52:54:00:{i >> 8:02x}:{i & 0xff:02x}:{n:02x}",
                "ip": at(network, n)}
        if i % 50 == 7:
            host["dhcp_snippets"] = [_snippet(f"node-{i:03d} note", "ddns-hostname \"x\";" if v4
                                              else "preferred-lifetime 600;")]
        reservations.append(host)
    document = {
        "omapi_key": KEY,
        "failover_peers": peers,
        "shared_networks": shared,
        "hosts": reservations,
        "global_dhcp_snippets": [
            _snippet("log facility", "log-facility local7;", "to local7"),
            _snippet("no ping", "ping-check false;" if v4 else "# nothing for v6",
                     "multi-word description: with a colon"),
        ],
    }
    return parse_document(document, ip_version)


# The relay examples' rack: eth0 is where the relays send (and carries a
# second network that the v4 document does not declare).
RELAY_RACK = {"eth0": [ipaddress.ip_interface("198.18.41.1/24"),
                       ipaddress.ip_interface("198.18.42.1/24"),
                       ipaddress.ip_interface("2001:db8:41::1/64")]}


def relay_inputs(config):
    """The inputs the agent would render the relay examples with on `RELAY_RACK`."""
    from provisioningserver.network.selection import select

    chosen = select(config, RELAY_RACK)
    return inputs_for(config, rack_addresses=chosen.rack_addresses,
                      relay_addresses=chosen.relay_addresses,
                      empty_subnets=chosen.empty_subnets, empty_in=chosen.empty_in)


# name -> (config factory, inputs factory) of each golden file.
GOLDENS = {
    "relayed-v4": (lambda: example("relay-v4.yaml"), relay_inputs),
    "relayed-v6": (lambda: example("relay-v6.yaml"), relay_inputs),
    "small-v4": (lambda: example("pxe-v4.yaml"),
                 lambda c: inputs_for(c, relayed=("198.18.3.0/24",))),
    "small-v6": (lambda: example("standalone-v6.yaml"),
                 lambda c: inputs_for(c, relayed=("2001:db8:11::/64",))),
    "large-v4": (lambda: large_document(4), lambda c: inputs_for(c, relayed=("198.18.17.0/24",))),
    "large-v6": (lambda: large_document(6), lambda c: inputs_for(c, relayed=("2001:db8:107::/64",))),
}
