"""Option overrides: DHCP options and lease parameters as checked values.

A subnet or a host may carry ``options``, a mapping from a dhcpd option or
parameter name to a value, instead of a raw snippet:

    options:
      domain-name-servers: [198.18.0.53]
      host-name: node-7
      default-lease-time: 3600

Only the names in `CATALOGUE` are accepted, each with a type that says what
its value must be (addresses of the document's family, a DNS name, a
string, a whole number in a range), so a typo or a wrong value is refused
with the field's path before dhcpd ever sees it, and no value can carry
dhcpd syntax: strings are checked as every document string is and quoted
when rendered.

Scope: a host's overrides win over its subnet's (dhcpd evaluates the host
scope last). A subnet may not override what a dedicated subnet field says
(``routers`` is ``router_ip``) nor what rackd's boot branches set
(``filename``, ``next-server``: the subnet's ``boot_files`` and
``next_server`` say those): two sources for one value would make the
rendered order decide. A host may set both: that is how one machine gets
another boot file or name server.

Parsing and rendering live here; the document reader calls `parse_options`,
the renderer `render_lines`, the writer (`docwrite`) `to_mapping`. The model
keeps `model.OptionSetting` values.
"""

import ipaddress

import attrs

from provisioningserver.dhcp import model
from provisioningserver.dhcp import syntax
from provisioningserver.dhcp.docvalues import key_path

_UINT32 = 2 ** 32 - 1
_INT32 = 2 ** 31 - 1
_TEXT_MAX = 255  # a DHCP option carries at most 255 octets


@attrs.frozen
class OptionType:
    """What a value must be, and how dhcpd writes it."""

    name: str  # for messages: "a list of addresses", ...
    kind: str  # addresses, address, text, dns_name, dns_names, number
    low: int = 0
    high: int = _UINT32


ADDRESSES = OptionType("a list of IP addresses", "addresses")
ADDRESS = OptionType("an IP address", "address")
TEXT = OptionType("a string", "text")
DNS_NAME = OptionType("a DNS name", "dns_name")
DNS_NAMES = OptionType("a list of DNS names", "dns_names")
SECONDS = OptionType("a number of seconds", "number", 0, _UINT32)
MTU = OptionType("a whole number", "number", 68, 65535)
OFFSET = OptionType("a whole number of seconds", "number", -_INT32 - 1, _INT32)
UINT8 = OptionType("a whole number", "number", 0, 255)


@attrs.frozen
class OptionSpec:
    type: OptionType
    # "option": rendered "option NAME VALUE;"; "parameter": "NAME VALUE;".
    form: str = "option"
    # The subnet field that already says this (then a subnet may not override it).
    subnet_field: "str | None" = None
    hosts_only: bool = False


CATALOGUE = {
    4: {
        "routers": OptionSpec(ADDRESSES, subnet_field="router_ip"),
        "domain-name-servers": OptionSpec(ADDRESSES, subnet_field="dns_servers"),
        "ntp-servers": OptionSpec(ADDRESSES, subnet_field="ntp_servers"),
        "domain-name": OptionSpec(DNS_NAME, subnet_field="domain_name"),
        "domain-search": OptionSpec(DNS_NAMES, subnet_field="search_list"),
        "interface-mtu": OptionSpec(MTU, subnet_field="mtu (of the shared network)"),
        "time-servers": OptionSpec(ADDRESSES),
        "log-servers": OptionSpec(ADDRESSES),
        "netbios-name-servers": OptionSpec(ADDRESSES),
        "host-name": OptionSpec(DNS_NAME),
        "time-offset": OptionSpec(OFFSET),
        "default-ip-ttl": OptionSpec(UINT8),
        "root-path": OptionSpec(TEXT),
        "tftp-server-name": OptionSpec(TEXT),
        "bootfile-name": OptionSpec(TEXT, subnet_field="boot_files", hosts_only=True),
        "filename": OptionSpec(TEXT, form="parameter", subnet_field="boot_files",
                               hosts_only=True),
        "next-server": OptionSpec(ADDRESS, form="parameter", subnet_field="next_server",
                                  hosts_only=True),
        "default-lease-time": OptionSpec(SECONDS, form="parameter"),
        "max-lease-time": OptionSpec(SECONDS, form="parameter"),
        "min-lease-time": OptionSpec(SECONDS, form="parameter"),
    },
    6: {
        "dhcp6.name-servers": OptionSpec(ADDRESSES, subnet_field="dns_servers"),
        "dhcp6.domain-search": OptionSpec(DNS_NAMES, subnet_field="search_list"),
        "dhcp6.sntp-servers": OptionSpec(ADDRESSES, subnet_field="ntp_servers"),
        "dhcp6.info-refresh-time": OptionSpec(SECONDS),
        "dhcp6.preference": OptionSpec(UINT8),
        "dhcp6.bootfile-url": OptionSpec(TEXT, subnet_field="boot_files and next_server",
                                         hosts_only=True),
        "default-lease-time": OptionSpec(SECONDS, form="parameter"),
        "max-lease-time": OptionSpec(SECONDS, form="parameter"),
        "preferred-lifetime": OptionSpec(SECONDS, form="parameter"),
    },
}


def _typename(value):
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__) \
        if value is not None else "null"


def parse_options(value, path, ip_version, fail, *, scope):
    """The settings of an ``options`` mapping at ``path``.

    ``scope`` is "subnet" or "host"; ``fail(path, message)`` records a problem
    (and returns None). A bad entry is left out; the others are kept.
    """
    if value is None:
        return ()
    if not isinstance(value, dict):
        fail(path, f"expected a mapping of option names to values, got {_typename(value)}")
        return ()
    known = CATALOGUE[ip_version]
    settings = []
    for name, given in value.items():
        where = key_path(path, name, dotted=True)
        spec = known.get(name)
        if spec is None:
            fail(where, f"unknown option for IPv{ip_version}; known: " + ", ".join(sorted(known)))
            continue
        if scope == "subnet" and spec.subnet_field:
            fail(where, f"set the subnet's {spec.subnet_field} instead")
            continue
        if scope == "subnet" and spec.hosts_only:
            fail(where, "only a host may override it (rackd's boot settings set it per subnet)")
            continue
        checked = _check(spec.type, given, where, ip_version, fail)
        if checked is not None:
            settings.append(model.OptionSetting(name=name, value=checked))
    return tuple(settings)


def _check(kind, value, path, ip_version, fail):
    if kind.kind == "addresses":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            return fail(path, f"expected {kind.name}, got {_typename(value)}")
        checked = [_address(item, _item_path(path, i, value), ip_version, fail)
                   for i, item in enumerate(items)]
        return tuple(checked) if None not in checked else None
    if kind.kind == "address":
        return _address(value, path, ip_version, fail)
    if kind.kind == "number":
        if isinstance(value, bool) or not isinstance(value, int) \
                or not kind.low <= value <= kind.high:
            return fail(path, f"expected {kind.name} from {kind.low} to {kind.high}, "
                              f"got {value!r}")
        return value
    if kind.kind == "dns_names":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            return fail(path, f"expected {kind.name}, got {_typename(value)}")
        checked = [_text(item, _item_path(path, i, value), fail, dns=True)
                   for i, item in enumerate(items)]
        if None in checked:
            return None
        if ip_version == 6 and syntax.domain_list_reason(checked):
            return fail(path, syntax.domain_list_reason(checked))
        return tuple(checked)
    return _text(value, path, fail, dns=kind.kind == "dns_name")


def _item_path(path, index, value):
    """The path of item ``index`` of a list option given as ``value``: a single
    string stands for a list of one and is named by the option's own path (the
    fuzzer found ``time-servers[0]`` named for a value that is no list)."""
    return path if isinstance(value, str) else f"{path}[{index}]"


def _address(value, path, ip_version, fail):
    if not isinstance(value, str):
        return fail(path, f"expected an IP address, got {_typename(value)}")
    try:
        address = ipaddress.ip_address(value.strip()) if "%" not in value else None
    except ValueError:
        address = None
    if address is None:
        return fail(path, f"{value!r} is not an IP address")
    if address.version != ip_version:
        return fail(path, f"{value} is an IPv{address.version} address "
                          f"in an IPv{ip_version} document")
    return address


def _text(value, path, fail, *, dns):
    if not isinstance(value, str):
        return fail(path, f"expected a string, got {_typename(value)}")
    if not value:
        return fail(path, "must not be empty")
    reason = syntax.unsafe_reason(value)
    if reason:
        return fail(path, f"{value!r} {reason}")
    if len(value.encode("utf-8")) > _TEXT_MAX:
        return fail(path, f"is {len(value.encode('utf-8'))} bytes; a DHCP option holds "
                          f"{_TEXT_MAX} at most")
    if dns and not syntax.is_dns_name(value):
        return fail(path, f"{value!r} is not a valid DNS name")
    return value


def render_lines(settings, ip_version):
    """dhcpd statements (without the ';') for ``settings``, in their order."""
    known = CATALOGUE[ip_version]
    lines = []
    for setting in settings:
        spec = known[setting.name]
        text = _render_value(spec.type, setting.value)
        prefix = "option " if spec.form == "option" else ""
        lines.append(f"{prefix}{setting.name} {text}")
    return lines


def _render_value(kind, value):
    if kind.kind == "addresses":
        return ", ".join(str(a) for a in value)
    if kind.kind == "address":
        return str(value)
    if kind.kind == "number":
        return str(int(value))
    if kind.kind == "dns_names":
        return ", ".join(syntax.quote(name) for name in value)
    return syntax.quote(value)


def to_mapping(settings):
    """Settings back as the document's mapping."""
    def plain(value):
        if isinstance(value, tuple):
            return [str(v) if not isinstance(v, str) else v for v in value]
        if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            return str(value)
        return value

    return {s.name: plain(s.value) for s in settings}
