"""dhcpd killed (SIGKILL) under rackd: rackd converges on the full desired hosts.

dhcpd writes a host record to its leases file for every OMAPI change, so
the leases file's growth shows how far a live batch has got; the tests kill
dhcpd when it is part-way through one, or right after live changes that
left dhcpd holding a host under an older name. After the monitor's restart
(dhcpd reads its config and a leases file cleaned of host records) every
host of the document must be what the document says (OMAPI lookups by
MAC), and the next configure must go on from there.
"""

import os
import signal
import threading
import time

import pytest

from tests.lab.rackd import rack_and_client, wait_until
from tests.lab.test_reservations import (
    document, host, lookups, offered, omshell_host, omshell_ip)
from tests.lab.test_reservations import many

pytestmark = pytest.mark.lab


def exactly(agent, hosts, gone=()):
    """Every host of ``hosts`` as given in dhcpd, and none of ``gone``."""
    results = lookups(agent, list(hosts) + list(gone))
    wrong = [(h, r) for h, r in zip(hosts, results)
             if r.get("ok") != dict(name=h["host"], mac=h["mac"], ip=h["ip"])]
    assert not wrong, wrong[:5]
    assert all(r.get("error") == "OmapiNotFound" for r in results[len(hosts):])


def running_again(agent, old_pid):
    return wait_until(lambda: agent.status()["v4"]["state"] == "running"
                      and agent.status()["v4"]["pid"] not in (None, old_pid),
                      timeout=20, what="dhcpd to be restarted")


def test_dhcpd_killed_in_the_middle_of_a_live_batch(lab):
    """3,000 adds go live; dhcpd is killed once some hundreds are in its
    leases file. The configure still ends with dhcpd serving the whole
    document (its fallback restart, or the monitor's), every host looked
    up as given, and the same document again is unchanged."""
    agent, client = rack_and_client(lab, prefix=16)
    agent.configure(document(prefix=16))
    pid = agent.dhcpd_pid()
    leases = os.path.join(agent.state_dir, "dhcpd.leases")
    start = os.path.getsize(leases)
    hosts = many(3000)
    outcome = {}
    sent = threading.Thread(target=lambda: outcome.update(
        agent.configure(document(hosts, prefix=16))))
    sent.start()
    wait_until(lambda: os.path.getsize(leases) - start > 300 * 100, timeout=60,
               what="some hundreds of OMAPI adds")
    os.kill(pid, signal.SIGKILL)
    sent.join(120)
    assert outcome["action"] in ("restarted", "applied-live"), outcome
    running_again(agent, pid)
    exactly(agent, hosts)
    assert offered(client, hosts[-1]["mac"]) == hosts[-1]["ip"]
    assert agent.configure(document(hosts, prefix=16))["action"] == "unchanged"


def test_a_renamed_host_after_dhcpd_was_killed_and_restarted(lab):
    """A live rename leaves dhcpd's object under the old name (an alias in
    rackd's state); dhcpd is then killed and the monitor restarts it from
    the config, where the host has its new name. An address change and
    then the host's removal must reach dhcpd's object as it now is: the
    address is served, and after the removal no object is left under either
    name."""
    agent, client = rack_and_client(lab)
    mac = client.mac("eth0")
    agent.configure(document([host("c1", mac, "198.18.0.50")]))
    agent.configure(document([host("web-1", mac, "198.18.0.50")]))
    assert omshell_host(agent, "c1") is not None  # the alias: dhcpd's old name
    pid = agent.dhcpd_pid()
    os.kill(pid, signal.SIGKILL)
    running_again(agent, pid)
    assert omshell_host(agent, "web-1") is not None and omshell_host(agent, "c1") is None
    outcome = agent.configure(document([host("web-1", mac, "198.18.0.51")]))
    assert outcome["action"] in ("applied-live", "restarted"), outcome
    assert omshell_host(agent, "web-1")["ip-address"] == omshell_ip("198.18.0.51")
    assert offered(client, mac) == "198.18.0.51"
    time.sleep(0.2)
    agent.configure(document())
    assert omshell_host(agent, "web-1") is None and omshell_host(agent, "c1") is None
