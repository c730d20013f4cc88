"""Reading a DHCP config document: structure, types and formats.

`parse_document` walks a mapping (from YAML, JSON or an RPC argument), checks
each field where it stands and builds the model of
`provisioningserver.dhcp.model`. Every problem is recorded with its path and
the walk goes on, so one pass reports everything wrong with the document;
`provisioningserver.dhcp.checks` then applies the rules that relate fields to
each other, to whatever the walk could build, even when the walk found
problems: `DocumentError` carries the structural problems first, in document
order, then the relational ones.

The walk drops a list item it cannot build (a pool without a readable
``ip_range_low``, say), so the model's indexes can differ from the
document's; it records where each kept item stood (`checks.Outline`) so that
the relational rules still name the document's paths.

The checks of single fields (shapes, strings, addresses, names, numbers)
are `provisioningserver.dhcp.docvalues.FieldReader`'s; `DocumentReader` here adds
the document's parts and what each is built from. Writing the model back is `provisioningserver.dhcp.docwrite`'s.
Turning text into a value, and refusing a value too deep or not Unicode
before any reader walks it, is `provisioningserver.dhcp.doctext`'s.
"""

import base64
import binascii
import ipaddress
import sys

from provisioningserver.dhcp import boot
from provisioningserver.dhcp import checks
from provisioningserver.dhcp import model
from provisioningserver.dhcp import options
from provisioningserver.dhcp import syntax
from provisioningserver.dhcp.docfields import required_fields
# load_document is doctext's; imported here too, where callers have found it.
from provisioningserver.dhcp.doctext import decode, load_document, raise_problems  # noqa: F401
from provisioningserver.dhcp.docvalues import FieldReader, join_path, key_path, parse_ip, typename
from provisioningserver.dhcp.errors import DocumentError, Problem

_SECONDS = 2 ** 31 - 1
# The optional numbers of a failover peer, each with its legal range.
_PEER_NUMBERS = {
    "port": (1, 65535),
    "peer_port": (1, 65535),
    "max_response_delay": (1, _SECONDS),
    "max_unacked_updates": (1, 65535),
    "load_balance_max_seconds": (0, _SECONDS),
    "mclt": (1, _SECONDS),  # dhcpd: "primary failover server must have mclt" for 0
    "split": (0, 256),
    "auto_partner_down": (1, _SECONDS),
}


def parse_document(document, ip_version):
    """Build a `DHCPConfig` from a mapping; raises `DocumentError` listing every problem.

    A value nested too deeply or holding lone surrogates is refused first
    (`doctext.value_problems`), before any reader walks it."""
    raise_problems(document)
    reader = DocumentReader(ip_version)
    config = reader.config(document)
    problems = list(reader.problems)
    if config is not None:
        problems.extend(checks.check_config(config, reader.outline()))
    if problems:
        raise DocumentError(problems)
    return config


class DocumentReader(FieldReader):
    """One pass over a document; collects problems instead of stopping."""

    def __init__(self, ip_version):
        super().__init__(ip_version)
        # Failover peer names as declared, None once one could not be read.
        self.peer_names = set()
        # Whether a pool's failover_peer could not be read (it may name a peer).
        self.peer_use_lost = False

    def outline(self):
        peers = frozenset(self.peer_names) if self.peer_names is not None else None
        if "failover_peers" in self.incomplete and "failover_peers" not in self.kept:
            peers = None  # not even a list
        return checks.Outline(self.kept, self.incomplete, peers,
                              peer_uses_known=not self.peer_use_lost)

    # The document's parts.

    def config(self, doc):
        doc = self.mapping(doc, "", required_fields(model.DHCPConfig))
        if doc is None:
            return None
        key = self.omapi_key(doc.get("omapi_key"), "omapi_key")
        return model.DHCPConfig(
            ip_version=self.ip_version,
            omapi_key=key,
            failover_peers=self.items(doc.get("failover_peers"), "failover_peers",
                                      self.failover_peer),
            shared_networks=self.items(doc.get("shared_networks"), "shared_networks",
                                       self.shared_network),
            hosts=self.items(doc.get("hosts"), "hosts", self.host),
            interfaces=self.items(doc.get("interfaces"), "interfaces", self.interface),
            global_dhcp_snippets=self.items(doc.get("global_dhcp_snippets"),
                                            "global_dhcp_snippets", self.snippet),
            **self.ipxe_scripts(doc),
        )

    def ipxe_scripts(self, doc):
        """The two iPXE script fields, read (None where absent or bad)."""
        return {name: self.ipxe_script(doc.get(name), name) for name in boot.IPXE_SCRIPT_FIELDS}

    def ipxe_script(self, value, path):
        """A path on the rack's HTTP server ("/...") or an http(s) URL, that a
        dhcpd quoted string can hold, with iPXE setting references allowed."""
        if value is None:
            return None
        if not isinstance(value, str):
            return self.fail(path, f"expected a string, got {typename(value)}")
        reason = syntax.ipxe_url_reason(value)
        if reason:
            return self.fail(path, f"{value!r} {reason}")
        if not value.startswith(("/", "http://", "https://")):
            return self.fail(path, f"{value!r} is neither a path on the rack's HTTP server "
                                   "(starting with '/') nor an http:// or https:// URL")
        return value

    def omapi_key(self, value, path):
        # The key is a secret: no message about it repeats its value.
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            return self.fail(path, f"expected a string, got {typename(value)}")
        key = value
        try:
            raw = base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            return self.fail(path, "is not base64 (expected an HMAC-MD5 secret)")
        if len(raw) < 16:
            return self.fail(path, f"is {len(raw)} bytes long; an OMAPI key needs at least 16")
        if len(key) > syntax.STRING_MAX:
            return self.fail(path, f"is {len(key)} characters of base64; dhcpd reads a "
                                   f"quoted string of {syntax.STRING_MAX} at most "
                                   f"({syntax.STRING_MAX // 4 * 3} bytes of key)")
        return key

    def failover_peer(self, value, path):
        value = self.mapping(value, path, required_fields(model.FailoverPeer))
        if value is None:
            self.peer_names = None
            return None
        name = self.object_name(value.get("name"), join_path(path, "name"))
        if name is None:
            self.peer_names = None
        elif self.peer_names is not None:
            self.peer_names.add(name)
        mode = value.get("mode")
        if mode is not None and mode not in ("primary", "secondary"):
            self.fail(join_path(path, "mode"), f"expected 'primary' or 'secondary', got {mode!r}")
            mode = None
        address = self.address(value.get("address"), join_path(path, "address"))
        peer = self.address(value.get("peer_address"), join_path(path, "peer_address"))
        numbers = {field: self.whole_number(value.get(field), join_path(path, field), low, high)
                   for field, (low, high) in _PEER_NUMBERS.items()}
        if None in (name, mode, address, peer):
            return None
        return model.FailoverPeer(name=name, mode=mode, address=address, peer_address=peer,
                                  **numbers)

    def interface(self, value, path):
        if isinstance(value, dict):  # MAAS sends {"name": ...}
            value = self.mapping(value, path, {"name": True})
            if value is None:
                return None
            path, value = join_path(path, "name"), value.get("name")
        name = self.text(value, path)
        if name is not None and not syntax.is_interface_name(name):
            return self.fail(path, f"{name!r} is not a valid interface name")
        return name

    def shared_network(self, value, path):
        value = self.mapping(value, path, required_fields(model.SharedNetwork))
        if value is None:
            return None
        name = self.object_name(value.get("name"), join_path(path, "name"))
        mtu = value.get("mtu")
        if mtu is not None and (isinstance(mtu, bool) or not isinstance(mtu, int)
                                or not 68 <= mtu <= 65535):
            self.fail(join_path(path, "mtu"), f"expected a whole number from 68 to 65535, got {mtu!r}")
            mtu = None
        interface = None
        if value.get("interface") is not None:
            interface = self.interface(value["interface"], join_path(path, "interface"))
        subnets = self.items(value.get("subnets"), join_path(path, "subnets"), self.subnet)
        if name is None:
            return None
        return model.SharedNetwork(name=name, subnets=subnets, mtu=mtu, interface=interface)

    def subnet(self, value, path):
        value = self.mapping(value, path, required_fields(model.Subnet),
                             aliases=("subnet", "subnet_mask", "broadcast_ip"))
        if value is None:
            return None
        cidr = self.network(value.get("subnet_cidr"), join_path(path, "subnet_cidr"))
        if cidr is not None:
            self.redundant_subnet_fields(value, path, cidr)
        router = self.address(value.get("router_ip"), join_path(path, "router_ip"), required=False)
        dns = self.items(value.get("dns_servers"), join_path(path, "dns_servers"), self.address)
        ntp = self.items(value.get("ntp_servers"), join_path(path, "ntp_servers"), self.ntp_server)
        domain = self.dns_name(value.get("domain_name"), join_path(path, "domain_name"))
        search = self.items(value.get("search_list"), join_path(path, "search_list"), self.dns_name)
        if self.ip_version == 6:  # rendered as one list, the domain first (render.py)
            listed = ((domain,) if domain and domain not in search else ()) + search
            if syntax.domain_list_reason(listed):
                self.fail(join_path(path, "search_list"), "with domain_name, "
                                                          + syntax.domain_list_reason(listed))
        pools = self.items(value.get("pools"), join_path(path, "pools"), self.pool)
        snippets = self.items(value.get("dhcp_snippets"), join_path(path, "dhcp_snippets"),
                              self.snippet)
        disabled = self.items(value.get("disabled_boot_architectures"),
                              join_path(path, "disabled_boot_architectures"), self.boot_arch)
        ignore_unknown = self.flag(value.get("ignore_unknown_clients"),
                                   join_path(path, "ignore_unknown_clients"))
        overrides = options.parse_options(value.get("options"), join_path(path, "options"),
                                          self.ip_version, self.fail, scope="subnet")
        next_server = self.next_server(value.get("next_server"), join_path(path, "next_server"),
                                       cidr)
        boot_files = self.boot_files(value.get("boot_files"), join_path(path, "boot_files"),
                                     disabled)
        if cidr is None:
            return None
        return model.Subnet(
            subnet_cidr=cidr, router_ip=router, dns_servers=dns, ntp_servers=ntp,
            domain_name=domain, search_list=search, pools=pools, dhcp_snippets=snippets,
            disabled_boot_architectures=disabled, ignore_unknown_clients=ignore_unknown,
            options=overrides, next_server=next_server, boot_files=boot_files)

    def next_server(self, value, path, cidr):
        """A boot server clients can reach: an address of the document's family,
        not a wildcard, multicast, loopback or link-local one, and not the
        network or broadcast address of its own subnet."""
        address = self.address(value, path, required=False)
        if address is None:
            return None
        kind = next((what for what, flag in (
            ("an unspecified", address.is_unspecified), ("a multicast", address.is_multicast),
            ("a loopback", address.is_loopback), ("a link-local", address.is_link_local),
            ("a reserved", address.is_reserved)) if flag), None)
        if kind is not None:
            return self.fail(path, f"{address} is {kind} address; a boot server needs "
                                   "one its clients can reach")
        if (cidr is not None and address in cidr and cidr.version == 4 and cidr.prefixlen < 31
                and address in (cidr.network_address, cidr.broadcast_address)):
            which = "network" if address == cidr.network_address else "broadcast"
            return self.fail(path, f"{address} is the {which} address of {cidr}")
        return address

    def boot_files(self, value, path, disabled):
        """(method name, path) pairs: boot table methods, each with a safe path."""
        if value is None:
            return ()
        if not isinstance(value, dict):
            self.fail(path, f"expected a mapping of boot method names to paths, "
                            f"got {typename(value)}")
            return ()
        pairs = []
        for name, file in value.items():
            where = key_path(path, name)
            if name not in boot.METHOD_NAMES:
                self.fail(where, "unknown boot architecture; known: "
                                 + ", ".join(sorted(boot.METHOD_NAMES)))
            elif name in disabled:
                self.fail(where, "is in this subnet's disabled_boot_architectures")
            elif not isinstance(file, str):
                self.fail(where, f"expected a path, got {typename(file)}")
            elif syntax.boot_path_reason(file):
                self.fail(where, f"{file!r} {syntax.boot_path_reason(file)}")
            else:
                pairs.append((name, file))
        return tuple(pairs)

    def redundant_subnet_fields(self, value, path, cidr):
        """MAAS also sends ``subnet``, ``subnet_mask`` and ``broadcast_ip``: accept them
        when they say the same as ``subnet_cidr``.

        MAAS sends all three for IPv6 subnets too (the mask and the prefix's last
        address), and takes ``broadcast_ip`` from netaddr, which has no broadcast
        address for a prefix with one host bit or none (/31, /32, /127, /128):
        then the field comes as the string ``None``.
        """
        expected = {"subnet": str(cidr.network_address),
                    "subnet_mask": str(cidr.netmask),
                    "broadcast_ip": str(cidr.broadcast_address)}
        no_broadcast = cidr.max_prefixlen - cidr.prefixlen <= 1
        for name in ("subnet", "subnet_mask", "broadcast_ip"):
            given = value.get(name)
            if given is None or (name == "broadcast_ip" and no_broadcast
                                 and given in ("", "None")):
                continue
            same = isinstance(given, str) and parse_ip(given) == ipaddress.ip_address(expected[name])
            if not same:
                self.fail(join_path(path, name), f"{given!r} disagrees with subnet_cidr: "
                                             f"expected {expected[name]} (from subnet_cidr {cidr})")

    def ntp_server(self, value, path):
        if not isinstance(value, str):
            return self.fail(path, f"expected an address or host name, got {typename(value)}")
        address = parse_ip(value)
        if address is None:
            if syntax.unsafe_reason(value) or not syntax.is_dns_name(value):
                return self.fail(path, f"{value!r} is neither an IP address nor a valid host name")
            return value
        return self.same_family(address, value, path)

    def boot_arch(self, value, path):
        name = self.text(value, path)
        if name is not None and name not in boot.METHOD_NAMES:
            return self.fail(path, f"unknown boot architecture {name!r}; known: "
                                   + ", ".join(sorted(boot.METHOD_NAMES)))
        return name

    def pool(self, value, path):
        value = self.mapping(value, path, required_fields(model.Pool))
        if value is None:
            return None
        low = self.address(value.get("ip_range_low"), join_path(path, "ip_range_low"))
        high = self.address(value.get("ip_range_high"), join_path(path, "ip_range_high"))
        peer = None
        if value.get("failover_peer") not in (None, ""):
            peer = self.object_name(value["failover_peer"], join_path(path, "failover_peer"))
            self.peer_use_lost = self.peer_use_lost or peer is None
        snippets = self.items(value.get("dhcp_snippets"), join_path(path, "dhcp_snippets"),
                              self.snippet)
        known_only = self.flag(value.get("known_clients_only"),
                               join_path(path, "known_clients_only"))
        if low is None or high is None:
            return None
        return model.Pool(ip_range_low=low, ip_range_high=high, failover_peer=peer,
                          dhcp_snippets=snippets, known_clients_only=known_only)

    def host(self, value, path):
        value = self.mapping(value, path, required_fields(model.Host))
        if value is None:
            return None
        name = self.text(value.get("host"), join_path(path, "host"))
        if name is not None and not syntax.is_dns_label(name):
            name = self.fail(join_path(path, "host"),
                             f"{name!r} is not a valid DNS label (letters, digits and '-', "
                             "63 at most, not starting or ending with '-')")
        mac = self.mac(value.get("mac"), join_path(path, "mac")) if value.get("mac") is not None else None
        ip = self.address(value.get("ip"), join_path(path, "ip"))
        snippets = self.items(value.get("dhcp_snippets"), join_path(path, "dhcp_snippets"),
                              self.snippet)
        overrides = options.parse_options(value.get("options"), join_path(path, "options"),
                                          self.ip_version, self.fail, scope="host")
        if None in (name, mac, ip):
            return None
        return model.Host(host=name, mac=mac, ip=ip, dhcp_snippets=snippets, options=overrides)

    def snippet(self, value, path):
        value = self.mapping(value, path, required_fields(model.Snippet))
        if value is None:
            return None
        # The name and description become a comment line: they must stay on it.
        name = self.comment_text(value.get("name"), join_path(path, "name"), required=True)
        description = self.comment_text(value.get("description"), join_path(path, "description"),
                                        required=False)
        text = value.get("value")
        if text is not None and not isinstance(text, str):
            return self.fail(join_path(path, "value"), f"expected a string, got {typename(text)}")
        if text is not None and "\x00" in text:  # dhcpd skips it; the renderer marks with it
            return self.fail(join_path(path, "value"), "contains a NUL character")
        if name is None or text is None:
            return None
        # A snippet often comes once per host (the same text for hundreds of
        # them) and JSON gives each occurrence its own string: one copy each.
        return model.Snippet(name=sys.intern(name), value=sys.intern(text),
                             description=sys.intern(description or ""))


def document_from_file(path, ip_version):
    """Read and parse a document file (UTF-8 YAML or JSON)."""
    with open(path, "rb") as stream:
        text = decode(stream.read(), str(path))
    return parse_document(load_document(text, source=str(path)), ip_version)
