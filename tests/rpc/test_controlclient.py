"""rackctl's Twisted-free control client speaks AMP as Twisted does.

The contract: `rpc.controlclient` and `rpc.ampbox` must encode each
command's request exactly as Twisted's `amp.Command` would parse it, and
read Twisted's answers and errors. Checked three ways: the table the agent's
commands are built from is the client's (`controlspec`); boxes built by one
side parse on the other, in this process; and a real Twisted AMP server in
a child process answers the client over a UNIX socket.
"""

import json
import time

import pytest
from twisted.protocols import amp

from provisioningserver.rpc import ampbox, arguments, control, controlclient, controlspec
from provisioningserver.rpc.arguments import CompressedJSON
from provisioningserver.system.packed import unpack
from tests.rpc.child import serving

COMMANDS = {name: value for name, value in vars(control).items()
            if isinstance(value, type) and issubclass(value, amp.Command)
            and value is not amp.Command}

SAMPLES = {
    ampbox.INTEGER: 6, ampbox.FLOAT: 1700000000.25, ampbox.BOOLEAN: True,
    ampbox.UNICODE: "eth0 \u00e9", ampbox.BYTES: b"\x00\xff",
    ampbox.JSON: {"hosts": [{"mac": "52:54:00:00:00:01", "n": i} for i in range(20000)]},
}
SAMPLES[ampbox.PACKED] = SAMPLES[ampbox.JSON]
TYPES = {arguments.Integer: ampbox.INTEGER, arguments.Float: ampbox.FLOAT,
         arguments.Boolean: ampbox.BOOLEAN, arguments.Unicode: ampbox.UNICODE,
         arguments.String: ampbox.BYTES, CompressedJSON: ampbox.JSON}


def _kind(argument):
    if isinstance(argument, CompressedJSON) and argument.packed:
        return ampbox.PACKED
    return TYPES[type(argument)]


def _kinds(fields):
    return tuple((name, _kind(argument), argument.optional) for name, argument in fields)


def test_every_control_command_is_in_the_clients_table_with_the_same_fields():
    """The agent's commands and the client's table name the same commands,
    with the same fields, kinds and optional flags."""
    assert {command.commandName.decode() for command in COMMANDS.values()} == set(
        controlspec.COMMANDS)
    for command in COMMANDS.values():
        arguments, response = controlspec.COMMANDS[command.commandName.decode()]
        assert _kinds(command.arguments) == arguments
        assert _kinds(command.response) == response


def test_error_codes_are_the_agents():
    """The codes the client reports are those the agent's errors carry."""
    assert sorted(code.decode() for code in control.ERRORS.values()) == sorted(
        controlspec.ERROR_CODES)


def _sample(fields):
    return {name.decode(): SAMPLES[kind] for name, kind, _ in fields}


@pytest.mark.parametrize("name", sorted(controlspec.COMMANDS))
def test_a_request_the_client_builds_parses_in_twisted(name):
    """Every argument, encoded by the client and sent as bytes, is what
    Twisted's parser of that command reads out."""
    arguments, _ = controlspec.COMMANDS[name]
    values = _sample(arguments)
    wire = ampbox.encode_box(controlclient.request_box(name, values))
    [box] = ampbox.BoxReader().feed(wire)
    assert box[ampbox.COMMAND] == name.encode()
    parsed = COMMANDS[name].parseArguments(amp.AmpBox(box), None)
    assert {key: unpack(value) for key, value in parsed.items()} == values


@pytest.mark.parametrize("name", sorted(controlspec.COMMANDS))
def test_optional_arguments_may_be_left_out(name):
    """An optional argument that is None is not sent; Twisted reads None."""
    arguments, _ = controlspec.COMMANDS[name]
    values = {key: (None if optional else value) for (_, _, optional), (key, value) in zip(
        arguments, _sample(arguments).items())}
    box = controlclient.request_box(name, values)
    parsed = COMMANDS[name].parseArguments(amp.AmpBox(box), None)
    assert {key: unpack(value) for key, value in parsed.items()} == values


@pytest.mark.parametrize("name", sorted(controlspec.COMMANDS))
def test_an_answer_twisted_builds_is_read_by_the_client(name):
    """Twisted's serialized response box reads back as the same values."""
    _, response = controlspec.COMMANDS[name]
    values = _sample(response)
    box = COMMANDS[name].makeResponse(values, None)
    box[ampbox.ANSWER] = b"1"
    [read] = ampbox.BoxReader().feed(box.serialize())
    assert controlclient.read_answer(name, read) == values


def test_the_box_reader_takes_a_stream_in_any_pieces():
    """Boxes split at every byte come out whole, in order, and once."""
    boxes = [{b"a": b"1", b"bb": b""}, {b"k" * 255: b"v" * 65535}, {}]
    wire = b"".join(ampbox.encode_box(box) for box in boxes)
    reader, seen = ampbox.BoxReader(), []
    for i in range(0, len(wire), 7):
        seen += reader.feed(wire[i:i + 7])
    assert seen == boxes
    assert amp.AmpBox(boxes[0]).serialize() == ampbox.encode_box(boxes[0])


def test_garbled_input_is_a_box_error():
    """A key longer than AMP allows is refused, not read as a value."""
    with pytest.raises(ampbox.BoxError):
        ampbox.BoxReader().feed(b"\x01\x00" + b"k" * 256)


def test_a_bad_argument_is_refused_before_anything_is_sent():
    """A missing required argument or a value of the wrong kind names it."""
    with pytest.raises(ampbox.BoxError, match="ip_version"):
        controlclient.request_box("StopDHCP", {})
    with pytest.raises(ampbox.BoxError, match="not an integer"):
        controlclient.request_box("StopDHCP", {"ip_version": "4"})


SERVER = """
import json
from twisted.internet.protocol import Factory
from twisted.protocols import amp
from provisioningserver.rpc import control

class Server(amp.AMP):
    @control.GetStatus.responder
    def status(self):
        return {"status": {"v4": {"state": "running"}, "big": "x" * 300000}}

    @control.Configure.responder
    def configure(self, ip_version, document, dry_run=None, allow_stop=None):
        document = document.load()  # packed
        if document.get("bad"):
            raise control.InvalidDocument(json.dumps({"errors": [{"field": "bad", "error": "no"}]}))
        if document.get("crash"):
            raise RuntimeError("boom")
        return {"outcome": {"ip_version": ip_version, "hosts": len(document["hosts"]),
                            "dry_run": dry_run}}

    @control.GetHistory.responder
    def history(self, ip=None, mac=None, limit=None):
        return {"events": [ip, mac, limit]}

FACTORY = Factory.forProtocol(Server)
"""


@pytest.fixture
def server(tmp_path):
    """A real Twisted AMP server with control commands, in a child process."""
    with serving(SERVER, str(tmp_path / "control.sock")) as path:
        yield path


def test_the_client_calls_a_real_twisted_server(server):
    """Answers (one over a megabyte before compression), optional arguments,
    a declared error with its JSON, and an undeclared one, over a real socket."""
    status = controlclient.call(server, "GetStatus", 10)
    assert status["status"]["v4"] == {"state": "running"}
    document = SAMPLES[ampbox.JSON]
    assert controlclient.call(server, "Configure", 10, ip_version=4, document=document) == {
        "outcome": {"ip_version": 4, "hosts": 20000, "dry_run": None}}
    assert controlclient.call(server, "GetHistory", 10, mac="52:54:00:00:00:01") == {
        "events": [None, "52:54:00:00:00:01", None]}
    with pytest.raises(controlclient.Refused) as refused:
        controlclient.call(server, "Configure", 10, ip_version=4, document={"bad": 1})
    assert refused.value.code == "INVALID_DOCUMENT"
    assert json.loads(refused.value.description)["errors"][0]["field"] == "bad"
    with pytest.raises(controlclient.Refused) as crashed:
        controlclient.call(server, "Configure", 10, ip_version=4, document={"crash": 1})
    assert crashed.value.code == "UNKNOWN"


def test_no_server_and_a_silent_server_are_told_apart(tmp_path):
    """No socket is Unreachable with the OSError; a listener that never
    answers is NoAnswer within the time given."""
    import socket

    with pytest.raises(controlclient.Unreachable) as missing:
        controlclient.call(str(tmp_path / "none.sock"), "GetStatus", 5)
    assert isinstance(missing.value.error, FileNotFoundError)
    silent = socket.socket(socket.AF_UNIX)
    silent.bind(str(tmp_path / "silent.sock"))
    silent.listen(1)
    try:
        started = time.monotonic()
        with pytest.raises(controlclient.NoAnswer, match="did not answer within 0.5 s"):
            controlclient.call(str(tmp_path / "silent.sock"), "GetStatus", 0.5)
        assert time.monotonic() - started < 5
    finally:
        silent.close()
