"""A received JSON value kept as bytes until its reader parses it."""

import json
import zlib

import pytest

from provisioningserver.system.packed import MAX_DECODED, PackedJSON, inflate, parse, unpack


def test_the_value_is_parsed_once_when_asked():
    """`load` parses the bytes on the first call and keeps the value."""
    packed = PackedJSON(b'{"a": [1, 2]}')
    first = packed.load()
    assert first == {"a": [1, 2]} and packed.load() is first
    assert unpack(packed) is first and unpack({"b": 1}) == {"b": 1}


def test_the_digest_is_of_the_bytes():
    """Equal bytes, equal digests; other bytes of the same value differ (the
    digest only recognises a repeat, it does not compare values)."""
    assert PackedJSON(b'{"a":1}').digest == PackedJSON(b'{"a":1}').digest
    assert PackedJSON(b'{"a":1}').digest != PackedJSON(b'{"a": 1}').digest
    assert PackedJSON.of({"a": 1}).text == b'{"a":1}'


@pytest.mark.parametrize("text, message", [
    (b'{"a": ', "argument document: not JSON"),
    (b"\xff\xfe{}", "argument document: not JSON"),
    (b"[" * 100000 + b"]" * 100000, "argument document: nested too deeply to read"),
])
def test_bad_bytes_are_a_value_error_naming_the_argument(text, message):
    """Not JSON, not UTF-8, or nested past the parser: one ValueError that
    names the argument, raised by `load`, not on arrival."""
    packed = PackedJSON(text)
    with pytest.raises(ValueError) as error:
        packed.load()
    assert str(error.value).startswith(message)


def test_inflate_refuses_a_bomb_and_garbage():
    """Past the limit, or not zlib at all: a ValueError naming the argument."""
    with pytest.raises(ValueError, match="decodes to more than 1000 bytes"):
        inflate(zlib.compress(b" " * 5000), "document", limit=1000)
    with pytest.raises(ValueError, match="argument document: not zlib data"):
        inflate(b"not zlib", "document")
    assert inflate(zlib.compress(b"{}"), "document") == b"{}"
    assert MAX_DECODED == 256 * 1024 * 1024
    assert parse(b"[1]", "x") == [1]
    assert json.loads(PackedJSON.of([1, "\u00e9"]).text) == [1, "\u00e9"]


def test_release_drops_the_value_and_keeps_the_bytes():
    """Once read, the parsed value can go; the bytes stay, and a later load
    parses them again."""
    packed = PackedJSON(b'{"a": 1}')
    first = packed.load()
    packed.release()
    assert packed.text == b'{"a": 1}' and packed.load() == first and packed.load() is not first
