"""AMP argument types for values larger than AMP allows.

AMP limits one value to 65,535 bytes; a DHCP document with 50,000 hosts is
several megabytes. `CompressedJSON` carries any JSON value compressed with
zlib and split over as many keys as it needs: ``name`` holds the number of
chunks, ``name.0`` … ``name.N-1`` the chunks. The receiver refuses a value
that decompresses past `MAX_DECODED` (a compressed bomb) or whose chunks do
not add up, with a ValueError that AMP turns into a failed command.
"""

import json
import zlib

from twisted.protocols import amp

CHUNK = amp.MAX_VALUE_LENGTH
MAX_DECODED = 256 * 1024 * 1024


class CompressedJSON(amp.Argument):
    def toBox(self, name, strings, objects, proto):
        value = self.retrieve(objects, name.decode("ascii"), proto)
        if self.optional and value is None:
            return
        packed = zlib.compress(json.dumps(value, separators=(",", ":")).encode("utf-8"), 6)
        chunks = [packed[i:i + CHUNK] for i in range(0, len(packed), CHUNK)] or [b""]
        strings[name] = str(len(chunks)).encode("ascii")
        for i, chunk in enumerate(chunks):
            strings[name + b".%d" % i] = chunk

    def fromBox(self, name, strings, objects, proto):
        key = name.decode("ascii")
        count = strings.pop(name, None)
        if count is None:
            if self.optional:
                objects[key] = None
                return
            raise KeyError(name)
        try:
            n = int(count)
        except ValueError:
            raise ValueError(f"argument {key}: chunk count {count[:20]!r} is not a number")
        if not 1 <= n <= MAX_DECODED // CHUNK + 1:
            raise ValueError(f"argument {key}: {n} chunks is out of range")
        parts = []
        for i in range(n):
            part = strings.pop(name + b".%d" % i, None)
            if part is None:
                raise ValueError(f"argument {key}: chunk {i} of {n} is missing")
            parts.append(part)
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(b"".join(parts), MAX_DECODED)
        except zlib.error as error:
            raise ValueError(f"argument {key}: not zlib data ({error})")
        if inflater.unconsumed_tail:
            raise ValueError(f"argument {key}: decodes to more than {MAX_DECODED} bytes")
        try:
            objects[key] = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"argument {key}: not JSON ({error})")
