"""lease_source: dhcp-notify through the real rackd, dhcpd and dhclient (issue L9).

With ``lease_source: dhcp-notify`` rackd renders dhcpd's ``execute()`` hooks,
dhcpd runs scripts/dhcp-notify per lease event, and rackd takes the
datagrams into the journal. dhcpd's log is still followed for the
transactions, but its lines must not make the events a second time: each
DORA is journaled exactly once. While rackd is down, dhcp-notify spools
what it cannot send, and rackd takes the spool when it starts again.
"""

import os
import shutil
import tempfile
import time

import pytest

from tests.lab.dhclient import Dhclient
from tests.lab.rackd import rack_and_client, wait_until
from tests.lab.test_agent import DOCUMENT
from tests.lab.test_agent_leases import commits_journaled, commits_logged

pytestmark = pytest.mark.lab

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOTIFY = os.path.join(ROOT, "scripts", "dhcp-notify")


def notify_rack(lab):
    if not os.access(NOTIFY, os.X_OK):
        pytest.fail(f"{NOTIFY} is not built (scripts/setup builds it)")
    short = tempfile.mkdtemp(prefix="rkn")  # a unix socket path must stay short
    lab.teardown.push("remove " + short, lambda: shutil.rmtree(short, True))
    return rack_and_client(lab, lease_source="dhcp-notify", dhcp_notify=NOTIFY,
                           lease_socket=os.path.join(short, "notify.sock"))


def test_each_dora_is_journaled_once_through_dhcp_notify(lab):
    """dhcpd.conf runs dhcp-notify on commit, and every DHCPACK dhcpd logged
    is in the history exactly once (not again from the log's lines)."""
    agent, client = notify_rack(lab)
    agent.configure(DOCUMENT)
    with open(os.path.join(agent.state_dir, "dhcpd.conf")) as f:
        conf = f.read()
    assert f'execute("{NOTIFY}"' in conf
    dhclient = Dhclient(client)
    dhclient.obtain()
    mac = client.mac("eth0")
    wait_until(lambda: len(commits_journaled(agent, mac)) == 1, what="the first commit")
    dhclient.restart()
    wait_until(lambda: commits_logged(agent, mac) == 2, what="dhcpd to log the second commit")
    wait_until(lambda: len(commits_journaled(agent, mac)) >= 2, what="the second commit")
    time.sleep(1.5)  # more follower polls: the log's lines add nothing
    assert len(commits_journaled(agent, mac)) == commits_logged(agent, mac) == 2
    # The transactions still come from the log.
    log = agent.rackctl("log", "--mac", mac).stdout
    assert " ACK " in log  # rackctl log names messages without the DHCP prefix


def test_events_made_while_rackd_is_down_arrive_through_the_spool(lab):
    """rackd stopped: dhcp-notify spools the commit; rackd started again
    takes it, and it is journaled once."""
    agent, client = notify_rack(lab)
    agent.configure(DOCUMENT)
    dhclient = Dhclient(client)
    dhclient.obtain()
    mac = client.mac("eth0")
    wait_until(lambda: len(commits_journaled(agent, mac)) == 1, what="the first commit")
    agent.stop()
    dhclient.restart()
    wait_until(lambda: commits_logged(agent, mac) == 2, what="dhcpd to log the second commit")
    spool = os.path.join(agent.state_dir, "dhcp-notify.spool")
    assert os.path.getsize(spool) > 0, "dhcp-notify did not spool while rackd was down"
    agent.start()
    wait_until(lambda: len(commits_journaled(agent, mac)) >= 2, what="the spooled commit")
    time.sleep(1.5)
    assert len(commits_journaled(agent, mac)) == commits_logged(agent, mac) == 2


def test_a_255_byte_host_name_reaches_the_history_whole(lab):
    """A client that sends a 255-byte host name (as long as a DHCP option, and
    rackd, hold) has it whole in the history: dhcpd hands dhcp-notify its 764
    characters of hex and the datagram carries them (the hook once replaced
    any field over 400 characters, about 133 bytes of name, with "-")."""
    agent, client = notify_rack(lab)
    agent.configure(DOCUMENT)
    name = ("a" * 62 + ".") * 4 + "abc"
    assert len(name) == 255
    Dhclient(client, extra_conf=f'send host-name "{name}";').obtain()
    mac = client.mac("eth0")
    [commit] = wait_until(lambda: commits_journaled(agent, mac), what="the commit")
    assert commit["hostname"] == name
