"""Reading a document against the one applied: only what changed is read.

`read_document(document, ip_version, previous)` gives the same `DHCPConfig`
as `document.parse_document(document, ip_version)`, or raises the same
`DocumentError` with the same problems in the same order, but its cost is
what changed rather than the whole site. At 50,000 hosts a full read (every
field checked, every address parsed, every host placed in its subnet and
checked against every other) takes seconds; a configure that changes one
host should not pay that.

How. The result, `Parsed`, keeps beside the config what a later read needs
to compare against, but not the raw document (which can be tens of MB):

- per host, keyed by its name, a *fingerprint* of its raw value and the
  `Host` built from it. A plain host (exactly ``host``, ``mac`` and ``ip``,
  all strings, the common shape) is fingerprinted by its raw ``ip`` string
  alone when its raw ``mac`` is already the normalised one the Host holds
  (or by ``(mac, ip)`` when it is not): with the name as the key, that is
  the whole raw value. Any other host is fingerprinted by a typed copy of
  its raw value (`_canonical`), in which ``1``, ``1.0`` and ``True`` differ
  as they do for the reader;
- per item of each list section (failover peers, shared networks, global
  snippets), by position, the typed copy of its raw value and the value
  built from it. Sections are few and small;
- the indexes the relational rules need: host address -> name, (MAC,
  subnet) -> name, and the subnets (`subnetindex.SubnetIndex`).

A host or section item whose fingerprint is unchanged reuses the previous
object without being read again: it was read from the same raw value for a
document that passed every check. The others are read by the document's own
reader (`document.DocumentReader`), so they are checked exactly as strictly.

The rules that relate parts of the document (`checks`) then run on what the
change touches. When a section changed, the section rules run
(`checks.check_sections`: peers, networks, subnets, pools; a few items),
and the host rules run over every host, as a full read does, only when the
change reaches what hosts are judged by (`checks.placement`: a subnet's
CIDR, router or pool ranges): a new subnet or pool can make any host
wrong, while a new DNS server cannot. Otherwise, and when only hosts
changed, each host read anew is
placed in its subnet (`checks.placement_problems`) and looked up in the
indexes, which have had the removed and changed hosts taken out first, so a
new host may take a MAC or address that a removed one freed. The indexes are
copies: ``previous`` stays intact whatever the new document turns out to be,
because it is still what dhcpd serves.

Exactness. Whenever this path meets a problem it does not try to word it:
a structural problem sends the whole document to `parse_document`, and a
relational one reruns `checks.check_config` over the config (with no
structural problem the two agree), so every error is the full read's,
word for word and in its order. Only a document with no problem takes the
short path, and its config equals a full read's because every object in it
is either freshly read or was read from an identical raw value.
"""

import attrs

from provisioningserver.dhcp import checks
from provisioningserver.dhcp import model
from provisioningserver.dhcp.docfields import required_fields
from provisioningserver.dhcp.doctext import value_problems
from provisioningserver.dhcp.document import DocumentReader, parse_document
from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.dhcp.subnetindex import SubnetIndex

# The list sections, with the reader method that builds one item of each.
_SECTIONS = (("failover_peers", "failover_peer"), ("shared_networks", "shared_network"),
             ("global_dhcp_snippets", "snippet"))


@attrs.frozen(eq=False)
class Parsed:
    """A read document: its config, and what the next read compares against.

    Only ``config`` is for callers; the rest belongs to `read_document`.
    """

    config: model.DHCPConfig
    # Section name -> tuple of (fingerprint, value) per item, in document order.
    sections: dict
    # Host name -> (fingerprint, Host).
    hosts: dict
    # Host address -> host name; (MAC, subnet CIDR or None) -> host name.
    by_ip: dict
    by_mac: dict
    subnets: SubnetIndex


def read_document(document, ip_version, previous=None):
    """The `Parsed` of ``document``, reusing what is unchanged since ``previous``
    (the `Parsed` of the applied document, or None); raises `DocumentError`."""
    if (previous is None or previous.config.ip_version != ip_version
            or not isinstance(document, dict)):
        return _whole(document, ip_version)
    # Hostile values first (`doctext`): all but the hosts here, and in
    # `_read_hosts` each host that is not, string for string, one already read.
    if value_problems({k: v for k, v in document.items() if k != "hosts"}):
        return _whole(document, ip_version)
    reader = DocumentReader(ip_version)
    doc = reader.mapping(document, "", required_fields(model.DHCPConfig))
    omapi_key = reader.omapi_key(doc.get("omapi_key"), "omapi_key")
    interfaces = reader.items(doc.get("interfaces"), "interfaces", reader.interface)
    ipxe_scripts = reader.ipxe_scripts(doc)
    sections, same = {}, True
    for name, method in _SECTIONS:
        items, changed = _read_section(reader, doc.get(name), name, getattr(reader, method),
                                       previous.sections.get(name, ()))
        sections[name] = items
        same = same and not changed
    hosts, entries, fresh, gone = _read_hosts(reader, doc.get("hosts"), previous.hosts)
    if reader.problems or hosts is None:
        return _whole(document, ip_version)  # its error, word for word
    config = model.DHCPConfig(
        ip_version=ip_version, omapi_key=omapi_key,
        failover_peers=_values(sections["failover_peers"]),
        shared_networks=_values(sections["shared_networks"]),
        hosts=hosts, interfaces=interfaces,
        global_dhcp_snippets=_values(sections["global_dhcp_snippets"]), **ipxe_scripts)
    index = previous.subnets
    if not same:
        # A section changed. Its own rules run over every section; the hosts
        # need judging again only when what they are judged by changed.
        if (checks.placement(config) != checks.placement(previous.config)
                or checks.check_sections(config)):
            problems = checks.check_config(config)
            if problems:
                raise DocumentError(problems)
            return _indexed(config, sections, entries)
        index = SubnetIndex.of(config)
    by_ip, by_mac = dict(previous.by_ip), dict(previous.by_mac)
    for host in gone:
        _unindex(host, index, by_ip, by_mac)
    for host in fresh:
        home = index.home(host.ip)
        key = (host.mac, home.subnet_cidr if home is not None else None)
        if (host.ip in by_ip or key in by_mac
                or next(checks.placement_problems("", host, home), None) is not None):
            problems = checks.check_config(config)
            if problems:
                raise DocumentError(problems)
            return _indexed(config, sections, entries)  # not reached for a sound index
        by_ip[host.ip] = host.host
        by_mac[key] = host.host
    return Parsed(config=config, sections=sections, hosts=entries, by_ip=by_ip,
                  by_mac=by_mac, subnets=index)


def _whole(document, ip_version):
    """A full read, then the fingerprints and indexes for the next one."""
    config = parse_document(document, ip_version)
    # The document passed, so every item was kept: the raw lists and the
    # config's tuples line up.
    sections = {name: tuple((_canonical(raw), value) for raw, value
                            in zip(document.get(name) or (), getattr(config, name)))
                for name, _ in _SECTIONS}
    entries = {host.host: (_fingerprint(raw, host.mac), host)
               for raw, host in zip(document.get("hosts") or (), config.hosts)}
    return _indexed(config, sections, entries)


def _indexed(config, sections, entries):
    index = SubnetIndex.of(config)
    by_ip, by_mac = {}, {}
    for host in config.hosts:
        home = index.home(host.ip)
        by_ip[host.ip] = host.host
        by_mac[(host.mac, home.subnet_cidr if home is not None else None)] = host.host
    return Parsed(config=config, sections=sections, hosts=entries, by_ip=by_ip,
                  by_mac=by_mac, subnets=index)


def _unindex(host, index, by_ip, by_mac):
    home = index.home(host.ip)
    key = (host.mac, home.subnet_cidr if home is not None else None)
    if by_ip.get(host.ip) == host.host:
        del by_ip[host.ip]
    if by_mac.get(key) == host.host:
        del by_mac[key]


def _read_section(reader, raw, path, read_item, before):
    """The (fingerprint, value) items of a list section, and whether any changed."""
    if not isinstance(raw, list):
        # Null is the empty list; anything else is the reader's to refuse.
        return tuple((None, v) for v in reader.items(raw, path, read_item)), bool(before)
    items, changed = [], len(raw) != len(before)
    for i, item in enumerate(raw):
        fingerprint = _canonical(item)
        if i < len(before) and before[i][0] == fingerprint:
            value = before[i][1]
        else:
            value, changed = read_item(item, f"{path}[{i}]"), True
        items.append((fingerprint, value))
    return tuple(items), changed


def _read_hosts(reader, raw, known):
    """The hosts of the document, their entries for the next read, the hosts
    read anew and the previous hosts they replace or that are gone.

    The hosts are None when the reader must see the whole document: a list
    that is not one, a host it could not build, or one name twice.
    """
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        return None, None, None, None
    hosts, entries, fresh, gone = [], {}, [], []
    for i, value in enumerate(raw):
        name = value.get("host") if type(value) is dict else None
        before = known.get(name) if type(name) is str else None
        if before is not None:
            fingerprint, host = before
            # `_fingerprint` inlined for the common shape: at 50,000 hosts the
            # call alone was half of an unchanged read.
            if len(value) == 3 and type(fingerprint) is str:
                same = value.get("ip") == fingerprint and value.get("mac") == host.mac
            elif value_problems(value, f"hosts[{i}]", 3):
                return None, None, None, None
            else:
                same = _fingerprint(value, host.mac) == fingerprint
        # An unchanged host keeps its entry itself: a new tuple per host would
        # outlive the read among the document's dropped strings, whose pages
        # then could not go back to the system.
        entry = before
        if before is None or not same:
            if value_problems(value, f"hosts[{i}]", 3):
                return None, None, None, None
            host = reader.host(value, f"hosts[{i}]")
            if host is None:
                return None, None, None, None
            entry = (_fingerprint(value, host.mac), host)
            fresh.append(host)
            if before is not None:
                gone.append(before[1])
        if host.host in entries:
            return None, None, None, None
        entries[host.host] = entry
        hosts.append(host)
    gone.extend(known[name][1] for name in known.keys() - entries.keys())
    return tuple(hosts), entries, fresh, gone


def _values(items):
    return tuple(value for _, value in items)


def _fingerprint(raw, mac):
    """What identifies a host's raw value, given its name (see the module's essay)."""
    if len(raw) == 3:
        ip, raw_mac = raw.get("ip"), raw.get("mac")
        if type(ip) is str and type(raw_mac) is str and type(raw.get("host")) is str:
            return ip if raw_mac == mac else (raw_mac, ip)
    return _canonical(raw)


def _canonical(value):
    """A typed, comparable copy of a raw value: equal only when the reader
    would see the same thing (``1`` and ``True`` differ; floats by repr, so
    ``-0.0`` is not ``0.0``)."""
    kind = type(value)
    if kind is dict:
        return dict, tuple((key, _canonical(item)) for key, item in value.items())
    if kind is list:
        return list, tuple(_canonical(item) for item in value)
    if kind is float:
        return float, repr(value)
    return kind, value
