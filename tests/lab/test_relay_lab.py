"""Booting through a DHCP relay: Debian's dhcrelay between client and rack (issue M).

Three namespaces, one module-wide lab (prefix ``rkrelay-PID-``):

    client eth0 ---- eth0 router eth1 ---- eth0 rack
    (no address)    198.18.40.1   198.18.41.254   198.18.41.1, 198.18.42.1
                    2001:db8:40::1 2001:db8:41::fe 2001:db8:41::1

The router runs ``dhcrelay`` (``-id eth0 -iu eth1 198.18.41.1``; for
DHCPv6 ``-6 -l eth0 -u 2001:db8:41::1%eth1``), forwards IP, and the rack
routes the client networks back through it. The rack has no address in the
client's subnet, so the document is relay-only: its one shared network
names ``eth0`` as the interface that receives the relayed packets. rackd
must accept it, listen on eth0 (declaring eth0's own networks empty), and
give the relayed client an address in the pool, the subnet's options and a
boot file per architecture, with next-server the rack's address on eth0, or
the subnet's ``next_server`` and ``boot_files`` when set.

The second address on the rack's eth0 (198.18.42.1/24, in no subnet of the
document) is also the setting of the empty-declaration bug: once the rack's
own 198.18.41.0/24 is served too, 198.18.42.0/24 must be declared inside that
shared network, or dhcpd will not start (`test_interface_in_two_shared_networks`).

Everything runs inside the namespaces, with addresses from 198.18.0.0/15 and
2001:db8::/32; the lab fixture stops every process and deletes every
namespace when the module ends, whether its tests passed or not.
"""

import copy
import ipaddress
import json
import os
import subprocess
import sys

import attrs
import pytest

from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.render import RenderInputs, render
from provisioningserver.network.selection import select
from tests.lab import rawclient
from tests.lab.dhclient import Dhclient
from tests.lab.netns import Lab
from tests.lab.rackd import REPO, RackdAgent, wait_until

pytestmark = pytest.mark.lab

RACK, RACK_OTHER, ROUTER_UP, GIADDR = "198.18.41.1", "198.18.42.1", "198.18.41.254", "198.18.40.1"
RACK6, ROUTER6_UP, ROUTER6_DOWN = "2001:db8:41::1", "2001:db8:41::fe", "2001:db8:40::1"
HTTP_PORT = 5248

SUBNET = {
    "subnet_cidr": "198.18.40.0/24",
    "router_ip": GIADDR,
    "dns_servers": ["198.18.41.53"],
    "domain_name": "relay.example",
    "search_list": ["relay.example"],
    "pools": [{"ip_range_low": "198.18.40.100", "ip_range_high": "198.18.40.200"}],
}
DOCUMENT = {"shared_networks": [{"name": "remote-40", "interface": "eth0",
                                 "subnets": [SUBNET]}]}
OVERRIDES = {"next_server": "198.18.41.5",
             "boot_files": {"pxe": "custom/lpxelinux.0", "uefi_amd64_tftp": "shim/shimx64.efi"}}

DOCUMENT_V6 = {"shared_networks": [{"name": "remote-40", "interface": "eth0", "subnets": [{
    "subnet_cidr": "2001:db8:40::/64",
    "dns_servers": ["2001:db8:41::53"],
    "pools": [{"ip_range_low": "2001:db8:40::1000", "ip_range_high": "2001:db8:40::1fff"}],
}]}]}


def _with_subnet(document, **fields):
    changed = copy.deepcopy(document)
    changed["shared_networks"][0]["subnets"][0].update(fields)
    return changed


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The module's lab (named ``lab`` so that failures show its logs), closed after
    the module's last test whatever happened."""
    prefix = "rkrelay-%d-" % os.getpid()
    with Lab(prefix=prefix, workdir=str(tmp_path_factory.mktemp("relaylab"))) as built:
        yield built


def _dhcrelay(router, *args, name):
    """Start dhcrelay in the router's namespace and wait until it listens."""
    process = router.popen(["dhcrelay", "-d", "-pf", router.path(f"{name}.pid"), *args],
                           name=name)
    wait_until(lambda: "Sending on" in process.log() or not process.running(), timeout=15,
               what=f"{name} to start")
    assert process.running(), process.tail()
    return process


@pytest.fixture(scope="module")
def relayed(lab):
    """(agent, router, client, dhcrelay): rackd configured with the relay-only DOCUMENT,
    the IPv4 relay running."""
    rack, router, client = lab.add_host("rack"), lab.add_host("router"), lab.add_host("client")
    lab.link(client, router, "eth0", "eth0")
    lab.link(router, rack, "eth1", "eth0")
    router.add_address("eth0", f"{GIADDR}/24")
    router.add_address("eth1", f"{ROUTER_UP}/24")
    router.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
    rack.add_address("eth0", f"{RACK}/24")
    rack.add_address("eth0", f"{RACK_OTHER}/24")
    rack.run(["ip", "route", "add", "198.18.40.0/24", "via", ROUTER_UP])
    agent = RackdAgent(rack).start()
    outcome = agent.configure(DOCUMENT)
    relay = _dhcrelay(router, "-4", "-id", "eth0", "-iu", "eth1", RACK, name="dhcrelay")
    return agent, router, client, relay, outcome


def _check_boot(answer, filename, siaddr, prefix=None, vendor=None):
    assert answer["offers"] and answer["acks"], answer
    for reply in (answer["offers"][0], answer["acks"][0]):
        assert reply["yiaddr"].startswith("198.18.40."), reply
        assert reply["giaddr"] == GIADDR, reply
        assert reply["file"] == filename, reply
        assert reply["siaddr"] == siaddr, reply
        assert reply["options"].get("path-prefix") == prefix, reply
        assert reply["options"].get("vendor-class-identifier") == vendor, reply
        assert reply["options"]["server-identifier"] == RACK, reply


def test_relay_only_document_is_served_on_the_named_interface(relayed):
    """rackd accepts a document whose only subnet is relayed, dhcpd listens on the
    interface the document names, no warning (its boot server is known), and the
    rack's own networks on eth0 are declared empty in the config."""
    agent, _, _, _, outcome = relayed
    assert agent.status()["v4"]["interfaces"] == ["eth0"]
    assert not outcome.get("warnings"), outcome
    with open(os.path.join(agent.state_dir, "dhcpd.conf")) as stream:
        text = stream.read()
    # eth0's two networks in one shared network: as two top-level subnets they
    # would be two, and dhcpd would refuse eth0.
    block = text.split('shared-network "eth0 (undeclared networks)" {\n')[1].split("\n}\n")[0]
    assert block.splitlines() == ["    subnet 198.18.41.0 netmask 255.255.255.0 { }",
                                  "    subnet 198.18.42.0 netmask 255.255.255.0 { }"]
    assert "        next-server 198.18.41.1;" in text.splitlines()


def test_dhclient_behind_the_relay_gets_address_options_and_next_server(relayed):
    """dhclient behind dhcrelay binds an address in the relayed pool with the
    subnet's router, DNS server, domain and search list, and next-server = the
    rack's address on the interface receiving the relayed packets."""
    _, _, client, _, _ = relayed
    dhclient = Dhclient(client, ifname="eth0", name="dhclient-relayed")
    try:
        lease = dhclient.obtain()
    finally:
        dhclient.stop()
    assert lease.address.startswith("198.18.40."), lease
    assert 100 <= int(lease.address.rsplit(".", 1)[1]) <= 200
    assert lease.routers == (GIADDR,)
    assert lease.dns_servers == ("198.18.41.53",)
    assert lease.domain_name == "relay.example"
    assert lease.search_list == ("relay.example",)
    assert lease.next_server == RACK
    assert lease.server_id == RACK


@pytest.mark.parametrize("code, filename, prefix, vendor", [
    (0x00, "lpxelinux.0", f"http://{RACK}:{HTTP_PORT}/boot/", None),
    (0x07, "bootx64.efi", None, None),
    (0x0B, "grubaa64.efi", None, None),
    (0x10, f"http://{RACK}:{HTTP_PORT}/boot/bootx64.efi", None, "HTTPClient"),
], ids=["bios", "uefi-amd64-tftp", "uefi-arm64-tftp", "uefi-amd64-http"])
def test_boot_file_per_architecture_through_the_relay(relayed, code, filename, prefix, vendor):
    """The raw client sends option 93 through the relay and gets, in OFFER and ACK,
    the architecture's boot file, siaddr = the rack's eth0 address, the path
    prefix and HTTPClient vendor class where the method has them."""
    _, _, client, _, _ = relayed
    answer = rawclient.query(client, arch=[code], request=True, timeout=4)
    _check_boot(answer, filename, RACK, prefix, vendor)


def test_ipxe_through_the_relay_gets_the_script_on_the_rack(relayed):
    """An iPXE client behind the relay is chained to the script on the rack's eth0."""
    _, _, client, _, _ = relayed
    answer = rawclient.query(client, arch=[0x07], user_class="iPXE", request=True, timeout=4)
    _check_boot(answer, f"http://{RACK}:{HTTP_PORT}/ipxe.cfg", RACK)


def test_interfaces_explains_the_relayed_choice(relayed, tmp_path):
    """``rackctl interfaces DOC`` on the rack says the subnet is relayed, received on
    eth0, with boot server 198.18.41.1 and why, and that dhcpd listens on eth0."""
    agent, _, _, _, _ = relayed
    path = tmp_path / "relay.json"
    path.write_text(json.dumps(DOCUMENT))
    result = subprocess.run(
        agent.host.command([sys.executable, "-m", "provisioningserver.cli.rackctl",
                            "interfaces", str(path)]),
        capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "198.18.40.0/24: relayed, received on eth0; boot server 198.18.41.1" in out
    assert ("no usable address of this rack in 198.18.40.0/24: relayed, served through eth0; "
            "its relayed packets arrive on eth0, so its boot server is 198.18.41.1") in out
    assert "dhcpd listens on: eth0" in out
    assert ('198.18.41.0/24 (in shared network "eth0 (undeclared networks)") '
            '198.18.42.0/24 (in shared network "eth0 (undeclared networks)")') in out


def test_subnet_overrides_reach_the_relayed_client(relayed):
    """With next_server and boot_files set on the relayed subnet, the client gets
    siaddr = that server, the subnet's own files for the named methods (and the
    path prefix on the server), the table's file for the others."""
    agent, _, client, _, _ = relayed
    agent.configure(_with_subnet(DOCUMENT, **OVERRIDES))
    try:
        server = OVERRIDES["next_server"]
        answer = rawclient.query(client, arch=[0x00], request=True, timeout=4)
        _check_boot(answer, "custom/lpxelinux.0", server, f"http://{server}:{HTTP_PORT}/boot/")
        answer = rawclient.query(client, arch=[0x07], request=True, timeout=4)
        _check_boot(answer, "shim/shimx64.efi", server)
        answer = rawclient.query(client, arch=[0x0B], request=True, timeout=4)
        _check_boot(answer, "grubaa64.efi", server)
    finally:
        agent.configure(DOCUMENT)


def test_rack_subnet_and_relayed_subnet_together(relayed):
    """Serving the rack's own 198.18.41.0/24 too: eth0 also carries 198.18.42.0/24,
    which the document lacks; its empty declaration goes inside the rack's shared
    network, dhcpd starts, and the relayed client is still served."""
    agent, _, client, _, _ = relayed
    local = {"name": "rack-local", "subnets": [{
        "subnet_cidr": "198.18.41.0/24",
        "pools": [{"ip_range_low": "198.18.41.100", "ip_range_high": "198.18.41.150"}]}]}
    document = copy.deepcopy(DOCUMENT)
    document["shared_networks"].insert(0, local)
    agent.configure(document)
    try:
        with open(os.path.join(agent.state_dir, "dhcpd.conf")) as stream:
            text = stream.read()
        block = text.split('shared-network "rack-local" {')[1].split("\n}\n")[0]
        assert "    subnet 198.18.42.0 netmask 255.255.255.0 { }" in block.splitlines()
        answer = rawclient.query(client, arch=[0x07], request=True, timeout=4)
        _check_boot(answer, "bootx64.efi", RACK)
    finally:
        agent.configure(DOCUMENT)


def _dhcpd(host, text, name):
    """Start dhcpd on ``text`` for eth0 in ``host``; returns the Process."""
    conf, leases = host.path(f"{name}.conf"), host.path(f"{name}.leases")
    with open(conf, "w") as stream:
        stream.write(text)
    open(leases, "w").close()
    return host.popen(["dhcpd", "-4", "-f", "-d", "-cf", conf, "-lf", leases,
                       "-pf", host.path(f"{name}.pid"), "eth0"], name=name)


def test_interface_in_two_shared_networks(lab):
    """The bug, on a real dhcpd: eth0 serves 198.18.41.0/24 (a shared network) and
    also carries 198.18.42.0/24, which the document lacks. Declared empty at the top
    level (the old layout), dhcpd exits with "Interface eth0 matches multiple shared
    networks"; declared inside the shared network (rackd's layout now), it serves."""
    host, peer = lab.add_host("rack2"), lab.add_host("peer2")
    lab.link(host, peer, "eth0", "eth0")
    host.add_address("eth0", f"{RACK}/24")
    host.add_address("eth0", f"{RACK_OTHER}/24")
    config = parse_document({"shared_networks": [{"name": "rack-local", "subnets": [{
        "subnet_cidr": "198.18.41.0/24",
        "pools": [{"ip_range_low": "198.18.41.100", "ip_range_high": "198.18.41.150"}]}]}]}, 4)
    chosen = select(config, {"eth0": [ipaddress.ip_interface(f"{RACK}/24"),
                                      ipaddress.ip_interface(f"{RACK_OTHER}/24")]})
    inputs = RenderInputs(rack_addresses=chosen.rack_addresses, omapi_port=None,
                          empty_subnets=chosen.empty_subnets, empty_in=chosen.empty_in,
                          lease_hooks=False)
    assert chosen.empty_in == {ipaddress.ip_network("198.18.42.0/24"): "rack-local"}
    old = _dhcpd(host, render(config, attrs.evolve(inputs, empty_in={})).text, "dhcpd-old")
    wait_until(lambda: not old.running(), timeout=20, what="dhcpd with the old layout to exit")
    assert old.popen.returncode != 0
    assert "Interface eth0 matches multiple shared networks" in old.log(), old.tail()
    new = _dhcpd(host, render(config, inputs).text, "dhcpd-new")
    wait_until(lambda: "Server starting service." in new.log() or not new.running(),
               timeout=20, what="dhcpd with the new layout to start")
    assert new.running(), new.tail()
    answer = rawclient.query(peer, arch=[0x07], request=True, timeout=4)
    assert answer["acks"] and answer["acks"][0]["yiaddr"].startswith("198.18.41."), answer
    new.stop()


class Dhclient6(Dhclient):
    """dhclient in DHCPv6 mode: the lab class with ``-6`` added."""

    def argv(self):
        argv = super().argv()
        return argv[:1] + ["-6"] + argv[1:]


@pytest.fixture(scope="module")
def relayed_v6(relayed):
    """The same lab with IPv6: the rack serving the relay-only DOCUMENT_V6 and
    ``dhcrelay -6`` between the client and the rack."""
    agent, router, client, _, _ = relayed
    router.add_address("eth0", f"{ROUTER6_DOWN}/64")
    router.add_address("eth1", f"{ROUTER6_UP}/64")
    router.run(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
    agent.host.add_address("eth0", f"{RACK6}/64")
    agent.host.run(["ip", "-6", "route", "add", "2001:db8:40::/64", "via", ROUTER6_UP])
    outcome = agent.configure(DOCUMENT_V6, ipv6=True)
    relay = _dhcrelay(router, "-6", "-l", "eth0", "-u", f"{RACK6}%eth1", name="dhcrelay6")
    return agent, client, relay, outcome


def _solicit(client, name, code):
    dhclient = Dhclient6(
        client, name=name,
        request=("dhcp6.name-servers", "dhcp6.bootfile-url"),
        extra_conf=f"send dhcp6.client-arch-type {code};")
    try:
        dhclient.start()
        return dhclient.wait_for(("BOUND6",)).variables
    finally:
        dhclient.stop()


@pytest.mark.parametrize("code, url", [
    (0x07, f"tftp://[{RACK6}]/bootx64.efi"),
    (0x10, f"http://[{RACK6}]:{HTTP_PORT}/boot/bootx64.efi"),
], ids=["uefi-amd64-tftp", "uefi-amd64-http"])
def test_dhcpv6_through_dhcrelay(relayed_v6, code, url):
    """dhclient -6 behind ``dhcrelay -6`` gets an address in the relayed pool, the
    DNS server, and the bootfile-url on the rack's IPv6 address on eth0, the
    interface that receives the relayed messages."""
    agent, client, _, outcome = relayed_v6
    assert agent.status()["v6"]["interfaces"] == ["eth0"]
    assert not outcome.get("warnings"), outcome
    event = _solicit(client, f"dhclient6-relayed-{code:x}", code)
    assert event["new_ip6_address"].startswith("2001:db8:40::1"), event
    assert event["new_dhcp6_name_servers"] == "2001:db8:41::53"
    assert event["new_dhcp6_bootfile_url"] == url


def test_dhcpv6_override_through_dhcrelay(relayed_v6):
    """A relayed DHCPv6 subnet's next_server and boot_files make the bootfile-url."""
    agent, client, _, _ = relayed_v6
    agent.configure(_with_subnet(DOCUMENT_V6, next_server="2001:db8:41::5",
                                 boot_files={"uefi_amd64_tftp": "shim/shimx64.efi"}), ipv6=True)
    try:
        event = _solicit(client, "dhclient6-override", 0x07)
        assert event["new_dhcp6_bootfile_url"] == "tftp://[2001:db8:41::5]/shim/shimx64.efi"
    finally:
        agent.configure(DOCUMENT_V6, ipv6=True)
