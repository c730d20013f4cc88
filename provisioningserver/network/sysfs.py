"""Reading what kind of device each link is, from sysfs and /proc/net/vlan.

Everything here is relative to ``root`` so that tests can point it at a tree
they built (see ``tests/network/fakesys.py``); on a node it is ``/``.

What the kernel exposes, per device under ``sys/class/net/NAME``:

- ``type``: the ARPHRD link type (1 Ethernet, 772 loopback, 768/776/778...
  IP tunnels, 65534 none: tun and WireGuard);
- ``uevent``: ``DEVTYPE=vlan|bond|bridge|vxlan|...`` for virtual devices
  that declare one (veth and physical NICs do not);
- ``device``: a link to the bus device, present for physical NICs only;
- ``bonding/slaves``: a bond's members; ``brif/``: a bridge's ports;
- ``master``: a link to the bond or bridge the device is enslaved to;
- ``lower_NAME``: links to the devices under a stacked one (a VLAN's parent);
- ``flags`` (IFF_UP is bit 0), ``operstate``, ``address``, ``mtu``.

``/proc/net/vlan/config`` (present once 8021q is loaded) gives each VLAN
device its id and parent; without it a VLAN's parent still comes from its
``lower_`` link, and its id is unknown.
"""

import os

from provisioningserver.network.links import Link

_LINK_TYPES = {
    1: "ether", 24: "ieee1394", 32: "infiniband", 512: "ppp", 768: "tunnel",
    769: "tunnel6", 772: "loopback", 776: "sit", 778: "gre", 823: "ip6gre",
    65534: "none",
}
_TUNNEL_TYPES = ("tunnel", "tunnel6", "sit", "gre", "ip6gre", "none")
# Virtual devices that declare a DEVTYPE and carry traffic for another network.
_TUNNEL_DEVTYPES = ("vxlan", "geneve", "wireguard", "gretap", "ip6gretap")
_IFF_UP = 0x1


def _read(path, default=None):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return default


def _listdir(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _uevent(path):
    fields = {}
    for line in (_read(path, "") or "").splitlines():
        key, _, value = line.partition("=")
        fields[key] = value
    return fields


def vlan_table(root="/"):
    """{vlan device: (vlan id, parent)} from /proc/net/vlan/config."""
    table = {}
    text = _read(os.path.join(root, "proc/net/vlan/config"), "") or ""
    for line in text.splitlines():
        parts = [p.strip() for p in line.split("|")]
        # The header lines ("VLAN Dev name | VLAN ID", "Name-Type: ...") have
        # no numeric id and fall through.
        if len(parts) == 3 and parts[1].isdigit():
            table[parts[0]] = (int(parts[1]), parts[2])
    return table


def _int(text):
    try:
        return int(text, 0)
    except (TypeError, ValueError):
        return None


def _kind(link_type, devtype, name, vlans, path):
    if link_type == "loopback":
        return "loopback"
    if devtype == "vlan" or name in vlans:
        return "vlan"
    if devtype == "bond" or os.path.isdir(os.path.join(path, "bonding")):
        return "bond"
    if devtype == "bridge" or os.path.isdir(os.path.join(path, "bridge")):
        return "bridge"
    if link_type in _TUNNEL_TYPES or devtype in _TUNNEL_DEVTYPES:
        return "tunnel"
    if os.path.exists(os.path.join(path, "device")):
        return "physical"
    return "other"


def read_link(root, name, vlans):
    """One device's `Link`, without addresses (netifaces supplies those)."""
    path = os.path.join(root, "sys/class/net", name)
    type_number = _int(_read(os.path.join(path, "type")))
    link_type = _LINK_TYPES.get(type_number, f"arphrd-{type_number}")
    devtype = _uevent(os.path.join(path, "uevent")).get("DEVTYPE")
    kind = _kind(link_type, devtype, name, vlans, path)
    flags = _int(_read(os.path.join(path, "flags"))) or 0
    master = os.path.join(path, "master")
    parent, vlan_id = None, None
    if kind == "vlan":
        vlan_id, parent = vlans.get(name, (None, None))
        if parent is None:
            lowers = [e[len("lower_"):] for e in _listdir(path) if e.startswith("lower_")]
            parent = lowers[0] if lowers else None
    members = ()
    if kind == "bond":
        members = tuple((_read(os.path.join(path, "bonding/slaves"), "") or "").split())
    return Link(
        name=name,
        kind=kind,
        link_type=link_type,
        mac=_read(os.path.join(path, "address")) or None,
        mtu=_int(_read(os.path.join(path, "mtu"))),
        admin_up=bool(flags & _IFF_UP),
        operstate=_read(os.path.join(path, "operstate"), "unknown"),
        parent=parent,
        vlan_id=vlan_id,
        members=members,
        ports=tuple(_listdir(os.path.join(path, "brif"))) if kind == "bridge" else (),
        master=os.path.basename(os.readlink(master)) if os.path.islink(master) else None,
    )


def read_links(root="/"):
    """{name: Link} for every device under ``root``'s sys/class/net."""
    vlans = vlan_table(root)
    base = os.path.join(root, "sys/class/net")
    # With the bonding module loaded, sys/class/net also holds the file
    # bonding_masters: only directories are devices.
    return {name: read_link(root, name, vlans) for name in _listdir(base)
            if os.path.isdir(os.path.join(base, name))}
