"""The transaction log through the real rackd, dhcpd and dhclient (issue I).

A dhclient's DORA shows in ``rackctl log --mac`` as DISCOVER, OFFER,
REQUEST, ACK with its MAC, address and interface; a DISCOVER with the pool
full and a REQUEST for an address of another network are counted per pool
in ``rackctl log --problems``.
"""

import json
import sys

import pytest

from tests.lab import rawclient
from tests.lab.dhclient import Dhclient
from tests.lab.rackd import REPO, rack_and_client, wait_until

pytestmark = pytest.mark.lab

POOL = {"ip_range_low": "198.18.0.100", "ip_range_high": "198.18.0.100"}  # one address
DOCUMENT = {"shared_networks": [{"name": "lab", "interface": "eth0", "subnets": [{
    "subnet_cidr": "198.18.0.0/24", "pools": [POOL]}]}]}

# An INIT-REBOOT DHCPREQUEST for an address of a network this rack does not
# serve: an authoritative dhcpd NAKs it.
NAK_SCRIPT = """
import random, socket
from tests.lab import dhcppacket, rawclient
sock = rawclient.open_socket("eth0")
xid = random.getrandbits(32)
sock.sendto(dhcppacket.build("REQUEST", xid, "02:00:5e:10:00:78",
                             {50: socket.inet_aton("198.18.9.9")}), ("255.255.255.255", 67))
replies = rawclient.collect(sock, xid, 3.0, 0.2)
print([r["message_type"] for r in replies])
"""


def log(agent, *args):
    return json.loads(agent.rackctl("log", *args, "--json").stdout)


def test_dora_shows_in_the_log_and_problems_count_per_pool(lab):
    """DORA in order with the right MAC, IP and interface; no free leases and
    a NAK each counted against the pool's subnet."""
    agent, client = rack_and_client(lab)
    agent.configure(DOCUMENT)
    lease = Dhclient(client).obtain()
    assert lease.address == "198.18.0.100"
    mac = client.mac("eth0")

    def dora():
        # The first DISCOVER, OFFER, REQUEST and ACK, in that order: a slow
        # answer can make dhclient send a DISCOVER or REQUEST twice.
        found, want = [], ["DISCOVER", "OFFER", "REQUEST", "ACK"]
        for t in log(agent, "--mac", mac):
            if len(found) < 4 and t["type"] == want[len(found)]:
                found.append(t)
        return found if len(found) == 4 else None

    discover, offer, request, ack = wait_until(dora, what="the DORA in rackctl log")
    assert all(t["mac"] == mac and t["interface"] == "eth0" and t["family"] == 4
               for t in (discover, offer, request, ack))
    assert offer["ip"] == request["ip"] == ack["ip"] == lease.address
    assert request["server"] == "198.18.0.1"
    assert [t["type"] for t in log(agent, "--ip", lease.address, "--since", "1h")][-3:] == [
        "OFFER", "REQUEST", "ACK"]

    assert rawclient.query(client, mac="02:00:5e:10:00:77", timeout=1.0)["offers"] == []
    nak = client.run([sys.executable, "-c", NAK_SCRIPT], cwd=REPO).stdout
    assert "NAK" in nak

    def problems():
        rows = {(p["subnet"], p["pool"], p["kind"]): p for p in log(agent, "--problems")}
        return rows if len(rows) == 2 else None

    rows = wait_until(problems, what="both problems in rackctl log --problems")
    no_free = rows[("198.18.0.0/24", "198.18.0.100-198.18.0.100", "no_free_leases")]
    nak = rows[("198.18.0.0/24", None, "nak")]
    assert no_free["count"] >= 1 and no_free["last_minute"] >= 1
    assert nak["count"] == 1 and nak["family"] == 4
    (refused,) = [t for t in log(agent, "--mac", "02:00:5e:10:00:77")
                  if t["reason"] == "no free leases"]
    # rackd renders a shared-network, so dhcpd names it rather than the subnet.
    assert refused["network"] == "lab" and refused["interface"] == "eth0"
    text = agent.rackctl("log", "--problems").stdout
    assert "no_free_leases" in text and "198.18.0.100-198.18.0.100" in text


DOCUMENT_V6 = {"shared_networks": [{"name": "lab6", "interface": "eth0", "subnets": [{
    "subnet_cidr": "2001:db8:40::/64",
    "pools": [{"ip_range_low": "2001:db8:40::1000", "ip_range_high": "2001:db8:40::10ff"}]}]}]}


def test_a_dhcpv6_exchange_shows_in_the_log(lab):
    """dhclient -6: Solicit, Advertise, Request, Reply are logged; the
    address's own records (Advertise NA, Reply NA) carry the client's DUID."""
    from tests.lab.test_boot import Dhclient6

    agent, client = rack_and_client(lab)
    agent.host.add_address("eth0", "2001:db8:40::1/64")
    agent.configure(DOCUMENT_V6, ipv6=True)
    dhclient = Dhclient6(client, name="dhclient6")
    try:
        dhclient.start()
        address = dhclient.wait_for(("BOUND6",)).variables["new_ip6_address"]
    finally:
        dhclient.stop()

    def by_address():
        got = log(agent, "--ip", address)
        return got if [t["type"] for t in got][:2] == ["ADVERTISE", "REPLY"] else None

    advertise, reply = wait_until(by_address, what="the v6 exchange in rackctl log")[:2]
    assert advertise["family"] == reply["family"] == 6
    assert advertise["duid"] and advertise["duid"] == reply["duid"]
    types = [t["type"] for t in log(agent) if t["family"] == 6]
    assert types[:2] == ["SOLICIT", "ADVERTISE"] and "REQUEST" in types
