"""A full disk under rackd: configures fail clearly, dhcpd serves, no event is lost.

rackd's state directory (state file, config, dhcpd's leases file, the
lease journal) is a 2 MB tmpfs the test mounts on a directory of its own
lab (unmounted in teardown, also on failure); dhcpd's log directory is a
tmpfs of its own inside it, as a separate log volume would be, so that
the lines the journal is fed keep coming while the state volume is full.
With the volume filled to the last byte:

- a hosts-only and a structural configure both fail with an error naming
  the space problem, and nothing changes: dhcpd keeps its pid and offers;
- the DISCOVERs made meanwhile reach the journal once space returns (the
  follower keeps its place and reads them again), and no event journaled
  before is gone;
- once space returns the same configure succeeds.
"""

import os
import sqlite3
import subprocess

import pytest

from tests.lab.rackd import rack_and_client, wait_until
from tests.lab.rawclient import query
from tests.lab.test_reservations import document, host, omshell_host

pytestmark = pytest.mark.lab


def mount_tmpfs(lab, path, size):
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", path],
                   check=True)
    lab.teardown.push("unmount " + path,
                      lambda: subprocess.run(["umount", "-l", path], check=False))


def fill(path):
    """Write zeros to ``path`` until the volume is full; the bytes written."""
    written = 0
    with open(path, "wb", buffering=0) as stream:
        try:
            while True:
                written += stream.write(bytes(65536))
        except OSError:
            pass
    with open(path, "ab", buffering=0) as stream:  # the last partial block
        try:
            while True:
                written += stream.write(b"\0")
        except OSError:
            pass
    return written


def journal_counts(state_dir, macs=()):
    """(events in the history, highest id, DISCOVERs journaled for ``macs``)."""
    db = sqlite3.connect(f"file:{os.path.join(state_dir, 'leases.db')}?mode=ro", uri=True)
    try:
        count, top = db.execute("SELECT count(*), max(id) FROM history").fetchone()
        seen = {row[0] for row in db.execute(
            "SELECT DISTINCT mac FROM transactions WHERE type = 'DISCOVER'")}
    finally:
        db.close()
    return count, top, {mac for mac in macs if mac in seen}


def test_a_full_state_volume_fails_configures_clearly_and_loses_no_event(lab):
    """See the module docstring."""
    small = os.path.join(lab.workdir, "small")
    mount_tmpfs(lab, small, "2m")
    state_dir = os.path.join(small, "state")
    mount_tmpfs(lab, os.path.join(state_dir, "log"), "16m")
    agent, client = rack_and_client(lab, state_dir=state_dir,
                                    run_dir=os.path.join(small, "run"))
    first = document([host("h1", "02:40:00:00:00:01", "198.18.0.41")])
    assert agent.configure(first)["action"] == "started"
    pid = agent.dhcpd_pid()
    for _ in range(3):
        assert query(client, request=True)["acks"]
    wait_until(lambda: journal_counts(state_dir)[0] >= 3, what="the commits journaled")
    before, top_before, _ = journal_counts(state_dir)

    filler = os.path.join(small, "fill")
    assert fill(filler) > 0
    more_hosts = document([host("h1", "02:40:00:00:00:01", "198.18.0.41"),
                           host("h2", "02:40:00:00:00:02", "198.18.0.42")])
    structural = dict(more_hosts)
    structural["shared_networks"] = [dict(more_hosts["shared_networks"][0])]
    structural["shared_networks"][0]["subnets"] = [
        dict(more_hosts["shared_networks"][0]["subnets"][0], dns_servers=["198.18.0.3"])]
    for doc in (more_hosts, structural):
        result = agent.configure(doc, check=False)
        assert result.returncode == 3, (result.stdout, result.stderr)
        assert "No space left on device" in result.stdout + result.stderr, result
        assert "internal error" not in result.stdout + result.stderr
    assert agent.dhcpd_pid() == pid
    assert omshell_host(agent, "h2") is None
    macs = [f"02:41:00:00:00:{n:02x}" for n in range(1, 6)]
    for mac in macs:  # served meanwhile: offers from the same dhcpd
        assert query(client, mac=mac)["offers"], mac
    assert agent.dhcpd_pid() == pid

    os.unlink(filler)
    wait_until(lambda: journal_counts(state_dir, macs)[2] == set(macs), timeout=30,
               what="the DISCOVERs made while the disk was full to be journaled")
    after, top_after, _ = journal_counts(state_dir)
    assert after >= before and top_after >= top_before
    outcome = agent.configure(more_hosts)
    assert outcome["action"] == "applied-live", outcome
    assert omshell_host(agent, "h2") is not None
    assert agent.configure(structural)["action"] == "restarted"
    assert query(client)["offers"]
