"""CompressedJSON: values beyond AMP's 64 KiB limit, and hostile boxes."""

import zlib

import pytest
from twisted.protocols import amp

from provisioningserver.rpc.arguments import CHUNK, MAX_DECODED, CompressedJSON


def big_document(hosts=50_000):
    return {
        "shared_networks": [{"name": "n", "subnets": [{"subnet_cidr": "198.18.0.0/15"}]}],
        "hosts": [{"host": f"node-{i}", "mac": "52:54:%02x:%02x:%02x:%02x" % (
            i >> 24 & 255, i >> 16 & 255, i >> 8 & 255, i & 255),
            "ip": f"198.{18 + (i >> 16)}.{i >> 8 & 255}.{i & 255}"} for i in range(hosts)],
    }


def round_trip(value):
    argument = CompressedJSON()
    strings = {}
    argument.toBox(b"document", strings, {"document": value}, None)
    objects = {}
    argument.fromBox(b"document", dict(strings), objects, None)
    return strings, objects["document"]


def test_small_value_round_trips_in_one_chunk():
    """A small value travels as one chunk and comes back equal."""
    strings, value = round_trip({"a": [1, "two", None]})
    assert value == {"a": [1, "two", None]}
    assert strings[b"document"] == b"1"


def test_fifty_thousand_hosts_round_trip_over_several_chunks():
    """A 50,000-host document needs more than one AMP value and arrives whole."""
    document = big_document()
    strings, value = round_trip(document)
    assert int(strings[b"document"]) > 1
    assert all(len(v) <= amp.MAX_VALUE_LENGTH for v in strings.values())
    assert value == document


@pytest.mark.parametrize("strings, message", [
    ({b"d": b"x"}, "not a number"),
    ({b"d": b"0"}, "out of range"),
    ({b"d": b"2", b"d.0": zlib.compress(b"{}")}, "chunk 1 of 2 is missing"),
    ({b"d": b"1", b"d.0": b"garbage"}, "not zlib data"),
    ({b"d": b"1", b"d.0": zlib.compress(b"{not json")}, "not JSON"),
    ({b"d": b"1", b"d.0": zlib.compress(b"\xff\xfe")}, "not JSON"),
], ids=["count-not-number", "zero-chunks", "missing-chunk", "not-zlib", "not-json", "not-utf8"])
def test_garbled_boxes_are_refused_with_a_clear_error(strings, message):
    """A garbled argument raises ValueError naming the argument and the fault."""
    with pytest.raises(ValueError, match=message) as caught:
        CompressedJSON().fromBox(b"d", dict(strings), {}, None)
    assert "argument d" in str(caught.value)


def test_decompression_bomb_is_refused():
    """A value that inflates past the limit is refused, not inflated."""
    bomb = zlib.compress(b" " * (MAX_DECODED + CHUNK), 9)
    chunks = [bomb[i:i + CHUNK] for i in range(0, len(bomb), CHUNK)]
    strings = {b"d": str(len(chunks)).encode()}
    strings.update({b"d.%d" % i: c for i, c in enumerate(chunks)})
    with pytest.raises(ValueError, match="more than"):
        CompressedJSON().fromBox(b"d", strings, {}, None)


def test_optional_argument_may_be_absent():
    """An optional CompressedJSON missing from the box decodes to None."""
    objects = {}
    CompressedJSON(optional=True).fromBox(b"d", {}, objects, None)
    assert objects == {"d": None}
