"""A JSON value as it came: its bytes now, the value when a thread asks.

A DHCP document of 50,000 hosts is 3.4 MB of JSON; parsing it holds the
interpreter for 12-17 ms (measured here; a full pass of the cyclic
collector holds it longer, see system.memory), and the control
socket and the region link receive it on the reactor thread, which then
answers nothing else while it parses. So a
received document is kept as `PackedJSON`: the JSON bytes (inflated from the
wire at once: zlib releases the interpreter, and a bad or oversized value is
refused there), parsed by `load` in the thread that reads the document.

Two more uses of keeping the bytes: `digest` tells a document identical to
the last one applied without reading it, and the bytes go into the state
file as they are, with no second serialisation.
"""

import hashlib
import json
import zlib

MAX_DECODED = 256 * 1024 * 1024


def inflate(data, name, limit=MAX_DECODED):
    """``data`` decompressed; a ValueError naming ``name`` for data that is
    not zlib or that inflates past ``limit`` bytes (a compressed bomb)."""
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(data, limit)
    except zlib.error as error:
        raise ValueError(f"argument {name}: not zlib data ({error})")
    if inflater.unconsumed_tail:
        raise ValueError(f"argument {name}: decodes to more than {limit} bytes")
    return text


class NestedTooDeeply(ValueError):
    """JSON nested past what the parser can read (Python's recursion limit);
    the document reader words it with the document's own depth limit."""


def parse(text, name):
    """The JSON value of ``text`` (bytes); a ValueError naming ``name``."""
    try:
        return json.loads(text)
    except RecursionError:
        raise NestedTooDeeply(f"argument {name}: nested too deeply to read") from None
    except ValueError as error:  # not UTF-8, not JSON, a number of 4,301 digits
        raise ValueError(f"argument {name}: not JSON ({error})") from None


class PackedJSON:
    """See the module docstring. ``text`` is the JSON (bytes)."""

    __slots__ = ("text", "name", "_value", "_digest")

    def __init__(self, text, name="document"):
        self.text, self.name = text, name
        self._value = self._digest = None

    @classmethod
    def of(cls, value, name="document"):
        """A value packed here (tests, and callers in this process)."""
        return cls(json.dumps(value, separators=(",", ":")).encode("utf-8"), name)

    @property
    def digest(self):
        if self._digest is None:
            self._digest = hashlib.sha256(self.text).hexdigest()
        return self._digest

    def load(self):
        """The value, parsed once (in the caller's thread); ValueError when
        the bytes are not JSON."""
        if self._value is None:
            self._value = parse(self.text, self.name)
        return self._value

    def release(self):
        """Drop the parsed value (tens of MB at 50,000 hosts) once read; the
        bytes stay, for the state file."""
        self._value = None

    def __repr__(self):
        return f"<PackedJSON {self.name}: {len(self.text)} bytes>"


def unpack(value):
    """The value itself: ``value`` loaded when it is packed."""
    return value.load() if isinstance(value, PackedJSON) else value
