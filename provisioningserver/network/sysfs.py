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


def vlan_config(root="/"):
    """The text of /proc/net/vlan/config, or None where 8021q has not made it."""
    return _read(os.path.join(root, "proc/net/vlan/config"))


def vlan_table(root="/"):
    """{vlan device: (vlan id, parent)} from /proc/net/vlan/config."""
    table = {}
    for line in (vlan_config(root) or "").splitlines():
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


def _kind(link_type, facts, name, vlans):
    devtype = facts["devtype"]
    if link_type == "loopback":
        return "loopback"
    if devtype == "vlan" or name in vlans:
        return "vlan"
    if devtype == "bond" or facts["slaves"] is not None:
        return "bond"
    if devtype == "bridge" or facts["brif"] is not None:
        return "bridge"
    if link_type in _TUNNEL_TYPES or devtype in _TUNNEL_DEVTYPES:
        return "tunnel"
    if facts["device"]:
        return "physical"
    return "other"


def read_facts(root, name):
    """Everything this module reads about one device, as the kernel wrote it
    (text and lists, no interpretation): the one reading both `read_link` and
    the fixture recorder (`provisioningserver.network.record`) use.

    ``slaves`` is None unless the device has a ``bonding/`` directory (a
    bond), ``brif`` None unless it has ``bridge/`` or ``brif/`` (a bridge)."""
    path = os.path.join(root, "sys/class/net", name)
    master = os.path.join(path, "master")
    bridge = any(os.path.isdir(os.path.join(path, d)) for d in ("bridge", "brif"))
    return {
        "type": _int(_read(os.path.join(path, "type"))),
        "devtype": _uevent(os.path.join(path, "uevent")).get("DEVTYPE"),
        "device": os.path.exists(os.path.join(path, "device")),
        "address": _read(os.path.join(path, "address")),
        "mtu": _int(_read(os.path.join(path, "mtu"))),
        "flags": _read(os.path.join(path, "flags")),
        "operstate": _read(os.path.join(path, "operstate")),
        "master": os.path.basename(os.readlink(master)) if os.path.islink(master) else None,
        "lower": [e[len("lower_"):] for e in _listdir(path) if e.startswith("lower_")],
        "slaves": ((_read(os.path.join(path, "bonding/slaves"), "") or "").split()
                   if os.path.isdir(os.path.join(path, "bonding")) else None),
        "brif": _listdir(os.path.join(path, "brif")) if bridge else None,
    }


def link_from_facts(name, facts, vlans):
    """The `Link` that `read_facts`' reading of ``name`` describes (no addresses)."""
    type_number = facts["type"]
    link_type = _LINK_TYPES.get(type_number, f"arphrd-{type_number}")
    kind = _kind(link_type, facts, name, vlans)
    parent, vlan_id = None, None
    if kind == "vlan":
        vlan_id, parent = vlans.get(name, (None, None))
        if parent is None:
            parent = facts["lower"][0] if facts["lower"] else None
    return Link(
        name=name,
        kind=kind,
        link_type=link_type,
        mac=facts["address"] or None,
        mtu=facts["mtu"],
        admin_up=bool((_int(facts["flags"]) or 0) & _IFF_UP),
        operstate=facts["operstate"] or "unknown",
        parent=parent,
        vlan_id=vlan_id,
        members=tuple(facts["slaves"] or ()) if kind == "bond" else (),
        ports=tuple(facts["brif"] or ()) if kind == "bridge" else (),
        master=facts["master"],
    )


def read_link(root, name, vlans):
    """One device's `Link`, without addresses (netifaces supplies those)."""
    return link_from_facts(name, read_facts(root, name), vlans)


def device_names(root="/"):
    """The devices under ``root``'s sys/class/net, sorted. With the bonding
    module loaded that directory also holds the file bonding_masters: only
    directories are devices."""
    base = os.path.join(root, "sys/class/net")
    return [name for name in _listdir(base) if os.path.isdir(os.path.join(base, name))]


def read_links(root="/"):
    """{name: Link} for every device under ``root``'s sys/class/net."""
    vlans = vlan_table(root)
    return {name: read_link(root, name, vlans) for name in device_names(root)}
