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
"""

import base64
import binascii
import ipaddress
import json
import re

import yaml

from provisioningserver.dhcp import boot
from provisioningserver.dhcp import checks
from provisioningserver.dhcp import model
from provisioningserver.dhcp import options
from provisioningserver.dhcp import syntax
from provisioningserver.dhcp.errors import DocumentError, Problem

_MAC = re.compile(r"^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$")
_MISSING = object()
_SECONDS = 2 ** 31 - 1
# The optional numbers of a failover peer, each with its legal range.
_PEER_NUMBERS = {
    "port": (1, 65535),
    "peer_port": (1, 65535),
    "max_response_delay": (1, _SECONDS),
    "max_unacked_updates": (1, 65535),
    "load_balance_max_seconds": (0, _SECONDS),
    "mclt": (0, _SECONDS),
    "split": (0, 256),
    "auto_partner_down": (1, _SECONDS),
}


def load_document(text, source="document"):
    """Parse YAML or JSON text (JSON is YAML) into a mapping."""
    if text.lstrip()[:1] == "{":
        # JSON is read as JSON first: PyYAML took 1.5 s for a 10,000-host
        # document that json reads in 3 ms. Anything json refuses is YAML's.
        try:
            data = json.loads(text)
        except ValueError:
            pass
        else:
            return data
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DocumentError([Problem("", f"{source} is not valid YAML or JSON{where}: "
                                         f"{getattr(error, 'problem', None) or error}")])
    if data is None:
        data = {}
    return data


def parse_document(document, ip_version):
    """Build a `DHCPConfig` from a mapping; raises `DocumentError` listing every problem."""
    reader = _Reader(ip_version)
    config = reader.config(document)
    problems = list(reader.problems)
    if config is not None:
        problems.extend(checks.check_config(config, reader.outline()))
    if problems:
        raise DocumentError(problems)
    return config


def _ip_address(text):
    """``text`` as an address, or None. Python accepts an IPv6 zone index
    (``fe80::1%eth0``, any characters after the '%'); dhcpd does not, and the
    zone would be rendered verbatim, so it is refused here."""
    if "%" in text:
        return None
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _join(path, name):
    return f"{path}.{name}" if path else name


def _typename(value):
    if value is None:
        return "null"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


class _Reader:
    """One pass over a document; collects problems instead of stopping."""

    def __init__(self, ip_version):
        self.ip_version = ip_version
        self.problems = []
        self._seen = set()
        self.kept = {}
        self.incomplete = set()
        # Failover peer names as declared, None once one could not be read.
        self.peer_names = set()

    def outline(self):
        peers = frozenset(self.peer_names) if self.peer_names is not None else None
        if "failover_peers" in self.incomplete and "failover_peers" not in self.kept:
            peers = None  # not even a list
        return checks.Outline(self.kept, self.incomplete, peers)

    def fail(self, path, message):
        # A missing required field is seen by the mapping and again by the
        # field's reader: say it once.
        problem = Problem(path, message)
        if problem not in self._seen:
            self._seen.add(problem)
            self.problems.append(problem)
        return None

    # Shapes.

    def mapping(self, value, path, fields, *, aliases=()):
        """Check ``value`` is a mapping with only ``fields`` (name -> required)."""
        if not isinstance(value, dict):
            return self.fail(path, f"expected a mapping, got {_typename(value)}")
        for key in value:
            if key not in fields and key not in aliases:
                self.fail(_join(path, str(key)), "unknown field")
        for name, required in fields.items():
            if required and value.get(name) is None:
                self.fail(_join(path, name), "required field is missing")
        return value

    def items(self, value, path, read_item):
        """A list of items; null stands for the empty list."""
        if value is None:
            return ()
        if not isinstance(value, list):
            self.incomplete.add(path)
            self.fail(path, f"expected a list, got {_typename(value)}")
            return ()
        read = [(i, read_item(item, f"{path}[{i}]")) for i, item in enumerate(value)]
        kept = [(i, item) for i, item in read if item is not None]
        self.kept[path] = tuple(i for i, _ in kept)
        if len(kept) != len(read):
            self.incomplete.add(path)
        return tuple(item for _, item in kept)

    # Scalars.

    def text(self, value, path, *, required=True, allow_empty=False):
        if value is None:
            return None if not required else self.fail(path, "required field is missing")
        if not isinstance(value, str):
            return self.fail(path, f"expected a string, got {_typename(value)}")
        if not value and not allow_empty:
            return self.fail(path, "must not be empty")
        reason = syntax.unsafe_reason(value)
        if reason:
            return self.fail(path, f"{value!r} {reason}")
        return value

    def address(self, value, path, *, required=True):
        if value is None or value == "":
            return self.fail(path, "required field is missing") if required else None
        if not isinstance(value, str):
            return self.fail(path, f"expected an IP address, got {_typename(value)}")
        if "%" in value:
            return self.fail(path, f"{value!r} has a zone index ('%'), which dhcpd does not accept")
        address = _ip_address(value)
        if address is None:
            return self.fail(path, f"{value!r} is not an IP address")
        return self.same_family(address, value, path)

    def same_family(self, address, value, path):
        if address.version != self.ip_version:
            return self.fail(path, f"{value} is an IPv{address.version} address "
                                   f"in an IPv{self.ip_version} document")
        if address.version == 6 and address.ipv4_mapped is not None:
            return self.fail(path, f"{value} is an IPv4-mapped address "
                                   "in an IPv6 document")
        return address

    def network(self, value, path):
        if value is None:
            return self.fail(path, "required field is missing")
        if not isinstance(value, str):
            return self.fail(path, f"expected a CIDR, got {_typename(value)}")
        if "%" in value:
            return self.fail(path, f"{value!r} has a zone index ('%'), which dhcpd does not accept")
        if "/" not in value:
            return self.fail(path, f"{value!r} has no prefix length (CIDR form is address/prefix)")
        try:
            network = ipaddress.ip_network(value.strip(), strict=True)
        except ValueError:
            try:
                loose = ipaddress.ip_network(value.strip(), strict=False)
            except ValueError:
                return self.fail(path, f"{value!r} is not a network in CIDR form (address/prefix)")
            return self.fail(path, f"{value!r} has host bits set: the network is {loose}")
        if network.version != self.ip_version:
            return self.fail(path, f"{value} is an IPv{network.version} network "
                                   f"in an IPv{self.ip_version} document")
        return network

    def mac(self, value, path):
        if not isinstance(value, str):
            # YAML reads 112233445566 as a number, and 11:22:33:44:55:66 too (YAML 1.1
            # sexagesimal): the fix is quotes, so the message says so.
            hint = ("; YAML read it as a number: quote it (mac: \"11:22:33:44:55:66\")"
                    if isinstance(value, (int, float)) and not isinstance(value, bool) else "")
            return self.fail(path, f"expected a MAC address, got {_typename(value)}{hint}")
        lowered = value.strip().lower()
        if not _MAC.match(lowered):
            return self.fail(path, f"{value!r} is not a MAC address (six hex octets)")
        digits = re.sub(r"[:-]", "", lowered)
        return ":".join(digits[i:i + 2] for i in range(0, 12, 2))

    def dns_name(self, value, path, *, what="domain name"):
        name = self.text(value, path, required=False)
        if name is None:
            return None
        if not syntax.is_dns_name(name):
            return self.fail(path, f"{name!r} is not a valid {what}")
        return name

    # The document's parts.

    def config(self, doc):
        doc = self.mapping(doc, "", {
            "omapi_key": False, "failover_peers": False, "shared_networks": False,
            "hosts": False, "interfaces": False, "global_dhcp_snippets": False,
        })
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
        )

    def omapi_key(self, value, path):
        # The key is a secret: no message about it repeats its value.
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            return self.fail(path, f"expected a string, got {_typename(value)}")
        key = value
        try:
            raw = base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            return self.fail(path, "is not base64 (expected an HMAC-MD5 secret)")
        if len(raw) < 16:
            return self.fail(path, f"is {len(raw)} bytes long; an OMAPI key needs at least 16")
        return key

    def failover_peer(self, value, path):
        value = self.mapping(value, path, {
            "name": True, "mode": True, "address": True, "peer_address": True,
            **{field: False for field in _PEER_NUMBERS}})
        if value is None:
            self.peer_names = None
            return None
        name = self.object_name(value.get("name"), _join(path, "name"))
        if name is None:
            self.peer_names = None
        elif self.peer_names is not None:
            self.peer_names.add(name)
        mode = value.get("mode")
        if mode is not None and mode not in ("primary", "secondary"):
            self.fail(_join(path, "mode"), f"expected 'primary' or 'secondary', got {mode!r}")
            mode = None
        address = self.address(value.get("address"), _join(path, "address"))
        peer = self.address(value.get("peer_address"), _join(path, "peer_address"))
        numbers = {field: self.whole_number(value.get(field), _join(path, field), low, high)
                   for field, (low, high) in _PEER_NUMBERS.items()}
        if None in (name, mode, address, peer):
            return None
        return model.FailoverPeer(name=name, mode=mode, address=address, peer_address=peer,
                                  **numbers)

    def whole_number(self, value, path, low, high):
        """An optional whole number from ``low`` to ``high``; None when absent or wrong."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return self.fail(path, f"expected a whole number from {low} to {high}, got {value!r}")
        return value

    def object_name(self, value, path):
        name = self.text(value, path)
        if name is not None and not syntax.is_object_name(name):
            return self.fail(path, f"{name!r} is not a valid name (letters, digits, "
                                   "'.', '_', ':', '-'; 64 at most)")
        return name

    def interface(self, value, path):
        if isinstance(value, dict):  # MAAS sends {"name": ...}
            value = self.mapping(value, path, {"name": True})
            if value is None:
                return None
            path, value = _join(path, "name"), value.get("name")
        name = self.text(value, path)
        if name is not None and not syntax.is_interface_name(name):
            return self.fail(path, f"{name!r} is not a valid interface name")
        return name

    def shared_network(self, value, path):
        value = self.mapping(value, path, {
            "name": True, "subnets": False, "mtu": False, "interface": False})
        if value is None:
            return None
        name = self.object_name(value.get("name"), _join(path, "name"))
        mtu = value.get("mtu")
        if mtu is not None and (isinstance(mtu, bool) or not isinstance(mtu, int)
                                or not 68 <= mtu <= 65535):
            self.fail(_join(path, "mtu"), f"expected a whole number from 68 to 65535, got {mtu!r}")
            mtu = None
        interface = None
        if value.get("interface") is not None:
            interface = self.interface(value["interface"], _join(path, "interface"))
        subnets = self.items(value.get("subnets"), _join(path, "subnets"), self.subnet)
        if name is None:
            return None
        return model.SharedNetwork(name=name, subnets=subnets, mtu=mtu, interface=interface)

    def subnet(self, value, path):
        value = self.mapping(value, path, {
            "subnet_cidr": True, "router_ip": False, "dns_servers": False,
            "ntp_servers": False, "domain_name": False, "search_list": False,
            "pools": False, "dhcp_snippets": False, "disabled_boot_architectures": False,
            "ignore_unknown_clients": False, "options": False,
        }, aliases=("subnet", "subnet_mask", "broadcast_ip"))
        if value is None:
            return None
        cidr = self.network(value.get("subnet_cidr"), _join(path, "subnet_cidr"))
        if cidr is not None:
            self.redundant_subnet_fields(value, path, cidr)
        router = self.address(value.get("router_ip"), _join(path, "router_ip"), required=False)
        dns = self.items(value.get("dns_servers"), _join(path, "dns_servers"), self.address)
        ntp = self.items(value.get("ntp_servers"), _join(path, "ntp_servers"), self.ntp_server)
        domain = self.dns_name(value.get("domain_name"), _join(path, "domain_name"))
        search = self.items(value.get("search_list"), _join(path, "search_list"), self.dns_name)
        pools = self.items(value.get("pools"), _join(path, "pools"), self.pool)
        snippets = self.items(value.get("dhcp_snippets"), _join(path, "dhcp_snippets"),
                              self.snippet)
        disabled = self.items(value.get("disabled_boot_architectures"),
                              _join(path, "disabled_boot_architectures"), self.boot_arch)
        ignore_unknown = self.flag(value.get("ignore_unknown_clients"),
                                   _join(path, "ignore_unknown_clients"))
        overrides = options.parse_options(value.get("options"), _join(path, "options"),
                                          self.ip_version, self.fail, scope="subnet")
        if cidr is None:
            return None
        return model.Subnet(
            subnet_cidr=cidr, router_ip=router, dns_servers=dns, ntp_servers=ntp,
            domain_name=domain, search_list=search, pools=pools, dhcp_snippets=snippets,
            disabled_boot_architectures=disabled, ignore_unknown_clients=ignore_unknown,
            options=overrides)

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
            same = isinstance(given, str) and _ip_address(given) == ipaddress.ip_address(expected[name])
            if not same:
                self.fail(_join(path, name), f"{given!r} disagrees with subnet_cidr: "
                                             f"expected {expected[name]} (from subnet_cidr {cidr})")

    def flag(self, value, path):
        """A boolean; null or absent is false."""
        if value is None:
            return False
        if not isinstance(value, bool):
            self.fail(path, f"expected true or false, got {_typename(value)}")
            return False
        return value

    def ntp_server(self, value, path):
        if not isinstance(value, str):
            return self.fail(path, f"expected an address or host name, got {_typename(value)}")
        address = _ip_address(value)
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
        value = self.mapping(value, path, {
            "ip_range_low": True, "ip_range_high": True, "failover_peer": False,
            "dhcp_snippets": False, "known_clients_only": False})
        if value is None:
            return None
        low = self.address(value.get("ip_range_low"), _join(path, "ip_range_low"))
        high = self.address(value.get("ip_range_high"), _join(path, "ip_range_high"))
        peer = None
        if value.get("failover_peer") not in (None, ""):
            peer = self.object_name(value["failover_peer"], _join(path, "failover_peer"))
        snippets = self.items(value.get("dhcp_snippets"), _join(path, "dhcp_snippets"),
                              self.snippet)
        known_only = self.flag(value.get("known_clients_only"),
                               _join(path, "known_clients_only"))
        if low is None or high is None:
            return None
        return model.Pool(ip_range_low=low, ip_range_high=high, failover_peer=peer,
                          dhcp_snippets=snippets, known_clients_only=known_only)

    def host(self, value, path):
        value = self.mapping(value, path, {
            "host": True, "mac": True, "ip": True, "dhcp_snippets": False, "options": False})
        if value is None:
            return None
        name = self.text(value.get("host"), _join(path, "host"))
        if name is not None and not syntax.is_dns_label(name):
            name = self.fail(_join(path, "host"),
                             f"{name!r} is not a valid DNS label (letters, digits and '-', "
                             "63 at most, not starting or ending with '-')")
        mac = self.mac(value.get("mac"), _join(path, "mac")) if value.get("mac") is not None else None
        ip = self.address(value.get("ip"), _join(path, "ip"))
        snippets = self.items(value.get("dhcp_snippets"), _join(path, "dhcp_snippets"),
                              self.snippet)
        overrides = options.parse_options(value.get("options"), _join(path, "options"),
                                          self.ip_version, self.fail, scope="host")
        if None in (name, mac, ip):
            return None
        return model.Host(host=name, mac=mac, ip=ip, dhcp_snippets=snippets, options=overrides)

    def snippet(self, value, path):
        value = self.mapping(value, path, {"name": True, "value": True, "description": False})
        if value is None:
            return None
        # The name and description become a comment line: they must stay on it.
        name = self.comment_text(value.get("name"), _join(path, "name"), required=True)
        description = self.comment_text(value.get("description"), _join(path, "description"),
                                        required=False)
        text = value.get("value")
        if text is not None and not isinstance(text, str):
            return self.fail(_join(path, "value"), f"expected a string, got {_typename(text)}")
        if name is None or text is None:
            return None
        return model.Snippet(name=name, value=text, description=description or "")

    def comment_text(self, value, path, *, required):
        if value is None:
            return self.fail(path, "required field is missing") if required else None
        if not isinstance(value, str):
            return self.fail(path, f"expected a string, got {_typename(value)}")
        if re.search(r"[\x00-\x1f\x7f]", value):
            char = re.search(r"[\x00-\x1f\x7f]", value).group()
            return self.fail(path, f"{value!r} contains {syntax.describe(char)}; "
                                   "it is rendered as a one-line comment")
        return value


def document_from_file(path, ip_version):
    """Read and parse a document file."""
    with open(path, encoding="utf-8") as stream:
        text = stream.read()
    return parse_document(load_document(text, source=str(path)), ip_version)


def to_document(config):
    """The model back as a plain mapping (for RPC, state files and round trips)."""

    def snippets(items):
        return [{"name": s.name, "description": s.description, "value": s.value} for s in items]

    return {
        "omapi_key": config.omapi_key,
        "failover_peers": [
            {"name": p.name, "mode": p.mode, "address": str(p.address),
             "peer_address": str(p.peer_address),
             **{field: getattr(p, field) for field in _PEER_NUMBERS
                if getattr(p, field) is not None}} for p in config.failover_peers],
        "shared_networks": [
            {"name": n.name, "mtu": n.mtu, "interface": n.interface, "subnets": [
                {"subnet_cidr": str(s.subnet_cidr),
                 "router_ip": str(s.router_ip) if s.router_ip else None,
                 "dns_servers": [str(a) for a in s.dns_servers],
                 "ntp_servers": [str(a) for a in s.ntp_servers],
                 "domain_name": s.domain_name,
                 "search_list": list(s.search_list),
                 "pools": [
                     {"ip_range_low": str(p.ip_range_low), "ip_range_high": str(p.ip_range_high),
                      "failover_peer": p.failover_peer, "dhcp_snippets": snippets(p.dhcp_snippets),
                      "known_clients_only": p.known_clients_only}
                     for p in s.pools],
                 "dhcp_snippets": snippets(s.dhcp_snippets),
                 "disabled_boot_architectures": list(s.disabled_boot_architectures),
                 "ignore_unknown_clients": s.ignore_unknown_clients,
                 "options": options.to_mapping(s.options)}
                for s in n.subnets]} for n in config.shared_networks],
        "hosts": [{"host": h.host, "mac": h.mac, "ip": str(h.ip),
                   "dhcp_snippets": snippets(h.dhcp_snippets),
                   "options": options.to_mapping(h.options)} for h in config.hosts],
        "interfaces": list(config.interfaces),
        "global_dhcp_snippets": snippets(config.global_dhcp_snippets),
    }


def to_json(config):
    return json.dumps(to_document(config), sort_keys=True)
