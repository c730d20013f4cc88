"""`incremental.read_document` reads what `parse_document` reads, and fails as it fails.

Every sample document is read on its own and against each other sample as
``previous``; then a table of edits, valid and not, is applied to each base
document and read against the unedited base, the case the short path
serves. In every case the config, or the problems in order, must be the
full read's.
"""

import pytest
import yaml

from provisioningserver.dhcp import incremental
from provisioningserver.dhcp.docwrite import to_document
from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.errors import DocumentError
from tests.dhcp import documents, samples
from tests.dhcp.documents import SUBNET, edit, remove


def _samples():
    found = [(f"documents-v{v}", documents.base(v), v) for v in (4, 6)]
    for name in samples.examples():
        path = samples.EXAMPLES / name
        found.append((name, yaml.safe_load(path.read_text()), samples.example_version(path)))
    found += [(f"large-v{v}", to_document(samples.large_document(v)), v) for v in (4, 6)]
    return found


SAMPLES = _samples()


def _outcome(read):
    try:
        return "config", read()
    except DocumentError as error:
        return "problems", [(p.path, p.message) for p in error.problems]


def _full(document, ip_version):
    return _outcome(lambda: parse_document(document, ip_version))


def _incremental(document, ip_version, previous=None):
    return _outcome(lambda: incremental.read_document(document, ip_version, previous).config)


@pytest.mark.parametrize("name, document, ip_version", SAMPLES, ids=[s[0] for s in SAMPLES])
def test_sample_read_alone_is_the_full_read(name, document, ip_version):
    """Without a previous document the config is the full read's."""
    assert _incremental(document, ip_version) == _full(document, ip_version)
    assert _full(document, ip_version)[0] == "config"


@pytest.mark.parametrize("name, document, ip_version", SAMPLES, ids=[s[0] for s in SAMPLES])
def test_sample_read_against_every_other_sample(name, document, ip_version):
    """Against any previous document of the family (or itself) the config is the same."""
    for _, other, version in SAMPLES:
        if version == ip_version:
            previous = incremental.read_document(other, ip_version)
            assert _incremental(document, ip_version, previous) == _full(document, ip_version)


def _host(i, mac, ip, **fields):
    return {"host": f"extra-{i}", "mac": mac, "ip": ip, **fields}


# (name, ip_version, edit of the base document). The base hosts are node-01
# (first subnet, MAC ...:01) and node-02 (second subnet, MAC ...:02).
EDITS = [
    ("nothing", 4, lambda d: d),
    ("host added", 4, lambda d: edit(d, "hosts[2]", _host(1, "52:54:00:00:00:09", "198.18.1.60"))),
    ("host ip changed", 4, lambda d: edit(d, "hosts[1].ip", "198.18.1.61")),
    ("host renamed", 4, lambda d: edit(d, "hosts[1].host", "renamed")),
    ("host removed", 4, lambda d: remove(d, "hosts[0]")),
    ("hosts reordered", 4, lambda d: {**d, "hosts": d["hosts"][::-1]}),
    ("mac written in capitals", 4, lambda d: edit(d, "hosts[1].mac", "52:54:00:00:00:0A")),
    ("mac with dashes", 4, lambda d: edit(d, "hosts[1].mac", "52-54-00-00-00-02")),
    ("new host takes a removed host's mac and ip", 4, lambda d: edit(
        remove(d, "hosts[1]"), "hosts[1]", _host(1, "52:54:00:00:00:02", "198.18.1.50"))),
    ("new host duplicates a mac in its subnet", 4, lambda d: edit(
        d, "hosts[2]", _host(1, "52:54:00:00:00:02", "198.18.1.70"))),
    ("same mac in another subnet is allowed", 4, lambda d: edit(
        d, "hosts[2]", _host(1, "52:54:00:00:00:02", "198.18.0.70"))),
    ("new host duplicates an ip", 4, lambda d: edit(
        d, "hosts[2]", _host(1, "52:54:00:00:00:09", "198.18.1.50"))),
    ("new host first, duplicating a later host", 4, lambda d: {
        **d, "hosts": [_host(1, "52:54:00:00:00:02", "198.18.1.50")] + d["hosts"]}),
    ("changed host duplicates another's ip", 4, lambda d: edit(d, "hosts[1].ip", "198.18.0.50")),
    ("changed host takes another's name", 4, lambda d: edit(d, "hosts[1].host", "node-01")),
    ("same host twice", 4, lambda d: edit(d, "hosts[2]", d["hosts"][1])),
    ("host inside a pool", 4, lambda d: edit(d, "hosts[1].ip", "198.18.1.150")),
    ("host on the router", 4, lambda d: edit(d, "hosts[1].ip", "198.18.1.1")),
    ("host on the broadcast address", 4, lambda d: edit(d, "hosts[1].ip", "198.18.1.255")),
    ("host outside every subnet", 4, lambda d: edit(d, "hosts[1].ip", "198.18.9.5")),
    ("host with a bad mac", 4, lambda d: edit(d, "hosts[1].mac", "nope")),
    ("host with an unknown field", 4, lambda d: edit(d, "hosts[1].colour", "red")),
    ("host not a mapping", 4, lambda d: edit(d, "hosts[1]", "node-02")),
    ("host name not a string", 4, lambda d: edit(d, "hosts[1].host", ["node-02"])),
    ("host snippet changed", 4, lambda d: edit(d, "hosts[0].dhcp_snippets[0].value", "# other")),
    ("host option set", 4, lambda d: edit(d, "hosts[1].options", {"domain-name": "x.example"})),
    ("hosts not a list", 4, lambda d: edit(d, "hosts", {"a": 1})),
    ("hosts null", 4, lambda d: edit(d, "hosts", None)),
    ("unknown top-level field", 4, lambda d: edit(d, "colour", "red")),
    ("interfaces changed", 4, lambda d: edit(d, "interfaces", ["eth1"])),
    ("omapi key removed", 4, lambda d: remove(d, "omapi_key")),
    ("pool grown over a host", 4, lambda d: edit(
        d, "shared_networks[0].subnets[1].pools[0].ip_range_low", "198.18.1.40")),
    ("subnet changed and a host added", 4, lambda d: edit(edit(
        d, f"{SUBNET}.router_ip", "198.18.0.2"), "hosts[2]",
        _host(1, "52:54:00:00:00:09", "198.18.0.60"))),
    ("dns changed and a host added", 4, lambda d: edit(edit(
        d, f"{SUBNET}.dns_servers", ["198.18.0.9"]), "hosts[2]",
        _host(1, "52:54:00:00:00:09", "198.18.0.60"))),
    ("dns changed and a new host inside a pool", 4, lambda d: edit(edit(
        d, f"{SUBNET}.dns_servers", ["198.18.0.9"]), "hosts[2]",
        _host(1, "52:54:00:00:00:09", "198.18.1.150"))),
    ("dns changed and a new host duplicates an ip", 4, lambda d: edit(edit(
        d, f"{SUBNET}.dns_servers", ["198.18.0.9"]), "hosts[2]",
        _host(1, "52:54:00:00:00:09", "198.18.1.50"))),
    ("dns changed and a pool out of its subnet", 4, lambda d: edit(edit(
        d, f"{SUBNET}.dns_servers", ["198.18.0.9"]),
        "shared_networks[0].subnets[1].pools[0].ip_range_high", "198.18.7.1")),
    ("router moved onto a host", 4, lambda d: edit(
        d, "shared_networks[0].subnets[1].router_ip", "198.18.1.50")),
    ("subnet removed under its host", 4, lambda d: edit(
        d, "shared_networks[0].subnets", d["shared_networks"][0]["subnets"][:1])),
    ("failover peer renamed", 4, lambda d: edit(d, "failover_peers[0].name", "other")),
    ("mtu as a float", 4, lambda d: edit(d, "shared_networks[0].mtu", 9000.0)),
    ("mtu as true", 4, lambda d: edit(d, "shared_networks[0].mtu", True)),
    ("global snippet added", 4, lambda d: edit(d, "global_dhcp_snippets[1]", {
        "name": "more", "value": "# more"})),
    ("ipxe machine script set", 4, lambda d: edit(d, "ipxe_machine_script", "/ipxe/${mac}")),
    ("ipxe enlist script with a quote", 4, lambda d: edit(d, "ipxe_enlist_script", '/e"x')),
    ("v6 ipxe enlist script set", 6, lambda d: edit(d, "ipxe_enlist_script", "http://[2001:db8::9]/e")),
    ("section not a list", 4, lambda d: edit(d, "shared_networks", "vlan")),
    ("v6 host added", 6, lambda d: edit(d, "hosts[2]", _host(1, "52:54:00:00:00:09",
                                                            "2001:db8:0:2::60"))),
    ("v6 host written uncompressed", 6, lambda d: edit(d, "hosts[1].ip", "2001:db8:0:2:0:0:0:50")),
    ("v6 host inside a pool", 6, lambda d: edit(d, "hosts[1].ip", "2001:db8:0:2::1000")),
    ("v6 host of the other family", 6, lambda d: edit(d, "hosts[1].ip", "198.18.1.50")),
    ("v6 duplicate ip", 6, lambda d: edit(d, "hosts[1].ip", "2001:db8:0:1::50")),
    ("v6 new host duplicates an ip written uncompressed", 6, lambda d: edit(
        d, "hosts[2]", _host(1, "52:54:00:00:00:09", "2001:db8:0:2:0:0:0:50"))),
    ("new host duplicates an ip written with spaces", 4, lambda d: edit(
        d, "hosts[2]", _host(1, "52:54:00:00:00:09", " 198.18.1.50 "))),
    ("two new hosts share an ip", 4, lambda d: edit(edit(
        d, "hosts[2]", _host(1, "52:54:00:00:00:09", "198.18.1.70")), "hosts[3]",
        _host(2, "52:54:00:00:00:0a", "198.18.1.70"))),
    ("two new hosts share a mac in their subnet", 4, lambda d: edit(edit(
        d, "hosts[2]", _host(1, "52:54:00:00:00:09", "198.18.1.70")), "hosts[3]",
        _host(2, "52:54:00:00:00:09", "198.18.1.71"))),
    ("two new hosts share a name", 4, lambda d: edit(edit(
        d, "hosts[2]", _host(1, "52:54:00:00:00:09", "198.18.1.70")), "hosts[3]",
        _host(1, "52:54:00:00:00:0a", "198.18.1.71"))),
    ("new host duplicates a mac written in capitals", 4, lambda d: edit(edit(
        d, "hosts[1].mac", "52:54:00:00:00:0A"), "hosts[2]",
        _host(1, "52:54:00:00:00:0a", "198.18.1.70"))),
    ("new host first, then the others", 4, lambda d: {
        **d, "hosts": [_host(1, "52:54:00:00:00:09", "198.18.1.70")] + d["hosts"]}),
]


@pytest.mark.parametrize("name, ip_version, change", EDITS, ids=[e[0] for e in EDITS])
def test_edit_read_against_the_base_is_the_full_read(name, ip_version, change):
    """An edited document read against its base gives the full read's config or problems."""
    base = documents.base(ip_version)
    previous = incremental.read_document(base, ip_version)
    document = change(documents.base(ip_version))
    assert _incremental(document, ip_version, previous) == _full(document, ip_version)


def test_a_section_change_that_moves_no_host_rule_leaves_the_hosts_unjudged(monkeypatch):
    """A new DNS server changes a section but nothing hosts are judged by
    (`checks.placement`): the host rules do not run over every host again,
    and the unchanged hosts are the previous objects."""
    from provisioningserver.dhcp import checks

    previous = incremental.read_document(documents.v4(), 4)
    document = edit(documents.v4(), f"{SUBNET}.dns_servers", ["198.18.0.9"])

    def every_host(*args):
        raise AssertionError("the host rules ran over every host")

    monkeypatch.setattr(checks, "_check_hosts", every_host)
    parsed = incremental.read_document(document, 4, previous)
    assert parsed.config.hosts == previous.config.hosts
    assert _copied(parsed, previous) == [0, 1]
    monkeypatch.undo()
    assert parsed.config == parse_document(document, 4)


def _copied(parsed, previous):
    """The hosts of ``parsed`` copied unchanged from ``previous`` (by the index they had there)."""
    hosts = parsed.config.hosts
    assert hosts.derived_from(previous.config.hosts)
    return sorted(hosts.source_index(i) for i in range(len(hosts)) if i not in hosts.fresh)


def test_rejected_change_is_rejected_with_the_problem():
    """A changed host that takes another's MAC in its subnet names the host it clashes with."""
    base = documents.v4()
    previous = incremental.read_document(base, 4)
    document = edit(base, "hosts[2]", _host(1, "52:54:00:00:00:02", "198.18.1.70"))
    with pytest.raises(DocumentError) as error:
        incremental.read_document(document, 4, previous)
    assert [(p.path, p.message) for p in error.value.problems] == [
        ("hosts[2].mac", "52:54:00:00:00:02 is already reserved in subnet 198.18.1.0/24 "
                         "by hosts[1]")]


def test_removed_host_frees_its_mac_for_a_new_host():
    """Once a host is gone, a new host may take its MAC and address in the same read."""
    previous = incremental.read_document(documents.v4(), 4)
    document = edit(remove(documents.v4(), "hosts[1]"), "hosts[1]",
                    _host(1, "52:54:00:00:00:02", "198.18.1.50"))
    config = incremental.read_document(document, 4, previous).config
    assert [h.host for h in config.hosts] == ["node-01", "extra-1"]


def test_unchanged_objects_are_reused_and_previous_is_left_intact():
    """Unchanged hosts and sections are the previous objects; a failed read leaves
    ``previous`` able to serve the next one."""
    previous = incremental.read_document(documents.v4(), 4)
    document = edit(documents.v4(), "hosts[1].ip", "198.18.1.61")
    parsed = incremental.read_document(document, 4, previous)
    assert _copied(parsed, previous) == [0]
    assert parsed.config.shared_networks[0] is previous.config.shared_networks[0]
    with pytest.raises(DocumentError):
        incremental.read_document(edit(documents.v4(), "hosts[1].ip", "198.18.0.50"), 4, previous)
    again = edit(document, "hosts[0].ip", "198.18.0.51")
    assert incremental.read_document(again, 4, parsed).config == parse_document(again, 4)
    assert incremental.read_document(documents.v4(), 4, previous).config == \
        parse_document(documents.v4(), 4)


def test_a_plain_host_keeps_no_fingerprint():
    """A host of exactly its name, normal MAC and address keeps nothing but its
    address's text; one with snippets, options or a MAC not in normal form
    keeps a fingerprint, and both are recognised unchanged in the next read."""
    document = edit(edit(documents.v4(), "hosts[2]", _host(1, "52:54:00:00:00:0A",
                                                            "198.18.1.70")),
                    "hosts[3]", _host(2, "52:54:00:00:00:0b", "198.18.1.71"))
    parsed = incremental.read_document(document, 4)
    assert sorted(parsed.odd) == ["extra-1", "node-01"]  # capitals; node-01 has snippets
    assert [parsed.config.hosts.ip_text(i) for i in range(4)] == [
        "198.18.0.50", "198.18.1.50", "198.18.1.70", "198.18.1.71"]
    again = incremental.read_document(document, 4, parsed)
    assert _copied(again, parsed) == [0, 1, 2, 3]


def test_hosts_are_found_again_wherever_they_moved():
    """A host inserted first, one removed, the order reversed: every unchanged
    host is copied from where it was, and the config is the full read's."""
    base = edit(edit(documents.v4(), "hosts[2]", _host(1, "52:54:00:00:00:09", "198.18.1.70")),
                "hosts[3]", _host(2, "52:54:00:00:00:0a", "198.18.1.71"))
    previous = incremental.read_document(base, 4)
    inserted = {**base, "hosts": [_host(3, "52:54:00:00:00:0b", "198.18.1.72")] + base["hosts"]}
    for document, copied in ((inserted, [0, 1, 2, 3]), (remove(base, "hosts[1]"), [0, 2, 3]),
                             ({**base, "hosts": base["hosts"][::-1]}, [0, 1, 2, 3])):
        parsed = incremental.read_document(document, 4, previous)
        assert parsed.config == parse_document(document, 4)
        assert _copied(parsed, previous) == copied
        hosts = parsed.config.hosts
        assert all(hosts[i] == previous.config.hosts[hosts.source_index(i)]
                   for i in range(len(hosts)) if i not in hosts.fresh)


def test_a_chain_of_reads_follows_the_hosts():
    """Read after read, each against the last, what is compared against
    follows the hosts: a MAC freed two reads ago is free, one still held is
    refused."""
    document = documents.v4()
    parsed = incremental.read_document(document, 4)
    for step in range(3):
        document = edit(document, f"hosts[{len(document['hosts'])}]",
                        _host(step, f"52:54:00:00:01:{step:02x}", f"198.18.1.{70 + step}"))
        parsed = incremental.read_document(document, 4, parsed)
    document = remove(document, "hosts[2]")  # extra-0
    parsed = incremental.read_document(document, 4, parsed)
    taken = edit(document, "hosts[4]", _host(9, "52:54:00:00:01:01", "198.18.1.90"))
    assert _incremental(taken, 4, parsed) == _full(taken, 4)
    assert _full(taken, 4)[0] == "problems"
    freed = edit(document, "hosts[4]", _host(9, "52:54:00:00:01:00", "198.18.1.70"))
    assert incremental.read_document(freed, 4, parsed).config == parse_document(freed, 4)


def test_previous_of_the_other_family_is_ignored():
    """A previous read of the other family is not compared against."""
    previous = incremental.read_document(documents.v6(), 6)
    assert _incremental(documents.v4(), 4, previous) == _full(documents.v4(), 4)


def test_document_not_a_mapping():
    """A document that is not a mapping fails as the full read fails."""
    previous = incremental.read_document(documents.v4(), 4)
    assert _incremental(["x"], 4, previous) == _full(["x"], 4)
