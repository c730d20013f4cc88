"""The lease time of each active DHCPv4 lease, from dhcpd's leases file (pure).

dhcpd's ``DHCPACK on IP to MAC`` line, from which rackd makes a commit
event, does not say for how long. The leases file does: dhcpd writes the
lease there (and fsyncs it) before it sends and logs the DHCPACK, so when
rackd reads an ACK line the record is already in the file. A record as
dhcpd 4.4 writes it (``man dhcpd.leases``)::

    lease 198.18.1.0 {
      starts 6 2026/11/28 23:48:14;
      ends 6 2026/11/28 23:58:14;
      cltt 6 2026/11/28 23:48:14;
      binding state active;
      ...
      hardware ethernet 02:00:5e:10:00:01;
      client-hostname "a) via eth0";
    }

The lease time is ``ends - cltt`` (the client's last transaction, which
every DHCPACK sets). Times are UTC, or ``epoch N; # ...`` with
``db-time-format local``; ``ends never`` is an infinite lease (2**32 - 1,
as DHCP says it).

`LeaseTimes` keeps, per address, the last active record it was fed:
records in other binding states (free, released, expired, abandoned,
backup) are skipped, so an ACK read after its lease was released still
finds its time. It reads lines, not a grammar: every field it needs is on
a line of its own, two spaces in, and dhcpd escapes what is not printable
in strings, so no client-chosen text starts a line. Reading an ACK long
after it happened (rackd was down) can find a later lease on the address:
the lease time is then the later one's if it is the same client, else
unknown.
"""

import calendar
import functools

INFINITE = 2**32 - 1
_FIELDS = {"  ends ": "ends", "  cltt ": "cltt", "  starts ": "starts",
           "  binding state ": "state", "  hardware ethernet ": "mac"}


@functools.lru_cache(maxsize=1024)
def _seconds(value):
    """Seconds since the epoch for a leases-file time, INFINITE for never,
    None for anything else. ``value`` is the text after the keyword."""
    value = value.split(";", 1)[0].strip()
    if value == "never":
        return INFINITE
    words = value.split()
    try:
        if len(words) == 2 and words[0] == "epoch":
            return int(words[1])
        if len(words) == 3:
            year, month, day = (int(x) for x in words[1].split("/"))
            hour, minute, second = (int(x) for x in words[2].split(":"))
            return calendar.timegm((year, month, day, hour, minute, second))
    except ValueError:
        pass
    return None


def _lease_time(fields):
    ends = _seconds(fields.get("ends", ""))
    if ends == INFINITE:
        return INFINITE
    begun = _seconds(fields.get("cltt") or fields.get("starts") or "")
    if ends is None or begun is None or not 0 <= ends - begun < INFINITE:
        return None
    return ends - begun


class LeaseTimes:
    """The last active lease's (MAC, lease time) by address, fed leases-file text."""

    def __init__(self):
        self._last = {}
        self.records = 0

    def __len__(self):
        return len(self._last)

    def feed(self, text):
        """Read the complete records in ``text`` (a partial one is ignored:
        feed text that ends at a record's closing brace)."""
        ip, fields = None, None
        for line in text.split("\n"):
            if line.startswith("lease "):
                ip, fields = line[6:].split(" ", 1)[0], {}
            elif ip is None:
                continue
            elif line == "}":
                self._close(ip, fields)
                ip = None
            elif line.startswith("  "):
                for prefix, name in _FIELDS.items():
                    if line.startswith(prefix):
                        fields[name] = line[len(prefix):]
                        break

    def _close(self, ip, fields):
        self.records += 1
        if fields.get("state") != "active;":
            return
        mac = fields.get("mac", "").rstrip(";").lower()
        self._last[ip] = (mac, _lease_time(fields))

    def lease_time(self, ip, mac):
        """The lease time of ``mac``'s last active lease on ``ip``, or None."""
        found = self._last.get(ip)
        if found is None or found[0] != mac:
            return None
        return found[1]
