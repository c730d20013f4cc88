"""The client-architecture boot table: its lookups (pure), and the whole table
rendered for DHCPv4 and DHCPv6, with disabled architectures, as golden files
checked by the real ``dhcpd -t`` (marked ``dhcpd``).

RACKD_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
"""

import os
import re

import pytest

from provisioningserver.dhcp import boot
from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.render import render
from provisioningserver.dhcpd.check import check_config
from tests.dhcp.samples import GOLDEN, inputs_for

HTTP_NAMES = ["uefi_ia32_http", "uefi_amd64_http", "uefi_arm64_http", "bios_http",
              "s390x_partition"]

# Each subnet shows one shape of disabled_boot_architectures.
SUBNET_SHAPES = [
    ("every method", []),
    ("no HTTP boot", HTTP_NAMES),
    ("no default", [boot.DEFAULT_METHOD]),
    ("nothing at all", sorted(boot.METHOD_NAMES)),
    ("relayed", []),
]


def boot_table_document(ip_version):
    """One shared network whose subnets disable more and more of the table; the
    last subnet is relayed (no rack address, so no boot options)."""
    subnets = []
    for i, (_, disabled) in enumerate(SUBNET_SHAPES):
        if ip_version == 4:
            cidr, at = f"198.18.{40 + i}.0/24", f"198.18.{40 + i}."
            subnet = {"subnet_cidr": cidr, "router_ip": at + "1",
                      "pools": [{"ip_range_low": at + "100", "ip_range_high": at + "199"}]}
        else:
            cidr, at = f"2001:db8:{0x40 + i:x}::/64", f"2001:db8:{0x40 + i:x}::"
            subnet = {"subnet_cidr": cidr,
                      "pools": [{"ip_range_low": at + "1000", "ip_range_high": at + "1fff"}]}
        subnet.update({
            "dns_servers": [at + "53"], "ntp_servers": [at + "123", "ntp.example"],
            "domain_name": "boot.example", "search_list": ["boot.example", "example"],
            "disabled_boot_architectures": disabled,
        })
        subnets.append(subnet)
    document = {"shared_networks": [{"name": "boot", "mtu": 9000, "subnets": subnets}]}
    return parse_document(document, ip_version)


def _relayed(config):
    return (str(config.subnets[-1].subnet_cidr),)


def _rendered(ip_version):
    config = boot_table_document(ip_version)
    return render(config, inputs_for(config, relayed=_relayed(config))).text


# Pure: the table and its lookups.

def test_codes_and_names_are_unique():
    """No architecture code maps to two methods and no two methods share a name, so
    the order of dhcpd's elsif branches cannot change which file a client gets."""
    codes = [code for method in boot.BOOT_METHODS for code in method.codes]
    assert len(codes) == len(set(codes))
    assert len(boot.METHOD_NAMES) == len(boot.BOOT_METHODS)
    assert boot.DEFAULT_METHOD in boot.METHOD_NAMES


@pytest.mark.parametrize("method", boot.BOOT_METHODS, ids=lambda m: m.name)
def test_each_code_gets_its_own_method(method):
    """Every code in the table finds the method that lists it."""
    for code in method.codes:
        assert boot.method_for_code(code) == method


def test_issue_architectures_are_all_present():
    """The table covers the architectures the boot feature promises, by IANA code."""
    by_code = {code: m.name for m in boot.BOOT_METHODS for code in m.codes}
    assert by_code == {
        0x00: "pxe", 0x06: "uefi_ia32_tftp", 0x07: "uefi_amd64_tftp", 0x09: "uefi_ebc_tftp",
        0x0B: "uefi_arm64_tftp", 0x0C: "open-firmware_ppc64el", 0x0E: "powernv",
        0x0F: "uefi_ia32_http", 0x10: "uefi_amd64_http", 0x13: "uefi_arm64_http",
        0x14: "bios_http", 0x1F: "s390x", 0x20: "s390x_partition",
    }


def test_http_methods_and_path_prefixes():
    """Exactly the HTTP boot methods fetch URLs; the PXELINUX-style loaders (BIOS over
    TFTP or HTTP, and petitboot) get a path prefix."""
    assert sorted(m.name for m in boot.BOOT_METHODS if m.http) == sorted(HTTP_NAMES)
    assert sorted(m.name for m in boot.BOOT_METHODS if m.path_prefix) == [
        "bios_http", "powernv", "pxe"]


def test_unknown_code_gets_the_default():
    """A code the table does not know falls back to the default method."""
    assert boot.method_for_code(0x00FF).name == boot.DEFAULT_METHOD


def test_disabled_code_falls_back_to_the_default():
    """A disabled method's code gets the default, as an unknown code would."""
    assert boot.method_for_code(0x10, disabled=["uefi_amd64_http"]).name == boot.DEFAULT_METHOD
    assert boot.method_for_code(0x07, disabled=["uefi_amd64_http"]).name == "uefi_amd64_tftp"


def test_with_the_default_disabled_unknown_codes_get_nothing():
    """With the default disabled, an unknown or disabled code gets no method; known
    enabled codes still do."""
    assert boot.method_for_code(0x00FF, disabled=["pxe"]) is None
    assert boot.method_for_code(0x00, disabled=["pxe"]) is None
    assert boot.method_for_code(0x0B, disabled=["pxe"]).name == "uefi_arm64_tftp"


def test_methods_for_keeps_table_order():
    """methods_for drops the disabled methods and keeps the rest in table order."""
    kept = boot.methods_for(HTTP_NAMES)
    assert [m.name for m in kept] == [m.name for m in boot.BOOT_METHODS if not m.http]


# Rendered: golden files and the real dhcpd.

@pytest.mark.parametrize("version", [4, 6])
def test_boot_table_golden(version):
    """The whole table renders exactly as the stored golden file, v4 and v6."""
    text = _rendered(version)
    path = GOLDEN / f"boot-table-v{version}.conf"
    if os.environ.get("RACKD_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text()


def _subnet_blocks(text):
    """The text of each subnet declaration, in order (pools included)."""
    opener = r"^    subnet6? "
    starts = [m.start() for m in re.finditer(opener, text, re.M)]
    ends = starts[1:] + [text.index("\n}\n", starts[-1])]
    return [text[a:b] for a, b in zip(starts, ends)]


@pytest.mark.parametrize("version", [4, 6])
def test_each_subnet_branches_on_exactly_its_enabled_codes(version):
    """Each subnet tests the codes of its enabled non-default methods, once each, and
    no disabled code; the else branch is there exactly when the default is enabled;
    the relayed subnet has no boot options at all."""
    option = "pxe-system-type" if version == 4 else "dhcp6.client-arch-type"
    blocks = _subnet_blocks(_rendered(version))
    assert len(blocks) == len(SUBNET_SHAPES)
    for block, (shape, disabled) in zip(blocks, SUBNET_SHAPES):
        tested = sorted(int(a + b, 16) for a, b in re.findall(
            rf"option {re.escape(option)} = ([0-9a-f]{{2}}):([0-9a-f]{{2}})", block))
        if shape == "relayed":
            assert tested == [] and "bootfile" not in block and "filename" not in block
            continue
        expected = sorted(code for m in boot.methods_for(disabled)
                          if m.name != boot.DEFAULT_METHOD for code in m.codes)
        assert tested == expected, shape
        assert ("} else {" in block) == (boot.DEFAULT_METHOD not in disabled), shape
        assert ("iPXE" in block), shape


@pytest.mark.dhcpd
@pytest.mark.parametrize("version", [4, 6])
def test_real_dhcpd_accepts_the_whole_table(version):
    """dhcpd -t accepts the whole table with every shape of disabled architectures."""
    result = check_config(_rendered(version), version)
    assert result.ok, result.output


@pytest.mark.dhcpd
@pytest.mark.parametrize("version", [4, 6])
def test_real_dhcpd_accepts_the_boot_table_golden(version):
    """dhcpd -t accepts the stored golden files themselves."""
    text = (GOLDEN / f"boot-table-v{version}.conf").read_text()
    result = check_config(text, version)
    assert result.ok, result.output
