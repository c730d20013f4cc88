"""Reading a document against the one applied: only what changed is read.

`read_document(document, ip_version, previous)` gives the same `DHCPConfig`
as `document.parse_document(document, ip_version)`, or raises the same
`DocumentError` with the same problems in the same order, but its cost is
what changed rather than the whole site. At 50,000 hosts a full read (every
field checked, every address parsed, every host placed in its subnet and
checked against every other) takes seconds; a configure that changes one
host should not pay that.

How. The result, `Parsed`, keeps beside the config what a later read needs
to compare against, but not the raw document (which can be tens of MB),
and nothing per host beyond the config's hosts, which it holds as a
`hosttable.HostTable` (columns, not an object per host):

- a *plain* host (exactly ``host``, ``mac`` and ``ip``, all strings, its
  ``mac`` already the normalised one the Host holds and its ``ip`` the
  address's own text) is its row of the table: with the name, the MAC and
  the address's text equal, it is the whole raw value, and the row is
  compared where it lies in the table's columns, without a string cut out
  for it (a fingerprint, a tuple and a dictionary entry per host were 156
  bytes a host at 50,000; bench/configure_breakdown.py);
- any other host is kept by name with a typed copy of its raw value
  (`_canonical`), in which ``1``, ``1.0`` and ``True`` differ as they do
  for the reader;
- per item of each list section (failover peers, shared networks, global
  snippets), by position, the typed copy of its raw value and the value
  built from it. Sections are few and small;
- the subnets (`subnetindex.SubnetIndex`).

A host is looked for where it was (the same place after the hosts matched
before it, or one further on when one was removed), and by name only when
the order changed: then a name index of the previous hosts is built for
that read alone. A host that is unchanged is copied into the new table
from the previous one without being read again (the table records it: its
lineage, which the render's cache and the planner use), and a section item
that is unchanged is the previous object: each was read from the same raw
value for a document that passed every check. The others are read by the
document's own reader (`document.DocumentReader`), so they are checked
exactly as strictly.

The rules that relate parts of the document (`checks`) then run on what the
change touches. When a section changed, the section rules run
(`checks.check_sections`: peers, networks, subnets, pools; a few items),
and the host rules run over every host, as a full read does, only when the
change reaches what hosts are judged by (`checks.placement`: a subnet's
CIDR, router or pool ranges): a new subnet or pool can make any host
wrong, while a new DNS server cannot. Otherwise, and when only hosts
changed, each host read anew is placed in its subnet
(`checks.placement_problems`), and the hosts read anew are checked against
all the others in one pass: their addresses' texts against every host's,
their MACs against every host's (and the subnet of each host sharing one),
their names against every name. No index of the hosts is kept between
reads (the addresses and the MAC and subnet pairs were 160 bytes a host at
50,000); a removed host is simply not among the others, so a new host may
take a MAC or address that a removed one freed. ``previous`` stays intact
whatever the new document turns out to be, because it is still what dhcpd
serves.

Exactness. Whenever this path meets a problem it does not try to word it:
a structural problem sends the whole document to `parse_document`, and a
relational one reruns `checks.check_config` over the config (with no
structural problem the two agree), so every error is the full read's,
word for word and in its order. Only a document with no problem takes the
short path, and its config equals a full read's because every object in it
is either freshly read or was read from an identical raw value, and a
host table is equal to the tuple of the same hosts.
"""

import attrs

from provisioningserver.dhcp import checks
from provisioningserver.dhcp import hosttable
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

    Only ``config`` is for callers; the rest belongs to `read_document`. The
    config's hosts are a `hosttable.HostTable`.
    """

    config: model.DHCPConfig
    # Section name -> tuple of (fingerprint, value) per item, in document order.
    sections: dict
    # Host name -> fingerprint, for the hosts that are not plain (see the essay).
    odd: dict
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
    read = _read_hosts(reader, doc.get("hosts"), previous)
    if reader.problems or read is None or read[0] is None:
        return _whole(document, ip_version)  # its error, word for word
    hosts, fresh, odd = read
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
            return _checked(config, sections, odd)
        index = SubnetIndex.of(config)
    if fresh and (_misplaced(fresh, index) or _clash(hosts, fresh, index)):
        return _checked(config, sections, odd)  # raises, for a sound previous read
    return Parsed(config=config, sections=sections, odd=odd, subnets=index)


def _whole(document, ip_version):
    """A full read, then what the next one compares against."""
    config = parse_document(document, ip_version)
    # The document passed, so every item was kept: the raw lists and the
    # config's tuples line up.
    sections = {name: tuple((_canonical(raw), value) for raw, value
                            in zip(document.get(name) or (), getattr(config, name)))
                for name, _ in _SECTIONS}
    odd, table = {}, hosttable.rows(None)
    for raw, host in zip(document.get("hosts") or (), config.hosts):
        table.add(host, _kept(raw, host, odd))
    config = attrs.evolve(config, hosts=table.table())
    return Parsed(config=config, sections=sections, odd=odd, subnets=SubnetIndex.of(config))


def _checked(config, sections, odd):
    """Every rule over the config: its problems raised, as a full read's."""
    problems = checks.check_config(config)
    if problems:
        raise DocumentError(problems)
    return Parsed(config=config, sections=sections, odd=odd, subnets=SubnetIndex.of(config))


def _misplaced(fresh, index):
    """Whether a host read anew stands wrongly in its subnet."""
    return any(next(checks.placement_problems("", host, index.home(host.ip)), None)
               is not None for _, host, _ in fresh)


# Up to this many hosts read anew, each is counted in the table's columns
# (C speed, a pass each); more, and one pass over the columns counts them all.
_FEW = 16


def _clash(table, fresh, index):
    """Whether a host read anew shares its address with another host, or its
    MAC with another in its subnet (the names were compared by the read)."""
    addresses = {text for _, _, text in fresh}
    if len(addresses) < len(fresh):
        return True
    if len(fresh) <= _FEW:
        if any(table.count_ip_text(text) > 1 for text in addresses):
            return True
        shared = {host.mac for _, host, _ in fresh if table.count_mac(host.mac) > 1}
    else:
        if sum(map(addresses.__contains__, table.ip_texts())) > len(fresh):
            return True
        fresh_macs = {host.mac for _, host, _ in fresh}
        seen, shared = set(), set()
        for mac in filter(fresh_macs.__contains__, table.macs()):
            (shared if mac in seen else seen).add(mac)
    if not shared:
        return False
    keys = set()
    for i, mac in enumerate(table.macs()):
        if mac in shared:
            home = index.home(table[i].ip)
            key = (mac, home.subnet_cidr if home is not None else None)
            if key in keys:
                return True
            keys.add(key)
    return False


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


def _read_hosts(reader, raw, previous):
    """The hosts of the document (a `HostTable` read against the previous
    one's), those read anew as (index, Host, address's text), and the
    fingerprints for the next read.

    None when the reader must see the whole document: a list that is not
    one, a host it could not build, or one name twice.
    """
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        return None
    before, known = previous.config.hosts, previous.odd
    lines, starts = before.lines()
    found = lines.startswith
    count = len(before)
    table, fresh, odd = hosttable.rows(before), [], {}
    index, at = None, 0  # the name index (only if the order changed); where to look next
    run, length = 0, 0  # the run of hosts being copied: its first in ``before``, its length
    for i, value in enumerate(raw):
        name = value.get("host") if type(value) is dict else None
        if type(name) is not str or not count:
            k = None
        elif len(value) == 3 and at < count and (not known or name not in known):
            # The common case, a plain host where it was: its whole line
            # compared where it lies, without a string cut out of the table.
            mac, ip = value.get("mac"), value.get("ip")
            if (type(mac) is str and type(ip) is str
                    and found(f"\n{name}\t{mac}\t{ip}\n", starts[at])):
                if length and at == run + length:
                    length += 1
                else:
                    if length:
                        table.copy(run, length)
                    run, length = at, 1
                at += 1
                continue
            k = _where(found, starts, at, count, name)
        else:
            k = _where(found, starts, at, count, name)
        if k is None and type(name) is str and count:
            # Not where it was, nor one further on: the order changed, and
            # for this read alone the previous hosts are indexed by name.
            if index is None:
                index = {n: row for row, n in enumerate(before.names())}
            k = index.get(name)
        same = False
        if k is not None:
            at = k + 1
            fingerprint = known.get(name) if known else None
            if fingerprint is None:
                # Plain: the name, MAC and address's text are the whole raw value.
                if len(value) == 3:
                    mac, ip = value.get("mac"), value.get("ip")
                    same = (type(mac) is str and type(ip) is str
                            and found(f"\n{name}\t{mac}\t{ip}\n", starts[k]))
            else:
                if value_problems(value, f"hosts[{i}]", 3):
                    return None
                if _canonical(value) == fingerprint:
                    same = True
                    odd[name] = fingerprint
        if same:
            if length and k == run + length:
                length += 1
            else:
                if length:
                    table.copy(run, length)
                run, length = k, 1
            continue
        if value_problems(value, f"hosts[{i}]", 3):
            return None
        host = reader.host(value, f"hosts[{i}]")
        if host is None:
            return None
        if length:
            table.copy(run, length)
            length = 0
        text = _kept(value, host, odd)
        fresh.append((i, host, text))
        table.add(host, text)
    if length:
        table.copy(run, length)
    if table.copied_twice():
        return None
    hosts = table.table()
    return (None if _named_twice(hosts, fresh) else hosts), fresh, odd


def _where(found, starts, at, count, name):
    """The index of the previous host named ``name`` if it is at ``at`` or
    one further on (the host before it removed), else None."""
    for near in (at, at + 1):
        if near < count and found(f"\n{name}\t", starts[near]):
            return near
    return None


def _named_twice(table, fresh):
    """Whether a host read anew has the name of another host (the copied
    ones have each a host of the previous table's, whose names differ)."""
    names = {host.host for _, host, _ in fresh}
    if len(names) < len(fresh):
        return True
    if len(fresh) <= _FEW:
        return any(table.count_name(name) > 1 for name in names)
    return sum(map(names.__contains__, table.names())) > len(fresh)


def _kept(raw, host, odd):
    """The address's text of a host read from ``raw``; its fingerprint goes
    into ``odd`` unless it is plain (see the module's essay)."""
    text = str(host.ip)
    if not (len(raw) == 3 and raw.get("mac") == host.mac and raw.get("ip") == text):
        odd[host.host] = _canonical(raw)
    return text


def _values(items):
    return tuple(value for _, value in items)


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
