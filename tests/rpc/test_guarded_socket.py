"""The running control socket under bad input, over a real UNIX socket:
rackd's own `ControlFactory` in a child process, rackctl and raw sockets
as its callers."""

import json
import os
import select
import socket
import subprocess
import sys
import time

import pytest

from provisioningserver.rpc import ampbox
from tests.rpc.child import serving

AGENT = """
from twisted.internet import defer
from provisioningserver.dhcp.errors import DocumentError, Problem
from provisioningserver.rpc.local import ControlFactory

class Refusing:
    def configure(self, ip_version, document, dry_run):
        return defer.fail(DocumentError([
            Problem(f"hosts[{i}].mac", f"expected a MAC address, got 'x{i}'")
            for i in range(3000)]))

    asked = 0  # GetStatus calls answered so far

    def status(self):
        Refusing.asked += 1
        return {"v4": {"state": "off", "reason": "no document"}, "v6": {"state": "off"},
                "asked": Refusing.asked}

FACTORY = ControlFactory(Refusing())
"""


@pytest.fixture
def agent(tmp_path):
    """The control socket's path, served by rackd's ControlFactory."""
    with serving(AGENT, str(tmp_path / "control.sock")) as path:
        yield path


def connect(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(path)
    return sock


def ask(sock, box, tag):
    """Send one request box; the reply to it."""
    sock.sendall(ampbox.encode_box({ampbox.ASK: tag, **box}))
    reader = ampbox.BoxReader()
    while True:
        data = sock.recv(1 << 16)
        assert data, "the agent closed the connection"
        for reply in reader.feed(data):
            return reply


def test_a_bad_chunk_count_is_answered_and_the_same_socket_answers_again(agent):
    """Over the real socket: a chunk count of 0 is INVALID_DOCUMENT naming
    ``document``, and the same connection then answers GetStatus."""
    with connect(agent) as sock:
        reply = ask(sock, {ampbox.COMMAND: b"Configure", b"ip_version": b"4",
                           b"document": b"0"}, b"1")
        assert reply[ampbox.ERROR_CODE] == b"INVALID_DOCUMENT"
        assert json.loads(reply[ampbox.ERROR_DESCRIPTION])["errors"] == [
            {"field": "document", "error": "chunk count 0 out of range 1..4097"}]
        status = ask(sock, {ampbox.COMMAND: b"GetStatus"}, b"2")
        assert status[ampbox.ANSWER] == b"2"


def test_rackctl_prints_the_paths_it_gets_for_three_thousand_bad_hosts(agent, tmp_path):
    """rackctl configure of a document the agent finds 3,000 faults in
    exits 2, printing the paths that came and how many more there are."""
    document = tmp_path / "doc.json"
    document.write_text(json.dumps({"shared_networks": [{"name": "lan"}]}))
    done = subprocess.run(
        [sys.executable, "-m", "provisioningserver.cli.rackctl", "--socket", agent,
         "configure", str(document)], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": os.getcwd()})
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done.stderr
    assert lines[0] == "rackctl: hosts[0].mac: expected a MAC address, got 'x0'"
    shown = [line for line in lines if line.startswith("rackctl: hosts[")]
    assert len(shown) > 500
    assert lines[len(shown)] == (f"rackctl: ... and {3000 - len(shown)} more, not shown (an "
                                 "error reply holds at most 64 KiB): fix these and try again")


def test_a_box_that_never_ends_closes_that_connection_only(agent):
    """Past 8 MiB of one unfinished box the agent closes that connection;
    another one, open all along, still answers."""
    with connect(agent) as other, connect(agent) as flood:
        value = b"j" * 60_000
        sent, closed = 0, False
        try:
            for i in range(64 * 1024 * 1024 // len(value)):
                flood.sendall(ampbox.encode_box({b"junk.%d" % i: value})[:-2])
                sent += len(value)
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        if not closed:
            closed = flood.recv(1) == b""
        assert closed and sent < 2 * ampbox.MAX_BOX
        assert ask(other, {ampbox.COMMAND: b"GetStatus"}, b"1")[ampbox.ANSWER] == b"1"


def flood(sock, box, most, idle=1.0):
    """Send ``box`` up to ``most`` times, whole boxes only, and never read;
    stop once the socket has taken nothing for ``idle`` seconds. How many
    were sent whole."""
    sock.setblocking(False)
    pending, sent, wire = b"", 0, ampbox.encode_box(box)
    burst = wire * 1000
    while sent < most:
        if not pending:
            pending = burst
        if not select.select([], [sock], [], idle)[1]:
            break  # the agent reads no more
        pending = pending[sock.send(pending):]
        if not pending:
            sent += 1000
    return sent + (len(burst) - len(pending)) // len(wire) if pending else sent


def test_a_peer_that_never_reads_holds_the_agent_at_its_write_bound(agent):
    """A peer sends GetStatus and never reads: the agent answers until 64 KiB
    of replies wait, plus what the kernel's socket buffers hold, and then
    reads no more of it (without the bound: all 100,000 read and answered).
    Another connection is answered meanwhile."""
    with connect(agent) as other, connect(agent) as flooding:
        sent = flood(flooding, {ampbox.COMMAND: b"GetStatus", ampbox.ASK: b"1"}, 100_000)
        reply = ask(other, {ampbox.COMMAND: b"GetStatus"}, b"2")
        asked = ampbox.take_json(reply, b"status")["asked"] - 1
        assert sent < 100_000
        # 95 bytes a reply: 64 KiB are 690, and the kernel holds some thousands.
        assert asked < 10_000, (asked, sent)
        time.sleep(0.2)
        again = ampbox.take_json(ask(other, {ampbox.COMMAND: b"GetStatus"}, b"3"), b"status")
        assert again["asked"] - 2 == asked  # nothing more read from the flood
