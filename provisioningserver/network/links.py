"""A snapshot of this node's links, as plain values.

`discover` (in `provisioningserver.network.discovery`) reads one from the
machine; the selection rules (`provisioningserver.network.selection`) only
ever look at a `Snapshot`, so tests hand them recorded or hand-built ones.

A link's ``kind`` is one of `KINDS`. Devices that cannot carry DHCP
(loopback, IP tunnels, anything without an Ethernet-like link layer) stay in
the snapshot with ``carries_dhcp`` false and a ``why_not`` that says why, so
that ``rackctl interfaces`` can show them and selection can name them.
"""

import ipaddress

import attrs

KINDS = ("physical", "vlan", "bond", "bridge", "loopback", "tunnel", "other")

# operstate values (Documentation/networking/operstates.rst) under which a
# device passes no traffic, even when it is administratively up.
_NOT_RUNNING = ("down", "lowerlayerdown", "notpresent", "dormant")

# ARPHRD_* link types that frame DHCP packets (Ethernet, InfiniBand).
_DHCP_LINK_TYPES = ("ether", "infiniband")

_tuple = attrs.field(default=(), converter=tuple)


def _interfaces(values):
    return tuple(ipaddress.ip_interface(v) for v in values)


@attrs.frozen
class Link:
    """One network device and its addresses."""

    name: str
    kind: str = attrs.field(default="other", validator=attrs.validators.in_(KINDS))
    link_type: str = "ether"  # from ARPHRD: ether, loopback, infiniband, tunnel, none, ...
    mac: "str | None" = None
    mtu: "int | None" = None
    admin_up: bool = True
    operstate: str = "up"
    parent: "str | None" = None  # a VLAN's lower device
    vlan_id: "int | None" = None
    members: tuple = _tuple  # a bond's slaves
    ports: tuple = _tuple  # a bridge's ports
    master: "str | None" = None  # the bond or bridge this device is enslaved to
    addresses: tuple = attrs.field(default=(), converter=_interfaces)

    @property
    def running(self):
        """Administratively up and passing traffic (``unknown`` counts: loopback
        and many virtual devices never report more)."""
        return self.admin_up and self.operstate not in _NOT_RUNNING

    @property
    def state(self):
        if not self.admin_up:
            return "down (administratively)"
        return "up" if self.running else f"down ({self.operstate})"

    @property
    def carries_dhcp(self):
        return self.why_not is None

    @property
    def why_not(self):
        """Why dhcpd cannot listen on this device, or None when it can."""
        if self.kind == "loopback":
            return "a loopback device"
        if self.kind == "tunnel" and self.link_type not in _DHCP_LINK_TYPES:
            return f"an IP tunnel (link type {self.link_type})"
        if self.link_type not in _DHCP_LINK_TYPES:
            return f"link type {self.link_type} does not carry DHCP"
        return None

    def addresses_of(self, version):
        """This link's addresses of one IP family; IPv6 link-local ones left out,
        since no subnet of a document is ever served through them."""
        return tuple(a for a in self.addresses if a.version == version
                     and not (version == 6 and a.ip.is_link_local))


@attrs.frozen
class Snapshot:
    """Every link of the node at one moment, in name order."""

    links: tuple = attrs.field(default=(), converter=lambda v: tuple(sorted(v, key=_name)))

    @classmethod
    def from_addresses(cls, addresses):
        """From ``{name: [ip_interface or text]}`` alone: every link up and
        Ethernet-like, except ``lo`` (or any link with only loopback addresses),
        which is loopback. For tests and callers that know nothing more."""
        links = []
        for name, found in addresses.items():
            found = _interfaces(found)
            loopback = name == "lo" or (found and all(a.ip.is_loopback for a in found))
            links.append(Link(name=name, kind="loopback" if loopback else "other",
                              link_type="loopback" if loopback else "ether",
                              operstate="unknown" if loopback else "up", addresses=found))
        return cls(links)

    @classmethod
    def from_dict(cls, data):
        """The inverse of `to_dict`."""
        return cls(Link(**item) for item in data["links"])

    def to_dict(self):
        """JSON-ready: addresses as ``ADDRESS/PREFIX`` text."""
        def value(_, field, v):
            if field is not None and field.name == "addresses":
                return [str(a) for a in v]
            return list(v) if isinstance(v, tuple) else v
        return {"links": [attrs.asdict(link, value_serializer=value) for link in self.links]}

    @property
    def names(self):
        return tuple(link.name for link in self.links)

    def __contains__(self, name):
        return any(link.name == name for link in self.links)

    def __getitem__(self, name):
        for link in self.links:
            if link.name == name:
                return link
        raise KeyError(name)

    def top(self, name):
        """The device that serves for ``name``: itself, or the bond or bridge
        it is enslaved to, followed upwards (a port of a bond under a bridge
        gives the bridge). Stops at a master missing from the snapshot."""
        seen = [name]
        while name in self and self[name].master and self[name].master not in seen:
            name = self[name].master
            seen.append(name)
        return name

    def addresses(self, version=None):
        """Every address of every link (of one family when given)."""
        return tuple(a for link in self.links for a in link.addresses
                     if version is None or a.version == version)


def _name(link):
    return link.name
