"""Lease events from the real dhcpd, end to end, in a network-namespace lab.

dhcpd runs with rackd's default event source (hooks.log_statements) and its
stderr appended to a log file; perfdhcp and dhclient are the clients. The
follower reads the log into the journal. Every DHCPACK dhcpd logged must be
exactly one commit event, across a restart of the follower and of dhcpd.
"""

import collections
import time
import os
import re

import pytest

from provisioningserver.dhcp import hooks
from provisioningserver.services.journal import Journal
from provisioningserver.services.leasefollow import LogFollower
from tests.lab.dhclient import Dhclient
from tests.lab.netns import Lab

pytestmark = pytest.mark.lab

V4_CONF = """\
ping-check false;
authoritative;
default-lease-time %(lease)d; max-lease-time %(lease)d; min-lease-time %(lease)d;
subnet 198.18.0.0 netmask 255.255.0.0 { pool { range 198.18.1.0 198.18.3.255; } }
"""
V6_CONF = """\
default-lease-time 600; max-lease-time 600; preferred-lifetime 300;
subnet6 2001:db8:8::/64 { range6 2001:db8:8::1000 2001:db8:8::ffff; }
"""
ACK = re.compile(r"^DHCPACK on (\S+) to (\S+)", re.M)
REPLY_NA = re.compile(r"^Reply NA: address (\S+) to client with duid (\S+)", re.M)


class Server:
    """dhcpd in a lab host, stderr appended to one log file across restarts."""

    def __init__(self, host, family, conf, ifname="s0"):
        self.host, self.family, self.ifname = host, family, ifname
        self.conf = host.path("dhcpd%d.conf" % family)
        self.leases = host.path("dhcpd%d.leases" % family)
        self.pid = host.path("dhcpd%d.pid" % family)
        self.log = host.path("dhcpd%d.log" % family)
        with open(self.conf, "w") as f:
            f.write(conf + hooks.log_statements(family))
        open(self.leases, "a").close()
        self.process = None

    def start(self):
        if os.path.exists(self.pid):
            os.unlink(self.pid)
        argv = ["dhcpd", "-d", "-%d" % self.family, "-cf", self.conf, "-lf", self.leases,
                "-pf", self.pid, self.ifname]
        self.process = self.host.popen(argv, name="dhcpd%d" % self.family, log=self.log)

    def stop(self):
        self.process.stop()

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()


@pytest.fixture
def lab():
    with Lab(prefix="rkh8-%d-" % os.getpid()) as lab:
        server, client = lab.add_host("srv"), lab.add_host("cli")
        lab.link(server, client, "s0", "c0")
        server.add_address("s0", "198.18.0.1/16")
        client.add_address("c0", "198.18.0.2/16")
        server.add_address("s0", "2001:db8:8::1/64")
        client.add_address("c0", "2001:db8:8::2/64")
        yield lab


def _perfdhcp(client, family, count, clients):
    argv = ["perfdhcp", "-%d" % family, "-l", "c0", "-r", "200", "-n", str(count),
            "-R", str(clients)]
    if family == 4:
        argv.append("198.18.0.1")
    return client.run(argv, check=False, timeout=60)


def _drain(follower, rounds=3):
    for _ in range(rounds):
        follower.poll()


def _events(journal, action, family):
    return [e for _, e in journal.pending(100000) if e.action == action and e.ip_family == family]


def test_every_v4_ack_is_one_commit_across_restarts(lab, tmp_path):
    """ACKs == commits (ip, mac), with the follower and dhcpd restarted midway."""
    server, client = lab.hosts["srv"], lab.hosts["cli"]
    dhcpd = Server(server, 4, V4_CONF % {"lease": 600})
    journal = Journal(str(tmp_path / "journal.db"))
    dhcpd.start()
    _perfdhcp(client, 4, 150, 60)
    follower = LogFollower(dhcpd.log, journal, "dhcpd4")
    _drain(follower)
    follower.close()  # rackd goes away ...
    _perfdhcp(client, 4, 100, 80)  # ... while dhcpd keeps serving
    dhcpd.stop()
    dhcpd.start()  # dhcpd restart: same log file, appended
    _perfdhcp(client, 4, 100, 80)
    follower = LogFollower(dhcpd.log, journal, "dhcpd4")  # rackd is back
    _drain(follower)
    acks = collections.Counter(ACK.findall(dhcpd.text()))
    commits = collections.Counter((e.ip, e.mac) for e in _events(journal, "commit", 4))
    assert sum(acks.values()) >= 300
    assert commits == acks
    assert all(e.unknown_client and e.lease_time == 600 for e in _events(journal, "commit", 4))
    follower.close()
    dhcpd.stop()


def test_dhclient_release_and_expiry_arrive(lab, tmp_path):
    """dhclient -r gives a release event; an unrenewed short lease an expiry."""
    server, client = lab.hosts["srv"], lab.hosts["cli"]
    dhcpd = Server(server, 4, V4_CONF % {"lease": 3})
    journal = Journal(str(tmp_path / "journal.db"))
    follower = LogFollower(dhcpd.log, journal, "dhcpd4")
    dhcpd.start()
    dhclient = Dhclient(client, ifname="c0", timeout=10)
    lease = dhclient.obtain()
    mac = client.mac("c0")
    dhclient.stop()
    client.run(["dhclient", "-r", "-sf", dhclient.script_path, "-cf", dhclient.conf_path,
                "-lf", dhclient.lease_path, "-pf", dhclient.pid_path, "-e",
                "RKLAB_EVENTS=" + dhclient.events_dir, "c0"], timeout=20)
    _perfdhcp(client, 4, 5, 5)  # leases nobody renews: they expire

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not _events(journal, "expiry", 4):
        follower.poll()
        time.sleep(0.5)
    releases = _events(journal, "release", 4)
    assert [(e.ip, e.mac) for e in releases] == [(lease.address, mac)]
    assert _events(journal, "expiry", 4), dhcpd.text()[-2000:]
    follower.close()
    dhcpd.stop()


def test_v6_replies_become_commits(lab, tmp_path):
    """Every DHCPv6 Reply NA dhcpd logged is one commit with address and DUID."""
    server, client = lab.hosts["srv"], lab.hosts["cli"]
    dhcpd = Server(server, 6, V6_CONF)
    journal = Journal(str(tmp_path / "journal.db"))
    dhcpd.start()

    time.sleep(0.5)
    _perfdhcp(client, 6, 40, 20)
    follower = LogFollower(dhcpd.log, journal, "dhcpd6")
    _drain(follower)
    replies = collections.Counter(REPLY_NA.findall(dhcpd.text()))
    commits = collections.Counter((e.ip, e.duid) for e in _events(journal, "commit", 6))
    assert sum(replies.values()) >= 20
    assert commits == replies
    follower.close()
    dhcpd.stop()
