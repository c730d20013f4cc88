"""Lease events and the one-line record that carries them (pure).

A lease event is a `LeaseEvent`; the record line carries one in text:

    rackd-lease 1 ACTION FAMILY IP MAC DUID LEASE_TIME HOSTNAME KNOWN TIMESTAMP

scripts/dhcp-notify sends it as a datagram or appends it to the spool file,
and dhcpd writes it itself with ``log()`` for what its own lines do not say
(expiries, a fixed-address lease's time: `provisioningserver.dhcp.hooks`;
rackd's commits and releases come from dhcpd's lines,
`provisioningserver.leases.logevents`).
Absent fields are ``-``. Client-chosen bytes (host name) travel hex-encoded
("68:6f:73:74"), so no client can put a space or a newline into a record;
dhcpd's ``binary-to-ascii`` does not zero-pad ("0:c:1:2:3:4"), which the
parser accepts and normalises. dhcpd's log has no clock, so a record from
the log has no TIMESTAMP and the reader stamps it when it reads it.

A line that is not a record (any other dhcpd log line) is `None`; a line
that claims to be one but is wrong in any field raises `BadRecord`, which
readers count and skip: nothing here may take a service down.
"""

import functools
import ipaddress

import attrs

MAGIC = "rackd-lease"
VERSION = "1"
ACTIONS = ("commit", "release", "expiry")
MAX_RECORD = 2048  # bytes; dhcpd's own log lines are shorter than 1024
MAX_HOSTNAME = 255
MAX_DUID = 130  # RFC 8415: type (2) + at most 128 bytes
MAX_LEASE_TIME = 2**32 - 1


@functools.lru_cache(maxsize=4096)
def _version_and_text(text):
    """(version, canonical text) of an IP address, or (None, None).

    Cached: the follower meets the same addresses again and again, at
    dhcpd's full rate, and `ipaddress` is slow to parse them."""
    try:
        address = ipaddress.ip_address(text)
    except (TypeError, ValueError):
        return None, None
    return address.version, str(address)


class BadRecord(ValueError):
    """A line that claims to be a lease record but is not a valid one."""


def _in(choices):
    def check(instance, attribute, value):
        if value not in choices:
            raise ValueError(f"{attribute.name}: expected one of {choices}, got {value!r}")

    return check


def _optional_int(instance, attribute, value):
    if value is not None and (type(value) is not int or not 0 <= value <= MAX_LEASE_TIME):
        raise ValueError(f"{attribute.name}: expected 0..{MAX_LEASE_TIME} or None, got {value!r}")


@attrs.frozen
class LeaseEvent:
    """One thing that happened to a lease."""

    action: str = attrs.field(validator=_in(ACTIONS))
    ip_family: int = attrs.field(validator=_in((4, 6)))
    ip: str = attrs.field()
    mac: str | None = None
    duid: str | None = None
    hostname: str | None = None
    lease_time: int | None = attrs.field(default=None, validator=_optional_int)
    timestamp: float | None = None
    # True: no host reservation named this client when dhcpd committed the
    # lease; None: the source could not tell (expiry, DHCPv6).
    unknown_client: bool | None = None

    @ip.validator
    def _check_ip(self, attribute, value):
        version, canonical = _version_and_text(value) if isinstance(value, str) else (None, None)
        if version is None:
            raise ValueError(f"ip: expected an IP address, got {value!r}")
        if version != self.ip_family or canonical != value:
            raise ValueError(f"ip: expected a canonical IPv{self.ip_family} address, got {value!r}")

    def stamped(self, when):
        """This event with ``when`` as its time, unless it already has one."""
        return self if self.timestamp is not None else attrs.evolve(self, timestamp=when)


def _hex_bytes(text, field, limit):
    """'0:c:1' -> b'\\x00\\x0c\\x01' for the colon-separated hex dhcpd writes."""
    parts = text.split(":")
    if len(parts) > limit:
        raise BadRecord(f"{field}: longer than {limit} bytes")
    try:
        values = [int(p, 16) for p in parts]
    except ValueError:
        raise BadRecord(f"{field}: expected colon-separated hex, got {text[:40]!r}") from None
    if any(not (0 <= v <= 255) or not (1 <= len(p) <= 2) for p, v in zip(parts, values)):
        raise BadRecord(f"{field}: expected bytes as 1-2 hex digits, got {text[:40]!r}")
    return bytes(values)


def _hex_text(data):
    return ":".join("%02x" % b for b in data)


def _absent(text):
    # dhcpd writes "" for an empty option (binary-to-ascii of no bytes).
    return text in ("-", "")


def _parse_ip(text, family):
    if family == 6 and text.count(":") == 7 and "::" not in text:
        # binary-to-ascii(16, 16, ...) writes all eight groups unpadded.
        text = text.lower()
    version, canonical = _version_and_text(text)
    if version != family:
        raise BadRecord(f"ip: expected an IPv{family} address, got {text[:50]!r}")
    return canonical


def clean_hostname(name):
    """What a DNS name may hold of ``name`` (up to a NUL), or None; anything
    else a client sent is dropped, never stored."""
    name = name.split("\0", 1)[0][:MAX_HOSTNAME]
    cleaned = "".join(c for c in name if c.isascii() and (c.isalnum() or c in "-._"))
    return cleaned or None


def _parse_hostname(text):
    raw = _hex_bytes(text, "hostname", MAX_HOSTNAME)
    return clean_hostname(raw.decode("ascii", "replace"))


def _parse_number(text, field, limit):
    if not text.isdigit() or len(text) > 12:
        raise BadRecord(f"{field}: expected a non-negative integer, got {text[:20]!r}")
    value = int(text)
    if value > limit:
        raise BadRecord(f"{field}: expected at most {limit}, got {value}")
    return value


def parse_record(line):
    """The event a record line carries; None if the line is not a record.

    ``line`` is text or bytes, with or without its newline. Raises BadRecord
    for a line that starts like a record but is not one.
    """
    if isinstance(line, bytes):
        if len(line) > MAX_RECORD:
            if line.startswith(MAGIC.encode()):
                raise BadRecord(f"record longer than {MAX_RECORD} bytes")
            return None
        line = line.decode("ascii", "replace")
    if not line.startswith(MAGIC + " "):
        return None
    if len(line) > MAX_RECORD:
        raise BadRecord(f"record longer than {MAX_RECORD} bytes")
    words = line.rstrip("\r\n").split(" ")
    if len(words) != 11:
        raise BadRecord(f"expected 11 fields, got {len(words)}")
    _, version, action, family, ip, mac, duid, lease_time, hostname, known, stamp = words
    if version != VERSION:
        raise BadRecord(f"version: expected {VERSION}, got {version[:10]!r}")
    if action not in ACTIONS:
        raise BadRecord(f"action: expected one of {ACTIONS}, got {action[:20]!r}")
    if family not in ("4", "6"):
        raise BadRecord(f"family: expected 4 or 6, got {family[:10]!r}")
    family = int(family)
    if known not in ("known", "unknown", "-"):
        raise BadRecord(f"known: expected known, unknown or -, got {known[:20]!r}")
    mac_bytes = None if _absent(mac) else _hex_bytes(mac, "mac", 16)
    if mac_bytes is not None and len(mac_bytes) != 6:
        raise BadRecord(f"mac: expected 6 bytes, got {len(mac_bytes)}")
    duid_bytes = None if _absent(duid) else _hex_bytes(duid, "duid", MAX_DUID)
    if family == 4 and mac_bytes is None and action == "commit":
        raise BadRecord("mac: a DHCPv4 commit must name the client's MAC")
    if family == 6 and duid_bytes is None and action != "expiry":
        raise BadRecord("duid: a DHCPv6 event must name the client's DUID")
    return LeaseEvent(
        action=action,
        ip_family=family,
        ip=_parse_ip(ip, family),
        mac=None if mac_bytes is None else _hex_text(mac_bytes),
        duid=None if duid_bytes is None else _hex_text(duid_bytes),
        hostname=None if _absent(hostname) else _parse_hostname(hostname),
        lease_time=None if lease_time == "-" else _parse_number(lease_time, "lease_time", MAX_LEASE_TIME),
        timestamp=None if stamp == "-" else float(_parse_number(stamp, "timestamp", 2**40)),
        unknown_client={"known": False, "unknown": True, "-": None}[known],
    )


def format_record(event):
    """The record line (no newline) for ``event``; parse_record's inverse."""
    hostname = "-"
    if event.hostname:
        hostname = ":".join("%x" % b for b in event.hostname.encode("ascii"))
    known = {None: "-", True: "unknown", False: "known"}[event.unknown_client]
    return " ".join(
        [
            MAGIC,
            VERSION,
            event.action,
            str(event.ip_family),
            event.ip,
            event.mac or "-",
            event.duid or "-",
            "-" if event.lease_time is None else str(event.lease_time),
            hostname,
            known,
            "-" if event.timestamp is None else str(int(event.timestamp)),
        ]
    )
