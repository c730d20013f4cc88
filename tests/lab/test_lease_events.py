"""Lease events from the real dhcpd, end to end, in a network-namespace lab.

dhcpd runs with rackd's default event source (its own per-packet lines,
plus hooks.log_statements for expiries) and its stderr appended to a log
file; perfdhcp, dhclient and raw packets are the clients. The follower reads
the log (and the leases file, for lease times) into the journal. Every
DHCPACK dhcpd logged must be exactly one commit event, across a restart of
the follower and of dhcpd and a rewrite of the leases file.
"""

import collections
import os
import re
import sys
import time

import pytest

from provisioningserver.dhcp import hooks
from provisioningserver.leases.journal import Journal
from provisioningserver.leases.follow import LogFollower
from provisioningserver.leases.lookups import KnownClients, LineEvents, file_version
from tests.lab import rawclient
from tests.lab.dhclient import Dhclient
from tests.lab.netns import Lab
from tests.lab.rackd import REPO

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


def _follower(dhcpd, journal, reserved=()):
    """The follower as rackd builds it; ``reserved``: the MACs of its hosts."""
    known = KnownClients(file_version(dhcpd.leases + ".no-state"), lambda: reserved)
    events = LineEvents(dhcpd.leases, known if dhcpd.family == 4 else None)
    return LogFollower(dhcpd.log, journal, "dhcpd%d" % dhcpd.family, events=events)


def _drain(follower, rounds=3):
    for _ in range(rounds):
        follower.poll()


def _events(journal, action, family):
    return [e for _, e in journal.pending(100000) if e.action == action and e.ip_family == family]


def test_every_v4_ack_is_one_commit_across_restarts(lab, tmp_path):
    """ACKs == commits (ip, mac), each with its lease time, with dhcpd
    restarted (which rewrites its leases file) under a running follower, and
    the follower itself away while dhcpd serves."""
    server, client = lab.hosts["srv"], lab.hosts["cli"]
    dhcpd = Server(server, 4, V4_CONF % {"lease": 600})
    journal = Journal(str(tmp_path / "journal.db"))
    dhcpd.start()
    _perfdhcp(client, 4, 150, 60)
    follower = _follower(dhcpd, journal)
    _drain(follower)
    dhcpd.stop()
    dhcpd.start()  # dhcpd restart: same log file, appended; a new leases file
    _perfdhcp(client, 4, 100, 80)
    _drain(follower)
    assert follower.line_events.leases.rereads >= 1
    follower.close()  # rackd goes away ...
    _perfdhcp(client, 4, 100, 80)  # ... while dhcpd keeps serving
    follower = _follower(dhcpd, journal)  # rackd is back
    _drain(follower)
    acks = collections.Counter(ACK.findall(dhcpd.text()))
    commits = collections.Counter((e.ip, e.mac) for e in _events(journal, "commit", 4))
    assert sum(acks.values()) >= 300
    assert commits == acks
    assert all(e.unknown_client and e.lease_time == 600 for e in _events(journal, "commit", 4))
    assert follower.rejected == follower.rejected_transactions == 0
    follower.close()
    dhcpd.stop()


# DORA, then RELEASE, for each host name, from raw packets (tests/lab/dhcppacket.py).
HOSTILE_SCRIPT = r"""
import random, socket, sys
from tests.lab import dhcppacket, rawclient
names = [b"a) via eth0", b"x\nDHCPACK on 198.18.9.9 to 00:11:22:33:44:55 via s0",
         b"sp (paren", b"\xff\xfe", b"n) via c0 (not found", b"rackd-lease 1 commit 4 1.2.3.4"]
sock = rawclient.open_socket("c0")
send = lambda message: sock.sendto(message, ("255.255.255.255", 67))
for i, name in enumerate(names):
    mac, xid = "02:00:5e:10:01:%02x" % (i + 1), random.getrandbits(32)
    send(dhcppacket.build("DISCOVER", xid, mac, {12: name}))
    offer = [r for r in rawclient.collect(sock, xid, 2.0, 0.1)
             if r["message_type"] == "OFFER"][0]
    send(dhcppacket.build("REQUEST", xid, mac, {12: name, 54: socket.inet_aton("198.18.0.1"),
                                                50: socket.inet_aton(offer["yiaddr"])}))
    assert [r["message_type"] for r in rawclient.collect(sock, xid, 2.0, 0.1)] == ["ACK"]
    sock.sendto(dhcppacket.build("RELEASE", random.getrandbits(32), mac,
                                 {12: name, 54: socket.inet_aton("198.18.0.1")}, flags=0,
                                 ciaddr=offer["yiaddr"]), ("198.18.0.1", 67))
    print(mac, offer["yiaddr"])
"""


def test_hostile_host_names_neither_forge_nor_hide_events(lab, tmp_path):
    """Clients whose host names hold parentheses, " via ", a newline with a
    forged DHCPACK line, bytes that are not text, or a rackd record each give
    exactly one commit and one release with their own address and MAC; no
    event names anything else, and the names kept are cleaned."""
    server, client = lab.hosts["srv"], lab.hosts["cli"]
    dhcpd = Server(server, 4, V4_CONF % {"lease": 600})
    journal = Journal(str(tmp_path / "journal.db"))
    dhcpd.start()
    time.sleep(0.5)
    out = client.run([sys.executable, "-c", HOSTILE_SCRIPT], cwd=REPO, timeout=60).stdout
    leased = sorted(tuple(line.split()) for line in out.splitlines())
    assert len(leased) == 6
    follower = _follower(dhcpd, journal)
    deadline = time.monotonic() + 10
    while len(_events(journal, "release", 4)) < 6 and time.monotonic() < deadline:
        follower.poll()
        time.sleep(0.2)
    commits = _events(journal, "commit", 4)
    releases = _events(journal, "release", 4)
    assert sorted((e.mac, e.ip) for e in commits) == leased
    assert sorted((e.mac, e.ip) for e in releases) == leased
    assert {e.hostname for e in commits} == {
        "aviaeth0", None, "spparen", "nviac0notfound", "rackd-lease1commit41.2.3.4"}
    assert all(e.lease_time == 600 for e in commits)
    follower.close()
    dhcpd.stop()


def test_dhclient_release_and_expiry_arrive(lab, tmp_path):
    """dhclient -r gives a release event; an unrenewed short lease an expiry."""
    server, client = lab.hosts["srv"], lab.hosts["cli"]
    dhcpd = Server(server, 4, V4_CONF % {"lease": 3})
    journal = Journal(str(tmp_path / "journal.db"))
    follower = _follower(dhcpd, journal)
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
    follower = _follower(dhcpd, journal)
    _drain(follower)
    replies = collections.Counter(REPLY_NA.findall(dhcpd.text()))
    commits = collections.Counter((e.ip, e.duid) for e in _events(journal, "commit", 6))
    assert sum(replies.values()) >= 20
    assert commits == replies
    follower.close()
    dhcpd.stop()


def test_a_reserved_client_gets_its_lease_time_and_is_known(lab, tmp_path):
    """A fixed-address (reserved) lease, which dhcpd keeps out of its leases
    file, has its lease time from the default source's static record; its
    MAC is known to the reservations, and a pool client's is not."""
    server, client = lab.hosts["srv"], lab.hosts["cli"]
    reserved, other = "02:00:5e:10:02:01", "02:00:5e:10:02:02"
    conf = V4_CONF % {"lease": 600} + (
        "host r1 { hardware ethernet %s; fixed-address 198.18.5.5; }\n" % reserved)
    dhcpd = Server(server, 4, conf)
    journal = Journal(str(tmp_path / "journal.db"))
    dhcpd.start()
    time.sleep(0.5)
    for mac in (reserved, other, reserved):
        assert rawclient.query(client, ifname="c0", mac=mac, request=True)["acks"]
    follower = _follower(dhcpd, journal, reserved=(reserved,))
    deadline = time.monotonic() + 10
    while len(_events(journal, "commit", 4)) < 3 and time.monotonic() < deadline:
        follower.poll()
        time.sleep(0.2)
    commits = [(e.mac, e.ip, e.lease_time, e.unknown_client)
               for e in _events(journal, "commit", 4)]
    assert commits[0] == commits[2] == (reserved, "198.18.5.5", 600, False)
    assert commits[1][0] == other and commits[1][2:] == (600, True)
    assert len(commits) == 3 == len(ACK.findall(dhcpd.text()))
    follower.close()
    dhcpd.stop()
