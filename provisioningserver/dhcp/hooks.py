"""The dhcpd statements that report lease events (pure: text out).

`log_statements` is what rackd's default event source adds to dhcpd.conf.
dhcpd logs every DHCPACK and release itself, and rackd makes its commit and
release events from those lines (`provisioningserver.leases.logevents`), with
DHCPv4 lease times from the leases file. Two things the log and the file
do not hold get a ``log()`` each: an expiry (``on expiry``; kept small, as
dhcpd copies it into every lease it writes to its leases file, at every
DHCPACK), and the lease time of a fixed-address lease, which dhcpd never
writes to the file (``on commit``, only ``if static``: dynamic leases log
nothing more, and ``on commit`` is not copied into leases). rackd reads
that record just before the DHCPACK line it belongs to. DHCPv6 needs none:
its Reply lines carry the lifetime, and there is no packet at expiry.

`notify_statements` hands every event, with all its fields, to
scripts/dhcp-notify through ``execute()``, for sites that want it; it costs a
fork and exec per event.

Both write the record of `provisioningserver.dhcp.leaserecord`. What dhcpd 4.4.3
can say in each event, as checked against the real server:

- DHCPv4: ``leased-address`` in every event; the MAC (``hardware``) in
  commit and release, not in expiry (there is no packet); ``lease-time`` in
  commit; ``known`` (a host declaration or OMAPI host matched) in commit.
  ``on commit`` runs for every DHCPACK, renewals and reused leases too.
- DHCPv6: ``leased-address`` and ``lease-time`` are not available (dhcpd
  logs "no lease associated"), so the address and valid lifetime come from
  the first IAADDR of the client's IA_NA (``substring(option dhcp6.ia-na,
  16, 16)``), which in a Request, Renew, Rebind or Release is the address
  the server gave; the DUID is ``option dhcp6.client-id``. Expiry has no
  packet, so DHCPv6 expiries produce no record.

Client-chosen bytes are hex-encoded and cut to a bound (``substring``), so
the line cannot break and stays within the record's `MAX_RECORD`: a host
name is cut at `MAX_HOSTNAME` bytes, as long as rackd keeps one, which
dhcp-notify passes whole (its field bound is the hex of that many bytes).
The log statements carry no client-chosen bytes, so they stay within
dhcpd's 1024-byte log buffer.
"""

import attrs

from provisioningserver.dhcp.leaserecord import MAGIC, MAX_HOSTNAME, VERSION

# As long a host name as rackd keeps (and a DHCP option holds): dhcp-notify
# takes its hex, 3 characters a byte, whole.
HOSTNAME_BYTES = MAX_HOSTNAME

V4_IP = 'binary-to-ascii(10, 8, ".", leased-address)'
V4_MAC = 'pick-first-value(binary-to-ascii(16, 8, ":", substring(hardware, 1, 6)), "-")'
V4_LEASE_TIME = 'pick-first-value(binary-to-ascii(10, 32, "", encode-int(lease-time, 32)), "-")'
V4_HOSTNAME = (
    'pick-first-value(binary-to-ascii(16, 8, ":", substring(option host-name, 0, %d)), "-")'
    % HOSTNAME_BYTES
)
V6_IP = 'binary-to-ascii(16, 16, ":", substring(option dhcp6.ia-na, 16, 16))'
V6_DUID = 'pick-first-value(binary-to-ascii(16, 8, ":", option dhcp6.client-id), "-")'
V6_LEASE_TIME = 'pick-first-value(binary-to-ascii(10, 32, "", substring(option dhcp6.ia-na, 36, 4)), "-")'
DASH = '"-"'


def _fields(family, action, known):
    """(ip, mac, duid, lease_time, hostname, known) expressions for an event."""
    known = '"%s"' % known
    if family == 4:
        lease_time = V4_LEASE_TIME if action == "commit" else DASH
        mac = DASH if action == "expiry" else V4_MAC
        hostname = DASH if action == "expiry" else V4_HOSTNAME
        return [V4_IP, mac, DASH, lease_time, hostname, known]
    lease_time = V6_LEASE_TIME if action == "commit" else DASH
    return [V6_IP, DASH, V6_DUID, lease_time, DASH, known]


def _execute(family, action, known, program, options):
    args = ['"%s"' % o for o in options]
    args += ['"%s"' % action, '"%d"' % family] + _fields(family, action, known)
    return 'execute("%s", %s);' % (program, ", ".join(args))


def _events(family, statement):
    """The three ``on`` blocks, ``statement(action, known)`` inside each."""
    commit_v4 = (
        "  if known {\n    %s\n  } else {\n    %s\n  }"
        % (statement("commit", "known"), statement("commit", "unknown"))
    )
    blocks = {
        "commit": commit_v4 if family == 4 else "  " + statement("commit", "-"),
        "release": "  " + statement("release", "-"),
        "expiry": "  " + statement("expiry", "-"),
    }
    if family == 6:
        # No packet at expiry: the IA_NA expression would be null and the
        # whole record with it; say so instead of rendering a dead block.
        del blocks["expiry"]
    return "".join("on %s {\n%s\n}\n" % (event, body) for event, body in blocks.items())


def log_statements(family):
    """The default source's dhcpd statements (global scope), for DHCPv4: an
    ``on expiry`` that logs the expired address, and an ``on commit`` that
    logs the lease time of a fixed-address (static) lease, which dhcpd
    keeps out of its leases file. Nothing for DHCPv6."""
    if family not in (4, 6):
        raise ValueError(f"family: expected 4 or 6, got {family!r}")
    if family == 6:
        return ""
    # The record's fields after the address: MAC, DUID, lease time, host
    # name, known, timestamp; "-" where absent.
    static = 'log(info, concat("%s %s commit 4 ", %s, " ", %s, " - ", %s, " - known -"));' % (
        MAGIC, VERSION, V4_IP, V4_MAC, V4_LEASE_TIME)
    expiry = 'log(info, concat("%s %s expiry 4 ", %s, " - - - - - -"));' % (
        MAGIC, VERSION, V4_IP)
    return "on commit {\n  if static {\n    %s\n  }\n}\non expiry {\n  %s\n}\n" % (
        static, expiry)


def plain_path(path):
    """Whether ``path`` can go into an execute() argument as it is: absolute,
    with no quote, backslash or white space."""
    return path.startswith("/") and not any(c in path for c in '"\\\n\t ')


def _check_path(name, path):
    if not plain_path(path):
        raise ValueError(f"{name}: expected an absolute path without quotes or spaces, got {path!r}")


def notify_statements(family, program, socket_path=None, spool_path=None):
    """dhcpd statements that run ``program`` (dhcp-notify) per lease event.

    ``socket_path`` and ``spool_path`` override the program's built-in ones.
    """
    if family not in (4, 6):
        raise ValueError(f"family: expected 4 or 6, got {family!r}")
    _check_path("program", program)
    options = []
    for flag, name, path in (("-s", "socket_path", socket_path), ("-p", "spool_path", spool_path)):
        if path is not None:
            _check_path(name, path)
            options += [flag, path]
    return _events(
        family, lambda action, known: _execute(family, action, known, program, options)
    )


@attrs.frozen
class Notify:
    """The dhcp-notify source's settings (rackd.yaml ``lease_source:
    dhcp-notify``): the program dhcpd runs and where it sends."""

    program: str
    socket_path: "str | None" = None
    spool_path: "str | None" = None

    def statements(self, family):
        return notify_statements(family, self.program, self.socket_path, self.spool_path)
