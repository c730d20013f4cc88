"""A subnet's own boot server and boot files (``next_server``, ``boot_files``),
relayed subnets' boot options, and where empty subnet declarations go.

Reading: each bad value comes back as one problem naming its field. Writing:
the fields round-trip. Rendering: the boot branches use them, a relayed
subnet with a known receiving interface boots like a direct one, and an
interface's undeclared network is declared inside the shared network that
interface serves. Changing either field is a change of the shared networks:
the incremental read sees it, the plan restarts, the structure digest differs.
(tests/dhcpd/test_check.py runs ``dhcpd -t`` on the relayed goldens.)
"""

import ipaddress

import pytest

from provisioningserver.dhcp import incremental
from provisioningserver.dhcp.docwrite import to_document
from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.plan import Restart, plan
from provisioningserver.dhcp.render import render
from provisioningserver.dhcp.syntax import boot_path_reason
from tests.dhcp.documents import SUBNET, base, edit, problems
from tests.dhcp.samples import inputs_for

NET = ipaddress.ip_network
IP = ipaddress.ip_address


@pytest.mark.parametrize("ip_version, field, value, message", [
    (4, "next_server", "198.18.0.300", "'198.18.0.300' is not an IP address"),
    (4, "next_server", "2001:db8::9", "2001:db8::9 is an IPv6 address in an IPv4 document"),
    (6, "next_server", "198.18.0.9", "198.18.0.9 is an IPv4 address in an IPv6 document"),
    (4, "next_server", "0.0.0.0",
     "0.0.0.0 is an unspecified address; a boot server needs one its clients can reach"),
    (4, "next_server", "224.0.0.9",
     "224.0.0.9 is a multicast address; a boot server needs one its clients can reach"),
    (4, "next_server", "127.0.0.1",
     "127.0.0.1 is a loopback address; a boot server needs one its clients can reach"),
    (6, "next_server", "fe80::1",
     "fe80::1 is a link-local address; a boot server needs one its clients can reach"),
    (4, "next_server", "198.18.0.255", "198.18.0.255 is the broadcast address of 198.18.0.0/24"),
    (4, "next_server", "198.18.0.0", "198.18.0.0 is the network address of 198.18.0.0/24"),
    (4, "next_server", 7, "expected an IP address, got a number"),
    (4, "next_server", "198.18.0.9;}", "'198.18.0.9;}' is not an IP address"),
    (4, "boot_files", ["pxe"], "expected a mapping of boot method names to paths, got a list"),
], ids=lambda v: str(v)[:24])
def test_bad_boot_override_names_its_field(ip_version, field, value, message):
    """A bad next_server or boot_files is one problem at the subnet's field."""
    document = edit(base(ip_version), f"{SUBNET}.{field}", value)
    assert problems(document, ip_version) == [(f"{SUBNET}.{field}", message)]


@pytest.mark.parametrize("name, path, message", [
    ("no_such", "x.efi", "unknown boot architecture; known: "),
    ("uefi_ia32_tftp", "x.efi", "is in this subnet's disabled_boot_architectures"),
    ("pxe", 5, "expected a path, got a number"),
    ("pxe", "", "'' must not be empty"),
    ("pxe", 'x";\n} evil {', "contains a double quote; a boot file's path has"),
    ("pxe", "a b", "contains ' '; a boot file's path has"),
    ("pxe", "a;b", "contains a semicolon; a boot file's path has"),
    ("pxe", "/abs.0", "starts with '/'"),
    ("pxe", "../etc/passwd", "has an empty, trailing or '..' segment"),
    ("pxe", "a//b", "has an empty, trailing or '..' segment"),
    ("pxe", "dir/", "has an empty, trailing or '..' segment"),
    ("pxe", "a" * 129, "is 129 characters long; a boot file's path has 128 at most"),
], ids=lambda v: str(v)[:20])
def test_bad_boot_file_names_its_method(name, path, message):
    """Each boot_files entry is checked on its own, the problem at boot_files.NAME:
    a boot table method, not disabled on the subnet, with a path that needs no
    quoting in dhcpd, TFTP or a URL."""
    document = edit(base(4), f"{SUBNET}.boot_files", {name: path, "uefi_amd64_tftp": "ok.efi"})
    (found,) = problems(document, 4)
    assert found[0] == f"{SUBNET}.boot_files.{name}"
    assert message in found[1], found


@pytest.mark.parametrize("path", ["lpxelinux.0", "shim/shimx64.efi", "a-b_c~d+e.0", "a" * 128])
def test_good_boot_paths(path):
    """Relative paths of the allowed characters, up to 128, pass."""
    assert boot_path_reason(path) is None


def _overridden(ip_version):
    server = "198.18.0.9" if ip_version == 4 else "2001:db8:0:1::9"
    document = edit(base(ip_version), f"{SUBNET}.next_server", server)
    return edit(document, f"{SUBNET}.boot_files",
                {"pxe": "custom/lpxelinux.0", "uefi_amd64_http": "shim/bootx64.efi",
                 "uefi_amd64_tftp": "shim/shimx64.efi"})


@pytest.mark.parametrize("ip_version", [4, 6])
def test_overrides_round_trip(ip_version):
    """The fields are written back as the document gave them and read back equal."""
    config = parse_document(_overridden(ip_version), ip_version)
    written = to_document(config)["shared_networks"][0]["subnets"][0]
    assert written["next_server"] == ("198.18.0.9" if ip_version == 4 else "2001:db8:0:1::9")
    assert written["boot_files"] == {"pxe": "custom/lpxelinux.0",
                                     "uefi_amd64_http": "shim/bootx64.efi",
                                     "uefi_amd64_tftp": "shim/shimx64.efi"}
    assert parse_document(to_document(config), ip_version) == config


def test_v4_overrides_rendered():
    """DHCPv4: next-server and every URL host are the subnet's next_server; the named
    methods get their own paths, the others the table's."""
    config = parse_document(_overridden(4), 4)
    text = render(config, inputs_for(config)).text
    first = text.split("subnet 198.18.1.0")[0]
    lines = first.splitlines()
    assert "        next-server 198.18.0.9;" in lines
    assert "        # Boot server: the subnet's next_server." in lines
    assert '            filename "custom/lpxelinux.0";' in lines
    assert '            option loader-pathprefix "http://198.18.0.9:5248/boot/";' in lines
    assert '            filename "shim/shimx64.efi";' in lines
    assert '            filename "http://198.18.0.9:5248/boot/shim/bootx64.efi";' in lines
    assert '            filename "grubaa64.efi";' in lines
    assert '            filename "http://198.18.0.9:5248/ipxe.cfg";' in lines
    # The other subnet keeps the rack's address and the table.
    rest = text.split("subnet 198.18.1.0")[1].split("\n    }\n")[0]
    assert "next-server 198.18.1.2;" in rest and '"lpxelinux.0"' in rest


def test_v6_overrides_rendered():
    """DHCPv6: the bootfile URLs are on the subnet's next_server with its own paths."""
    config = parse_document(_overridden(6), 6)
    text = render(config, inputs_for(config)).text
    assert 'option dhcp6.bootfile-url "tftp://[2001:db8:0:1::9]/shim/shimx64.efi";' in text
    assert ('option dhcp6.bootfile-url "http://[2001:db8:0:1::9]:5248/boot/shim/bootx64.efi";'
            in text)
    assert 'option dhcp6.bootfile-url "tftp://[2001:db8:0:1::9]/custom/lpxelinux.0";' in text


def _relayed(ip_version=4):
    config = parse_document(base(ip_version), ip_version)
    relayed = tuple(str(s.subnet_cidr) for s in config.subnets)
    return config, relayed


def test_relayed_subnet_with_a_receiving_interface_gets_boot_options():
    """A relayed subnet whose relay address is known boots like a direct one, on that
    address, and the config says it is relayed and where the server comes from."""
    config, relayed = _relayed()
    inputs = inputs_for(config, relayed=relayed,
                        relay_addresses={NET("198.18.0.0/24"): IP("198.18.41.1")})
    text = render(config, inputs).text
    first, second = text.split("subnet 198.18.1.0")
    assert "        # Relayed: no address of this rack on 198.18.0.0/24." in first
    assert ("        # Boot server: this rack's address on the interface that receives the "
            "relayed packets.") in first
    assert "        next-server 198.18.41.1;" in first
    assert 'option loader-pathprefix "http://198.18.41.1:5248/boot/";' in first
    # The other relayed subnet has no known receiving interface: no boot options.
    assert "next-server" not in second.split("# Lease events")[0]
    assert "served as relayed, without boot options" in second


def test_relayed_subnet_with_its_own_next_server_boots_without_a_relay_address():
    """next_server alone is enough for a relayed subnet's boot options."""
    config = parse_document(edit(base(4), f"{SUBNET}.next_server", "198.18.41.5"), 4)
    text = render(config, inputs_for(config, relayed=("198.18.0.0/24",))).text
    assert "        next-server 198.18.41.5;" in text.splitlines()


def test_relayed_v6_subnet_boots_on_the_relay_address():
    """DHCPv6: a relayed subnet's URLs are on the rack's address where it is received."""
    config, relayed = _relayed(6)
    inputs = inputs_for(config, relayed=relayed,
                        relay_addresses={NET("2001:db8:0:1::/64"): IP("2001:db8:41::1")})
    text = render(config, inputs).text
    assert 'option dhcp6.bootfile-url "tftp://[2001:db8:41::1]/bootx64.efi";' in text


@pytest.mark.parametrize("ip_version, empty, declaration", [
    (4, "198.18.42.0/24", "    subnet 198.18.42.0 netmask 255.255.255.0 { }"),
    (6, "2001:db8:42::/64", "    subnet6 2001:db8:42::/64 { }"),
])
def test_empty_subnet_of_a_serving_interface_is_inside_its_shared_network(
        ip_version, empty, declaration):
    """The bug: an interface serving a declared subnet also carries a network the
    document lacks; its empty declaration used to be at the top level, a shared
    network of its own, and dhcpd refused to start ("Interface eth0 matches
    multiple shared networks"). It is now inside the interface's shared network;
    one with no home stays at the top level."""
    config = parse_document(base(ip_version), ip_version)
    other = NET("198.18.99.0/24" if ip_version == 4 else "2001:db8:99::/64")
    inputs = inputs_for(config, empty_subnets=(NET(empty), other),
                        empty_in={NET(empty): "vlan-5001"})
    text = render(config, inputs).text
    block = text.split('shared-network "vlan-5001" {')[1].split("\n}\n")[0]
    assert declaration in block.splitlines()
    top = declaration.strip().replace(empty.split("/")[0], str(other.network_address)) \
        if ip_version == 4 else f"subnet6 {other} {{ }}"
    assert top in text.splitlines()
    assert top not in block


@pytest.mark.parametrize("field, value", [
    ("next_server", "198.18.0.9"),
    ("boot_files", {"pxe": "other.0"}),
])
def test_a_changed_override_is_a_structural_change(field, value):
    """Setting next_server or a boot file changes the shared networks: the incremental
    read builds a new subnet (equal to a full read), the plan restarts dhcpd, and
    the rendered structure's digest differs."""
    document = base(4)
    previous = incremental.read_document(document, 4)
    changed = edit(document, f"{SUBNET}.{field}", value)
    parsed = incremental.read_document(changed, 4, previous)
    assert parsed.config == parse_document(changed, 4)
    assert parsed.config.shared_networks != previous.config.shared_networks
    decision = plan(previous.config, parsed.config)
    assert isinstance(decision, Restart)
    assert "shared_networks changed" in decision.reasons
    before = render(previous.config, inputs_for(previous.config)).structure
    after = render(parsed.config, inputs_for(parsed.config)).structure
    assert before != after


@pytest.mark.dhcpd
@pytest.mark.parametrize("ip_version, nets, declarations", [
    (4, ("198.18.41.0/24", "198.18.42.0/24"),
     ["    subnet 198.18.41.0 netmask 255.255.255.0 { }",
      "    subnet 198.18.42.0 netmask 255.255.255.0 { }"]),
    (6, ("2001:db8:41::/64", "2001:db8:42::/64"),
     ["    subnet6 2001:db8:41::/64 { }", "    subnet6 2001:db8:42::/64 { }"]),
])
def test_several_empty_networks_of_one_interface_share_a_block(ip_version, nets, declarations):
    """An interface with two undeclared networks and no subnet of the document (a
    relay-only rack whose receiving interface has two addresses) gets them in one
    shared network of their own, after the document's; dhcpd -t accepts it."""
    from provisioningserver.dhcpd.check import check_config

    config = parse_document(base(ip_version), ip_version)
    name = "eth0 (undeclared networks)"
    inputs = inputs_for(config, empty_subnets=tuple(NET(n) for n in nets),
                        empty_in={NET(n): name for n in nets})
    text = render(config, inputs).text
    block = text.split(f'shared-network "{name}" {{\n')[1].split("\n}\n")[0]
    assert block.splitlines() == declarations
    assert text.index(f'shared-network "{name}"') > text.index('shared-network "vlan-5001"')
    result = check_config(text, ip_version)
    assert result.ok, result.output
