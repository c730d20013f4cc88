"""Recorded sysfs trees: a compact JSON description, expanded into a directory.

A description holds what `provisioningserver.network.sysfs` reads, per
device, with the kernel's defaults left out::

    {"about": "...",
     "devices": {"eno1": {"device": true, "master": "bond0"},
                 "bond0": {"devtype": "bond", "slaves": ["eno1"], "master": "br0"},
                 "br0": {"devtype": "bridge", "brif": ["bond0"]},
                 "bond0.100": {"devtype": "vlan", "lower": ["bond0"], "vlan_id": 100}},
     "proc_net_vlan": true,
     "addresses": {"br0": ["198.18.0.2/24"]}}

Device keys: ``type`` (ARPHRD number, default 1), ``devtype`` (uevent
DEVTYPE), ``device`` (a bus device: a physical NIC), ``address``, ``mtu``,
``flags`` (default "0x1003": up), ``operstate`` (default "up"), ``master``,
``lower``, ``slaves``, ``brif``, ``vlan_id`` (written to /proc/net/vlan/config
when ``proc_net_vlan`` is true, as the 8021q module does).

`expand` builds the tree under a directory (the layout a kernel exposes).
The other way, from a real node or namespace, is scripts/record-links
(`provisioningserver.network.record.describe`), which records each device
with the same sysfs reader discovery uses; a key `expand` does not know is
an error naming it, so a description cannot carry what discovery ignores.
"""

import json
import os

from provisioningserver.network.record import DEVICE_KEYS

DEFAULTS = {"type": 1, "flags": "0x1003", "operstate": "up", "mtu": 1500}


def load(name):
    """A description from tests/network/data/NAME.json."""
    path = os.path.join(os.path.dirname(__file__), "data", f"{name}.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")


def _mac(index):
    return f"52:54:00:00:00:{index:02x}"


def expand(description, root):
    """Write the description's tree under ``root``; returns ``root``."""
    devices = description["devices"]
    base = os.path.join(root, "sys/class/net")
    os.makedirs(base, exist_ok=True)
    for index, (name, given) in enumerate(sorted(devices.items()), start=1):
        unknown = sorted(set(given) - set(DEVICE_KEYS))
        if unknown:
            raise ValueError(f"devices.{name}: unknown key(s) {', '.join(unknown)}; "
                             f"a device has {', '.join(DEVICE_KEYS)}")
        spec = dict(DEFAULTS, **{k: v for k, v in given.items() if v is not None})
        path = os.path.join(base, name)
        os.makedirs(path)
        _write(os.path.join(path, "type"), str(spec["type"]))
        _write(os.path.join(path, "flags"), spec["flags"])
        _write(os.path.join(path, "operstate"), spec["operstate"])
        _write(os.path.join(path, "mtu"), str(spec["mtu"]))
        _write(os.path.join(path, "address"), spec.get("address", _mac(index)))
        uevent = f"INTERFACE={name}\nIFINDEX={index}"
        if spec.get("devtype"):
            uevent = f"DEVTYPE={spec['devtype']}\n" + uevent
        _write(os.path.join(path, "uevent"), uevent)
        if spec.get("device"):
            bus = os.path.join(root, "sys/devices/pci0000:00", f"0000:00:{index:02x}.0")
            os.makedirs(bus)
            os.symlink(bus, os.path.join(path, "device"))
        if spec.get("master"):
            os.symlink(f"../{spec['master']}", os.path.join(path, "master"))
        for lower in spec.get("lower", ()):
            os.symlink(f"../{lower}", os.path.join(path, f"lower_{lower}"))
        if spec.get("devtype") == "bond" or "slaves" in spec:
            _write(os.path.join(path, "bonding/slaves"), " ".join(spec.get("slaves", ())))
        if spec.get("devtype") == "bridge" or "brif" in spec:
            os.makedirs(os.path.join(path, "bridge"))
            os.makedirs(os.path.join(path, "brif"))
            for port in spec.get("brif", ()):
                os.symlink(f"../../{port}/brport", os.path.join(path, "brif", port))
    if any(d.get("devtype") == "bond" for d in devices.values()):
        _write(os.path.join(base, "bonding_masters"),
               " ".join(n for n, d in sorted(devices.items()) if d.get("devtype") == "bond"))
    if description.get("proc_net_vlan"):
        lines = ["VLAN Dev name\t | VLAN ID", "Name-Type: VLAN_NAME_TYPE_RAW_PLUS_VID_NO_PAD"]
        lines += [f"{n:<15}| {d['vlan_id']:<5}| {d['lower'][0]}"
                  for n, d in sorted(devices.items()) if "vlan_id" in d]
        _write(os.path.join(root, "proc/net/vlan/config"), "\n".join(lines))
    return root


def addresses(description):
    """The description's address lists, for `discover(addresses=...)`."""
    return lambda: {name: list(found) for name, found in description.get("addresses", {}).items()}
