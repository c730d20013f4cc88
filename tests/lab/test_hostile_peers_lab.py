"""The real rackd's sockets under hostile peers (issue N, points 3, 4, 5, 7).

One rackd in a lab host; its control socket and lease socket are files, so
the test reaches them from the root namespace with raw sockets and rackctl:
an argument that cannot be read is answered and the connection kept; 3,000
bad hosts reach rackctl as paths; a box that never ends closes only its own
connection, with rackd's memory bounded; so does a peer that never reads
its replies; a flood of bad lease datagrams is one log line, not one each.
"""

import json
import os
import shutil
import socket
import tempfile

import pytest

from provisioningserver.rpc import ampbox
from tests.lab.rackd import rack_and_client, wait_until
from tests.rpc.test_guarded_socket import ask, connect, flood

pytestmark = pytest.mark.lab


@pytest.fixture
def agent(lab):
    short = tempfile.mkdtemp(prefix="rkh")  # a unix socket path must stay short
    lab.teardown.push("remove " + short, lambda: shutil.rmtree(short, True))
    agent, _ = rack_and_client(lab, lease_socket=os.path.join(short, "notify.sock"))
    return agent


def _memory(pid, field):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field + ":"))


def test_rackd_answers_unreadable_arguments_and_keeps_the_connection(agent):
    """A chunk count of 10^20 and data that is not zlib are INVALID_DOCUMENT
    naming ``document``; the same connection then answers GetStatus."""
    with connect(agent.socket) as sock:
        for n, document in enumerate([{b"document": b"1" + b"0" * 20},
                                      {b"document": b"1", b"document.0": b"garbage"}]):
            reply = ask(sock, {ampbox.COMMAND: b"Configure", b"ip_version": b"4", **document},
                        b"%d" % n)
            assert reply[ampbox.ERROR_CODE] == b"INVALID_DOCUMENT"
            [problem] = json.loads(reply[ampbox.ERROR_DESCRIPTION])["errors"]
            assert problem["field"] == "document"
        assert ask(sock, {ampbox.COMMAND: b"GetStatus"}, b"9")[ampbox.ANSWER] == b"9"


def test_three_thousand_bad_hosts_reach_rackctl_as_paths(agent):
    """rackd's own validator finds 3,000 bad MACs: rackctl exits 2 with the
    paths that fit one reply and the count of the rest."""
    document = {"shared_networks": [{"name": "lan", "interface": "eth0", "subnets": [
        {"subnet_cidr": "198.18.0.0/24"}]}],
        "hosts": [{"host": f"h{i}", "mac": f"bad-{i}", "ip": f"198.18.0.{i % 200 + 2}"}
                  for i in range(3000)]}
    result = agent.rackctl("configure", "-", stdin=json.dumps(document), check=False)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.splitlines()
    assert any(line.startswith("rackctl: hosts[0].mac: ") for line in lines)
    assert any(" more, not shown " in line for line in lines), lines[-3:]
    assert agent.rackctl("status").returncode == 0


def test_a_box_that_never_ends_costs_rackd_at_most_the_bound(agent):
    """64 MiB of one box that never ends: rackd closes that connection by
    8 MiB, its peak memory grows by less than twice that, and it answers on."""
    pid = agent.process.pid
    before = _memory(pid, "VmRSS")
    value = b"j" * 60_000
    with connect(agent.socket) as flood:
        try:
            for i in range(64 * 1024 * 1024 // len(value)):
                flood.sendall(ampbox.encode_box({b"junk.%d" % i: value})[:-2])
        except (BrokenPipeError, ConnectionResetError):
            pass
        else:
            assert flood.recv(1) == b"", "rackd read all 64 MiB without closing"
    assert _memory(pid, "VmHWM") - before < 2 * ampbox.MAX_BOX
    assert "a box passed 8388608 bytes without ending" in agent.process.log()
    assert agent.rackctl("status").returncode == 0


def test_a_peer_that_never_reads_costs_rackd_at_most_its_write_bound(agent):
    """A peer sends GetStatus as fast as rackd takes it and reads no reply:
    rackd stops reading it (the sends stall long before 100,000), its peak
    memory grows by less than 4 MiB, and rackctl status is answered meanwhile."""
    pid = agent.process.pid
    before = _memory(pid, "VmRSS")
    with connect(agent.socket) as flooding:
        sent = flood(flooding, {ampbox.COMMAND: b"GetStatus", ampbox.ASK: b"1"}, 100_000)
        assert sent < 100_000
        assert agent.rackctl("status").returncode == 0
    assert _memory(pid, "VmHWM") - before < 4 << 20


def test_a_flood_of_bad_lease_datagrams_is_one_log_line(agent):
    """524 bad datagrams on the lease socket: one line in rackd's log (the
    rest are counted for the summary a minute later), and rackd answers."""
    path = agent.settings["lease_socket"]
    wait_until(lambda: os.path.exists(path), what="the lease socket")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        for i in range(524):
            sender.sendto(b"rackd-lease 1 commit 4 198.18.0.%d" % (i % 250), path)
    wait_until(lambda: "lease datagram rejected" in agent.process.log(), what="the first line")
    assert agent.rackctl("status").returncode == 0
    assert agent.process.log().count("lease datagram rejected") == 1
