"""rackctl's global options: --socket and --json before the subcommand (as ip,
systemctl and docker take them) and after it, the one after winning when both
are given."""

import json

import pytest

from provisioningserver.cli import common, rackctl

STATUS = {"status": {"v4": {"state": "off", "reason": "no document"}}}


@pytest.fixture
def sockets(monkeypatch):
    """The socket of every agent call, with a status reply."""
    asked = []

    def answer(socket, command, **arguments):
        asked.append(socket)
        return STATUS

    monkeypatch.setattr(common, "call_agent", answer)
    return asked


@pytest.mark.parametrize("argv", [
    ["--socket", "/tmp/a.sock", "status"],
    ["status", "--socket", "/tmp/a.sock"],
    ["--socket=/tmp/a.sock", "--json", "status"],
    ["--json", "status", "--socket", "/tmp/a.sock"],
])
def test_socket_before_or_after_the_subcommand(sockets, argv, capsys):
    """--socket works on either side of the subcommand."""
    assert rackctl.main(argv) == common.OK
    assert sockets == ["/tmp/a.sock"]


def test_the_socket_after_the_subcommand_wins(sockets):
    """Given on both sides, the --socket after the subcommand is used, as the
    later of two options on one command line."""
    assert rackctl.main(["--socket", "/tmp/before", "status", "--socket", "/tmp/after"]) == 0
    assert sockets == ["/tmp/after"]


@pytest.mark.parametrize("argv", [["--json", "status"], ["status", "--json"]])
def test_json_before_or_after_the_subcommand(sockets, argv, capsys):
    """--json works on either side of the subcommand."""
    assert rackctl.main(argv) == common.OK
    assert json.loads(capsys.readouterr().out) == STATUS["status"]


def test_without_socket_the_default_is_used(sockets, monkeypatch):
    """No --socket anywhere: $RACKD_SOCKET, as before."""
    monkeypatch.setenv("RACKD_SOCKET", "/tmp/env.sock")
    assert rackctl.main(["status"]) == common.OK
    assert sockets == ["/tmp/env.sock"]


def test_json_before_a_local_command(capsys):
    """--json before a command that asks no agent (render) still applies."""
    assert rackctl.main(["--json", "render", "--rack-address", "10.0.0.0/24=10.0.0.1",
                         "examples/lab-v4.yaml"]) == common.OK
    assert "config" in json.loads(capsys.readouterr().out)
