"""rackd against the real dhcpd: configure, reject, stop, crash, adopt (issue A2).

A rack host runs rackd (which runs dhcpd in the same namespace) and a client
host runs the real dhclient, both on one switch. rackctl drives rackd over
its control socket.
"""

import copy
import os
import signal

import pytest

from tests.lab.dhclient import Dhclient
from tests.lab.rackd import pid_alive, rack_and_client, wait_until

pytestmark = pytest.mark.lab

DOCUMENT = {
    "shared_networks": [{"name": "lab", "subnets": [{
        "subnet_cidr": "198.18.0.0/24",
        "router_ip": "198.18.0.254",
        "dns_servers": ["198.18.0.53"],
        "domain_name": "lab.example",
        "search_list": ["lab.example", "example.net"],
        "pools": [{"ip_range_low": "198.18.0.100", "ip_range_high": "198.18.0.150"}],
    }]}],
}


def document(**subnet):
    doc = copy.deepcopy(DOCUMENT)
    doc["shared_networks"][0]["subnets"][0].update(subnet)
    return doc


def test_configure_serves_a_client_with_the_configured_options(lab):
    """A configured document makes dhcpd serve dhclient its address, router,
    DNS, domain and search list; status reports it running on eth0."""
    agent, client = rack_and_client(lab)
    outcome = agent.configure(DOCUMENT)
    assert outcome["action"] == "started"
    lease = Dhclient(client).obtain()
    assert lease.address.startswith("198.18.0.1")
    assert lease.routers == ("198.18.0.254",)
    assert lease.dns_servers == ("198.18.0.53",)
    assert lease.domain_name == "lab.example"
    assert lease.search_list == ("lab.example", "example.net")
    status = agent.status()["v4"]
    assert status["state"] == "running" and status["interfaces"] == ["eth0"]
    assert status["leases_file_bytes"] > 0
    assert status["last_configure"]["action"] == "started"
    assert os.stat(agent.socket).st_mode & 0o777 == 0o600


def test_dhcpd_runs_before_rackd_for_the_cpu(lab):
    """rackd lowers itself to nice 10 (the default) and starts dhcpd at the
    niceness rackd was started with: here, this test's own."""
    agent, _ = rack_and_client(lab)
    agent.configure(DOCUMENT)
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, agent.process.pid) == 10
    assert os.getpriority(os.PRIO_PROCESS, agent.dhcpd_pid()) == own != 10


def test_rejected_document_leaves_the_old_config_serving(lab):
    """A snippet dhcpd rejects returns dhcpd's error (exit 1) and changes nothing:
    same pid, same config, clients still served."""
    agent, client = rack_and_client(lab)
    agent.configure(DOCUMENT)
    pid = agent.dhcpd_pid()
    before = agent.status()["v4"]["config_fingerprint"]
    bad = document(dhcp_snippets=[{"name": "broken", "value": "default-lease-time many;"}])
    result = agent.configure(bad, check=False)
    assert result.returncode == 1
    assert "default-lease-time many;" in result.stdout
    assert agent.dhcpd_pid() == pid
    assert agent.status()["v4"]["config_fingerprint"] == before
    assert Dhclient(client).obtain().address.startswith("198.18.0.1")


def test_invalid_document_is_refused_with_the_field_path(lab):
    """rackctl configure on a malformed document exits 2 naming the field."""
    agent, _ = rack_and_client(lab)
    result = agent.configure(document(router_ip="198.19.0.1"), check=False)
    assert result.returncode == 2
    assert "shared_networks[0].subnets[0].router_ip" in result.stdout


def test_config_that_fails_to_start_is_rolled_back(lab):
    """A config dhcpd -t accepts but dhcpd cannot run with (an interface with no
    IPv4 address, so nothing to listen on) is not kept: the previous config serves again."""
    agent, client = rack_and_client(lab)
    agent.configure(DOCUMENT)
    good = agent.status()["v4"]["config_fingerprint"]
    lab.link(agent.host, lab.add_host("stub"), "eth1", "eth0")
    doomed = copy.deepcopy(DOCUMENT)
    doomed["interfaces"] = ["eth1"]
    result = agent.configure(doomed, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "previous config was restored" in result.stdout
    status = agent.status()["v4"]
    assert status["state"] == "running"
    assert status["config_fingerprint"] == good
    assert Dhclient(client).obtain().address.startswith("198.18.0.1")


def test_empty_document_stops_dhcpd(lab):
    """A document with no shared networks stops dhcpd (with --allow-stop, see
    test_empty_document_lab); status says off."""
    agent, _ = rack_and_client(lab)
    agent.configure(DOCUMENT)
    pid = agent.dhcpd_pid()
    assert agent.configure({"shared_networks": []}, allow_stop=True)["action"] == "stopped"
    assert agent.status()["v4"]["state"] == "off"
    wait_until(lambda: not pid_alive(pid), what="dhcpd to exit")


def test_stop_dhcp_command_stops_it(lab):
    """rackctl stop-dhcp stops dhcpd."""
    agent, _ = rack_and_client(lab)
    agent.configure(DOCUMENT)
    agent.rackctl("stop-dhcp")
    assert agent.status()["v4"]["state"] == "off"


def test_killed_dhcpd_is_brought_back(lab):
    """SIGKILL to dhcpd: rackd restarts it (new pid) and counts the restart."""
    agent, client = rack_and_client(lab)
    agent.configure(DOCUMENT)
    pid = agent.dhcpd_pid()
    os.kill(pid, signal.SIGKILL)

    def restarted():
        status = agent.status()["v4"]
        return status["state"] == "running" and status["pid"] != pid and status

    status = wait_until(restarted, what="dhcpd to be restarted")
    assert status["restarts"] >= 1
    assert Dhclient(client).obtain().address.startswith("198.18.0.1")


def test_stopping_rackd_leaves_dhcpd_serving_and_a_new_rackd_adopts_it(lab):
    """SIGTERM to rackd leaves dhcpd serving; the next rackd adopts the same pid
    and a configure with the same document changes nothing."""
    agent, client = rack_and_client(lab)
    agent.configure(DOCUMENT)
    pid = agent.dhcpd_pid()
    agent.stop()
    assert pid_alive(pid)
    assert Dhclient(client).obtain().address.startswith("198.18.0.1")
    agent.start()
    assert agent.dhcpd_pid() == pid
    assert agent.status()["v4"]["state"] == "running"
    assert agent.configure(DOCUMENT)["action"] == "unchanged"
    assert agent.dhcpd_pid() == pid
