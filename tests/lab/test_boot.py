"""Network booting from rackd's dhcpd, seen by real clients (issue G).

One lab serves the whole module, to keep the run short: a rack namespace runs
rackd (and its dhcpd) with two links to one client namespace. On ``eth0`` the
subnet boots every architecture; on ``eth1`` the subnet disables UEFI x86-64
HTTP boot. The lab's raw client sends DISCOVER and REQUEST with each code of
the boot table in option 93 and reads the boot fields of the replies, which
dhclient would not show; dhclient checks the plain options. For DHCPv6,
``dhclient -6`` sends option 61 (``send dhcp6.client-arch-type``) and reports
the bootfile-url it got.
"""

import os

import pytest

from provisioningserver.dhcp import boot
from tests.lab import rawclient
from tests.lab.dhclient import Dhclient
from tests.lab.netns import Lab
from tests.lab.rackd import RackdAgent

pytestmark = pytest.mark.lab

RACK = "198.18.30.1"
RACK_NO_HTTP = "198.18.31.1"
RACK6 = "2001:db8:30::1"
HTTP_PORT = 5248


def _subnet(third, **fields):
    at = f"198.18.{third}."
    subnet = {
        "subnet_cidr": at + "0/24",
        "router_ip": at + "254",
        "dns_servers": [at + "53", at + "54"],
        "ntp_servers": [at + "123"],
        "domain_name": "boot.example",
        "search_list": ["boot.example", "lab.example"],
        "pools": [{"ip_range_low": at + "100", "ip_range_high": at + "200"}],
    }
    subnet.update(fields)
    return subnet


DOCUMENT = {"shared_networks": [
    {"name": "boot-all", "subnets": [_subnet(30)]},
    {"name": "boot-no-http", "subnets": [
        _subnet(31, disabled_boot_architectures=["uefi_amd64_http"])]},
]}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One lab for the module (named ``lab`` so that failures show its logs), under a
    prefix of its own, closed after the module's last test whatever happened."""
    prefix = "rkboot-%d-" % os.getpid()
    with Lab(prefix=prefix, workdir=str(tmp_path_factory.mktemp("bootlab"))) as built:
        yield built


@pytest.fixture(scope="module")
def served(lab):
    """(agent, client): rackd configured with DOCUMENT; the client's eth0 faces the
    first subnet and its eth1 the second."""
    rack, client = lab.add_host("rack"), lab.add_host("client")
    lab.link(rack, client, "eth0", "eth0")
    lab.link(rack, client, "eth1", "eth1")
    rack.add_address("eth0", f"{RACK}/24")
    rack.add_address("eth1", f"{RACK_NO_HTTP}/24")
    agent = RackdAgent(rack).start()
    agent.configure(DOCUMENT)
    return agent, client


def expected_reply(method, rack):
    """(filename, path-prefix, vendor class) a client of ``method`` must get."""
    base = f"http://{rack}:{HTTP_PORT}/boot/"
    filename = base + method.path if method.http else method.path
    prefix = base if method.path_prefix else None
    vendor = "HTTPClient" if method.http else None
    return filename, prefix, vendor


def check_replies(answer, filename, prefix, vendor, rack):
    assert answer["offers"] and answer["acks"], answer
    for reply in (answer["offers"][0], answer["acks"][0]):
        assert reply["file"] == filename
        assert reply["siaddr"] == rack
        assert reply["options"].get("path-prefix") == prefix
        assert reply["options"].get("vendor-class-identifier") == vendor


CASES = [(m, code) for m in boot.BOOT_METHODS for code in m.codes]


@pytest.mark.parametrize("method, code", CASES, ids=[f"{m.name}-{c:#06x}" for m, c in CASES])
def test_every_architecture_gets_its_boot_file(served, method, code):
    """A client sending the method's code in option 93 gets, in OFFER and ACK, the
    method's TFTP path (or HTTP URL on the rack), next-server = the rack, vendor
    class HTTPClient only for HTTP boot, and the path prefix where the method has one."""
    _, client = served
    answer = rawclient.query(client, arch=[code], request=True)
    check_replies(answer, *expected_reply(method, RACK), RACK)


def test_spot_check_without_the_table():
    """The table's rows for the most common machines, written out by hand, so that a
    wrong row cannot pass by being both the expectation and the answer."""
    by_name = {m.name: m for m in boot.BOOT_METHODS}
    assert expected_reply(by_name["pxe"], RACK) == (
        "lpxelinux.0", f"http://{RACK}:5248/boot/", None)
    assert expected_reply(by_name["uefi_amd64_tftp"], RACK) == ("bootx64.efi", None, None)
    assert expected_reply(by_name["uefi_arm64_http"], RACK) == (
        f"http://{RACK}:5248/boot/grubaa64.efi", None, "HTTPClient")
    assert expected_reply(by_name["uefi_arm64_tftp"], RACK) == ("grubaa64.efi", None, None)
    assert expected_reply(by_name["uefi_ia32_http"], RACK) == (
        f"http://{RACK}:5248/boot/bootia32.efi", None, "HTTPClient")
    assert expected_reply(by_name["bios_http"], RACK) == (
        f"http://{RACK}:5248/boot/lpxelinux.0", f"http://{RACK}:5248/boot/", "HTTPClient")


def test_unknown_architecture_gets_the_default(served):
    """An architecture code the table does not know (0x00ff) gets the default method."""
    _, client = served
    default = boot.method_for_code(0x00FF)
    answer = rawclient.query(client, arch=[0x00FF], request=True)
    check_replies(answer, *expected_reply(default, RACK), RACK)


def test_disabled_architecture_gets_the_default(served):
    """On a subnet with uefi_amd64_http disabled, a code-16 client gets the default
    method, next-server still the rack's address on that subnet, and no HTTPClient."""
    _, client = served
    default = [m for m in boot.BOOT_METHODS if m.name == boot.DEFAULT_METHOD][0]
    answer = rawclient.query(client, "eth1", arch=[0x10], request=True)
    check_replies(answer, *expected_reply(default, RACK_NO_HTTP), RACK_NO_HTTP)


def test_other_architectures_unaffected_by_a_disabled_one(served):
    """Disabling one method leaves the others alone: code 7 still gets bootx64.efi."""
    _, client = served
    answer = rawclient.query(client, "eth1", arch=[0x07], request=True)
    check_replies(answer, "bootx64.efi", None, None, RACK_NO_HTTP)


def test_ipxe_user_class_gets_the_script_url(served):
    """A client calling itself iPXE (user class) is chained to the rack's script URL,
    whatever architecture it also sends."""
    _, client = served
    answer = rawclient.query(client, arch=[0x07], user_class="iPXE", request=True)
    check_replies(answer, f"http://{RACK}:{HTTP_PORT}/ipxe.cfg", None, None, RACK)


def test_ipxe_option_space_gets_the_script_url(served):
    """An iPXE client recognised by its own option space (175, with bus-id 177 in it)
    gets the script URL too."""
    _, client = served
    bus_id = bytes([177, 7, 0x01, 0x80, 0x86, 0x10, 0x0E, 0x00, 0x00])
    answer = rawclient.query(client, arch=[0x00], options={175: bus_id}, request=True)
    check_replies(answer, f"http://{RACK}:{HTTP_PORT}/ipxe.cfg", None, None, RACK)


def test_dhclient_gets_dns_ntp_domain_and_search_list(served):
    """dhclient (no option 93) binds an address in the subnet with the configured DNS
    servers, NTP server, domain name, search list and router."""
    _, client = served
    dhclient = Dhclient(client, ifname="eth0")
    try:
        lease = dhclient.obtain()
    finally:
        dhclient.stop()
    assert lease.address.startswith("198.18.30.")
    assert lease.dns_servers == ("198.18.30.53", "198.18.30.54")
    assert lease.ntp_servers == ("198.18.30.123",)
    assert lease.domain_name == "boot.example"
    assert lease.search_list == ("boot.example", "lab.example")
    assert lease.routers == ("198.18.30.254",)
    assert lease.next_server == RACK


DOCUMENT_V6 = {"shared_networks": [{"name": "boot-v6", "subnets": [{
    "subnet_cidr": "2001:db8:30::/64",
    "dns_servers": ["2001:db8:30::53"],
    "domain_name": "boot.example",
    "pools": [{"ip_range_low": "2001:db8:30::1000", "ip_range_high": "2001:db8:30::1fff"}],
}]}]}


class Dhclient6(Dhclient):
    """dhclient in DHCPv6 mode: the lab class with ``-6`` added."""

    def argv(self):
        argv = super().argv()
        return argv[:1] + ["-6"] + argv[1:]


@pytest.fixture(scope="module")
def served_v6(served):
    """The same rack also serving DHCPv6 on eth0."""
    agent, client = served
    agent.host.add_address("eth0", f"{RACK6}/64")
    agent.configure(DOCUMENT_V6, ipv6=True)
    return agent, client


@pytest.mark.parametrize("code, url", [
    (0x07, f"tftp://[{RACK6}]/bootx64.efi"),
    (0x0B, f"tftp://[{RACK6}]/grubaa64.efi"),
    (0x0F, f"http://[{RACK6}]:{HTTP_PORT}/boot/bootia32.efi"),
    (0x10, f"http://[{RACK6}]:{HTTP_PORT}/boot/bootx64.efi"),
    (0x13, f"http://[{RACK6}]:{HTTP_PORT}/boot/grubaa64.efi"),
    (0x14, f"http://[{RACK6}]:{HTTP_PORT}/boot/lpxelinux.0"),
    (0x00FF, f"tftp://[{RACK6}]/lpxelinux.0"),
], ids=["uefi-amd64-tftp", "uefi-arm64-tftp", "uefi-ia32-http", "uefi-amd64-http",
        "uefi-arm64-http", "bios-http", "unknown"])
def test_dhcpv6_bootfile_url_by_architecture(served_v6, code, url):
    """A DHCPv6 client sending architecture ``code`` in option 61 gets the
    bootfile-url of the table's method (the default for an unknown code), on the
    rack's bracketed IPv6 address, with the DNS server and search list."""
    _, client = served_v6
    dhclient = Dhclient6(
        client, name=f"dhclient6-{code:x}",
        request=("dhcp6.name-servers", "dhcp6.domain-search", "dhcp6.bootfile-url"),
        extra_conf=f"send dhcp6.client-arch-type {code};")
    try:
        dhclient.start()
        event = dhclient.wait_for(("BOUND6",)).variables
    finally:
        dhclient.stop()
    assert event["new_ip6_address"].startswith("2001:db8:30::")
    assert event["new_dhcp6_bootfile_url"] == url
    assert event["new_dhcp6_name_servers"] == "2001:db8:30::53"
    assert event["new_dhcp6_domain_search"] == "boot.example."


def _bound(dhclient, reasons=("BOUND",)):
    try:
        dhclient.start()
        return dhclient.wait_for(reasons).variables
    finally:
        dhclient.stop()


def test_pxe_client_gets_the_short_lease_v4(served):
    """A client sending option 93 is offered and acknowledged a 30 s lease (the "pxe"
    class, option 51); a client without it, the usual 600 s. (Two fresh MACs: dhcpd
    answers a client that renews early with what is left of its lease, which a
    dhclient on an interface that already had a lease would see instead.)"""
    _, client = served
    pxe = rawclient.query(client, mac="02:00:00:00:93:07", arch=[0x07], request=True)
    plain = rawclient.query(client, mac="02:00:00:00:93:00", request=True)
    for answer, seconds in ((pxe, 30), (plain, 600)):
        assert answer["offers"] and answer["acks"], answer
        assert answer["offers"][0]["options"]["lease-time"] == seconds
        assert answer["acks"][0]["options"]["lease-time"] == seconds


def test_pxe_client_gets_the_short_lease_v6(served_v6):
    """dhclient -6 sending option 61 gets an address valid for 30 s; without option 61,
    600 s. The preferred lifetime is dhcpd's default, 5/8 of the lease time (18 s
    and 375 s)."""
    _, client = served_v6
    pxe = _bound(Dhclient6(client, name="dhclient6-pxe",
                           extra_conf="send dhcp6.client-arch-type 7;"), ("BOUND6",))
    plain = _bound(Dhclient6(client, name="dhclient6-plain"), ("BOUND6",))
    assert pxe["new_ip6_address"].startswith("2001:db8:30::")
    assert (int(pxe["new_max_life"]), int(pxe["new_preferred_life"])) == (30, 18)
    assert (int(plain["new_max_life"]), int(plain["new_preferred_life"])) == (600, 375)
