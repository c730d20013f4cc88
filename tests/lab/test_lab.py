"""The lab library against the real thing: namespaces, dhcpd, dhclient, perfdhcp.

A rack host and a client host hang off one switch; dhcpd runs in the rack
with a small hand-written config. Failing tests get dhcpd's log tail in their
report (see conftest.py).
"""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tests.lab import perfdhcp, rawclient
from tests.lab.dhclient import Dhclient
from tests.lab.dhcpserver import Dhcpd
from tests.lab.netns import Lab, cleanup_stale, list_namespaces

pytestmark = pytest.mark.lab

RACK_ADDRESS = "198.18.0.1"

CONFIG = textwrap.dedent(
    """\
    option arch code 93 = unsigned integer 16;
    default-lease-time {lease};
    max-lease-time {lease};
    min-lease-time {lease};
    authoritative;
    ping-check false;
    subnet 198.18.0.0 netmask 255.255.255.0 {{
      range 198.18.0.100 198.18.0.250;
      option routers 198.18.0.1;
      option domain-name-servers {dns};
      option domain-name "lab.example";
      option domain-search "lab.example", "example.net";
      option ntp-servers 198.18.0.1;
      option interface-mtu 1400;
      next-server 198.18.0.1;
      if option arch = 00:07 {{
        filename "bootx64.efi";
      }} elsif option arch = 00:10 {{
        filename "http://198.18.0.1/ipxe.efi";
      }} else {{
        filename "pxelinux.0";
      }}
    }}
    """
)


def config(dns="198.18.0.1, 198.18.0.53", lease=600):
    return CONFIG.format(dns=dns, lease=lease)


def build_rack_and_client(lab):
    switch = lab.add_switch("sw")
    rack = lab.add_host("rack")
    client = lab.add_host("client")
    lab.attach(rack, switch)
    lab.attach(client, switch)
    rack.add_address("eth0", RACK_ADDRESS + "/24")
    return rack, client


@pytest.fixture
def served(lab):
    """(rack, client, dhcpd) with dhcpd serving 198.18.0.0/24 in the rack."""
    rack, client = build_rack_and_client(lab)
    dhcpd = Dhcpd(rack, config()).start()
    return rack, client, dhcpd


def test_dhclient_gets_a_full_lease(served):
    """dhclient binds and reports address, routers, DNS, domain, search, next-server, file."""
    _, client, dhcpd = served
    lease = Dhclient(client).obtain()
    assert lease.reason == "BOUND"
    assert lease.address.startswith("198.18.0.")
    assert lease.routers == ("198.18.0.1",)
    assert lease.dns_servers == ("198.18.0.1", "198.18.0.53")
    assert lease.domain_name == "lab.example"
    assert lease.search_list == ("lab.example", "example.net")
    assert lease.ntp_servers == ("198.18.0.1",)
    assert lease.next_server == "198.18.0.1"
    assert lease.filename == "pxelinux.0"
    assert lease.mtu == 1400
    # The lab script configures the lease on the client's interface.
    assert client.addresses("eth0") == [lease.address + "/24"]
    assert "DHCPACK on %s" % lease.address in dhcpd.log()


def test_dhclient_renewal_picks_up_a_changed_config(lab):
    """With a short lease, dhclient's own RENEW brings a new DNS server."""
    rack, client = build_rack_and_client(lab)
    dhcpd = Dhcpd(rack, config(lease=4)).start()
    dhclient = Dhclient(client)
    first = dhclient.obtain()
    dhcpd.stop()
    dhcpd = Dhcpd(rack, config(dns="198.18.0.54", lease=4), name="dhcpd2")
    # The new server must know the lease, or it would NAK the renewal.
    with open(dhcpd.lease_path, "w") as f:
        f.write(open(rack.path("dhcpd.leases")).read())
    dhcpd.start()
    after = len(dhclient.events())
    renewed = dhclient.wait_for(("RENEW",), after=after, timeout=15)
    assert renewed.address == first.address
    assert renewed.dns_servers == ("198.18.0.54",)


def test_dhclient_restart_asks_again_for_its_address(served):
    """restart() keeps the lease file: the client gets the same address back."""
    _, client, _ = served
    dhclient = Dhclient(client)
    first = dhclient.obtain()
    second = dhclient.restart()
    assert second.reason == "REBOOT"
    assert second.address == first.address


@pytest.mark.parametrize(
    "arch, filename",
    [(0, "pxelinux.0"), (7, "bootx64.efi"), (16, "http://198.18.0.1/ipxe.efi")],
)
def test_raw_client_gets_boot_file_for_arch(served, arch, filename):
    """Option 93 = 0, 7, 16 selects the matching filename; siaddr is next-server."""
    _, client, _ = served
    answer = rawclient.query(client, arch=[arch], request=True)
    [offer] = answer["offers"]
    [ack] = answer["acks"]
    for reply in (offer, ack):
        assert reply["file"] == filename
        assert reply["siaddr"] == RACK_ADDRESS
        assert reply["chaddr"] == answer["mac"]


def test_raw_client_sends_given_options(served):
    """Extra options and a chosen chaddr reach dhcpd (seen in its log)."""
    _, client, dhcpd = served
    mac = "02:00:00:00:00:42"
    answer = rawclient.query(
        client, mac=mac, vendor_class="PXEClient:Arch:00007", options={250: b"\x01\x02"}
    )
    assert answer["offers"][0]["chaddr"] == mac
    assert "DHCPDISCOVER from %s via eth0" % mac in dhcpd.log()


def test_raw_offer_matches_dhclient_lease(served):
    """The raw client's OFFER carries exactly what dhclient's lease reports."""
    _, client, _ = served
    lease = Dhclient(client).obtain()
    [offer] = rawclient.query(client)["offers"]
    options = offer["options"]
    assert options["subnet-mask"] == lease.subnet_mask
    assert tuple(options["routers"]) == lease.routers
    assert tuple(options["domain-name-servers"]) == lease.dns_servers
    assert options["domain-name"] == lease.domain_name
    assert tuple(options["domain-search"]) == lease.search_list
    assert tuple(options["ntp-servers"]) == lease.ntp_servers
    assert options["interface-mtu"] == lease.mtu
    assert options["lease-time"] == lease.lease_time
    assert options["server-identifier"] == lease.server_id
    assert offer["siaddr"] == lease.next_server
    assert offer["file"] == lease.filename


def test_perfdhcp_completes_bounded_run(served):
    """A small perfdhcp run against dhcpd gets every lease it asked for."""
    rack, client, _ = served
    client.add_address("eth0", "198.18.0.2/24")
    result = perfdhcp.run(client, RACK_ADDRESS, rate=50, count=20, period=5)
    assert result.exchanges["DISCOVER-OFFER"].sent == 20
    assert result.leases == 20, result.output


def test_ipv6_addresses_usable_at_once(lab):
    """IPv6 addresses skip DAD: a socket binds to one right after it is added."""
    host = lab.add_host("v6")
    other = lab.add_host("v6b")
    lab.link(host, other, "eth0", "eth0")
    host.add_address("eth0", "2001:db8::1/64")
    probe = "import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(('2001:db8::1', 0))"
    host.run([sys.executable, "-c", probe])
    assert "2001:db8::1/64" in host.addresses("eth0", "inet6")


def _pids_of(pattern):
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return found.stdout.split()


def _assert_gone(prefix, marker):
    assert not [n for n in list_namespaces() if n.startswith(prefix)]
    assert _pids_of(marker) == []


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failure_inside_lab_leaves_nothing(tmp_path, error):
    """An exception inside the lab still removes its namespaces, dhcpd and dhclient."""
    prefix = "%sfail-%d-" % (os.environ.get("RACKD_LAB_PREFIX", "rk-"), os.getpid())
    with pytest.raises(error):
        with Lab(prefix=prefix, workdir=str(tmp_path)) as lab:
            rack, client = build_rack_and_client(lab)
            Dhcpd(rack, config()).start()
            Dhclient(client).obtain()
            assert _pids_of(str(tmp_path))
            raise error("boom")
    _assert_gone(prefix, str(tmp_path))


CHILD = textwrap.dedent(
    """\
    import sys, time
    from tests.lab.netns import Lab
    from tests.lab.dhcpserver import Dhcpd
    from tests.lab.test_lab import build_rack_and_client, config
    lab = Lab(prefix=sys.argv[1], workdir=sys.argv[2])
    rack, client = build_rack_and_client(lab)
    Dhcpd(rack, config()).start()
    print("ready", flush=True)
    time.sleep(60)
    """
)


def _start_child(prefix, workdir):
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, prefix, workdir],
        cwd=rawclient.REPO, stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout.readline().strip() == "ready"
    return child


def test_sigterm_tears_the_lab_down(tmp_path):
    """A process holding a lab that gets SIGTERM removes it before dying of it."""
    prefix = "%sterm-%d-" % (os.environ.get("RACKD_LAB_PREFIX", "rk-"), os.getpid())
    child = _start_child(prefix, str(tmp_path))
    try:
        child.send_signal(signal.SIGTERM)
        assert child.wait(30) == -signal.SIGTERM
    finally:
        child.kill()
        cleanup_stale(prefix)
    _assert_gone(prefix, str(tmp_path))


def test_cleanup_stale_removes_a_crashed_runs_lab(tmp_path):
    """After SIGKILL nothing ran teardown; cleanup_stale(prefix) removes the rest."""
    prefix = "%scrash-%d-" % (os.environ.get("RACKD_LAB_PREFIX", "rk-"), os.getpid())
    child = _start_child(prefix, str(tmp_path))
    try:
        child.kill()
        child.wait(10)
        assert [n for n in list_namespaces() if n.startswith(prefix)]
        assert _pids_of(str(tmp_path))
        removed = cleanup_stale(prefix)
    finally:
        cleanup_stale(prefix)
    assert sorted(removed) == sorted(prefix + n for n in ("sw", "rack", "client"))
    _assert_gone(prefix, str(tmp_path))
