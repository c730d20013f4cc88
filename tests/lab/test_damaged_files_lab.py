"""A damaged state file, lease journal or leases file: rackd starts, says so, serves.

For each of rackd's three files, a rack that has served a client (so the
journal holds its lease events and the leases file its lease) is stopped,
the file is cut to a few byte counts or overwritten with garbage, and a
new rackd is started: it must come up, log one line naming the file and
where it moved it (``*.corrupt-TIME``), and dhcpd must offer an address to
a DISCOVER once configured. The leases file only matters when dhcpd
starts, so for it dhcpd is killed with rackd and the new rackd's resume
starts it from the damaged file.
"""

import glob
import os
import signal

import pytest

from tests.lab.rackd import rack_and_client, wait_until
from tests.lab.rawclient import query
from tests.lab.test_reservations import document, host

pytestmark = pytest.mark.lab

DOC = document([host("h1", "02:30:00:00:00:01", "198.18.0.31")])


def damaged(data, damage):
    if damage == "garbage":  # braces that never balance: no statement splits
        return b"}{\x00\xff garbage \"" + bytes(range(256)) * 4
    return data[:damage]


def offers(client):
    return query(client, timeout=3.0)["offers"]


def serve_and_stop(agent, client, kill_dhcpd=False):
    """Configure, give the client a lease (journal events, a lease record), stop."""
    agent.configure(DOC)
    assert query(client, request=True)["acks"]
    pid = agent.dhcpd_pid()
    agent.stop()
    if kill_dhcpd:
        os.kill(pid, signal.SIGKILL)


def restart_and_check(agent, client, path, data, words, log_from):
    with open(path, "wb") as stream:
        stream.write(data)
    agent.start()
    log = agent.process.log()[log_from:]
    lines = [line for line in log.splitlines() if words in line and "moved aside to" in line]
    assert len(lines) == 1, (len(data), sorted(os.listdir(os.path.dirname(path))), log)
    assert glob.glob(path + ".corrupt-*"), os.listdir(os.path.dirname(path))
    agent.configure(DOC)
    assert offers(client), f"no OFFER after {words}: {agent.dhcpd_log()[-2000:]}"
    for leftover in glob.glob(path + ".corrupt-*"):
        os.unlink(leftover)


@pytest.mark.parametrize("name, words", [
    ("applied-v4.json", "Applied state for IPv4 unreadable"),
    ("leases.db", "is damaged"),
])
def test_a_damaged_state_file_or_journal_is_moved_aside_and_dhcpd_serves(lab, name, words):
    """Cut to 1 byte, to 100 bytes, to half, or garbage: rackd starts, logs
    one line saying it moved the file aside, and after a configure dhcpd
    offers an address."""
    agent, client = rack_and_client(lab)
    path = os.path.join(agent.state_dir, name)
    for damage in (1, 100, "half", "garbage"):
        serve_and_stop(agent, client)
        with open(path, "rb") as stream:
            good = stream.read()
        cut = len(good) // 2 if damage == "half" else damage
        restart_and_check(agent, client, path, damaged(good, cut), words,
                          len(agent.process.log()))


def test_a_damaged_leases_file_is_moved_aside_and_dhcpd_starts_from_what_came_before(lab):
    """With dhcpd killed too, the leases file cut inside its first lease,
    before its last closing brace, or garbage: the new rackd starts dhcpd (its resume) from the statements
    before the damage, logs one line, and dhcpd offers before and after a
    configure."""
    agent, client = rack_and_client(lab)
    path = os.path.join(agent.state_dir, "dhcpd.leases")
    for damage in ("inside a lease", "the last brace", "garbage"):
        serve_and_stop(agent, client, kill_dhcpd=True)
        with open(path, "rb") as stream:
            good = stream.read()
        cut = {"inside a lease": good.find(b"\nlease ") + 20,
               "the last brace": good.rstrip().rfind(b"}")}.get(damage, damage)
        log_from = len(agent.process.log())
        with open(path, "wb") as stream:
            stream.write(damaged(good, cut))
        agent.start()
        wait_until(lambda: agent.status()["v4"]["state"] == "running", what="dhcpd resumed")
        assert offers(client)
        log = agent.process.log()[log_from:]
        assert len([line for line in log.splitlines()
                    if "Leases file" in line and "moved aside to" in line]) == 1, log
        agent.configure(DOC)
        assert offers(client)
        for leftover in glob.glob(path + ".corrupt-*"):
            os.unlink(leftover)
