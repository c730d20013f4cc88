"""No traceback reaches a user for a problem of the environment: a reader
that goes away (``rackctl status | head -1``) and an OSError both end rackctl
with exit 3, the pipe quietly, the OSError in one sentence."""

import os
import pathlib
import subprocess
import sys

import pytest

from provisioningserver.cli import common, rackctl

ROOT = pathlib.Path(rackctl.__file__).resolve().parents[2]


def _into_a_closed_pipe(*argv):
    """Run ``python -m provisioningserver.cli.rackctl ARGV`` with stdout a pipe
    whose reading end is closed before rackctl writes a byte."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "provisioningserver.cli.rackctl", *argv],
                              stdout=write, stderr=subprocess.PIPE, cwd=ROOT, timeout=60,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
    finally:
        os.close(write)
    return done.returncode, done.stderr.decode()


@pytest.mark.parametrize("argv", [
    ["render", "--rack-address", "10.0.0.0/24=10.0.0.1", "examples/lab-v4.yaml"],
    ["--help"],
])
def test_a_reader_that_went_away_gets_no_traceback(argv):
    """Writing into a pipe nobody reads any more exits 3 with nothing on stderr:
    no BrokenPipeError traceback, not even the interpreter's 'Exception ignored'
    at exit."""
    code, stderr = _into_a_closed_pipe(*argv)
    assert (code, stderr) == (common.ENVIRONMENT, "")


def test_an_os_error_is_one_sentence_and_exit_3(monkeypatch, capsys):
    """An OSError no command expected ends in one line naming the file, exit 3."""
    def refuse(socket, command, **arguments):
        raise PermissionError(13, "Permission denied", "/var/lib/rackd")

    monkeypatch.setattr(common, "call_agent", refuse)
    assert rackctl.main(["status"]) == common.ENVIRONMENT
    assert capsys.readouterr().err == "rackctl: Permission denied: /var/lib/rackd\n"
