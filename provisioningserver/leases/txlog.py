"""dhcpd's per-packet log lines as transaction records (pure).

dhcpd (run with ``-d``) writes one line per message it receives or sends,
in the same log file as rackd's lease records. The shapes below were
recorded from dhcpd 4.4.3-P1 (tests/leases/data/dhcpd_transactions.log):

    DHCPDISCOVER from MAC [(NAME)] via IFACE|RELAY[: REASON]
    DHCPOFFER on IP to MAC [(NAME)] via IFACE|RELAY
    DHCPREQUEST for IP [(SERVER)] from MAC [(NAME)] via IFACE|RELAY[: REASON]
    DHCPACK on IP to MAC [(NAME)] via IFACE|RELAY
    DHCPACK to IP (MAC) via IFACE                 (the answer to an INFORM)
    DHCPNAK on IP to MAC via IFACE|RELAY
    DHCPINFORM from IP via IFACE|RELAY
    DHCPDECLINE of IP from MAC [(NAME)] via IFACE|RELAY: REASON
    DHCPRELEASE of IP from MAC [(NAME)] via IFACE|RELAY (found|not found)
    BOOTREQUEST from MAC via IFACE|RELAY[: REASON]
    BOOTREPLY on IP to MAC [(NAME)] via IFACE|RELAY  (BOOTP, a pool address)
    BOOTREPLY for IP to NAME (MAC) via IFACE|RELAY   (BOOTP, a fixed address)

"via" names the interface for a direct client and the relay's address
(giaddr) for a relayed one; a REASON such as ``network 198.18.0.0/24: no
free leases`` or ``wrong network.`` says why nothing (or a NAK) follows.

DHCPv6 logs what arrived, per IA what it hands out, and what it sent:

    Solicit message from PEER port 546, transaction ID 0x5CD4C900
    Relay-forward message from PEER port 547, link address L, peer address P
    Advertise NA: address IP to client with duid DUID iaid = N valid for N seconds
    Sending Reply to PEER port 546
    Client DUID releases address IP
    Unable to pick client address: no addresses available  - shared network N: ...

so one v6 exchange is several records: the message line carries the peer
and the transaction ID, the IA line the DUID and the address.

`parse_transaction` returns a `Transaction`, None for any other line, and
raises `BadTransaction` for a line that starts like a transaction but does
not parse (`provisioningserver.leases.sorter` counts and skips those).
dhcpd's lines carry no time: the caller supplies it.
"""

import functools
import ipaddress
import re

import attrs

MAX_LINE = 1024  # dhcpd's own lines are shorter; client names are bounded

V4_TYPES = ("DISCOVER", "OFFER", "REQUEST", "ACK", "NAK", "INFORM", "DECLINE", "RELEASE",
            "BOOTREQUEST", "BOOTREPLY")
V6_TYPES = ("SOLICIT", "ADVERTISE", "REQUEST", "CONFIRM", "RENEW", "REBIND", "REPLY",
            "RELEASE", "DECLINE", "INFORMATION-REQUEST", "RELAY-FORWARD", "RELAY-REPLY",
            "NOADDRS")
# Problem kinds counted per pool (provisioningserver.services.txlog).
NO_FREE_LEASES = "no_free_leases"
NAK = "nak"


class BadTransaction(ValueError):
    """A line that looks like a dhcpd transaction but does not parse."""


def _type_in(instance, attribute, value):
    allowed = V4_TYPES if instance.family == 4 else V6_TYPES
    if value not in allowed:
        raise ValueError(f"type: expected one of {allowed}, got {value!r}")


@attrs.frozen
class Transaction:
    """One dhcpd log line about a DHCP message."""

    family: int = attrs.field(validator=attrs.validators.in_((4, 6)))
    type: str = attrs.field(validator=_type_in)
    time: float | None = None
    mac: str | None = None
    duid: str | None = None
    ip: str | None = None  # the address the message is about
    interface: str | None = None
    relay: str | None = None  # giaddr (v4) or the relay agent's address (v6)
    server: str | None = None  # the server identifier a DHCPREQUEST named
    hostname: str | None = None
    peer: str | None = None  # v6: the address the message came from or went to
    xid: str | None = None  # v6: the transaction ID
    network: str | None = None  # the network dhcpd names in a failure; a v6 relay's link address
    reason: str | None = None  # why dhcpd refused, NAKed or ignored
    # Not stored in the journal's transaction table, only read from the line:
    lease_time: int | None = None  # v6: the valid lifetime an IA line gives
    inform: bool = False  # a DHCPACK that answers a DHCPINFORM: no lease

    def record(self):
        """The fields the journal keeps, as a JSON-ready mapping."""
        return {name: getattr(self, name) for name in RECORD_FIELDS}

    @property
    def problem(self):
        """NO_FREE_LEASES, NAK or None: what the per-pool counts count."""
        if self.type == "NAK":
            return NAK
        if self.type == "NOADDRS" or (self.reason or "").endswith("no free leases"):
            return NO_FREE_LEASES
        return None


# What the journal keeps of a transaction (lease_time and inform only serve
# the lease events made from the line), in the field order.
RECORD_FIELDS = ("family", "type", "time", "mac", "duid", "ip", "interface", "relay", "server",
                 "hostname", "peer", "xid", "network", "reason")

# The name is the client's host-name option, printed as it came when it is
# printable (else as UNPRINTABLE): it may hold spaces, parentheses and " via ".
# So it is matched greedily up to the last ") via X" that ends the line (or
# comes before ": REASON" or "(found)"), whose parts dhcpd writes itself.
_NAME = r"(?: \((?P<name>.*)\))?"
UNPRINTABLE = "Hostname Unsuitable for Printing"
_VIA = r" via (?P<via>\S+?)"
_TAIL = r"(?:: (?P<reason>.*?))?"
_V4 = [
    ("DISCOVER", re.compile(rf"DHCPDISCOVER from (?P<mac>\S+){_NAME}{_VIA}{_TAIL}$")),
    ("OFFER", re.compile(rf"DHCPOFFER on (?P<ip>\S+) to (?P<mac>\S+){_NAME}{_VIA}$")),
    ("REQUEST", re.compile(rf"DHCPREQUEST for (?P<ip>\S+)(?: \((?P<server>[0-9.]+)\))? "
                           rf"from (?P<mac>\S+){_NAME}{_VIA}{_TAIL}$")),
    ("ACK", re.compile(rf"DHCPACK on (?P<ip>\S+) to (?P<mac>\S+){_NAME}{_VIA}$")),
    ("ACK", re.compile(rf"DHCPACK to (?P<ip>\S+) \((?P<mac>\S+)\){_VIA}$")),
    ("NAK", re.compile(rf"DHCPNAK on (?P<ip>\S+) to (?P<mac>\S+){_VIA}$")),
    ("INFORM", re.compile(rf"DHCPINFORM from (?P<ip>\S+){_VIA}{_TAIL}$")),
    ("DECLINE", re.compile(rf"DHCPDECLINE of (?P<ip>\S+) from (?P<mac>\S+){_NAME}{_VIA}"
                           rf"{_TAIL}$")),
    ("RELEASE", re.compile(rf"DHCPRELEASE of (?P<ip>\S+) from (?P<mac>\S+){_NAME}{_VIA}"
                           r"(?: \((?P<reason>found|not found)\))?$")),
    ("BOOTREQUEST", re.compile(rf"BOOTREQUEST from (?P<mac>\S+){_VIA}{_TAIL}$")),
    # A pool lease for a BOOTP client: the DHCPACK line's format.
    ("BOOTREPLY", re.compile(rf"BOOTREPLY on (?P<ip>\S+) to (?P<mac>\S+){_NAME}{_VIA}$")),
    # A fixed-address host's BOOTP reply.
    ("BOOTREPLY", re.compile(rf"BOOTREPLY for (?P<ip>\S+) to (?P<name>\S+) "
                             rf"\((?P<mac>\S+)\){_VIA}$")),
]
_V4_PREFIXES = ("DHCPDISCOVER ", "DHCPOFFER ", "DHCPREQUEST ", "DHCPACK ", "DHCPNAK ",
                "DHCPINFORM ", "DHCPDECLINE ", "DHCPRELEASE ", "BOOTREQUEST ", "BOOTREPLY ")
_NETWORK = re.compile(r"^network (?P<network>\S+): (?P<reason>.+)$")

_V6_MESSAGE = re.compile(
    r"(?P<type>Solicit|Request|Confirm|Renew|Rebind|Release|Decline|Information-request"
    r"|Relay-forward) message from (?P<peer>\S+) port \d+"
    r"(?:, transaction ID (?P<xid>0x[0-9A-Fa-f]+)"
    r"|, link address (?P<link>\S+), peer address (?P<relayed>\S+))$")
_V6_IA = re.compile(
    r"(?P<type>Advertise|Reply) (?:NA|TA|PD): address (?P<ip>\S+) to client with duid "
    r"(?P<duid>[0-9a-fA-F:]+) iaid = -?\d+ (?:valid for (?P<valid>\d{1,10}) seconds|static)$")
_V6_SENT = re.compile(r"Sending (?P<type>Advertise|Reply|Relay-reply) to (?P<peer>\S+) port \d+$")
_V6_RELEASE = re.compile(r"Client (?P<duid>[0-9a-fA-F:]+) releases address (?P<ip>\S+)$")
_V6_DECLINE = re.compile(r"Client (?P<duid>[0-9a-fA-F:]+) reports address (?P<ip>\S+) is "
                         r"already in use by another host!$")
_V6_NOADDRS = re.compile(r"Unable to pick client address: (?P<reason>no addresses available)"
                         r"\s+- shared network (?P<network>\S+):")
_V6_PREFIXES = ("Solicit ", "Request ", "Confirm ", "Renew ", "Rebind ", "Release ",
                "Decline ", "Information-request ", "Relay-forward ", "Advertise ", "Reply ",
                "Sending Advertise", "Sending Reply", "Sending Relay-reply", "Unable to pick")

_MAC = re.compile(r"^[0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2}){5}$")


# The follower parses several lines per lease at dhcpd's full rate, and the
# same few addresses, MACs and interfaces recur in them: the conversions
# below are cached (bounded), which makes them nearly free.
_CACHE = 4096


@functools.lru_cache(maxsize=_CACHE)
def _mac(text):
    if text is None or not _MAC.match(text):
        return None
    return ":".join(part.zfill(2) for part in text.lower().split(":"))


@functools.lru_cache(maxsize=_CACHE)
def _canonical(text):
    """``text`` as a canonical IP address, or None if it is not one."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _address(text, field, line):
    address = _canonical(text)
    if address is None:
        raise BadTransaction(f"{field}: expected an IP address, got {text!r} in {line!r}")
    return address


@functools.lru_cache(maxsize=_CACHE)
def _via(text):
    """(relay, interface): dhcpd names a relay by its IPv4 address."""
    try:
        return str(ipaddress.IPv4Address(text)), None
    except ValueError:
        return None, text


def _v4(kind, match, line, when, inform=False):
    groups = match.groupdict()
    relay, interface = _via(groups["via"])
    reason, network = groups.get("reason"), None
    if reason:
        found = _NETWORK.match(reason)
        if found:
            network, reason = found["network"], found["reason"]
        reason = reason.rstrip(".")
    ip = groups.get("ip")
    server = groups.get("server")
    name = groups.get("name")
    return Transaction(
        family=4, type=kind, time=when, mac=_mac(groups.get("mac")),
        ip=None if ip is None else _address(ip, "ip", line),
        interface=interface, relay=relay,
        server=None if server is None else _address(server, "server", line),
        hostname=None if name == UNPRINTABLE else name or None, network=network,
        reason=reason or None, inform=inform,
    )


def _v6(line, when):
    match = _V6_MESSAGE.match(line)
    if match:
        link = match["link"]
        return Transaction(
            family=6, type=match["type"].upper(), time=when,
            peer=_address(match["peer"], "peer", line), xid=match["xid"],
            relay=None if link is None else _address(match["peer"], "relay", line),
            network=None if link is None else _address(link, "link", line))
    match = _V6_IA.match(line)
    if match:
        valid = match["valid"]
        return Transaction(family=6, type=match["type"].upper(), time=when,
                           ip=_address(match["ip"].split("/")[0], "ip", line),
                           duid=match["duid"].lower(),
                           lease_time=None if valid is None else int(valid))
    match = _V6_SENT.match(line)
    if match:
        return Transaction(family=6, type=match["type"].upper(), time=when,
                           peer=_address(match["peer"], "peer", line))
    for kind, pattern in (("RELEASE", _V6_RELEASE), ("DECLINE", _V6_DECLINE)):
        match = pattern.match(line)
        if match:
            return Transaction(family=6, type=kind, time=when, duid=match["duid"].lower(),
                               ip=_address(match["ip"], "ip", line))
    match = _V6_NOADDRS.match(line)
    if match:
        return Transaction(family=6, type="NOADDRS", time=when, network=match["network"],
                           reason=match["reason"])
    return None


def parse_transaction(line, when=None):
    """The `Transaction` a dhcpd log line records, or None; `BadTransaction`
    for a line that starts like one and is wrong (or longer than MAX_LINE)."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", "replace")
    line = line.rstrip("\r\n")
    if line.startswith(_V4_PREFIXES):
        if len(line) > MAX_LINE:
            raise BadTransaction(f"a transaction line of {len(line)} characters")
        for kind, pattern in _V4:
            match = pattern.match(line)
            if match:
                return _v4(kind, match, line, when, inform=line.startswith("DHCPACK to "))
        raise BadTransaction(f"not a dhcpd transaction line: {line[:200]!r}")
    if line.startswith(_V6_PREFIXES) or line.startswith("Client "):
        if len(line) > MAX_LINE:
            raise BadTransaction(f"a transaction line of {len(line)} characters")
        found = _v6(line, when)
        if found is None and not line.startswith("Client "):
            raise BadTransaction(f"not a dhcpd transaction line: {line[:200]!r}")
        return found
    return None
