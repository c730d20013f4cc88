"""Lease events through the real rackd: reports and a restart (issue D).

rackd serves dhclient with its default event source (dhcpd's own lines,
followed by rackd into the journal); rackctl's lease reports show
what happened, and an event logged while rackd was down is journaled
exactly once when it is back.
"""

import json

import pytest

from tests.lab.dhclient import Dhclient
from tests.lab.rackd import rack_and_client, wait_until
from tests.lab.test_agent import DOCUMENT

pytestmark = pytest.mark.lab

RESERVED_MAC = "02:00:5e:10:00:99"
RESERVED_IP = "198.18.0.20"  # reservations may not sit inside a pool


def document():
    doc = json.loads(json.dumps(DOCUMENT))
    doc["hosts"] = [{"host": "reserved", "mac": RESERVED_MAC, "ip": RESERVED_IP}]
    return doc


def report(agent, *args):
    return json.loads(agent.rackctl(*args, "--json").stdout)


def commits_logged(agent, mac):
    """The DHCPACKs dhcpd logged for ``mac``: the ground truth."""
    return sum(1 for line in agent.dhcpd_log().splitlines()
               if line.startswith("DHCPACK on ") and line.split()[4] == mac)


def commits_journaled(agent, mac):
    return [e for e in report(agent, "history", "--mac", mac) if e["action"] == "commit"]


def test_a_lease_shows_in_leases_history_pools_and_unknown(lab):
    """A dhclient's commit appears in rackctl leases and history --mac;
    pools counts it; its unreserved MAC is listed as unknown."""
    agent, client = rack_and_client(lab)
    agent.configure(document())
    lease = Dhclient(client).obtain()
    mac = client.mac("eth0")
    subnets = wait_until(lambda: [g for g in report(agent, "leases")
                                  if any(x["ip"] == lease.address for x in g["leases"])],
                         what="the lease in rackctl leases")
    assert subnets[0]["subnet"] == "198.18.0.0/24"
    (leased,) = [x for x in subnets[0]["leases"] if x["ip"] == lease.address]
    assert leased["mac"] == mac and leased["lease_time"] == 600
    history = commits_journaled(agent, mac)
    assert [e["ip"] for e in history] == [lease.address]
    assert history[0]["unknown_client"] is True
    (pool,) = report(agent, "pools")
    assert (pool["size"], pool["active"], pool["reserved"], pool["free"]) == (51, 1, 0, 50)
    unknown = report(agent, "unknown")
    assert [c["mac"] for c in unknown] == [mac]
    text = agent.rackctl("pools").stdout
    assert "198.18.0.100-198.18.0.150" in text
    assert agent.status()["lease_events"]["state"] == "standalone"  # no region configured


def test_an_event_while_rackd_is_down_is_journaled_once(lab):
    """A lease committed while rackd is stopped is read when it starts
    again: every commit dhcpd logged is in the history exactly once."""
    agent, client = rack_and_client(lab)
    agent.configure(document())
    dhclient = Dhclient(client)
    dhclient.obtain()
    mac = client.mac("eth0")
    wait_until(lambda: commits_journaled(agent, mac), what="the first commit")
    agent.stop()
    dhclient.restart()
    wait_until(lambda: commits_logged(agent, mac) == 2, what="dhcpd to log the second commit")
    agent.start()
    wait_until(lambda: len(commits_journaled(agent, mac)) >= 2, what="the second commit")
    # A few more polls of the follower: nothing is read twice.
    import time
    time.sleep(1.5)
    assert len(commits_journaled(agent, mac)) == commits_logged(agent, mac) == 2
