"""rackd serving real clients: renewals, reservations, PXE boot (issue A3).

A rack namespace runs rackd (and its dhcpd); a client namespace runs dhclient
or the lab's raw client; one switch joins them.
"""

import copy

import pytest

from tests.lab import rawclient
from tests.lab.dhclient import Dhclient
from tests.lab.rackd import rack_and_client

pytestmark = pytest.mark.lab

RACK = "198.18.0.1"
DOCUMENT = {
    "shared_networks": [{"name": "lab", "mtu": 1400, "subnets": [{
        "subnet_cidr": "198.18.0.0/24",
        "router_ip": "198.18.0.254",
        "dns_servers": ["198.18.0.53"],
        "ntp_servers": ["198.18.0.123"],
        "domain_name": "lab.example",
        "search_list": ["lab.example", "example.net"],
        "pools": [{"ip_range_low": "198.18.0.100", "ip_range_high": "198.18.0.150"}],
    }]}],
}


def test_changed_dns_server_reaches_the_client_on_renewal(lab):
    """With short leases, a new DNS server configured in rackd reaches a bound
    dhclient at its next renewal, without the client restarting."""
    agent, client = rack_and_client(lab, lease_time=6)
    agent.configure(DOCUMENT)
    dhclient = Dhclient(client)
    first = dhclient.obtain()
    assert first.dns_servers == ("198.18.0.53",)
    changed = copy.deepcopy(DOCUMENT)
    changed["shared_networks"][0]["subnets"][0]["dns_servers"] = ["198.18.0.54"]
    assert agent.configure(changed)["action"] == "restarted"
    seen = len(dhclient.events())
    renewed = dhclient.wait_for(("RENEW", "REBIND"), after=seen, timeout=20)
    assert renewed.address == first.address
    assert renewed.dns_servers == ("198.18.0.54",)


def test_reserved_mac_gets_its_address(lab):
    """A host reservation for the client's MAC gives it that address, not a pool one."""
    agent, client = rack_and_client(lab)
    document = copy.deepcopy(DOCUMENT)
    document["hosts"] = [{"host": "node-01", "mac": client.mac("eth0"), "ip": "198.18.0.42"}]
    agent.configure(document)
    assert Dhclient(client).obtain().address == "198.18.0.42"


@pytest.mark.parametrize("arch, filename, prefix, vendor", [
    (0, "lpxelinux.0", f"http://{RACK}:5248/boot/", None),
    (7, "bootx64.efi", None, None),
    (16, f"http://{RACK}:5248/boot/bootx64.efi", None, "HTTPClient"),
], ids=["bios", "uefi-amd64-tftp", "uefi-amd64-http"])
def test_pxe_client_gets_the_boot_file_for_its_architecture(lab, arch, filename, prefix, vendor):
    """Option 93 picks the boot file; next-server is the rack's address; HTTP boot
    answers with vendor class HTTPClient, PXELINUX gets its path prefix."""
    agent, client = rack_and_client(lab)
    agent.configure(DOCUMENT)
    answer = rawclient.query(client, arch=[arch], request=True)
    assert answer["offers"] and answer["acks"], answer
    for reply in (answer["offers"][0], answer["acks"][0]):
        assert reply["file"] == filename
        assert reply["siaddr"] == RACK
        options = reply["options"]
        assert options.get("path-prefix") == prefix
        assert options.get("vendor-class-identifier") == vendor


def test_raw_offer_matches_dhclient_lease(lab):
    """The raw client's view of an OFFER from rackd's dhcpd carries exactly what
    dhclient's lease reports."""
    agent, client = rack_and_client(lab)
    agent.configure(DOCUMENT)
    lease = Dhclient(client).obtain()
    [offer] = rawclient.query(client)["offers"]
    options = offer["options"]
    assert options["subnet-mask"] == lease.subnet_mask
    assert tuple(options["routers"]) == lease.routers == ("198.18.0.254",)
    assert tuple(options["domain-name-servers"]) == lease.dns_servers
    assert options["domain-name"] == lease.domain_name
    assert tuple(options["domain-search"]) == lease.search_list
    assert tuple(options["ntp-servers"]) == lease.ntp_servers == ("198.18.0.123",)
    assert options["interface-mtu"] == lease.mtu == 1400
    assert offer["siaddr"] == lease.next_server == RACK
    assert offer["file"] == lease.filename
