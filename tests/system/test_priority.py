"""rackd runs below dhcpd: its own niceness lowered, dhcpd's given back.

Niceness is per thread and inherited, so each case runs in a fresh Python
process (the test runner's own priority is never touched).
"""

import json
import os
import subprocess
import sys

import pytest

from provisioningserver.config import RackdConfig, config_from_mapping
from provisioningserver.dhcp.errors import DocumentError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PROBE = """
import json, os, threading
from provisioningserver.system import priority
from provisioningserver.dhcpd.process import LocalSystem
started = os.getpriority(os.PRIO_PROCESS, 0)
priority.lower_own(%d)
seen = {}
thread = threading.Thread(target=lambda: seen.update(
    thread=os.getpriority(os.PRIO_PROCESS, 0)))
thread.start(); thread.join()
child = LocalSystem().spawn(["sleep", "5"], %r)
seen.update(started=started, own=os.getpriority(os.PRIO_PROCESS, 0),
            child=os.getpriority(os.PRIO_PROCESS, child.pid))
child.kill(); child.wait()
print(json.dumps(seen))
"""


def _probe(nice, tmp_path):
    out = subprocess.run([sys.executable, "-c", PROBE % (nice, str(tmp_path / "log"))],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving dhcpd back its priority needs root")
def test_rackd_runs_lower_and_dhcpd_at_the_priority_rackd_started_with(tmp_path):
    """After lower_own(10), rackd's threads (also those started later) run
    at 10, and a process rackd spawns gets rackd's starting niceness."""
    seen = _probe(10, tmp_path)
    assert seen["own"] == seen["thread"] == 10
    assert seen["child"] == seen["started"] != 10


def test_nothing_changes_when_rackd_already_runs_at_its_niceness(tmp_path):
    """Asked for the niceness it has, rackd leaves its children alone too."""
    started = os.getpriority(os.PRIO_PROCESS, 0)
    seen = _probe(started, tmp_path)
    assert seen["own"] == seen["thread"] == seen["child"] == started


def test_the_nice_key():
    """rackd.yaml's nice: 10 unless set; 0 to 19, else refused naming the key."""
    assert RackdConfig().nice == 10
    assert config_from_mapping({"nice": 0}).nice == 0
    assert config_from_mapping({"nice": 19}).nice == 19
    for bad in (-1, 20, "10", True, 2.5):
        with pytest.raises(DocumentError) as caught:
            config_from_mapping({"nice": bad})
        assert caught.value.paths == ["nice"]
