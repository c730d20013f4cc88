"""AMP argument types for values larger than AMP allows.

AMP limits one value to 65,535 bytes; a DHCP document with 50,000 hosts is
several megabytes. `CompressedJSON` carries any JSON value compressed with
zlib and split over as many keys as it needs: ``name`` holds the number of
chunks, ``name.0`` … ``name.N-1`` the chunks. The receiver refuses a value
that decompresses past `MAX_DECODED` (a compressed bomb) or whose chunks do
not add up, with a ValueError that AMP turns into a failed command. The
packing itself is `rpc.ampbox`'s, shared with rackctl's Twisted-free client.

With ``packed=True`` (every document argument) the value is received as a
`system.packed.PackedJSON`: inflated and checked on arrival, parsed by the
thread that reads it, so a 50,000-host document does not hold the reactor.
"""

from twisted.protocols import amp

from provisioningserver.rpc.ampbox import MAX_DECODED, put_json, take_json, take_packed

CHUNK = amp.MAX_VALUE_LENGTH
__all__ = ["CHUNK", "MAX_DECODED", "CompressedJSON"]


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
            raise KeyError(name)
        objects[key] = (take_packed if self.packed else take_json)(strings, name)
