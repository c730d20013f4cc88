"""Mapping rendered lines back to the document (`provisioningserver.dhcp.sourcemap`).

Each test renders a document, finds a line in the text the way dhcpd would
number it, and checks the map names the part of the document it came from.
"""

import pytest

from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.render import render
from provisioningserver.dhcp.sourcemap import Origin, describe, source_map
from tests.dhcp import documents
from tests.dhcp.samples import GOLDENS, inputs_for

BAD = "log-facility local7;\nbogus-statement 1;\nping-check true;"


def _rendered(document, ip_version=4):
    config = parse_document(document, ip_version)
    text = render(config, inputs_for(config)).text
    return config, text


def _line_of(text, wanted, occurrence=0):
    """dhcpd's number (1-based) of the ``occurrence``-th line equal to ``wanted`` stripped."""
    found = [i + 1 for i, line in enumerate(text.split("\n")) if line.strip() == wanted]
    return found[occurrence]


def _snippet(name, value=BAD):
    return {"name": name, "description": "", "value": value}


def test_global_snippet_line_maps_to_the_snippet_and_its_own_line():
    """The second line of a global snippet is that snippet's line 2, by name and path."""
    document = documents.v4()
    document["global_dhcp_snippets"].append(_snippet("pxe-extra"))
    config, text = _rendered(document)
    origin = source_map(config, text).origin(_line_of(text, "bogus-statement 1;"))
    assert origin == Origin(path="global_dhcp_snippets[1]", snippet="pxe-extra", line=2)
    assert describe(origin) == "in snippet 'pxe-extra' (global_dhcp_snippets[1]) line 2"


def test_host_snippet_line_maps_to_the_host_snippet():
    """A line of a host's snippet names that host's snippet path."""
    document = documents.v4()
    document["hosts"][1]["dhcp_snippets"] = [_snippet("node-02 extra")]
    config, text = _rendered(document)
    origin = source_map(config, text).origin(_line_of(text, "ping-check true;"))
    assert origin == Origin(path="hosts[1].dhcp_snippets[0]", snippet="node-02 extra", line=3)


def test_subnet_snippet_line_maps_to_the_subnet_snippet():
    """A line of a subnet's snippet names its path under the subnet."""
    document = documents.v4()
    document["shared_networks"][0]["subnets"][1]["dhcp_snippets"] = [
        _snippet("keep-quiet"), _snippet("second")]
    config, text = _rendered(document)
    origin = source_map(config, text).origin(_line_of(text, "bogus-statement 1;", 1))
    assert origin == Origin(path="shared_networks[0].subnets[1].dhcp_snippets[1]",
                            snippet="second", line=2)


def test_pool_snippet_line_maps_to_the_pool_snippet():
    """A pool's snippet is found inside its pool, not taken for the subnet's."""
    document = documents.v4()
    document["shared_networks"][0]["subnets"][0]["pools"][1]["dhcp_snippets"] = [
        _snippet("pool extra")]
    config, text = _rendered(document)
    origin = source_map(config, text).origin(_line_of(text, "log-facility local7;"))
    assert origin.path == "shared_networks[0].subnets[0].pools[1].dhcp_snippets[0]"
    assert origin.line == 1


def test_snippet_line_counts_leading_blank_lines():
    """Blank lines the template drops from a snippet's start still count in its own numbering."""
    document = documents.v4()
    document["global_dhcp_snippets"] = [_snippet("padded", "\n\nbogus-statement 1;")]
    config, text = _rendered(document)
    origin = source_map(config, text).origin(_line_of(text, "bogus-statement 1;"))
    assert origin.line == 3


def test_comment_above_a_snippet_is_named_as_rackds():
    """The comment line rackd writes with a snippet's name has no line of the snippet's."""
    document = documents.v4()
    config, text = _rendered(document)
    origin = source_map(config, text).origin(
        _line_of(text, "# global snippet: global snippet description"))
    assert origin == Origin(path="global_dhcp_snippets[0]", snippet="global snippet")
    assert describe(origin).startswith("in the comment rackd writes above snippet")


def test_snippet_text_that_looks_like_a_declaration_is_still_the_snippet():
    """A global snippet holding a host declaration does not shift the hosts' mapping."""
    document = documents.v4()
    document["global_dhcp_snippets"] = [_snippet("decoy", "host fake {\n  bogus;\n}")]
    config, text = _rendered(document)
    smap = source_map(config, text)
    assert smap.origin(_line_of(text, "bogus;")).snippet == "decoy"
    assert smap.origin(_line_of(text, "hardware ethernet 52:54:00:00:00:02;")) == Origin(
        path="hosts[1].mac")


@pytest.mark.parametrize("line, path", [
    ("hardware ethernet 52:54:00:00:00:01;", "hosts[0].mac"),
    ("fixed-address 198.18.1.50;", "hosts[1].ip"),
    ("option routers 198.18.1.1;", "shared_networks[0].subnets[1].router_ip"),
    ("option interface-mtu 9000;", "shared_networks[0].mtu"),
    ("range 198.18.0.150 198.18.0.199;", "shared_networks[0].subnets[0].pools[1]"),
    ('failover peer "failover-1";', "shared_networks[0].subnets[0].pools[0].failover_peer"),
    ("peer address 198.18.0.3;", "failover_peers[0].peer_address"),
    ('shared-network "vlan-5001" {', "shared_networks[0].name"),
])
def test_declaration_lines_map_to_their_fields(line, path):
    """A line rackd writes from a field names that field's path."""
    config, text = _rendered(documents.v4())
    assert source_map(config, text).origin(_line_of(text, line)) == Origin(path=path)


def test_option_override_lines_map_to_the_option():
    """A subnet's or a host's option override names its place in ``options``."""
    document = documents.v4()
    document["shared_networks"][0]["subnets"][1]["options"] = {
        "log-servers": "198.18.1.9", "default-lease-time": 300}
    document["hosts"][0]["options"] = {"host-name": "node-01.example"}
    config, text = _rendered(document)
    smap = source_map(config, text)
    assert smap.origin(_line_of(text, "default-lease-time 300;")) == Origin(
        path="shared_networks[0].subnets[1].options[1]")
    assert smap.origin(_line_of(text, 'option host-name "node-01.example";')) == Origin(
        path="hosts[0].options[0]")


def test_template_lines_are_rackds_own_text():
    """A line of the template outside any item reads as rackd's; inside one, rackd's for it."""
    config, text = _rendered(documents.v4())
    smap = source_map(config, text)
    assert smap.origin(_line_of(text, "authoritative;")) == Origin(generated=True)
    assert describe(smap.origin(_line_of(text, "authoritative;"))) == "in text generated by rackd"
    inside = smap.origin(_line_of(text, "} else {"))
    assert inside == Origin(path="shared_networks[0].subnets[0]", generated=True)
    assert describe(inside) == "in text generated by rackd for shared_networks[0].subnets[0]"


def test_lines_past_the_end_are_rackds():
    """A line number beyond the text (dhcpd at end of file) does not fail the map."""
    config, text = _rendered(documents.v4())
    assert source_map(config, text).origin(10_000) == Origin(generated=True)


def test_v6_snippets_and_hosts_map():
    """The IPv6 layout maps the same way: a host snippet and a host's address."""
    document = documents.v6()
    document["hosts"][0]["dhcp_snippets"] = [_snippet("v6 extra", "preferred-lifetime 60;\nbad")]
    config, text = _rendered(document, 6)
    smap = source_map(config, text)
    assert smap.origin(_line_of(text, "bad")) == Origin(
        path="hosts[0].dhcp_snippets[0]", snippet="v6 extra", line=2)
    assert smap.origin(_line_of(text, "fixed-address6 2001:db8:0:2::50;")) == Origin(
        path="hosts[1].ip")


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_every_snippet_and_host_of_the_goldens_is_found(name):
    """On every golden config each snippet line maps to its own snippet and each
    host's address line to that host."""
    make_config, make_inputs = GOLDENS[name]
    config = make_config()
    text = render(config, make_inputs(config)).text
    smap = source_map(config, text)
    lines = text.split("\n")
    snippet_lines = [i + 1 for i, line in enumerate(lines)
                     if smap.origin(i + 1).snippet is not None]
    expected = sum(1 + len(s.value.strip("\n").splitlines()) for s in _all_snippets(config))
    assert len(snippet_lines) == expected
    keyword = "fixed-address6 " if config.ip_version == 6 else "fixed-address "
    hosts = [smap.origin(i + 1).path for i, line in enumerate(lines)
             if line.strip().startswith(keyword)]
    assert hosts == [f"hosts[{i}].ip" for i in range(len(config.hosts))]


def _all_snippets(config):
    yield from config.global_dhcp_snippets
    for subnet in config.subnets:
        yield from subnet.dhcp_snippets
        for pool in subnet.pools:
            yield from pool.dhcp_snippets
    for host in config.hosts:
        yield from host.dhcp_snippets
