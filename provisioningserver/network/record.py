"""Recording a node's links as a fixture: the input of the discovery tests.

The selection rules are tested on recorded trees (tests/network/data/*.json)
because the machines that run the tests cannot make every kind of device
(their kernel may lack bonding or 802.1Q). A recording is only worth having
if it holds exactly what discovery reads, so `describe` takes each device's
facts from `provisioningserver.network.sysfs.read_facts`, the very function
`read_link` builds a `Link` from, and /proc/net/vlan/config from the same
reader `vlan_table` parses: a field discovery starts to read is recorded
from then on, and a field a kernel does not produce cannot appear.

A description, as tests/network/fakesys.py expands it into a tree again::

    {"about": "...", "recorded": {"kernel": "6.1.0-...", "by": "scripts/record-links"},
     "devices": {"eno1": {"device": true, "master": "bond0", "flags": "0x1803"},
                 "bond0": {"devtype": "bond", "slaves": ["eno1"], "lower": ["eno1"]},
                 "bond0.100": {"devtype": "vlan", "lower": ["bond0"], "vlan_id": 100}},
     "proc_net_vlan": true,
     "addresses": {"bond0.100": ["198.18.100.2/24"]}}

Per device only what differs from `DEFAULTS` is kept (an Ethernet device,
up, MTU 1500, no stacking), so a recording reads like the node's shape.
"""

import os

from provisioningserver.network.sysfs import device_names, read_facts, vlan_config, vlan_table

# A device's facts when it is a plain Ethernet device that is up; `describe`
# leaves these out.
DEFAULTS = {"type": 1, "devtype": None, "device": False, "mtu": 1500, "flags": "0x1003",
            "operstate": "up", "master": None, "lower": [], "slaves": None, "brif": None}

# The keys a description's device may have: the facts, plus the VLAN id that
# /proc/net/vlan/config gives.
DEVICE_KEYS = tuple(DEFAULTS) + ("address", "vlan_id")


def device(facts):
    """One device's facts without the defaults."""
    return {key: value for key, value in facts.items()
            if key not in DEFAULTS or DEFAULTS[key] != value}


def describe(root="/", addresses=None, about=None):
    """The description of the links under ``root`` (``/``: this node, or the
    namespace the caller runs in). ``addresses`` is ``{name: [ip_interface]}``
    as `provisioningserver.network.discovery.addresses_by_interface` gives it;
    None records no addresses."""
    vlan = vlan_config(root)
    ids = {name: vlan_id for name, (vlan_id, _) in vlan_table(root).items()}
    devices = {}
    for name in device_names(root):
        devices[name] = device(read_facts(root, name))
        if name in ids:
            devices[name]["vlan_id"] = ids[name]
    description = {"recorded": {"kernel": os.uname().release, "by": "scripts/record-links"},
                   "devices": devices, "proc_net_vlan": vlan is not None}
    if about:
        description["about"] = about
    if addresses is not None:
        description["addresses"] = {name: [str(a) for a in found]
                                    for name, found in sorted(addresses.items()) if found}
    return description
