"""An empty file does not stop DHCP: from the command line a 0-byte or
whitespace-only document is refused naming the file, and a document with no
shared networks stops dhcpd only with ``configure --allow-stop`` (the agent's
guard, `provisioningserver.rpc.local`); ``check`` and ``render`` say such a
document would stop dhcpd."""

import io
import json

import pytest

from provisioningserver.cli import common, rackctl
from provisioningserver.rpc import control

STOPPED = {"outcome": {"ip_version": 4, "action": "stopped", "reason": "no shared networks"}}


@pytest.fixture
def agent(monkeypatch):
    """The arguments of every agent call; refuses an empty document without
    allow_stop, as the real agent does."""
    calls = []

    def answer(socket, command, **arguments):
        calls.append((command, arguments))
        if command == "Configure" and not arguments.get("allow_stop"):
            raise common.AgentError("INVALID_DOCUMENT", json.dumps({"errors": [
                {"field": "shared_networks", "error": "would stop dhcpd: --allow-stop"}]}))
        return STOPPED

    monkeypatch.setattr(common, "call_agent", answer)
    return calls


@pytest.mark.parametrize("text, what", [("", "empty (0 bytes)"), (" \n\t\n", "only whitespace")])
def test_configure_refuses_an_empty_file_naming_it(agent, tmp_path, capsys, text, what):
    """configure of a 0-byte or whitespace-only file exits 2 naming the file,
    and the agent is not asked at all."""
    path = tmp_path / "doc.yaml"
    path.write_text(text)
    assert rackctl.main(["configure", str(path)]) == common.INVALID
    assert f"{path} is {what}" in capsys.readouterr().err
    assert agent == []


def test_configure_refuses_an_empty_stdin(agent, monkeypatch, capsys):
    """``configure -`` with nothing on stdin is refused the same way, naming stdin."""
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert rackctl.main(["configure", "-"]) == common.INVALID
    assert "stdin is empty (0 bytes)" in capsys.readouterr().err and agent == []


def test_configure_without_shared_networks_needs_the_flag(agent, tmp_path, capsys):
    """A document with no shared networks goes to the agent without allow_stop,
    which refuses it: exit 2 with the agent's words, naming the flag."""
    path = tmp_path / "doc.yaml"
    path.write_text("shared_networks: []\n")
    assert rackctl.main(["configure", str(path)]) == common.INVALID
    assert agent[0][1]["allow_stop"] is False
    assert "--allow-stop" in capsys.readouterr().err


def test_configure_with_allow_stop_stops(agent, tmp_path, capsys):
    """With --allow-stop the agent is asked to stop, and rackctl says it did."""
    path = tmp_path / "doc.yaml"
    path.write_text("shared_networks: []\n")
    assert rackctl.main(["configure", "--allow-stop", str(path)]) == common.OK
    assert agent[0][1] == {"ip_version": 4, "document": {"shared_networks": []},
                           "dry_run": False, "allow_stop": True}
    assert capsys.readouterr().out == "IPv4: stopped: no shared networks\n"


@pytest.mark.parametrize("command", ["render", "check"])
def test_render_and_check_refuse_an_empty_file(tmp_path, capsys, command):
    """render and check of a 0-byte file exit 2 naming the file."""
    path = tmp_path / "doc.yaml"
    path.write_text("")
    assert rackctl.main([command, "--rack-address", "10.0.0.0/24=10.0.0.1", str(path)]) == 2
    assert f"{path} is empty (0 bytes)" in capsys.readouterr().err


def test_check_says_a_document_without_shared_networks_would_stop(tmp_path, capsys):
    """check of a document with no shared networks says configuring it would
    stop dhcpd, in the text and in the JSON warnings."""
    path = tmp_path / "doc.yaml"
    path.write_text("shared_networks: []\n")
    argv = ["check", "--rack-address", "10.0.0.0/24=10.0.0.1", str(path)]
    assert rackctl.main(argv) == common.OK
    assert "configuring it would stop dhcpd" in capsys.readouterr().err
    assert rackctl.main(argv + ["--json"]) == common.OK
    assert any("would stop dhcpd" in w for w in json.loads(capsys.readouterr().out)["warnings"])
