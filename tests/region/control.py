"""A local control for a test region running as a process (lab tests, demo).

The region listens on a unix socket; each connection carries one JSON
request line and gets one JSON reply line::

    {"command": "ConfigureDHCPv4", "rack": null, "calls": [{"document": ...}, ...]}
    -> {"results": [{"reply": {...}} | {"error": "INVALID_DOCUMENT", "description": "..."}]}

Every call of ``calls`` is sent at once, in order, on the rack's one AMP
connection, so ten calls are ten concurrent commands on the rack whose
newest is the last of the list. ``rack`` null means the only (or first)
registered rack. The test side is `request`, plain blocking sockets, so a
pytest process needs no reactor.
"""

import json
import os
import socket

from twisted.internet import defer, endpoints
from twisted.internet.protocol import Factory
from twisted.protocols.basic import LineOnlyReceiver

from provisioningserver.rpc import commands

COMMANDS = {c.__name__: c for c in (
    commands.ConfigureDHCPv4, commands.ConfigureDHCPv6, commands.ValidateDHCPv4Config,
    commands.ValidateDHCPv6Config, commands.GetDHCPStatus)}


def _outcome(failure, command):
    """A failed call as the reply names it: the declared error's code."""
    code = command.errors.get(type(failure.value))
    if code is None:
        code = getattr(failure.value, "errorCode", None) or type(failure.value).__name__
    if isinstance(code, bytes):
        code = code.decode("ascii")
    return {"error": code, "description": str(failure.value)}


class ControlLine(LineOnlyReceiver):
    delimiter = b"\n"
    MAX_LENGTH = 64 << 20

    def lineReceived(self, line):
        d = defer.maybeDeferred(self.factory.answer, json.loads(line))
        d.addErrback(lambda f: {"error": type(f.value).__name__, "description": str(f.value)})
        d.addCallback(lambda reply: self.sendLine(json.dumps(reply, default=str).encode()))
        d.addBoth(lambda _: self.transport.loseConnection())


class ControlFactory(Factory):
    protocol = ControlLine

    def __init__(self, region):
        self.region = region

    def answer(self, request):
        command = COMMANDS[request["command"]]
        rack = request.get("rack") or next(iter(self.region.racks), None)
        if rack is None or rack not in self.region.racks:
            raise LookupError(f"no registered rack {rack!r}")
        calls = [defer.maybeDeferred(self.region.call, rack, command, **arguments)
                 .addCallbacks(lambda reply: {"reply": reply}, _outcome,
                               errbackArgs=(command,))
                 for arguments in request.get("calls", [{}])]
        return defer.gatherResults(calls).addCallback(lambda results: {"results": results})


def serve(reactor, region, path):
    """Listen for control requests on the unix socket ``path`` (a stale
    one, left by a region that was killed, is replaced)."""
    if os.path.exists(path):
        os.unlink(path)
    return endpoints.UNIXServerEndpoint(reactor, path, mode=0o600).listen(ControlFactory(region))


def request(path, command, calls=({},), rack=None, timeout=60):
    """Send one request to a test region's control socket; the list of
    results, one per call."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(json.dumps({"command": command, "rack": rack,
                                 "calls": list(calls)}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            data += chunk
    reply = json.loads(data)
    if "results" not in reply:
        raise RuntimeError(f"test region control failed: {reply}")
    return reply["results"]
