"""AMP's wire format without Twisted: boxes and the argument kinds rackd uses.

An AMP box is a run of (key, value) pairs, each a 2-byte big-endian length
and its bytes, ended by a zero length. A request carries ``_command`` and
``_ask``; the reply ``_answer`` (the same tag) and the response fields, or
``_error`` with ``_error_code`` and ``_error_description``.

This module is what `rpc.controlclient` speaks to the agent with, so that
``rackctl`` need not import Twisted (most of its start-up time); the
Twisted side (`rpc.arguments`, `rpc.control`) uses the same JSON packing.
`tests/rpc/test_controlclient.py` holds both to Twisted's own encoding.

The limits a hostile or broken peer meets are here too, so both ends agree
on them: an argument that does not decode is a `BadArgument` naming it (the
Twisted side answers it as a declared error, `rpc.guarded`); an unfinished
box may hold at most `MAX_BOX` bytes; and an error description, one AMP
value, is made to fit 64 KiB by `fit_description`, which keeps the first
field errors and counts the rest.
"""

import json
import struct
import zlib

from provisioningserver.system.packed import MAX_DECODED, PackedJSON, inflate, parse

MAX_KEY_LENGTH = 0xFF
MAX_VALUE_LENGTH = 0xFFFF  # also the chunk size of a packed JSON value
MAX_CHUNKS = MAX_DECODED // MAX_VALUE_LENGTH + 1

# The most one unfinished box may hold once the peer is trusted. The largest
# box a region sends is a configure: 50,000 hosts are 3.7 MB of JSON and a
# 437 KB box; with a snippet of its own per host (a random file name in
# each) 2.1 MB; 200,000 plain hosts 1.75 MB. 8 MiB is four times the worst.
MAX_BOX = 8 << 20

COMMAND, ASK, ANSWER = b"_command", b"_ask", b"_answer"
ERROR, ERROR_CODE, ERROR_DESCRIPTION = b"_error", b"_error_code", b"_error_description"

# The argument kinds: each names a Twisted amp argument type (rpc.control
# maps them) and is encoded here exactly as that type encodes it.
# PACKED is JSON on the wire, received as a `PackedJSON` (parsed by its
# reader, off the reactor): the kind of every document argument.
INTEGER, FLOAT, BOOLEAN, UNICODE, BYTES, JSON, PACKED = (
    "integer", "float", "boolean", "unicode", "bytes", "json", "packed-json")
KINDS = (INTEGER, FLOAT, BOOLEAN, UNICODE, BYTES, JSON, PACKED)


class BoxError(ValueError):
    """Bytes that are not an AMP box, or a value that cannot go in one."""


class BadArgument(ValueError):
    """An argument that came but cannot be read: ``argument`` (its name)
    and ``reason``."""

    def __init__(self, argument, reason):
        super().__init__(f"argument {argument}: {reason}")
        self.argument, self.reason = argument, reason


def encode_box(box):
    """The wire bytes of ``box`` (bytes keys and values), keys sorted as
    Twisted sends them."""
    out = []
    for key, value in sorted(box.items()):
        if len(key) > MAX_KEY_LENGTH or not key:
            raise BoxError(f"AMP key {key[:40]!r} is empty or longer than {MAX_KEY_LENGTH}")
        if len(value) > MAX_VALUE_LENGTH:
            raise BoxError(f"AMP value of {key!r} is longer than {MAX_VALUE_LENGTH} bytes")
        out += [struct.pack("!H", len(key)), key, struct.pack("!H", len(value)), value]
    out.append(b"\x00\x00")
    return b"".join(out)


class BoxReader:
    """Splits a byte stream into boxes: `feed` bytes, get back the complete
    boxes (dicts) so far; a partial box waits for more."""

    def __init__(self):
        self._buffer = bytearray()
        self._at = 0
        self._box = {}
        self._key = None

    def feed(self, data):
        self._buffer += data
        boxes = []
        buffer = self._buffer
        while len(buffer) - self._at >= 2:
            (length,) = struct.unpack_from("!H", buffer, self._at)
            if len(buffer) - self._at - 2 < length:
                break
            item = bytes(buffer[self._at + 2:self._at + 2 + length])
            self._at += 2 + length
            if self._key is not None:
                self._box[self._key], self._key = item, None
            elif length == 0:
                boxes.append(self._box)
                self._box = {}
            elif length > MAX_KEY_LENGTH:
                raise BoxError(f"AMP key of {length} bytes (at most {MAX_KEY_LENGTH})")
            else:
                self._key = item
        del buffer[:self._at]
        self._at = 0
        return boxes


# JSON values, compressed and split over as many keys as they need.

def pack_json(value):
    """The chunks of ``value`` as JSON (a `PackedJSON`'s bytes as they are),
    zlib-compressed, each at most `MAX_VALUE_LENGTH` bytes (at least one
    chunk). Level 1: the fastest, a third of level 6's time for 10% more
    bytes, which a local socket carries in less time than that."""
    if isinstance(value, PackedJSON):
        text = value.text
    else:
        text = json.dumps(value, separators=(",", ":")).encode("utf-8")
    packed = zlib.compress(text, 1)
    return [packed[i:i + MAX_VALUE_LENGTH]
            for i in range(0, len(packed), MAX_VALUE_LENGTH)] or [b""]


def put_json(box, name, value):
    """Store ``value`` in ``box`` as ``name`` (the chunk count) and
    ``name.0`` … ``name.N-1``."""
    chunks = pack_json(value)
    box[name] = str(len(chunks)).encode("ascii")
    for i, chunk in enumerate(chunks):
        box[name + b".%d" % i] = chunk


def take_json(box, name):
    """The JSON value stored as ``name`` in ``box``, its keys removed; a
    `BadArgument` for a bad count, a missing chunk, data that is not zlib or
    not JSON, or one that inflates past `MAX_DECODED`."""
    key = name.decode("ascii")
    return _named(key, parse, _inflated(box, name), key)


def _inflated(box, name):
    key = name.decode("ascii")
    return _named(key, inflate, b"".join(_chunks(box, name)), key)


def _named(key, read, *args):
    """``read(*args)``, its ValueError a `BadArgument` naming ``key``
    (system.packed's messages already start with the argument's name)."""
    try:
        return read(*args)
    except BadArgument:
        raise
    except ValueError as error:
        raise BadArgument(key, str(error).removeprefix(f"argument {key}: ")) from None


def _chunks(box, name):
    """The chunks of ``name``, taken out of ``box``."""
    key = name.decode("ascii")
    count = box.pop(name)
    try:
        n = int(count)
    except ValueError:
        raise BadArgument(key, f"chunk count {count[:20]!r} is not a number") from None
    if not 1 <= n <= MAX_CHUNKS:
        raise BadArgument(key, f"chunk count {str(n)[:24]} out of range 1..{MAX_CHUNKS}")
    parts = []
    for i in range(n):
        part = box.pop(name + b".%d" % i, None)
        if part is None:
            raise BadArgument(key, f"chunk {i} of {n} is missing")
        parts.append(part)
    return parts


def take_packed(box, name):
    """As `take_json`, but the value is left packed (`PackedJSON`): the
    bytes are inflated and checked here, the parse is left to the reader."""
    return PackedJSON(_inflated(box, name), name.decode("ascii"))


# Error descriptions: one AMP value each.

LONG_TEXT = 4096  # characters of one text field kept in a shortened description


def fit_description(text, limit=MAX_VALUE_LENGTH):
    """``text`` (an error description, str) when its UTF-8 fits ``limit``
    bytes. A JSON object (every declared error's description) is shortened
    and stays JSON: a text field past `LONG_TEXT` characters is cut, then
    of its ``errors`` list (a document's field errors, dhcpd's complaints)
    as many of the first as fit are kept and ``omitted`` counts the rest.
    Other text is cut short, saying by how much."""
    if _fits(text, limit):
        return text
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        data = text.encode("utf-8")
        tail = f"... ({len(data)} bytes in all)"
        return data[:limit - len(tail)].decode("utf-8", "ignore") + tail
    value = {key: (item[:LONG_TEXT] + "..." if isinstance(item, str)
                   and len(item) > LONG_TEXT else item) for key, item in value.items()}
    errors = value.get("errors") if isinstance(value.get("errors"), list) else []

    def kept(n):
        if not errors:
            return json.dumps(value)
        return json.dumps({**value, "errors": errors[:n],
                           "omitted": len(errors) - n + value.get("omitted", 0)})

    low, high = 0, len(errors)  # the most errors that fit, by halving
    while low < high:
        middle = (low + high + 1) // 2
        if _fits(kept(middle), limit):
            low = middle
        else:
            high = middle - 1
    if _fits(kept(low), limit):
        return kept(low)
    return json.dumps({"kind": str(value.get("kind"))[:80],
                       "error": f"the error's description ({len(text)} characters) "
                                f"does not fit one AMP value"})


def _fits(text, limit):
    return len(text.encode("utf-8")) <= limit


# Every kind.

def _to_bytes(kind, value):
    if kind == INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            raise BoxError(f"{value!r} is not an integer")
        return str(value).encode("ascii")
    if kind == FLOAT:
        if not isinstance(value, float):
            raise BoxError(f"{value!r} is not a float")
        return str(value).encode("ascii")
    if kind == BOOLEAN:
        return b"True" if value else b"False"
    if kind == UNICODE:
        return value.encode("utf-8")
    if kind == BYTES:
        return bytes(value)
    raise BoxError(f"unknown argument kind {kind!r}")


def _from_bytes(kind, data):
    if kind == INTEGER:
        return int(data)
    if kind == FLOAT:
        return float(data)
    if kind == BOOLEAN:
        if data not in (b"True", b"False"):
            raise ValueError(f"bad boolean value {data[:20]!r}")
        return data == b"True"
    if kind == UNICODE:
        return data.decode("utf-8")
    if kind == BYTES:
        return data
    raise BoxError(f"unknown argument kind {kind!r}")


def put_values(box, fields, values):
    """Store ``values`` (a dict by name) in ``box`` as ``fields`` declare
    them: (name, kind, optional) triples. An optional value that is None or
    missing is left out; a required one that is missing is a BoxError."""
    for name, kind, optional in fields:
        value = values.get(name.decode("ascii"))
        if value is None:
            if optional:
                continue
            raise BoxError(f"argument {name.decode('ascii')} is required")
        if kind in (JSON, PACKED):
            put_json(box, name, value)
        else:
            box[name] = _to_bytes(kind, value)


def take_values(box, fields):
    """The values ``fields`` declare, read out of ``box``: a dict by name,
    None for an optional value that is absent."""
    values = {}
    for name, kind, optional in fields:
        key = name.decode("ascii")
        if name not in box:
            if not optional:
                raise ValueError(f"the reply lacks {key}")
            values[key] = None
        elif kind == JSON:
            values[key] = take_json(box, name)
        elif kind == PACKED:
            values[key] = take_packed(box, name)
        else:
            values[key] = _from_bytes(kind, box.pop(name))
    return values
