"""Turning a `DHCPConfig` into dhcpd.conf or dhcpd6.conf text.

Rendering is pure: everything that needs a lookup (this rack's address on
each subnet, the addresses of NTP host names, the OMAPI key, the boot server
settings) comes in as `RenderInputs`. This module turns the model and those
inputs into plain view data (strings, lists, dicts) and the jinja2 templates
in ``templates/dhcp`` only lay that data out. Installed, the templates travel
inside this package (setup.py copies them to ``provisioningserver/dhcp/templates``
at build time) and are read through ``importlib.resources``, so a wheel, the
Debian package and a source checkout need no path and no environment variable. Undefined names fail loudly
(`StrictUndefined`), nothing is HTML-escaped, and every string of the
document passes a filter of `provisioningserver.dhcp.syntax` (``quote``,
``comment``, ``bare``) on its way into dhcpd's syntax.

The document parser already refuses strings that could leave their place in
dhcpd's syntax; `render` checks them again (`_safe`) so that a model built
some other way cannot inject directives either. Snippets are the exception on
purpose: they are raw dhcpd text from a trusted source, checked by
``dhcpd -t`` with the whole config.

Host declarations are most of a large config (50,000 of them, 4.6 MB) and
the part that changes most often, so they are rendered one by one
(``host`` in ``parts.j2``) and joined in where the template puts
``host_declarations``: a caller that keeps a `Fragments` across renders has
an unchanged host's declaration from the cache (a warm render of 50,000
hosts took 25 ms, a cold one 0.5-0.6 s; the cache keeps them compressed,
see `fragments`), and `Rendered.structure`, the
digest of the text around the declarations, tells whether two configs
differ in anything but their hosts without a second render.

Choices written down here rather than in the templates:

- Options dhcpd 4.4 already defines are used by their names instead of being
  redefined: client architecture (code 93) is ``pxe-system-type``, the
  PXELINUX path prefix (code 210) is ``loader-pathprefix``, DHCPv6 client
  architecture (code 61) is ``dhcp6.client-arch-type``. The iPXE option space
  (encapsulated in code 175), ``dhcp6.user-class`` (15) and
  ``dhcp6.vendor-class`` (16) are not predefined and are declared.
- The path prefix handed to PXELINUX-style loaders is the rack's HTTP boot
  base (``http://RACK:PORT/boot/``), so lpxelinux fetches its configuration
  and kernels over HTTP rather than TFTP.
- Failover (DHCPv4): unless the document's peer says otherwise, both peers
  use the IANA failover port 647; max-response-delay 60 s,
  max-unacked-updates 10, load balance max seconds 3; the primary sets mclt
  3600 and split 255, so while both peers are up the primary answers nearly
  every client (255 of 256 hash buckets) and the secondary takes over when the
  primary is gone. ``auto-partner-down`` is rendered only when the document
  sets it: entering partner-down on a timer is unsafe without a second link.
- Failover (DHCPv6): dhcpd6 has no failover protocol, so a pool that names a
  peer is split in halves (`split_range`): the primary serves the lower half,
  the secondary the upper, and each rack renders only its own half.
"""

import functools
import hashlib
import ipaddress
import re

import attrs
import jinja2

from provisioningserver.dhcp import boot
from provisioningserver.dhcp import options
from provisioningserver.dhcp import syntax
from provisioningserver.dhcp.bootserver import boot_server, empty_declarations, empty_networks
# Fragments is imported for render's callers: they keep the cache it fills.
from provisioningserver.dhcp.fragments import Fragments, declarations  # noqa: F401
from provisioningserver.dhcp.hooks import log_statements
from provisioningserver.dhcp.rendered import Rendered
from provisioningserver.dhcp.templatefiles import template_loader, templates_dir

_TEMPLATES = {4: "dhcpd.conf.j2", 6: "dhcpd6.conf.j2"}

FAILOVER_PORT = 647
FAILOVER_SETTINGS = {
    "max_response_delay": 60,
    "max_unacked_updates": 10,
    "load_balance_max_seconds": 3,
}
FAILOVER_PRIMARY_SETTINGS = {"mclt": 3600, "split": 255}

# The DHCPv6 vendor-class option a UEFI HTTP boot client expects back:
# enterprise number 343, then the length-prefixed class "HTTPClient".
# The name of the OMAPI key stanza; rackd's OMAPI client signs with it.
OMAPI_KEY_NAME = "omapi_key"
HTTP_CLIENT_ENTERPRISE = 343
HTTP_CLIENT = "HTTPClient"


@attrs.frozen
class BootSettings:
    """The boot server of this rack: where loaders and the iPXE script live."""

    http_port: int = 5248
    http_boot_path: str = "/boot"
    ipxe_script_path: str = "/ipxe.cfg"


@attrs.frozen
class RenderInputs:
    """Everything rendering needs beyond the document, already resolved."""

    # ipaddress network -> this rack's address on it; absent: relayed.
    rack_addresses: dict = attrs.field(factory=dict)
    # Relayed network -> this rack's address where its relayed packets arrive (bootserver.py).
    relay_addresses: dict = attrs.field(factory=dict)
    omapi_port: "int | None" = 7911
    omapi_key: "str | None" = None
    boot: BootSettings = BootSettings()
    # NTP host name -> tuple of addresses.
    ntp_addresses: dict = attrs.field(factory=dict)
    lease_time: int = 600
    pxe_lease_time: int = 30
    # Networks of listening interfaces that the document does not declare: dhcpd
    # needs a (empty) declaration for each to listen there, e.g. for relayed subnets.
    empty_subnets: tuple = ()
    # Empty network -> the shared network to declare it in (bootserver.py); absent: top level.
    empty_in: dict = attrs.field(factory=dict)
    # rackd's zero-cost lease event source: dhcpd log() statements at global
    # scope (provisioningserver.dhcp.hooks); off only when lease_events is off.
    lease_hooks: bool = True
    # lease_source dhcp-notify: execute() hooks that run it instead (a
    # hooks.Notify); None for the log source.
    lease_notify: object = None


def _lease_hooks(version, inputs):
    """The global statements that report lease events, or None."""
    if not inputs.lease_hooks:
        return None
    if inputs.lease_notify is not None:
        return inputs.lease_notify.statements(version)
    return log_statements(version)


@functools.lru_cache(maxsize=4)
def _environment(directory):
    env = jinja2.Environment(
        loader=template_loader(directory),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["quote"] = syntax.quote
    env.filters["comment"] = syntax.comment
    env.filters["bare"] = syntax.bare
    return env


# Where the host declarations go in a render of the rest: no string of a
# document can hold it (they refuse control characters; a snippet is not
# placed here).
_HOSTS_MARK = "\x00rackd-host-declarations\x00"
_ADDRESS_KEYWORD = {4: "fixed-address", 6: "fixed-address6"}


def render(config, inputs, fragments=None):
    """The dhcpd config text for ``config`` (its ``ip_version`` picks the template).

    The template is rendered with a mark where the host declarations go;
    the text around the mark is the config's *structure*, and its digest is
    `Rendered.structure`. Each host's declaration is rendered on its own
    (``host`` in parts.j2) and joined in at the mark; with ``fragments``
    (a `fragments.Fragments` the caller keeps), a host rendered by an earlier call and
    unchanged since is not rendered again. The text is the same either way.
    """
    env = _environment(templates_dir())
    view = _View(config, inputs)
    data = view.build()
    template = env.get_template(_TEMPLATES[config.ip_version])
    outline = template.render(**data, host_declarations=_HOSTS_MARK)
    head, mark, tail = outline.partition(_HOSTS_MARK)
    structure = hashlib.sha256(f"{head}{mark}{tail}".encode()).hexdigest()
    if not mark:  # a template that declares no hosts
        return Rendered(text=outline, warnings=tuple(view.warnings), structure=structure)
    declare = env.get_template("parts.j2").module.host
    keyword = _ADDRESS_KEYWORD[config.ip_version]
    hosts, found = declarations(
        config, lambda i, host: str(declare(view.host(host, f"hosts[{i}]"), keyword)), fragments)
    return Rendered(text="".join([head, hosts, tail]), warnings=tuple(view.warnings),
                    structure=structure, head=head, tail=tail, declarations=found)


def redact(text):
    """``text`` with every OMAPI ``secret`` value masked, for display and logs."""
    # An unterminated value (dhcpd echoes a line cut at the error) is masked too.
    return re.sub(r'(\bsecret[ \t]+)("(?:[^"\\\n]|\\.)*"?|[^;\s]+)', r'\1"<redacted>"', text)


def _safe(text, where):
    """Refuse a string that could leave its place in dhcpd's syntax."""
    text = str(text)
    reason = syntax.unsafe_reason(text)
    if reason:
        raise syntax.UnsafeString(f"{where}: {text!r} {reason}")
    return text


def _arch_test(option, codes):
    return " or ".join(f"option {option} = {code >> 8:02x}:{code & 0xff:02x}" for code in codes)


def _snippets(items):
    return [{"name": s.name, "description": s.description,
             "lines": s.value.strip("\n").splitlines()}
            for s in items]


class _View:
    """Builds the plain data the templates lay out; collects warnings."""

    def __init__(self, config, inputs):
        self.config = config
        self.inputs = inputs
        self.version = config.ip_version
        self.warnings = []
        self.peer_modes = {p.name: p.mode for p in config.failover_peers}

    def build(self):
        config, inputs = self.config, self.inputs
        omapi = None
        if inputs.omapi_port is not None and inputs.omapi_key is not None:
            omapi = {"port": int(inputs.omapi_port), "key_name": OMAPI_KEY_NAME,
                     "secret": _safe(inputs.omapi_key, "omapi_key")}
        return {
            "lease_time": int(inputs.lease_time),
            "pxe_lease_time": int(inputs.pxe_lease_time),
            "omapi": omapi,
            "failover_peers": [self.peer(p, f"failover_peers[{i}]")
                               for i, p in enumerate(config.failover_peers)],
            "global_snippets": _snippets(config.global_dhcp_snippets),
            "shared_networks": [self.network(n, f"shared_networks[{i}]")
                                for i, n in enumerate(config.shared_networks)],
            "empty_subnets": self.empty(None),
            "empty_networks": empty_networks(inputs, self.version, config.shared_networks),
            "http_client": {"enterprise": HTTP_CLIENT_ENTERPRISE, "name": HTTP_CLIENT},
            "lease_hooks": _lease_hooks(self.version, inputs),
        }

    def peer(self, peer, path):
        if peer.mode not in ("primary", "secondary"):
            raise syntax.UnsafeString(f"{path}.mode: {peer.mode!r} is not primary or secondary")
        defaults = {"port": FAILOVER_PORT, "peer_port": FAILOVER_PORT, **FAILOVER_SETTINGS}
        if peer.mode == "primary":
            defaults.update(FAILOVER_PRIMARY_SETTINGS)
        # The document's value where it gives one; numbers only, so int() keeps them so.
        numbers = {field: int(default if getattr(peer, field) is None else getattr(peer, field))
                   for field, default in defaults.items()}
        auto = peer.auto_partner_down
        return {"name": _safe(peer.name, f"{path}.name"), "mode": peer.mode,
                "address": str(peer.address), "peer_address": str(peer.peer_address),
                "auto_partner_down": int(auto) if auto is not None else None, **numbers}

    def empty(self, network_name):
        return empty_declarations(self.inputs.empty_subnets, self.inputs.empty_in,
                                  self.version, network_name)

    def network(self, network, path):
        mtu = network.mtu if network.mtu not in (None, 1500) else None
        return {
            "name": _safe(network.name, f"{path}.name"),
            "subnets": [self.subnet(s, f"{path}.subnets[{i}]", mtu)
                        for i, s in enumerate(network.subnets)],
            "empty_subnets": self.empty(network.name),
        }

    def subnet(self, subnet, path, mtu):
        cidr = subnet.subnet_cidr
        domain = _safe(subnet.domain_name, f"{path}.domain_name") if subnet.domain_name else None
        search = [_safe(name, f"{path}.search_list[{i}]")
                  for i, name in enumerate(subnet.search_list)]
        if self.version == 6 and domain is not None and domain not in search:
            # DHCPv6 has no domain-name option: the domain leads the search list.
            search = [domain] + search
        server, relayed, note = boot_server(subnet, self.inputs.rack_addresses,
                                            self.inputs.relay_addresses)
        boot_files = {name: _safe(file, f"{path}.boot_files.{name}")
                      for name, file in subnet.boot_files}
        return {
            "cidr": str(cidr),
            "network": str(cidr.network_address),
            "netmask": str(cidr.netmask),
            "broadcast": str(cidr.broadcast_address),
            "router": str(subnet.router_ip) if subnet.router_ip is not None else None,
            "dns_servers": [str(a) for a in subnet.dns_servers],
            "ntp_servers": self.ntp(subnet, path),
            "domain_name": domain,
            "search_list": search,
            "mtu": mtu,
            "rack": str(server) if server is not None else None,
            "relayed": relayed,
            "boot_server": note,
            "boot": (self.boot(server, subnet.disabled_boot_architectures, boot_files)
                     if server is not None else None),
            "snippets": _snippets(subnet.dhcp_snippets),
            "ignore_unknown_clients": subnet.ignore_unknown_clients,
            "options": options.render_lines(subnet.options, self.version),
            "pools": [self.pool(p, f"{path}.pools[{i}]") for i, p in enumerate(subnet.pools)],
        }

    def ntp(self, subnet, path):
        found = []
        for i, server in enumerate(subnet.ntp_servers):
            if not isinstance(server, str):
                found.append(str(server))
                continue
            addresses = [a for a in self.inputs.ntp_addresses.get(server, ())
                         if _version(a) == self.version]
            if not addresses:
                self.warnings.append(
                    f"{path}.ntp_servers[{i}]: {server!r} has no IPv{self.version} address "
                    f"(not resolved); left out of subnet {subnet.subnet_cidr}")
            found.extend(str(a) for a in addresses)
        return list(dict.fromkeys(found))

    def pool(self, pool, path):
        peer = _safe(pool.failover_peer, f"{path}.failover_peer") if pool.failover_peer else None
        low, high = pool.ip_range_low, pool.ip_range_high
        role = None
        if self.version == 6 and peer is not None:
            role = self.peer_modes.get(pool.failover_peer)
            if role is not None:
                low, high = split_range(low, high, role)
        return {"low": str(low) if low is not None else None,
                "high": str(high) if high is not None else None,
                "failover_peer": peer, "role": role,
                "known_clients_only": pool.known_clients_only,
                "snippets": _snippets(pool.dhcp_snippets)}

    def host(self, host, path):
        return {"name": _safe(host.host, f"{path}.host"), "mac": _safe(host.mac, f"{path}.mac"),
                "ip": str(host.ip), "snippets": _snippets(host.dhcp_snippets),
                "options": options.render_lines(host.options, self.version)}

    def boot(self, rack, disabled, files=None):
        """The boot branches of one subnet: iPXE first, then by architecture code;
        ``files`` maps a method's name to the subnet's own path for it."""
        files = files or {}
        settings = self.inputs.boot
        host = f"[{rack}]" if self.version == 6 else str(rack)
        http_base = f"http://{host}:{int(settings.http_port)}"
        boot_base = http_base + "/" + settings.http_boot_path.strip("/")
        option = "pxe-system-type" if self.version == 4 else "dhcp6.client-arch-type"

        def method_view(method):
            path = files.get(method.name, method.path)
            if method.http:
                url = f"{boot_base}/{path}"
            elif self.version == 6:
                url = f"tftp://{host}/{path}"
            else:
                url = None
            return {
                "name": method.name,
                "description": method.description,
                "test": _arch_test(option, method.codes),
                "filename": url if url is not None else path,
                "http": method.http,
                "path_prefix": f"{boot_base}/" if method.path_prefix else None,
            }

        methods = boot.methods_for(disabled)
        default = [m for m in methods if m.name == boot.DEFAULT_METHOD]
        return {
            **boot.ipxe_scripts(self.config, http_base, settings.ipxe_script_path),
            "methods": [method_view(m) for m in methods if m.name != boot.DEFAULT_METHOD],
            "default": method_view(default[0]) if default else None,
            "disabled": list(disabled),
        }


def split_range(low, high, mode):
    """This rack's half of ``low``..``high`` when a DHCPv6 pool names a peer.

    The primary takes the lower half (the middle address when the size is
    odd), the secondary the rest; a secondary of a one-address pool gets
    nothing: (None, None).
    """
    middle = low + (int(high) - int(low)) // 2
    if mode == "primary":
        return low, middle
    if middle == high:
        return None, None
    return middle + 1, high


def _version(address):
    try:
        return ipaddress.ip_address(address).version
    except ValueError:
        return None
