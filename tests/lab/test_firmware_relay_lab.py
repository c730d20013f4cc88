"""Real firmware booting through a DHCP relay (issue M): SeaBIOS with iPXE
in a qemu guest behind Debian's dhcrelay, served by rackd on a relay-only
rack.

The shape of tests/lab/test_relay_lab.py, in a lab of its own (prefix
``rkfwrelay-PID-``): the client namespace's eth0 is bridged to the guest's
tap (`firmware.vm_port`), the router relays (``dhcrelay -id eth0 -iu eth1``)
and forwards, and the rack, with no address in the client's subnet, serves
the relay-only document on its eth0 and runs the HTTP server the iPXE
script comes from. The guest must get an address in the relayed subnet,
next-server the rack's address on the interface the relayed packets arrive
on, and the rack's script URL, then fetch the script through the router.
The lab fixture stops the guest, dhcrelay, rackd and the HTTP server and
deletes every namespace when the module ends, whether the test passed or not.
"""

import ipaddress
import os

import pytest

from tests.lab import firmware
from tests.lab.netns import Lab
from tests.lab.rackd import RackdAgent
from tests.lab.test_firmware_lab import IPXE_DONE, _ipxe_report, _script
from tests.lab.test_relay_lab import DOCUMENT, GIADDR, RACK, ROUTER_UP, _dhcrelay

pytestmark = pytest.mark.lab

PORT = 5248
RELAYED = ipaddress.ip_network("198.18.40.0/24")
MAC = "52:54:00:fb:03:01"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The module's lab, closed after its test whatever happened."""
    lacking = firmware.missing()
    if lacking:
        message = "firmware lab needs " + ", ".join(lacking) + " (scripts/setup installs them)"
        if os.environ.get("RACKD_REQUIRE_LAB") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with Lab(prefix="rkfwrelay-%d-" % os.getpid(),
             workdir=str(tmp_path_factory.mktemp("fwrelaylab"))) as built:
        yield built


def test_seabios_ipxe_boots_through_the_relay(lab):
    """iPXE behind dhcrelay gets a relayed-subnet address, next-server the
    rack's address on its receiving interface and the rack's script URL,
    and fetches and runs that script through the router."""
    rack, router, client = lab.add_host("rack"), lab.add_host("router"), lab.add_host("client")
    lab.link(client, router, "eth0", "eth0")
    lab.link(router, rack, "eth1", "eth0")
    router.add_address("eth0", f"{GIADDR}/24")
    router.add_address("eth1", f"{ROUTER_UP}/24")
    router.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
    rack.add_address("eth0", f"{RACK}/24")
    rack.run(["ip", "route", "add", str(RELAYED), "via", ROUTER_UP])
    www = rack.path("www")
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "ipxe.cfg"), "w") as stream:
        stream.write(_script("relayed"))
    http = firmware.serve_http(rack, www, PORT)
    agent = RackdAgent(rack).start()
    agent.configure(DOCUMENT)
    _dhcrelay(router, "-4", "-id", "eth0", "-iu", "eth1", RACK, name="dhcrelay")
    tap = firmware.vm_port(client, "eth0", firmware.free_tap_name(client))
    vm = firmware.VM(client, "ipxe-relay", "bios", tap, MAC, limit=180).start()
    try:
        console = vm.wait_for(IPXE_DONE, 150, joined=True)
    finally:
        print(f"ipxe-relay: {vm.stop():.1f} s under {firmware.accelerator('bios')}")
        for seconds, line in vm.timeline:
            print(f"  {seconds:6.1f} {line}")
    report = _ipxe_report(console)
    assert report["script"] == "relayed"
    assert ipaddress.ip_address(report["ip"]) in RELAYED
    assert report["next-server"] == RACK
    assert report["filename"] == f"http://{RACK}:{PORT}/ipxe.cfg"
    fetched = [(address, path, status) for address, _, path, status in
               firmware.http_requests(http.log())]
    assert (report["ip"], "/ipxe.cfg", 200) in fetched, fetched
