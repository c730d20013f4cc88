"""The DHCP config document as values.

One schema serves the region's ConfigureDHCPv4/v6 arguments, a standalone
YAML/JSON file and ``rackctl``; field names follow MAAS's region RPC. The
classes are frozen and typed: addresses are `ipaddress` objects, MACs are
lower-case colon-separated, lists are tuples. They hold no logic and do no
serialisation, and this module imports nothing of the document format:
`provisioningserver.dhcp.document.parse_document` builds and checks them,
`provisioningserver.dhcp.docwrite` writes them back, and
`provisioningserver.dhcp.render` turns them into dhcpd's syntax. (The model
used to offer ``DHCPConfig.from_document``, which imported the reader back
and closed a circle model -> document -> options -> model; callers now ask
the reader.)

The classes are also the document's field table, so that no second list of
fields can drift from them: each field that the document holds says so in
its metadata, ``{"doc": kind}``, where the kind names how the value is
written (`provisioningserver.dhcp.docfields` reads the table and lists the
kinds). Fields are declared in the document's order, which is the order the
writer gives its keys; a field without ``doc`` (``ip_version``) is not in the
document. A field with no default is one the document must give.
"""

import collections.abc
import ipaddress

import attrs


class HostRows(collections.abc.Sequence):
    """A sequence of `Host` that a config keeps as it is rather than as a
    tuple (`provisioningserver.dhcp.hosttable.HostTable`)."""

    __slots__ = ()


def _host_items(value):
    return value if isinstance(value, HostRows) else tuple(value)


_ADDRESSES = (ipaddress.IPv4Address, ipaddress.IPv6Address)
_NETWORKS = (ipaddress.IPv4Network, ipaddress.IPv6Network)


# The reader hands over parsed addresses and networks; the converters pass
# them through. (ipaddress's constructors do not: given an address they
# format it and parse the text again, 100,000 times for 50,000 hosts.)
def _ip(value):
    return value if type(value) in _ADDRESSES else ipaddress.ip_address(value)


def _network(value):
    return value if type(value) in _NETWORKS else ipaddress.ip_network(value)


def _optional_ip(value):
    return None if value is None else _ip(value)


def _doc(kind, **field):
    """A field that the document holds, written as ``kind``."""
    return attrs.field(metadata={"doc": kind}, **field)


def _value(default=attrs.NOTHING, **field):
    return _doc("value", default=default, **field)


def _text(default=attrs.NOTHING, **field):
    return _doc("text", default=default, **field)


def _items(kind="items"):
    """A list, empty by default: of nested values ("items") or of strings ("texts")."""
    return _doc(kind, default=(), converter=tuple)


def _number():
    """An optional number, left out of the document when not set."""
    return _doc("optional", default=None)


@attrs.frozen
class Snippet:
    """Raw dhcpd text from a trusted source, named for the comment above it."""

    name: str = _value()
    description: str = _value("")
    # Keyword-only: the document puts it after the optional description.
    value: str = _value(kw_only=True)


@attrs.frozen
class OptionSetting:
    """One checked option override (`provisioningserver.dhcp.options`)."""

    name: str
    value: object  # addresses as a tuple of ipaddress objects, strings, numbers


@attrs.frozen
class Pool:
    ip_range_low: "ipaddress._BaseAddress" = _text(converter=_ip)
    ip_range_high: "ipaddress._BaseAddress" = _text(converter=_ip)
    failover_peer: "str | None" = _value(None)
    dhcp_snippets: tuple = _items()
    # Access policy: only clients with a host reservation may lease from this pool.
    known_clients_only: bool = _value(False)

    def __contains__(self, address):
        return self.ip_range_low <= address <= self.ip_range_high

    @property
    def size(self):
        return int(self.ip_range_high) - int(self.ip_range_low) + 1


@attrs.frozen
class Subnet:
    subnet_cidr: "ipaddress._BaseNetwork" = _text(converter=_network)
    router_ip: "ipaddress._BaseAddress | None" = _text(None)
    dns_servers: tuple = _items("texts")
    # Addresses, or host names that the agent resolves before rendering.
    ntp_servers: tuple = _items("texts")
    domain_name: "str | None" = _value(None)
    search_list: tuple = _items("texts")
    pools: tuple = _items()
    dhcp_snippets: tuple = _items()
    disabled_boot_architectures: tuple = _items("texts")
    # Access policy: clients with no host reservation get nothing on this subnet.
    ignore_unknown_clients: bool = _value(False)
    options: tuple = _items("options")  # OptionSetting overrides
    # The boot server on this subnet (DHCPv4 next-server, and the host of
    # every boot URL); None: this rack's address on the subnet, or for a
    # relayed subnet on the interface its relayed packets arrive on.
    next_server: "ipaddress._BaseAddress | None" = _text(None, converter=_optional_ip)
    # (boot method name, path) pairs, in document order: the path each
    # method's clients get on this subnet instead of the boot table's.
    boot_files: tuple = _doc("pairs", default=(), converter=tuple)


@attrs.frozen
class SharedNetwork:
    name: str = _value()
    mtu: "int | None" = _value(None)
    interface: "str | None" = _value(None)
    subnets: tuple = _items()


@attrs.frozen
class Host:
    """A reservation: ``mac`` always gets ``ip``."""

    host: str = _value()
    mac: str = _value()
    ip: "ipaddress._BaseAddress" = _text(converter=_ip)
    dhcp_snippets: tuple = _items()
    options: tuple = _items("options")  # OptionSetting overrides, winning over the subnet's


@attrs.frozen
class FailoverPeer:
    name: str = _value()
    mode: str = _value()  # "primary" or "secondary"
    address: "ipaddress._BaseAddress" = _text(converter=_ip)
    peer_address: "ipaddress._BaseAddress" = _text(converter=_ip)
    # None: the rendering default (provisioningserver.dhcp.render.FAILOVER_*).
    port: "int | None" = _number()
    peer_port: "int | None" = _number()
    max_response_delay: "int | None" = _number()
    max_unacked_updates: "int | None" = _number()
    load_balance_max_seconds: "int | None" = _number()
    # Primary only.
    mclt: "int | None" = _number()
    split: "int | None" = _number()
    # Seconds in communications-interrupted before partner-down; None: never.
    auto_partner_down: "int | None" = _number()


@attrs.frozen
class DHCPConfig:
    """What one family's dhcpd should serve."""

    # Not in the document: the RPC command or the file's caller says which family.
    ip_version: int = attrs.field(validator=attrs.validators.in_((4, 6)))
    omapi_key: "str | None" = _value(None)
    failover_peers: tuple = _items()
    shared_networks: tuple = _items()
    # A tuple, or a `HostRows` (what rackd keeps between configures).
    hosts: tuple = _doc("items", default=(), converter=_host_items)
    interfaces: tuple = _items("texts")
    global_dhcp_snippets: tuple = _items()
    # iPXE's script for a machine with a host reservation, and for any other
    # (enlistment): a path on the rack's HTTP server or an http(s) URL, with
    # iPXE settings such as ${mac} that iPXE fills in. None: rackd.yaml's
    # boot.ipxe_script_path for that group.
    ipxe_machine_script: "str | None" = _doc("optional", default=None)
    ipxe_enlist_script: "str | None" = _doc("optional", default=None)

    @property
    def subnets(self):
        """Every subnet, in document order."""
        return tuple(s for net in self.shared_networks for s in net.subnets)

    @property
    def is_empty(self):
        """No shared networks: that family's dhcpd should not run."""
        return not self.shared_networks
