"""rackctl's call to the agent: one AMP request over the control socket,
with a blocking socket and no Twisted.

Importing Twisted's reactor and AMP takes most of a third of a second,
longer than everything else ``rackctl status`` does; the control socket is
local and each call is one question and one answer, which the standard
library carries as well. The command's fields come from
`rpc.controlspec` (which the agent's `amp.Command` classes are built from
too) and the wire format from `rpc.ampbox`.

`call` returns the response fields as a dict, or raises `Unreachable`
(nothing answers at the path: the OSError is kept), `Refused` (the agent's
error code and description) or `NoAnswer` (the connection closed, or the
time ran out, before the answer).
"""

import socket
import time

from provisioningserver.rpc import ampbox, controlspec


class Unreachable(Exception):
    """The connect failed; ``error`` is the OSError."""

    def __init__(self, error):
        super().__init__(str(error))
        self.error = error


class Refused(Exception):
    """The agent answered with an error: ``code`` and ``description`` (str)."""

    def __init__(self, code, description):
        super().__init__(f"{code}: {description}")
        self.code, self.description = code, description


class NoAnswer(Exception):
    """No answer came: the agent closed the connection or took too long."""


_TAG = b"1"  # one question per connection


def request_box(command, arguments):
    """The request box for ``command`` (a `controlspec.COMMANDS` name)."""
    fields, _ = controlspec.COMMANDS[command]
    box = {ampbox.COMMAND: command.encode("ascii"), ampbox.ASK: _TAG}
    ampbox.put_values(box, fields, arguments)
    return box


def read_answer(command, box):
    """The response fields of ``box``, the answer to ``command``; `Refused`
    for an error box."""
    if ampbox.ERROR in box:
        code = box.get(ampbox.ERROR_CODE, b"UNKNOWN").decode("ascii", "replace")
        description = box.get(ampbox.ERROR_DESCRIPTION, b"").decode("utf-8", "replace")
        raise Refused(code, description)
    if box.get(ampbox.ANSWER) != _TAG:
        raise NoAnswer(f"the agent sent no answer to {command} (keys {sorted(box)[:5]})")
    _, fields = controlspec.COMMANDS[command]
    box = dict(box)
    del box[ampbox.ANSWER]
    return ampbox.take_values(box, fields)


def call(path, command, timeout, connect_timeout=5.0, **arguments):
    """Ask the agent at the UNIX socket ``path``; see the module docstring."""
    deadline = time.monotonic() + timeout
    request = ampbox.encode_box(request_box(command, arguments))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(min(connect_timeout, timeout))
        try:
            sock.connect(path)
        except OSError as error:
            raise Unreachable(error)
        reader = ampbox.BoxReader()
        try:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            sock.sendall(request)
            while True:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                data = sock.recv(1 << 20)
                if not data:
                    raise NoAnswer(f"rackd at {path} closed the connection before answering")
                boxes = reader.feed(data)
                if boxes:
                    return read_answer(command, boxes[0])
        except socket.timeout:
            raise NoAnswer(f"rackd at {path} did not answer within {timeout:g} s")
        except (BrokenPipeError, ConnectionResetError):
            raise NoAnswer(f"rackd at {path} closed the connection before answering")
    finally:
        sock.close()
