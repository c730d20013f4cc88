"""What the rackctl commands share (`provisioningserver.cli.common`), and how
cli/ hangs together: no private names imported across modules, no circle."""

import argparse
import ast
import errno
import io
import json
import os
import pathlib
import socket
import subprocess
import sys

import pytest
from twisted.python.failure import Failure

from provisioningserver.cli import common
from provisioningserver.dhcp.sourcemap import Origin
from provisioningserver.dhcpd.check import CheckResult, DhcpdError
from provisioningserver.rpc import control
from provisioningserver.rpc.local import translate
from provisioningserver.services.configure import ConfigRejected

PACKAGE = pathlib.Path(common.__file__).resolve().parents[1]


def _args(*argv):
    parser = argparse.ArgumentParser()
    common.add_status_arguments(parser)
    return parser.parse_args(list(argv))


def test_agent_error_reads_the_json_description():
    """An AgentError carries the agent's JSON description as details, and its
    message is the description's error; a description that is not JSON becomes
    the error itself."""
    error = common.AgentError("CONFIG_REJECTED", json.dumps({"error": "no", "errors": []}))
    assert (error.code, error.details, str(error)) == (
        "CONFIG_REJECTED", {"error": "no", "errors": []}, "no")
    assert common.AgentError("ENVIRONMENT", "plain words").details == {"error": "plain words"}


@pytest.mark.parametrize("code, exit_code", [
    ("INVALID_DOCUMENT", common.INVALID), ("CONFIG_REJECTED", common.REJECTED),
    ("DHCPD_FAILED", common.REJECTED), ("FAILOVER_REFUSED", common.REJECTED),
    ("ENVIRONMENT", common.ENVIRONMENT), ("SOMETHING_NEW", common.ENVIRONMENT),
])
def test_call_maps_declared_errors_to_exit_codes(monkeypatch, code, exit_code):
    """call() turns each declared agent error into its exit code (an unknown one
    counts as the environment's), prints the error, and returns no response."""
    def refuse(socket, command, **arguments):
        raise common.AgentError(code, json.dumps({"error": "refused"}))

    monkeypatch.setattr(common, "call_agent", refuse)
    out, err = io.StringIO(), io.StringIO()
    assert common.call(_args(), out, err, control.GetStatus) == (exit_code, None)
    assert err.getvalue() == "rackctl: refused\n" and out.getvalue() == ""


@pytest.mark.parametrize("before", ["the previous config still serves", "nothing served before"])
def test_call_prints_a_rejection_in_the_documents_terms(monkeypatch, before):
    """A rejection, described by the agent's own translate, prints the snippet and its
    line before the rendered line, dhcpd's line with a caret, and what serves."""
    origin = Origin(path="global_dhcp_snippets[0]", snippet="pxe-extra", line=2)
    rejected = ConfigRejected(CheckResult(ok=False, errors=(
        DhcpdError("semicolon expected.", 47, "bogus 1;", 6, origin=origin),)), before=before)
    try:
        translate(Failure(rejected))
    except control.ConfigRejected as declared:
        description = str(declared)

    def refuse(socket, command, **arguments):
        raise common.AgentError("CONFIG_REJECTED", description)

    monkeypatch.setattr(common, "call_agent", refuse)
    out, err = io.StringIO(), io.StringIO()
    assert common.call(_args(), out, err, control.Configure) == (common.REJECTED, None)
    assert err.getvalue().splitlines() == [
        "rackctl: dhcpd: in snippet 'pxe-extra' (global_dhcp_snippets[0]) line 2: "
        "semicolon expected. (rendered line 47)",
        "    bogus 1;",
        "          ^",
        f"rackctl: dhcpd rejected the rendered config; {before}",
    ]


def test_call_unreachable_agent_is_environment_and_json_says_so(monkeypatch):
    """An agent nobody answers for exits ENVIRONMENT; with --json the error is a
    {"kind", "error"} object on stdout."""
    def unreachable(socket, command, **arguments):
        raise common.AgentUnreachable(f"no rackd answers on {socket}")

    monkeypatch.setattr(common, "call_agent", unreachable)
    out, err = io.StringIO(), io.StringIO()
    args = _args("--json", "--socket", "/nonexistent")
    assert common.call(args, out, err, control.GetStatus) == (common.ENVIRONMENT, None)
    assert json.loads(out.getvalue()) == {"kind": "environment",
                                          "error": "no rackd answers on /nonexistent"}


def test_report_prints_the_named_part_of_the_response(monkeypatch):
    """report() prints response[key] with the text printer, or as sorted JSON."""
    monkeypatch.setattr(common, "call_agent", lambda *a, **k: {"pools": {"b": 1, "a": 2}})
    out = io.StringIO()
    assert common.report(_args(), out, None, control.GetPools, "pools",
                         lambda pools, o: print(sorted(pools), file=o)) == common.OK
    assert out.getvalue() == "['a', 'b']\n"
    out = io.StringIO()
    assert common.report(_args("--json"), out, None, control.GetPools, "pools", None) == 0
    assert out.getvalue() == '{\n "a": 2,\n "b": 1\n}\n'


def _imports(path):
    """(module, name) for every ``from X import name`` in the file, in functions too."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                yield node.module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None


def _module_name(path):
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def test_no_private_names_are_imported_across_modules():
    """No module of provisioningserver imports another module's _private name."""
    found = [f"{_module_name(path)}: from {module} import {name}"
             for path in sorted(PACKAGE.rglob("*.py"))
             for module, name in _imports(path)
             if name and name.startswith("_") and not name.startswith("__")]
    assert found == []


def test_cli_modules_import_no_circle():
    """The modules of cli/ import each other without a circle (counting imports
    inside functions), and common imports none of them."""
    cli = PACKAGE / "cli"
    graph = {}
    for path in sorted(cli.glob("*.py")):
        edges = set()
        for module, name in _imports(path):
            if module == "provisioningserver.cli" and name:
                edges.add(f"provisioningserver.cli.{name}")
            elif module.startswith("provisioningserver.cli."):
                edges.add(module)
        graph[_module_name(path)] = edges
    assert graph["provisioningserver.cli.common"] == set()
    done, path = set(), []

    def visit(node):
        assert node not in path, " -> ".join(path + [node])
        if node in done:
            return
        path.append(node)
        for target in graph.get(node, ()):
            visit(target)
        path.pop()
        done.add(node)

    for node in graph:
        visit(node)


def _rackctl(*argv):
    """rackctl in a process of its own: the reactor runs once per process."""
    root = PACKAGE.parent
    return subprocess.run([sys.executable, "-m", "provisioningserver.cli.rackctl", *argv],
                          capture_output=True, text=True, cwd=root, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(root)))


def test_no_socket_asks_whether_rackd_runs(tmp_path):
    """A socket path where there is nothing: exit 3 and one line that names the
    path, asks whether rackd runs (systemctl status rackd) and names $RACKD_SOCKET."""
    path = str(tmp_path / "control.sock")
    done = _rackctl("--socket", path, "status")
    assert done.returncode == common.ENVIRONMENT
    [line] = done.stderr.splitlines()
    assert path in line and "systemctl status rackd" in line and "$RACKD_SOCKET" in line


def test_permission_denied_says_rackctl_needs_root():
    """EACCES on the control socket (it is root's, 0600) says rackctl needs root.
    (The tests run as root, where no mode refuses, so the error is built.)"""
    error = PermissionError(errno.EACCES, "Permission denied")
    message = common.unreachable_message("/run/rackd/control.sock", error)
    assert message.startswith("permission denied on /run/rackd/control.sock")
    assert "needs root" in message and "0600" in message


def test_a_socket_nobody_listens_on_says_so(tmp_path):
    """A socket file left behind with no rackd on it: the message says nothing
    listens there."""
    path = str(tmp_path / "stale.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.close()
    done = _rackctl("--socket", path, "status")
    assert done.returncode == common.ENVIRONMENT
    assert done.stderr.startswith(f"rackctl: nothing listens on {path}")
