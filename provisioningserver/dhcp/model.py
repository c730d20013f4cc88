"""The DHCP config document as values.

One schema serves the region's ConfigureDHCPv4/v6 arguments, a standalone
YAML/JSON file and ``rackctl``; field names follow MAAS's region RPC. The
classes are frozen and typed: addresses are `ipaddress` objects, MACs are
lower-case colon-separated, lists are tuples. They hold no logic and do no
serialisation, and this module imports nothing of the document format:
`provisioningserver.dhcp.document.parse_document` builds and checks them,
`provisioningserver.dhcp.render` turns them into dhcpd's syntax. (The model
used to offer ``DHCPConfig.from_document``, which imported the reader back
and closed a circle model -> document -> options -> model; callers now ask
the reader.)
"""

import ipaddress

import attrs

_tuple = attrs.field(default=(), converter=tuple)


def _ip(value):
    return ipaddress.ip_address(value)


@attrs.frozen
class Snippet:
    """Raw dhcpd text from a trusted source, named for the comment above it."""

    name: str
    value: str
    description: str = ""


@attrs.frozen
class OptionSetting:
    """One checked option override (`provisioningserver.dhcp.options`)."""

    name: str
    value: object  # addresses as a tuple of ipaddress objects, strings, numbers


@attrs.frozen
class Pool:
    ip_range_low: "ipaddress._BaseAddress" = attrs.field(converter=_ip)
    ip_range_high: "ipaddress._BaseAddress" = attrs.field(converter=_ip)
    failover_peer: "str | None" = None
    dhcp_snippets: tuple = _tuple
    # Access policy: only clients with a host reservation may lease from this pool.
    known_clients_only: bool = False

    def __contains__(self, address):
        return self.ip_range_low <= address <= self.ip_range_high

    @property
    def size(self):
        return int(self.ip_range_high) - int(self.ip_range_low) + 1


@attrs.frozen
class Subnet:
    subnet_cidr: "ipaddress._BaseNetwork" = attrs.field(converter=ipaddress.ip_network)
    router_ip: "ipaddress._BaseAddress | None" = None
    dns_servers: tuple = _tuple
    # Addresses, or host names that the agent resolves before rendering.
    ntp_servers: tuple = _tuple
    domain_name: "str | None" = None
    search_list: tuple = _tuple
    pools: tuple = _tuple
    dhcp_snippets: tuple = _tuple
    disabled_boot_architectures: tuple = _tuple
    # Access policy: clients with no host reservation get nothing on this subnet.
    ignore_unknown_clients: bool = False
    options: tuple = _tuple  # OptionSetting overrides


@attrs.frozen
class SharedNetwork:
    name: str
    subnets: tuple = _tuple
    mtu: "int | None" = None
    interface: "str | None" = None


@attrs.frozen
class Host:
    """A reservation: ``mac`` always gets ``ip``."""

    host: str
    mac: str
    ip: "ipaddress._BaseAddress" = attrs.field(converter=_ip)
    dhcp_snippets: tuple = _tuple
    options: tuple = _tuple  # OptionSetting overrides, winning over the subnet's


@attrs.frozen
class FailoverPeer:
    name: str
    mode: str  # "primary" or "secondary"
    address: "ipaddress._BaseAddress" = attrs.field(converter=_ip)
    peer_address: "ipaddress._BaseAddress" = attrs.field(converter=_ip)
    # None: the rendering default (provisioningserver.dhcp.render.FAILOVER_*).
    port: "int | None" = None
    peer_port: "int | None" = None
    max_response_delay: "int | None" = None
    max_unacked_updates: "int | None" = None
    load_balance_max_seconds: "int | None" = None
    # Primary only.
    mclt: "int | None" = None
    split: "int | None" = None
    # Seconds in communications-interrupted before partner-down; None: never.
    auto_partner_down: "int | None" = None


@attrs.frozen
class DHCPConfig:
    """What one family's dhcpd should serve."""

    ip_version: int = attrs.field(validator=attrs.validators.in_((4, 6)))
    shared_networks: tuple = _tuple
    hosts: tuple = _tuple
    failover_peers: tuple = _tuple
    interfaces: tuple = _tuple
    global_dhcp_snippets: tuple = _tuple
    omapi_key: "str | None" = None

    @property
    def subnets(self):
        """Every subnet, in document order."""
        return tuple(s for net in self.shared_networks for s in net.subnets)

    @property
    def is_empty(self):
        """No shared networks: that family's dhcpd should not run."""
        return not self.shared_networks
