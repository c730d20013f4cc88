"""DHCPv4 messages as bytes and back (RFC 2131/2132), for the lab's own client.

Pure: no sockets. `build` makes a client message with whatever options a
test wants to send (raw bytes per code, so a test can send malformed or
unusual values too); `parse` turns a server reply into plain data: the fixed
fields (yiaddr, siaddr as next-server, sname, file) and every option, the
known ones decoded by name and all of them also as hex, so that nothing the
server said is hidden from a test.
"""

import ipaddress
import struct

MAGIC = b"\x63\x82\x53\x63"
BOOTREQUEST, BOOTREPLY = 1, 2
FLAG_BROADCAST = 0x8000
_FIXED = struct.Struct("!BBBBIHHIIII16s64s128s")

MESSAGE_TYPES = {
    1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE",
    5: "ACK", 6: "NAK", 7: "RELEASE", 8: "INFORM",
}
MESSAGE_CODES = {name: code for code, name in MESSAGE_TYPES.items()}

# code: (name, kind). Kinds say how to decode the value.
OPTIONS = {
    1: ("subnet-mask", "ip"),
    3: ("routers", "ips"),
    6: ("domain-name-servers", "ips"),
    12: ("host-name", "text"),
    15: ("domain-name", "text"),
    26: ("interface-mtu", "u16"),
    28: ("broadcast-address", "ip"),
    42: ("ntp-servers", "ips"),
    43: ("vendor-encapsulated-options", "hex"),
    50: ("requested-address", "ip"),
    51: ("lease-time", "u32"),
    53: ("message-type", "type"),
    54: ("server-identifier", "ip"),
    55: ("parameter-request-list", "bytes"),
    56: ("message", "text"),
    58: ("renewal-time", "u32"),
    59: ("rebinding-time", "u32"),
    60: ("vendor-class-identifier", "text"),
    61: ("client-identifier", "hex"),
    66: ("tftp-server-name", "text"),
    67: ("bootfile-name", "text"),
    77: ("user-class", "text"),
    93: ("client-architecture", "u16s"),
    97: ("client-machine-identifier", "hex"),
    119: ("domain-search", "names"),
    150: ("tftp-server-address", "ips"),
    209: ("pxelinux-configfile", "text"),
    210: ("path-prefix", "text"),
}

DEFAULT_PARAMETERS = (1, 3, 6, 12, 15, 26, 28, 42, 43, 51, 54, 58, 59, 60, 66, 67, 119, 150, 210)


class PacketError(Exception):
    """Bytes that are not a DHCP message."""


def mac_bytes(mac):
    return bytes.fromhex(mac.replace(":", "").replace("-", ""))


def mac_text(raw):
    return ":".join("%02x" % b for b in raw)


def encode_options(options):
    """Options (code -> bytes, in order) as TLVs, long values split (RFC 3396)."""
    out = bytearray()
    for code, value in options.items():
        value = bytes(value)
        if not value:
            out += bytes([code, 0])
        for start in range(0, len(value), 255):
            chunk = value[start:start + 255]
            out += bytes([code, len(chunk)]) + chunk
    return bytes(out + b"\xff")


def build(message_type, xid, chaddr, options=None, flags=FLAG_BROADCAST, ciaddr="0.0.0.0",
          secs=0):
    """A client message; ``options`` maps code to raw bytes, sent after 53."""
    fixed = _FIXED.pack(
        BOOTREQUEST, 1, 6, 0, xid, secs, flags,
        int(ipaddress.IPv4Address(ciaddr)), 0, 0, 0,
        mac_bytes(chaddr), b"", b"",
    )
    allopts = {53: bytes([MESSAGE_CODES[message_type]])}
    for code, value in (options or {}).items():
        if code != 53:
            allopts[code] = value
    return fixed + MAGIC + encode_options(allopts)


def split_options(data):
    """code -> bytes, repeated codes concatenated (RFC 3396); stops at END."""
    found = {}
    i = 0
    while i < len(data):
        code = data[i]
        if code == 255:
            break
        if code == 0:
            i += 1
            continue
        if i + 1 >= len(data) or i + 2 + data[i + 1] > len(data):
            raise PacketError("option %d runs past the end of the packet" % code)
        length = data[i + 1]
        found[code] = found.get(code, b"") + data[i + 2:i + 2 + length]
        i += 2 + length
    return found


def decode_names(data):
    """A list of domain names in RFC 1035 wire form, with compression."""
    names, offset = [], 0
    while offset < len(data):
        labels, i, jumps = [], offset, 0
        end = None
        while True:
            if i >= len(data):
                raise PacketError("domain name runs past its option")
            length = data[i]
            if length == 0:
                i += 1
                break
            if length & 0xC0 == 0xC0:
                jumps += 1
                if jumps > 64:
                    raise PacketError("domain name compression loops")
                if end is None:
                    end = i + 2
                i = ((length & 0x3F) << 8) | data[i + 1]
                continue
            labels.append(data[i + 1:i + 1 + length].decode("ascii", "replace"))
            i += 1 + length
        names.append(".".join(labels))
        offset = end if end is not None else i
    return names


def _ips(value):
    return [str(ipaddress.IPv4Address(value[i:i + 4])) for i in range(0, len(value) - 3, 4)]


def decode_value(kind, value):
    if kind == "ip":
        return str(ipaddress.IPv4Address(value[:4]))
    if kind == "ips":
        return _ips(value)
    if kind == "text":
        return value.rstrip(b"\x00").decode("utf-8", "replace")
    if kind == "u16":
        return struct.unpack("!H", value[:2])[0]
    if kind == "u16s":
        return [struct.unpack("!H", value[i:i + 2])[0] for i in range(0, len(value) - 1, 2)]
    if kind == "u32":
        return struct.unpack("!I", value[:4])[0]
    if kind == "type":
        return MESSAGE_TYPES.get(value[0], value[0])
    if kind == "bytes":
        return list(value)
    if kind == "names":
        return decode_names(value)
    return value.hex()


def decode_options(raw):
    """Known options by name, decoded; unknown ones as "option-N": hex."""
    decoded = {}
    for code, value in raw.items():
        name, kind = OPTIONS.get(code, ("option-%d" % code, "hex"))
        try:
            decoded[name] = decode_value(kind, value)
        except (ValueError, struct.error, IndexError, PacketError):
            decoded[name] = value.hex()
    return decoded


def _cstring(raw):
    return raw.split(b"\x00", 1)[0].decode("utf-8", "replace")


def parse(data):
    """A DHCP message as plain data (JSON-ready)."""
    if len(data) < _FIXED.size + 4 or data[_FIXED.size:_FIXED.size + 4] != MAGIC:
        raise PacketError("not a DHCP message (%d bytes)" % len(data))
    (op, _htype, hlen, _hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr,
     chaddr, sname, file) = _FIXED.unpack(data[:_FIXED.size])
    raw = split_options(data[_FIXED.size + 4:])
    ip = lambda n: str(ipaddress.IPv4Address(n))  # noqa: E731
    return {
        "op": op,
        "xid": xid,
        "message_type": MESSAGE_TYPES.get(raw.get(53, b"\x00")[0]),
        "flags": flags,
        "secs": secs,
        "ciaddr": ip(ciaddr),
        "yiaddr": ip(yiaddr),
        "siaddr": ip(siaddr),
        "giaddr": ip(giaddr),
        "chaddr": mac_text(chaddr[:hlen]),
        "sname": _cstring(sname),
        "file": _cstring(file),
        "options": decode_options(raw),
        "raw_options": {str(code): value.hex() for code, value in raw.items()},
    }
