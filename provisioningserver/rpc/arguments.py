"""AMP argument types for values larger than AMP allows, and arguments
that say which of them could not be read.

AMP limits one value to 65,535 bytes; a DHCP document with 50,000 hosts is
several megabytes. `CompressedJSON` carries any JSON value compressed with
zlib and split over as many keys as it needs: ``name`` holds the number of
chunks, ``name.0`` … ``name.N-1`` the chunks. The receiver refuses a value
that decompresses past `MAX_DECODED` (a compressed bomb) or whose chunks do
not add up, with a `BadArgument` naming it, which `rpc.guarded` answers as
a declared error on a connection that stays open. The packing itself is
`rpc.ampbox`'s, shared with rackctl's Twisted-free client.

With ``packed=True`` (every document argument) the value is received as a
`system.packed.PackedJSON`: inflated and checked on arrival, parsed by the
thread that reads it, so a 50,000-host document does not hold the reactor.

Twisted's own types raise whatever their parsing raises (``int(b"x")``'s
ValueError, a TypeError for a boolean that is neither), naming no argument;
`Integer`, `Float`, `Boolean`, `Unicode` and `String` here are those types
raising `BadArgument` instead, so the reply can say which field was wrong.
"""

from twisted.protocols import amp

from provisioningserver.rpc.ampbox import (
    MAX_DECODED, BadArgument, put_json, take_json, take_packed)

CHUNK = amp.MAX_VALUE_LENGTH
__all__ = ["CHUNK", "MAX_DECODED", "Boolean", "CompressedJSON", "Float", "Integer", "String",
           "Unicode"]


class CompressedJSON(amp.Argument):
    def __init__(self, optional=False, packed=False):
        super().__init__(optional)
        self.packed = packed

    def toBox(self, name, strings, objects, proto):
        value = self.retrieve(objects, name.decode("ascii"), proto)
        if self.optional and value is None:
            return
        put_json(strings, name, value)

    def fromBox(self, name, strings, objects, proto):
        key = name.decode("ascii")
        if name not in strings:
            if self.optional:
                objects[key] = None
                return
            raise BadArgument(key, "is missing")
        objects[key] = (take_packed if self.packed else take_json)(strings, name)


def _naming(base):
    """``base`` (an amp argument type) raising `BadArgument` for a value it
    cannot read or a required one that is missing."""

    def fromBox(self, name, strings, objects, proto):
        key = name.decode("ascii")
        if name not in strings and not self.optional:
            raise BadArgument(key, "is missing")
        try:
            base.fromBox(self, name, strings, objects, proto)
        except (ValueError, TypeError) as error:
            raise BadArgument(key, f"cannot be read as {base.__name__.lower()}: {error}"[:200]
                              ) from None

    return type(base.__name__, (base,), {"fromBox": fromBox, "__doc__": base.__doc__})


Integer, Float, Boolean, Unicode, String = map(
    _naming, (amp.Integer, amp.Float, amp.Boolean, amp.Unicode, amp.String))
