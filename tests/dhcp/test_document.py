"""The structural rules of the DHCP config document: shape, types, formats.

Each table row breaks one field of a valid document (`tests.dhcp.documents`)
and names the one problem that must come back: its path and its message,
word for word. Relational rules are in test_checks.py.
"""

import ipaddress

import pytest

from provisioningserver.dhcp.document import document_from_file, load_document, parse_document
from provisioningserver.dhcp.errors import DocumentError, Problem
from tests.dhcp.documents import KEY, POOL, SUBNET, base, edit, problems, remove, v4, v6

CIDR = f"{SUBNET}.subnet_cidr"


@pytest.mark.parametrize("ip_version, path, value, message", [
    pytest.param(4, CIDR, "not-a-network",
                 "'not-a-network' has no prefix length (CIDR form is address/prefix)",
                 id="cidr-not-a-network"),
    pytest.param(4, CIDR, "198.18.0.0/33",
                 "'198.18.0.0/33' is not a network in CIDR form (address/prefix)",
                 id="cidr-prefix-too-long"),
    pytest.param(4, CIDR, "198.18.0.0/x",
                 "'198.18.0.0/x' is not a network in CIDR form (address/prefix)",
                 id="cidr-prefix-not-a-number"),
    pytest.param(4, CIDR, "198.18.0.1/24",
                 "'198.18.0.1/24' has host bits set: the network is 198.18.0.0/24",
                 id="cidr-host-bits-set"),
    pytest.param(4, CIDR, "198.18.0.0",
                 "'198.18.0.0' has no prefix length (CIDR form is address/prefix)",
                 id="cidr-without-prefix"),
    pytest.param(6, CIDR, "2001:db8:0:1::%eth0/64",
                 "'2001:db8:0:1::%eth0/64' has a zone index ('%'), which dhcpd does not accept",
                 id="cidr-zone-index"),
    pytest.param(4, "hosts[0].mac", "52:54:00:00:01",
                 "'52:54:00:00:01' is not a MAC address (six hex octets)", id="mac-five-octets"),
    pytest.param(4, "hosts[0].mac", "52:54:00:00:00:zz",
                 "'52:54:00:00:00:zz' is not a MAC address (six hex octets)", id="mac-not-hex"),
    pytest.param(4, "hosts[0].mac", "52:54-00:00:00:01",
                 "'52:54-00:00:00:01' is not a MAC address (six hex octets)",
                 id="mac-mixed-separators"),
    pytest.param(4, "hosts[0].mac", "52:54:00:00:00:01:02",
                 "'52:54:00:00:00:01:02' is not a MAC address (six hex octets)",
                 id="mac-seven-octets"),
    pytest.param(4, "hosts[0].ip", "198.18.0.300", "'198.18.0.300' is not an IP address",
                 id="ip-octet-too-big"),
    pytest.param(4, f"{SUBNET}.router_ip", "198.18.0", "'198.18.0' is not an IP address",
                 id="ip-three-octets"),
    pytest.param(4, f"{SUBNET}.dns_servers[0]", "dns.example",
                 "'dns.example' is not an IP address", id="ip-dns-server-is-a-name"),
    pytest.param(4, f"{POOL}.ip_range_low", "198.18.0.100/24",
                 "'198.18.0.100/24' is not an IP address", id="ip-with-prefix"),
    pytest.param(6, "hosts[0].ip", "2001:db8:0:1::50%eth0",
                 "'2001:db8:0:1::50%eth0' has a zone index ('%'), which dhcpd does not accept",
                 id="ip-zone-index"),
    pytest.param(6, f"{SUBNET}.dns_servers[0]", "2001:db8::2%a;}",
                 "'2001:db8::2%a;}' has a zone index ('%'), which dhcpd does not accept",
                 id="ip-zone-index-hostile"),
    pytest.param(6, "hosts[0].ip", "::ffff:198.18.0.50",
                 "::ffff:198.18.0.50 is an IPv4-mapped address in an IPv6 document",
                 id="ip-ipv4-mapped"),
])
def test_malformed_cidr_mac_and_ip(ip_version, path, value, message):
    """A malformed CIDR, MAC or IP is reported at its field with what was wrong."""
    assert problems(edit(base(ip_version), path, value), ip_version) == [(path, message)]


ADDRESS_FIELDS = [
    "failover_peers[0].address", "failover_peers[0].peer_address",
    f"{SUBNET}.router_ip", f"{SUBNET}.dns_servers[0]", f"{SUBNET}.ntp_servers[0]",
    f"{POOL}.ip_range_low", f"{POOL}.ip_range_high", "hosts[0].ip",
]


@pytest.mark.parametrize("path", ADDRESS_FIELDS)
@pytest.mark.parametrize("ip_version, value, other", [
    pytest.param(4, "2001:db8::9", 6, id="v6-in-v4"),
    pytest.param(6, "198.18.0.9", 4, id="v4-in-v6"),
])
def test_address_of_the_other_family(ip_version, value, other, path):
    """Every address field refuses an address of the other IP version."""
    assert problems(edit(base(ip_version), path, value), ip_version) == [
        (path, f"{value} is an IPv{other} address in an IPv{ip_version} document")]


@pytest.mark.parametrize("ip_version, value, other", [
    pytest.param(4, "2001:db8:0:9::/64", 6, id="v6-in-v4"),
    pytest.param(6, "198.18.9.0/24", 4, id="v4-in-v6"),
])
def test_network_of_the_other_family(ip_version, value, other):
    """subnet_cidr refuses a network of the other IP version."""
    assert problems(edit(base(ip_version), CIDR, value), ip_version) == [
        (CIDR, f"{value} is an IPv{other} network in an IPv{ip_version} document")]


@pytest.mark.parametrize("where", [
    pytest.param("", id="top"),
    pytest.param("failover_peers[0]", id="failover-peer"),
    pytest.param("shared_networks[0]", id="shared-network"),
    pytest.param(SUBNET, id="subnet"),
    pytest.param(POOL, id="pool"),
    pytest.param(f"{POOL}.dhcp_snippets[0]", id="pool-snippet"),
    pytest.param(f"{SUBNET}.dhcp_snippets[0]", id="subnet-snippet"),
    pytest.param("hosts[0]", id="host"),
    pytest.param("hosts[0].dhcp_snippets[0]", id="host-snippet"),
    pytest.param("global_dhcp_snippets[0]", id="global-snippet"),
])
def test_unknown_field(where):
    """A field the schema does not know is reported at every level of the document."""
    path = f"{where}.colour" if where else "colour"
    assert problems(edit(v4(), path, "blue"), 4) == [(path, "unknown field")]


def test_unknown_field_in_interface_mapping():
    """MAAS's {"name": ...} form of an interface takes no other field."""
    document = edit(v4(), "interfaces[0]", {"name": "eth0", "colour": "blue"})
    assert problems(document, 4) == [("interfaces[0].colour", "unknown field")]


def _p2p(cidr, **fields):
    return {"shared_networks": [{"name": "p2p", "subnets": [{"subnet_cidr": cidr, **fields}]}]}


@pytest.mark.parametrize("ip_version, document", [
    pytest.param(4, edit(edit(edit(v4(), f"{SUBNET}.subnet", "198.18.0.0"),
                              f"{SUBNET}.subnet_mask", "255.255.255.0"),
                         f"{SUBNET}.broadcast_ip", "198.18.0.255"), id="v4"),
    pytest.param(6, edit(edit(edit(v6(), f"{SUBNET}.subnet", "2001:db8:0:1::"),
                              f"{SUBNET}.subnet_mask", "ffff:ffff:ffff:ffff::"),
                         f"{SUBNET}.broadcast_ip", "2001:db8:0:1:ffff:ffff:ffff:ffff"),
                 id="v6-as-maas-sends-it"),
    pytest.param(4, _p2p("198.18.2.0/31", subnet="198.18.2.0", subnet_mask="255.255.255.254",
                         broadcast_ip="None"), id="v4-slash31-no-broadcast"),
    pytest.param(4, _p2p("198.18.2.7/32", subnet="198.18.2.7", subnet_mask="255.255.255.255",
                         broadcast_ip="None"), id="v4-slash32-no-broadcast"),
    pytest.param(4, _p2p("198.18.2.0/31", broadcast_ip="198.18.2.1"), id="v4-slash31-last"),
    pytest.param(6, _p2p("2001:db8:0:9::/127", broadcast_ip="None"), id="v6-slash127"),
    pytest.param(4, _p2p("198.18.2.0/24", subnet=None, subnet_mask=None, broadcast_ip=None),
                 id="nulls"),
])
def test_redundant_subnet_fields_accepted_when_consistent(ip_version, document):
    """MAAS's subnet, subnet_mask and broadcast_ip pass when they agree with subnet_cidr.

    MAAS sends them for IPv6 too, and "None" as the broadcast address of a
    prefix with one host bit or none (netaddr has none there)."""
    assert problems(document, ip_version) == []


@pytest.mark.parametrize("field, value, expected", [
    pytest.param("subnet", "198.18.1.0", "198.18.0.0", id="subnet-other-network"),
    pytest.param("subnet", "198.18.0.1", "198.18.0.0", id="subnet-host-address"),
    pytest.param("subnet_mask", "255.255.0.0", "255.255.255.0", id="mask-wider"),
    pytest.param("subnet_mask", "24", "255.255.255.0", id="mask-as-prefix"),
    pytest.param("broadcast_ip", "198.18.0.254", "198.18.0.255", id="broadcast-off-by-one"),
    pytest.param("broadcast_ip", "None", "198.18.0.255", id="broadcast-none-on-slash24"),
    pytest.param("broadcast_ip", 5, "198.18.0.255", id="broadcast-a-number"),
])
def test_redundant_subnet_fields_rejected_when_inconsistent(field, value, expected):
    """A redundant subnet field that disagrees with subnet_cidr is reported with the right value."""
    path = f"{SUBNET}.{field}"
    assert problems(edit(v4(), path, value), 4) == [
        (path, f"{value!r} disagrees with subnet_cidr: "
               f"expected {expected} (from subnet_cidr 198.18.0.0/24)")]


LABEL_RULE = "is not a valid DNS label (letters, digits and '-', 63 at most, " \
             "not starting or ending with '-')"


@pytest.mark.parametrize("name", [
    pytest.param("node_01", id="underscore"),
    pytest.param("-node", id="leading-dash"),
    pytest.param("node-", id="trailing-dash"),
    pytest.param("a" * 64, id="64-characters"),
    pytest.param("node.example", id="dotted"),
    pytest.param("nöde", id="non-ascii"),
    pytest.param("node 01", id="space"),
])
def test_host_name_not_a_dns_label(name):
    """A host name must be one DNS label."""
    assert problems(edit(v4(), "hosts[0].host", name), 4) == [
        ("hosts[0].host", f"{name!r} {LABEL_RULE}")]


@pytest.mark.parametrize("name", ["a" * 63, "1node", "Node-01", "n"])
def test_host_name_valid_dns_label(name):
    """Labels up to 63 characters, digits first, upper case: all valid host names."""
    assert problems(edit(v4(), "hosts[0].host", name), 4) == []


def test_host_name_empty():
    """An empty host name is refused: dhcpd needs a name for the host declaration."""
    assert problems(edit(v4(), "hosts[0].host", ""), 4) == [("hosts[0].host", "must not be empty")]


NTP = f"{SUBNET}.ntp_servers[1]"


@pytest.mark.parametrize("value", [
    pytest.param("ntp_1.example", id="underscore"),
    pytest.param("-ntp.example", id="leading-dash"),
    pytest.param("ntp..example", id="empty-label"),
    pytest.param("ntp.example;", id="semicolon"),
    pytest.param("198.18.0.256", id="bad-address-bad-name"),
    pytest.param("", id="empty"),
])
def test_ntp_server_neither_address_nor_host_name(value):
    """An NTP server must be an address of the document's family or a host name."""
    assert problems(edit(v4(), NTP, value), 4) == [
        (NTP, f"{value!r} is neither an IP address nor a valid host name")]


@pytest.mark.parametrize("value", ["ntp.example", "ntp.example.", "198.18.0.9", "ntp"])
def test_ntp_server_address_or_host_name_accepted(value):
    """Addresses and host names (fully qualified or not) are valid NTP servers."""
    assert problems(edit(v4(), NTP, value), 4) == []


HOSTILE = [
    ('"', "a double quote"), (";", "a semicolon"), ("{", "a brace"), ("}", "a brace"),
    ("\n", "a line break"), ("\r", "a carriage return"), ("\\", "a backslash"),
    ("#", "a '#'"), ("\x00", "control character 0x00"),
]
SYNTAX_FIELDS = [
    "shared_networks[0].name", "shared_networks[0].interface", "interfaces[0]",
    "failover_peers[0].name", f"{POOL}.failover_peer", f"{SUBNET}.domain_name",
    f"{SUBNET}.search_list[0]", "hosts[0].host", f"{SUBNET}.disabled_boot_architectures[0]",
]


@pytest.mark.parametrize("path", SYNTAX_FIELDS)
@pytest.mark.parametrize("char, described", HOSTILE, ids=[repr(c) for c, _ in HOSTILE])
def test_hostile_string_in_dhcpd_syntax(path, char, described):
    """A character that could end a dhcpd string, statement or block is refused
    in every field that the template places inside dhcpd syntax."""
    value = f"evil{char}x"
    assert problems(edit(v4(), path, value), 4) == [
        (path, f"{value!r} contains {described}, which dhcpd syntax does not allow here")]


@pytest.mark.parametrize("char", [c for c, _ in HOSTILE], ids=[repr(c) for c, _ in HOSTILE])
def test_hostile_ntp_server_and_omapi_key(char):
    """NTP host names and the OMAPI key refuse hostile characters too; the
    key's message does not repeat the secret."""
    document = edit(edit(v4(), NTP, f"ntp{char}x"), "omapi_key", KEY + char)
    assert problems(document, 4) == [
        ("omapi_key", "is not base64 (expected an HMAC-MD5 secret)"),
        (NTP, f"{'ntp' + char + 'x'!r} is neither an IP address nor a valid host name")]


SNIPPETS = ["global_dhcp_snippets[0]", f"{SUBNET}.dhcp_snippets[0]",
            f"{POOL}.dhcp_snippets[0]", "hosts[0].dhcp_snippets[0]"]


@pytest.mark.parametrize("field", ["name", "description"])
@pytest.mark.parametrize("where", SNIPPETS)
@pytest.mark.parametrize("char, described", [
    ("\n", "a line break"), ("\r", "a carriage return"), ("\x00", "control character 0x00"),
    ("\x0b", "control character 0x0b"), ("\x7f", "control character 0x7f"),
])
def test_snippet_name_that_would_leave_its_comment_line(where, field, char, described):
    """A snippet's name and description are rendered as a '#' comment: a line
    break (or any control character) would end it and turn the rest into dhcpd
    statements, so it is refused at every level."""
    path, value = f"{where}.{field}", f"name{char}option x 1;"
    assert problems(edit(v4(), path, value), 4) == [
        (path, f"{value!r} contains {described}; it is rendered as a one-line comment")]


@pytest.mark.parametrize("where", SNIPPETS)
def test_snippet_comment_text_may_hold_punctuation(where):
    """Inside a comment dhcpd ignores quotes, braces, ';', '#' and a trailing
    backslash (checked with dhcpd -t): names keep them."""
    document = edit(v4(), f"{where}.name", 'say "hi"; {x} # y \\')
    assert problems(edit(document, f"{where}.description", '"; } \\'), 4) == []


def test_snippet_value_is_raw_trusted_text():
    """A snippet's value is raw dhcpd text on purpose: hostile characters pass."""
    value = 'option domain-name "a;b";\n} # \\ \x00 {\n'
    config = parse_document(edit(v4(), "global_dhcp_snippets[0].value", value), 4)
    assert config.global_dhcp_snippets[0].value == value


@pytest.mark.parametrize("path, value, message", [
    pytest.param("", [], "expected a mapping, got a list", id="document-a-list"),
    pytest.param("shared_networks[0].name", 5, "expected a string, got a number",
                 id="number-as-name"),
    pytest.param("hosts[0].host", 7, "expected a string, got a number", id="number-as-host"),
    pytest.param(f"{SUBNET}.domain_name", 1.5, "expected a string, got a number",
                 id="number-as-domain"),
    pytest.param("interfaces[0]", 5, "expected a string, got a number",
                 id="number-as-interface"),
    pytest.param(f"{SUBNET}.dns_servers", {"a": "198.18.0.2"}, "expected a list, got a mapping",
                 id="mapping-as-list"),
    pytest.param(f"{SUBNET}.search_list", "maas.example", "expected a list, got a string",
                 id="string-as-list"),
    pytest.param(f"{SUBNET}.pools", 3, "expected a list, got a number", id="number-as-list"),
    pytest.param(SUBNET, "198.18.0.0/24", "expected a mapping, got a string",
                 id="string-as-subnet"),
    pytest.param("hosts[0].ip", 3338797106, "expected an IP address, got a number",
                 id="number-as-ip"),
    pytest.param("hosts[0].mac", 525400000001, "expected a MAC address, got a number; YAML "
                 "read it as a number: quote it (mac: \"11:22:33:44:55:66\")", id="number-as-mac"),
    pytest.param(CIDR, ["198.18.0.0/24"], "expected a CIDR, got a list", id="list-as-cidr"),
    pytest.param(NTP, True, "expected an address or host name, got a boolean",
                 id="boolean-as-ntp"),
    pytest.param("global_dhcp_snippets[0].value", 5, "expected a string, got a number",
                 id="number-as-snippet-value"),
    pytest.param("global_dhcp_snippets[0].name", ["x"], "expected a string, got a list",
                 id="list-as-snippet-name"),
    pytest.param("omapi_key", 5, "expected a string, got a number", id="number-as-key"),
    pytest.param("failover_peers[0].mode", "tertiary",
                 "expected 'primary' or 'secondary', got 'tertiary'", id="mode-unknown"),
    pytest.param(f"{SUBNET}.disabled_boot_architectures[0]", "amiga",
                 "unknown boot architecture 'amiga'; known: " + ", ".join(sorted(
                     __import__("provisioningserver.dhcp.boot").dhcp.boot.METHOD_NAMES)),
                 id="boot-architecture-unknown"),
])
def test_wrong_type(path, value, message):
    """A value of the wrong type or outside its choices is reported, naming what came."""
    document = value if path == "" else edit(v4(), path, value)
    assert problems(document, 4) == [(path, message)]


MTU = "shared_networks[0].mtu"


@pytest.mark.parametrize("value", [
    pytest.param(True, id="boolean"), pytest.param("1500", id="string"),
    pytest.param(1500.0, id="float"), pytest.param(67, id="below-68"),
    pytest.param(65536, id="above-65535"), pytest.param(0, id="zero"),
    pytest.param(-1, id="negative"),
])
def test_mtu_out_of_range_or_wrong_type(value):
    """mtu is a whole number from 68 to 65535; a boolean is not a number here."""
    assert problems(edit(v4(), MTU, value), 4) == [
        (MTU, f"expected a whole number from 68 to 65535, got {value!r}")]


@pytest.mark.parametrize("value", [68, 1500, 65535, None])
def test_mtu_in_range(value):
    """The bounds of the mtu range and null are accepted."""
    assert problems(edit(v4(), MTU, value), 4) == []


@pytest.mark.parametrize("value, message", [
    pytest.param("not base64!", "is not base64 (expected an HMAC-MD5 secret)", id="not-base64"),
    pytest.param(KEY.rstrip("="), "is not base64 (expected an HMAC-MD5 secret)",
                 id="missing-padding"),
    pytest.param("c2hvcnQ=", "is 5 bytes long; an OMAPI key needs at least 16", id="too-short"),
    pytest.param("MDEyMzQ1Njc4OWFiY2Rl",
                 "is 15 bytes long; an OMAPI key needs at least 16", id="15-bytes"),
])
def test_omapi_key_rejected(value, message):
    """The OMAPI key must be base64 of at least 16 bytes."""
    assert problems(edit(v4(), "omapi_key", value), 4) == [("omapi_key", message)]


@pytest.mark.parametrize("value", ["MDEyMzQ1Njc4OWFiY2RlZg==", None, ""])
def test_omapi_key_accepted(value):
    """16 bytes is enough; a missing key (null or empty) is left to the agent."""
    assert problems(edit(v4(), "omapi_key", value), 4) == []


@pytest.mark.parametrize("text, line, column", [
    pytest.param("shared_networks: [\n  - name: x\n", 2, 3, id="block-in-flow"),
    pytest.param("hosts: []\n\tinterfaces: []\n", 2, 1, id="tab"),
    pytest.param('{"hosts": [1,}', 1, 14, id="json-trailing-comma"),
    pytest.param("omapi_key: x\nhosts: [a\nb: c\n", 3, 2, id="unclosed-list"),
])
def test_yaml_syntax_error_reports_the_line(text, line, column):
    """load_document turns a YAML or JSON syntax error into one problem with its line."""
    with pytest.raises(DocumentError) as caught:
        load_document(text, source="doc.yaml")
    (problem,) = caught.value.problems
    assert problem.path == ""
    assert problem.message.startswith(
        f"doc.yaml is not valid YAML or JSON at line {line}, column {column}: ")


def test_load_document_json_and_empty():
    """JSON is read as YAML; an empty text is an empty document (nothing to serve)."""
    assert load_document('{"hosts": []}') == {"hosts": []}
    assert load_document("") == {}
    assert parse_document(load_document(""), 4).is_empty


OPTIONAL = [
    "omapi_key", "hosts", "interfaces", "global_dhcp_snippets", "shared_networks[0].mtu",
    "shared_networks[0].interface", f"{SUBNET}.router_ip", f"{SUBNET}.dns_servers",
    f"{SUBNET}.ntp_servers", f"{SUBNET}.domain_name", f"{SUBNET}.search_list",
    f"{SUBNET}.pools", f"{SUBNET}.dhcp_snippets", f"{SUBNET}.disabled_boot_architectures",
    f"{POOL}.failover_peer", f"{POOL}.dhcp_snippets", "hosts[0].dhcp_snippets",
    "global_dhcp_snippets[0].description",
]


@pytest.mark.parametrize("path", OPTIONAL)
def test_null_for_optional_field(path):
    """null stands for "not given" in every optional field: the document
    reads as it does without the field (without the pools, or the pool's
    failover peer, no pool names the failover peer any more)."""
    assert problems(edit(v4(), path, None), 4) == problems(remove(v4(), path), 4)
    unused_peer = [("failover_peers[0].name",
                    "'failover-1' is named by no pool; dhcpd refuses a failover peer "
                    "that no pool uses")]
    assert problems(edit(v4(), path, None), 4) == (
        unused_peer if path in (f"{SUBNET}.pools", f"{POOL}.failover_peer") else [])


def test_null_top_level_lists():
    """A document of nulls is an empty, valid document."""
    document = dict.fromkeys(["omapi_key", "failover_peers", "shared_networks", "hosts",
                              "interfaces", "global_dhcp_snippets"])
    assert parse_document(document, 6).is_empty


REQUIRED = [
    "failover_peers[0].name", "failover_peers[0].mode", "failover_peers[0].address",
    "failover_peers[0].peer_address", "shared_networks[0].name", CIDR,
    f"{POOL}.ip_range_low", f"{POOL}.ip_range_high", "hosts[0].host", "hosts[0].mac",
    "hosts[0].ip", "global_dhcp_snippets[0].name", "global_dhcp_snippets[0].value",
]


@pytest.mark.parametrize("path", REQUIRED)
@pytest.mark.parametrize("how", ["absent", "null"])
def test_required_field_missing(path, how):
    """A missing or null required field is reported once, at its path."""
    document = remove(v4(), path) if how == "absent" else edit(v4(), path, None)
    assert problems(document, 4) == [(path, "required field is missing")]


@pytest.mark.parametrize("given", [
    "52-54-00-AB-CD-EF", "52:54:00:AB:CD:EF", "525400abcdef", "52:54:00:ab:cd:ef",
])
def test_mac_normalised(given):
    """MACs come out lower case and colon-separated, whatever their input form."""
    config = parse_document(edit(v4(), "hosts[0].mac", given), 4)
    assert config.hosts[0].mac == "52:54:00:ab:cd:ef"


def test_interface_as_maas_mapping():
    """An interface may come as MAAS's {"name": ...} mapping."""
    config = parse_document(edit(v4(), "interfaces[0]", {"name": "eth1"}), 4)
    assert config.interfaces == ("eth1",)


def test_several_problems_all_reported():
    """Every structural problem of a document comes back in one DocumentError, in document order."""
    document = edit(v4(), "omapi_key", "c2hvcnQ=")
    document = edit(document, "failover_peers[0].mode", "both")
    document = edit(document, MTU, 10)
    document = edit(document, f"{SUBNET}.domain_name", "bad_domain")
    document = edit(document, "hosts[1].mac", "nope")
    document = edit(document, "interfaces[0]", "an interface name too long")
    with pytest.raises(DocumentError) as caught:
        parse_document(document, 4)
    assert caught.value.paths == [
        "omapi_key", "failover_peers[0].mode", MTU, f"{SUBNET}.domain_name",
        "hosts[1].mac", "interfaces[0]"]
    assert str(caught.value).splitlines()[3] == (
        f"{SUBNET}.domain_name: 'bad_domain' is not a valid domain name")


def test_load_document_reads_json_as_yaml_would_and_yaml_flow_still_loads():
    """JSON takes a fast path that gives the mapping YAML gives; a YAML flow
    mapping that is not JSON still loads through YAML."""
    import json

    import yaml

    text = json.dumps({"hosts": [{"host": "a", "mac": "02:00:00:00:00:01", "ip": "198.18.0.5"}],
                       "shared_networks": [], "mtu": 1500, "x": None, "y": True})
    assert load_document(text) == yaml.safe_load(text)
    assert load_document("{hosts: [], name: lab}") == {"hosts": [], "name": "lab"}


def test_parse_document_builds_typed_values():
    """parse_document gives addresses as ipaddress objects, lists as tuples, MACs normalised."""
    document = v4()
    document["hosts"][0]["mac"] = "52-54-00-AA-BB-CC"
    config = parse_document(document, 4)
    subnet = config.shared_networks[0].subnets[0]
    assert subnet.subnet_cidr == ipaddress.ip_network("198.18.0.0/24")
    assert subnet.ntp_servers == (ipaddress.ip_address("198.18.0.2"), "ntp.example")
    assert subnet.search_list == ("maas.example", "example")
    assert config.hosts[0].mac == "52:54:00:aa:bb:cc"
    assert config.subnets == tuple(config.shared_networks[0].subnets)


def test_parse_document_raises_document_error():
    """An invalid document raises DocumentError carrying structured problems."""
    with pytest.raises(DocumentError) as caught:
        parse_document({"hosts": 5}, 4)
    assert caught.value.problems == (Problem("hosts", "expected a list, got a number"),)
    assert str(caught.value) == "hosts: expected a list, got a number"


def test_document_from_file_reports_the_file(tmp_path):
    """A file that is not YAML is reported with its name and line."""
    path = tmp_path / "bad.yaml"
    path.write_text("hosts: []\n\tinterfaces: []\n")
    with pytest.raises(DocumentError) as caught:
        document_from_file(path, 4)
    assert str(caught.value).startswith(f"{path} is not valid YAML or JSON at line 2")
