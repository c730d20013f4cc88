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
and nothing per host beyond the config's own `Host` objects for the common
shape:

- a *plain* host (exactly ``host``, ``mac`` and ``ip``, all strings, its
  ``mac`` already the normalised one the Host holds and its ``ip`` the
  address's own text) is its Host: with the name, the MAC and the address's
  text equal, it is the whole raw value. The address's text is kept for
  every host, joined into one string in the config's order (`Parsed.ips`,
  about 16 bytes a host at 50,000 against the 156 that a fingerprint, a
  tuple and a dictionary entry per host cost; bench/configure_breakdown.py);
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
that read alone. A host or section item that is unchanged reuses the
previous object without being read again: it was read from the same raw
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
is either freshly read or was read from an identical raw value.
"""

import array
import itertools
import operator

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
    # Host name -> fingerprint, for the hosts that are not plain (see the essay).
    odd: dict
    # Each host's address as its own text, joined in the config's order, and
    # where each one's starts (one more, the end).
    ips: str
    ip_starts: array.array
    subnets: SubnetIndex

    def ip_text(self, i):
        """The address of host ``i`` of the config, as text."""
        return self.ips[self.ip_starts[i]:self.ip_starts[i + 1]]


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
    if reader.problems or read is None:
        return _whole(document, ip_version)  # its error, word for word
    hosts, fresh, odd, texts = read
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
            return _checked(config, sections, odd, texts)
        index = SubnetIndex.of(config)
    if fresh and (_misplaced(hosts, fresh, index) or _clash(hosts, texts, fresh, index)):
        return _checked(config, sections, odd, texts)  # raises, for a sound previous read
    return _parsed(config, sections, odd, texts, index)


def _whole(document, ip_version):
    """A full read, then what the next one compares against."""
    config = parse_document(document, ip_version)
    # The document passed, so every item was kept: the raw lists and the
    # config's tuples line up.
    sections = {name: tuple((_canonical(raw), value) for raw, value
                            in zip(document.get(name) or (), getattr(config, name)))
                for name, _ in _SECTIONS}
    odd, texts = {}, []
    for raw, host in zip(document.get("hosts") or (), config.hosts):
        texts.append(_kept(raw, host, odd))
    return _parsed(config, sections, odd, texts, SubnetIndex.of(config))


def _checked(config, sections, odd, texts):
    """Every rule over the config: its problems raised, as a full read's."""
    problems = checks.check_config(config)
    if problems:
        raise DocumentError(problems)
    return _parsed(config, sections, odd, texts, SubnetIndex.of(config))


def _parsed(config, sections, odd, texts, index):
    starts = array.array("I", itertools.accumulate(map(len, texts), initial=0))
    return Parsed(config=config, sections=sections, odd=odd, ips="".join(texts),
                  ip_starts=starts, subnets=index)


def _misplaced(hosts, fresh, index):
    """Whether a host read anew stands wrongly in its subnet."""
    return any(next(checks.placement_problems("", hosts[i], index.home(hosts[i].ip)), None)
               is not None for i in fresh)


def _clash(hosts, texts, fresh, index):
    """Whether a host read anew shares its address with another host, or its
    MAC with another in its subnet (the names were compared by the read)."""
    addresses = {texts[i] for i in fresh}
    if (len(addresses) < len(fresh)
            or sum(map(addresses.__contains__, texts)) > len(fresh)):
        return True
    macs = {hosts[i].mac for i in fresh}
    keys = set()
    for host in itertools.compress(hosts, map(macs.__contains__, map(_MAC, hosts))):
        home = index.home(host.ip)
        key = (host.mac, home.subnet_cidr if home is not None else None)
        if key in keys:
            return True
        keys.add(key)
    return False


_MAC = operator.attrgetter("mac")
_NAME = operator.attrgetter("host")


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
    """The hosts of the document; the indexes of those read anew; the
    fingerprints and addresses' texts for the next read.

    None when the reader must see the whole document: a list that is not
    one, a host it could not build, or one name twice.
    """
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        return None
    before, known = previous.config.hosts, previous.odd
    ips, starts = previous.ips, previous.ip_starts
    hosts, texts, fresh, odd = [], [], [], {}
    names, at = None, 0  # the name index (only if the order changed); where to look next
    for i, value in enumerate(raw):
        name = value.get("host") if type(value) is dict else None
        host = k = None
        if type(name) is str and before:
            if at < len(before) and before[at].host == name:
                k = at
            elif at + 1 < len(before) and before[at + 1].host == name:
                k = at + 1  # the host before it was removed
            else:
                if names is None:
                    names = {h.host: n for n, h in enumerate(before)}
                k = names.get(name)
        if k is not None:
            at = k + 1
            prior = before[k]
            fingerprint = known.get(name) if known else None
            if fingerprint is None:
                # Plain: the name, MAC and address's text are the whole raw value.
                if len(value) == 3 and value.get("mac") == prior.mac:
                    ip = value.get("ip")
                    if ip == ips[starts[k]:starts[k + 1]]:
                        host = prior
                        texts.append(ip)
            else:
                if value_problems(value, f"hosts[{i}]", 3):
                    return None
                if _canonical(value) == fingerprint:
                    host = prior
                    odd[name] = fingerprint
                    texts.append(ips[starts[k]:starts[k + 1]])
        if host is None:
            if value_problems(value, f"hosts[{i}]", 3):
                return None
            host = reader.host(value, f"hosts[{i}]")
            if host is None:
                return None
            fresh.append(i)
            texts.append(_kept(value, host, odd))
        hosts.append(host)
    if len(set(map(_NAME, hosts))) < len(hosts):
        return None
    return tuple(hosts), fresh, odd, texts


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
