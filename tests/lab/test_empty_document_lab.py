"""An empty file does not stop DHCP (issue L4), against the real rackd and dhcpd.

With rackd running and dhcpd serving, ``rackctl configure`` of a 0-byte file
and of a document with no shared networks both exit 2 and dhcpd keeps
running, the same process; with ``--allow-stop`` the second one stops it.
"""

import json

import pytest

from tests.lab.rackd import pid_alive, rack_and_client, wait_until
from tests.lab.test_agent import DOCUMENT

pytestmark = pytest.mark.lab


def _serving(lab):
    agent, _ = rack_and_client(lab)
    assert agent.configure(DOCUMENT)["action"] == "started"
    return agent, agent.dhcpd_pid()


def _still_serving(agent, pid):
    status = agent.status()["v4"]
    assert (status["state"], status["pid"]) == ("running", pid)
    assert pid_alive(pid)
    assert f"dhcpd: running  pid {pid}" in agent.rackctl("status").stdout


def test_an_empty_file_is_refused_and_dhcpd_keeps_serving(lab, tmp_path):
    """configure of a 0-byte file exits 2 naming the file; dhcpd runs on, same pid."""
    agent, pid = _serving(lab)
    path = tmp_path / "empty.yaml"
    path.write_text("")
    result = agent.rackctl("configure", str(path), check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{path} is empty" in result.stderr
    _still_serving(agent, pid)


def test_no_shared_networks_stops_dhcpd_only_with_allow_stop(lab, tmp_path):
    """configure of a document with no shared networks exits 2 naming
    --allow-stop and dhcpd runs on; with --allow-stop it stops."""
    agent, pid = _serving(lab)
    path = tmp_path / "none.yaml"
    path.write_text("shared_networks: []\n")
    result = agent.rackctl("configure", str(path), check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--allow-stop" in result.stderr
    _still_serving(agent, pid)
    outcome = json.loads(agent.rackctl("configure", "--json", "--allow-stop", str(path)).stdout)
    assert outcome["action"] == "stopped"
    assert agent.status()["v4"]["state"] == "off"
    wait_until(lambda: not pid_alive(pid), what="dhcpd to exit")
