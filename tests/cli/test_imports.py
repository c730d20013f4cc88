"""rackctl starts fast: each command imports only what it needs (issue J7).

Run in a fresh interpreter each, as rackctl is: building the parser loads
neither the agent call nor jinja2; ``rackctl status`` (against a socket
nobody listens on) loads the Twisted-free control client, and neither
Twisted nor the renderer, the document reader, YAML or netifaces;
``rackctl render`` loads the renderer but not the control client.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

RENDERING = ("jinja2", "provisioningserver.dhcp.render", "provisioningserver.dhcp.document",
             "provisioningserver.config", "netifaces", "yaml")
AGENT = ("provisioningserver.rpc.controlclient",)
TWISTED = ("twisted", "twisted.internet.reactor", "twisted.protocols.amp")

SCRIPT = """
import atexit, json, sys
watched = json.loads(sys.argv[1])
atexit.register(lambda: print(json.dumps([m for m in watched if m in sys.modules]),
                              file=sys.stderr))
sys.argv = ["rackctl"] + sys.argv[2:]
from provisioningserver.cli import rackctl
if sys.argv[1:] == ["--parser-only"]:
    rackctl.build_parser()
else:
    sys.exit(rackctl.main(sys.argv[1:]))
"""


def loaded(*argv):
    """The watched modules loaded by the end of ``rackctl ARGV``."""
    watched = RENDERING + AGENT + TWISTED
    result = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(watched), *argv],
                            capture_output=True, text=True, cwd=ROOT, timeout=60,
                            env={**os.environ, "PYTHONPATH": ROOT})
    return set(json.loads(result.stderr.strip().splitlines()[-1]))


def test_building_the_parser_loads_neither_the_reactor_nor_the_renderer():
    """All subcommands' arguments, with none of the heavy modules."""
    assert loaded("--parser-only") == set()


def test_status_loads_the_agent_call_and_not_the_renderer(tmp_path):
    """rackctl status: the control client; never Twisted, jinja2, YAML or netifaces."""
    found = loaded("--socket", str(tmp_path / "none.sock"), "status")
    assert set(AGENT) <= found
    assert not found & set(RENDERING + TWISTED)


def test_render_loads_the_renderer_and_not_the_reactor(tmp_path):
    """rackctl render: the renderer, and neither the control client nor Twisted."""
    found = loaded("render", "--rack-address", "198.18.0.0/24=198.18.0.1",
                   "--config", str(tmp_path / "none.yaml"),
                   os.path.join(ROOT, "examples", "lab-v4.yaml"))
    assert "provisioningserver.dhcp.render" in found
    assert not found & set(AGENT + TWISTED)


def test_the_cli_defaults_are_rackd_yamls():
    """common.py writes down the socket and config paths rackd uses by
    default, so rackctl need not import the config module for them."""
    from provisioningserver.cli.common import DEFAULT_CONFIG_PATH, DEFAULT_SOCKET
    from provisioningserver.config import DEFAULT_CONFIG_PATH as CONFIG_PATH, RackdConfig
    assert DEFAULT_SOCKET == RackdConfig().control_socket_path
    assert DEFAULT_CONFIG_PATH == CONFIG_PATH
