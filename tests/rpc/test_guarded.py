"""The control socket and the region link under bad input, in memory:
arguments that cannot be read, error replies past 64 KiB, boxes that never end."""

import json
import zlib

import pytest
from twisted.internet import defer
from twisted.internet.testing import StringTransport
from twisted.protocols import amp
from twisted.test import iosim

from provisioningserver.dhcp.errors import DocumentError, Problem
from provisioningserver.dhcpd.check import CheckResult, DhcpdError
from provisioningserver.rpc import ampbox, commands, control
from provisioningserver.rpc.arguments import CHUNK, MAX_DECODED, CompressedJSON
from provisioningserver.rpc.guarded import GuardedAMP
from provisioningserver.rpc.local import ControlLocator
from provisioningserver.services.configure import ConfigRejected
from tests.logged import logged
from tests.rpc.test_arguments import big_document
from tests.rpc.test_local import SOME_NETWORK, FakeConfigurator, call
from tests.rpc.test_region import FakeCoalescer, Link


def control_server(configurator=None):
    """The control socket's protocol on a StringTransport."""
    server = GuardedAMP(locator=ControlLocator(configurator or FakeConfigurator(),
                                               run_in_thread=defer.maybeDeferred))
    server.makeConnection(StringTransport())
    return server


def exchange(server, box):
    """Feed one request box to ``server``: the boxes it writes back."""
    server.transport.clear()
    server.dataReceived(ampbox.encode_box({ampbox.ASK: b"7", **box}))
    return ampbox.BoxReader().feed(server.transport.value())


def still_answers(server):
    [reply] = exchange(server, {ampbox.COMMAND: b"GetStatus"})
    return reply.get(ampbox.ANSWER) == b"7" and not server.transport.disconnecting


def packed(value, name=b"document"):
    box = {}
    ampbox.put_json(box, name, value)
    return box


def bomb():
    data = zlib.compress(b" " * (MAX_DECODED + CHUNK), 9)
    chunks = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)]
    return {b"document": b"%d" % len(chunks),
            **{b"document.%d" % i: chunk for i, chunk in enumerate(chunks)}}


CONFIGURE = {ampbox.COMMAND: b"Configure", b"ip_version": b"4"}


@pytest.mark.parametrize("arguments, field, reason", [
    ({b"document": b"1" + b"0" * 20}, "document",
     "chunk count 100000000000000000000 out of range 1..4097"),
    ({b"document": b"0"}, "document", "chunk count 0 out of range 1..4097"),
    ({b"document": b"-1"}, "document", "chunk count -1 out of range 1..4097"),
    ({b"document": b"4097", b"document.0": zlib.compress(b"{}")}, "document",
     "chunk 1 of 4097 is missing"),
    ({b"document": b"x"}, "document", "chunk count b'x' is not a number"),
    ({b"document": b"1", b"document.0": b"garbage"}, "document", "not zlib data"),
    (None, "document", f"decodes to more than {MAX_DECODED} bytes"),
    ({}, "document", "is missing"),
    ({**packed(SOME_NETWORK), b"ip_version": b"x"}, "ip_version", "cannot be read as integer"),
    ({**packed(SOME_NETWORK), b"dry_run": b"maybe"}, "dry_run", "cannot be read as boolean"),
], ids=["count-1e20", "count-0", "count-minus-1", "4097-chunks-missing", "count-not-a-number",
        "not-zlib", "bomb", "no-document", "ip-version-not-a-number", "dry-run-not-a-boolean"])
def test_an_argument_that_cannot_be_read_is_a_declared_error_and_the_connection_stays(
        arguments, field, reason):
    """Each malformed argument of a configure is INVALID_DOCUMENT naming the
    argument and why (not AMP's "Unknown Error"); the configurator never
    sees it, and the same connection answers the next command."""
    configurator = FakeConfigurator()
    server = control_server(configurator)
    [reply] = exchange(server, {**CONFIGURE, **(bomb() if arguments is None else arguments)})
    assert reply[ampbox.ERROR_CODE] == b"INVALID_DOCUMENT"
    [problem] = json.loads(reply[ampbox.ERROR_DESCRIPTION])["errors"]
    assert problem["field"] == field and reason in problem["error"], problem
    assert configurator.received == []
    assert still_answers(server)


class Echo(amp.Command):
    arguments = [(b"value", CompressedJSON())]
    response = [(b"value", CompressedJSON())]
    errors = {control.InvalidDocument: b"INVALID_DOCUMENT"}


class EchoLocator(amp.CommandLocator):
    @Echo.responder
    def echo(self, value):
        return {"value": value}


def test_json_nested_a_hundred_thousand_deep_is_a_declared_error():
    """A JSON argument nested 100,000 deep (RecursionError in the reader) is
    INVALID_DOCUMENT naming the argument, and the connection answers on."""
    server = GuardedAMP(locator=EchoLocator())
    server.makeConnection(StringTransport())
    deep = zlib.compress(b"[" * 100_000 + b"]" * 100_000)
    [reply] = exchange(server, {ampbox.COMMAND: b"Echo", b"value": b"1", b"value.0": deep})
    [problem] = json.loads(reply[ampbox.ERROR_DESCRIPTION])["errors"]
    assert problem == {"field": "value", "error": "nested too deeply to read"}
    [reply] = exchange(server, {ampbox.COMMAND: b"Echo", **packed([1], b"value")})
    assert ampbox.take_json(reply, b"value") == [1]


def problems(count):
    return DocumentError([Problem(f"hosts[{i}].mac", f"expected a MAC address, got 'x{i}'")
                          for i in range(count)])


def test_three_thousand_field_errors_come_back_capped_with_a_count_of_the_rest():
    """A document with 3,000 bad hosts gets INVALID_DOCUMENT with the first
    errors, in order, that fit one AMP value and ``omitted`` counting the
    rest, instead of a dropped connection; the connection stays usable."""
    server = GuardedAMP(locator=ControlLocator(FakeConfigurator(raises=problems(3000)),
                                               run_in_thread=defer.maybeDeferred))
    client = amp.AMP()
    _, _, pump = iosim.connectedServerAndClient(lambda: server, lambda: client)
    failure = call(None, control.Configure, (client, pump), ip_version=4, document=SOME_NETWORK)
    assert failure.check(control.InvalidDocument)
    description = str(failure.value)
    assert len(description) <= ampbox.MAX_VALUE_LENGTH
    details = json.loads(description)
    kept = len(details["errors"])
    assert kept > 500 and kept + details["omitted"] == 3000
    assert [e["field"] for e in details["errors"]] == [f"hosts[{i}].mac" for i in range(kept)]
    assert call(None, control.GetStatus, (client, pump))["status"]["v4"]["state"] == "running"


def test_a_rejection_with_a_huge_dhcpd_output_still_fits_and_stays_json():
    """dhcpd's output past 64 KiB is cut, not sent whole: CONFIG_REJECTED
    arrives as JSON with the first complaints."""
    errors = tuple(DhcpdError(f"expecting ; {i}", i, "x" * 50, 3) for i in range(2000))
    rejected = ConfigRejected(CheckResult(ok=False, errors=errors, output="y" * 200_000))
    server = control_server(FakeConfigurator(raises=rejected))
    [reply] = exchange(server, {**CONFIGURE, **packed(SOME_NETWORK)})
    assert reply[ampbox.ERROR_CODE] == b"CONFIG_REJECTED"
    details = json.loads(reply[ampbox.ERROR_DESCRIPTION])
    assert details["errors"][0]["error"] == "expecting ; 0"
    assert len(details["errors"]) + details["omitted"] == 2000
    assert details["output"].startswith("yyy") and len(details["output"]) < 5000
    assert still_answers(server)


def test_the_region_gets_an_answer_for_twenty_thousand_bad_hosts():
    """ConfigureDHCPv4 of 20,000 empty hosts: the region gets INVALID_DOCUMENT
    (the first errors and ``omitted``), and the link stays up."""
    link = Link(coalescer=FakeCoalescer(raises=problems(20_000)))
    assert link.prepare() is None
    failure = link.call(link.region_protocol, commands.ConfigureDHCPv4, document=SOME_NETWORK)
    assert failure.check(control.InvalidDocument)
    details = json.loads(str(failure.value))
    assert len(details["errors"]) + details["omitted"] == 20_000
    assert not link.closed
    status = link.call(link.region_protocol, commands.GetDHCPStatus)
    assert status["status"]["v4"]["state"] == "running"


def test_the_region_gets_invalid_document_for_a_validate_that_did_not_arrive_whole():
    """A ValidateDHCPv4Config whose chunks do not add up is INVALID_DOCUMENT
    naming ``document``, on a link that stays up."""
    link = Link()
    assert link.prepare() is None
    answers = []
    link.rack_protocol.dispatchCommand(amp.AmpBox({
        ampbox.COMMAND: b"ValidateDHCPv4Config", b"document": b"0"})).addBoth(answers.append)
    [failure] = answers
    assert failure.value.errorCode == b"INVALID_DOCUMENT"
    assert json.loads(failure.value.description)["errors"] == [
        {"field": "document", "error": "chunk count 0 out of range 1..4097"}]
    status = link.call(link.region_protocol, commands.GetDHCPStatus)
    assert status["status"]["v4"]["state"] == "running" and not link.closed


def junk_box(total, command=b"GetStatus"):
    """A request box carrying ``total`` bytes of keys no command reads."""
    value = b"j" * 60_000
    box = {ampbox.COMMAND: command}
    for i in range(total // len(value) + 1):
        box[b"junk.%d" % i] = value
    return box


def warnings(action):
    return [line for line in logged(action, "provisioningserver.rpc") if "without ending" in line]


def test_a_box_that_never_ends_is_cut_off_at_the_bound_with_one_log_line():
    """Past `MAX_BOX` bytes of one unfinished box the connection is closed
    with one log line, and nothing more that comes on it is read."""
    server = control_server()
    wire = ampbox.encode_box(junk_box(ampbox.MAX_BOX + 1_000_000))[:-2]  # no end
    lines = warnings(lambda: [server.dataReceived(wire[i:i + 65536])
                              for i in range(0, len(wire), 65536)])
    assert server.transport.disconnecting
    assert len(lines) == 1 and str(ampbox.MAX_BOX) in lines[0]
    server.transport.clear()
    server.dataReceived(b"\x00\x00" + ampbox.encode_box({ampbox.COMMAND: b"GetStatus",
                                                          ampbox.ASK: b"8"}))
    assert server.transport.value() == b""  # nothing after the cut is read


def test_boxes_under_the_bound_pass_one_after_another():
    """The bound is per box: two 5 MiB boxes in a row are both answered,
    and so is a 50,000-host configure."""
    server = control_server()
    for _ in range(2):
        [reply] = exchange(server, junk_box(5 << 20))
        assert reply[ampbox.ANSWER] == b"7"
    [reply] = exchange(server, {**CONFIGURE, **packed(big_document())})
    assert reply[ampbox.ANSWER] == b"7"
    assert not server.transport.disconnecting


def test_before_authentication_the_region_link_holds_at_most_64_kib_of_a_box():
    """A peer that has not authenticated is cut off once one box passes
    64 KiB; after the handshake a 50,000-host configure passes."""
    link = Link()
    link.rack_protocol.dataReceived(ampbox.encode_box(junk_box(70_000, b"GetDHCPStatus")))
    assert link.closed
    link = Link()
    assert link.prepare() is None
    reply = link.call(link.region_protocol, commands.ConfigureDHCPv4, document=big_document())
    assert reply["outcome"]["action"] == "restarted"
    assert not link.closed
