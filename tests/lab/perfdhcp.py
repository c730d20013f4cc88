"""Debian's perfdhcp (Kea) in a lab host, always bounded, its summary parsed.

With ``-l IFACE`` perfdhcp sends as a relay from that interface's address, so
the client host needs an address in the served subnet and the server picks
the subnet by giaddr. A run is always capped by a rate, a count and a period
so that a silent server cannot hang a test.

dhcpd pings an address before offering it (ping-check), which costs about a
second per new lease, longer than perfdhcp's default drop time: servers that
perfdhcp measures should say ``ping-check false;``.
"""

import re

import attrs

# perfdhcp exit statuses: 0 all exchanges completed, 3 some did not.
COMPLETED_STATUSES = (0, 3)


class PerfdhcpError(Exception):
    """perfdhcp failed to run (bad arguments, no interface, ...)."""


@attrs.frozen
class Exchange:
    """One "Statistics for: X-Y" section: e.g. DISCOVER-OFFER."""

    name: str
    sent: int
    received: int
    drops: int
    avg_delay_ms: float | None


@attrs.frozen
class PerfResult:
    status: int
    rate: float | None
    exchanges: dict
    output: str = attrs.field(repr=False)

    @property
    def leases(self):
        """Completed 4-way exchanges: the ACKs received."""
        ack = self.exchanges.get("REQUEST-ACK")
        return ack.received if ack else 0


_SECTION = re.compile(r"^\*\*\*Statistics for: (\S+)\*\*\*$")
_FIELD = re.compile(r"^(sent packets|received packets|drops|avg delay): ([0-9.]+)")
_RATE = re.compile(r"^Rate: ([0-9.]+) ")


def parse_summary(text, status=0):
    """A PerfResult from perfdhcp's final report."""
    rate, sections, current = None, {}, None
    for line in text.splitlines():
        line = line.strip()
        match = _RATE.match(line)
        if match:
            rate = float(match.group(1))
            continue
        match = _SECTION.match(line)
        if match:
            current = sections.setdefault(match.group(1), {})
            continue
        match = _FIELD.match(line)
        if match and current is not None:
            current[match.group(1)] = float(match.group(2))
    exchanges = {
        name: Exchange(
            name=name,
            sent=int(fields.get("sent packets", 0)),
            received=int(fields.get("received packets", 0)),
            drops=int(fields.get("drops", 0)),
            avg_delay_ms=fields.get("avg delay"),
        )
        for name, fields in sections.items()
    }
    return PerfResult(status=status, rate=rate, exchanges=exchanges, output=text)


def argv(interface, server, rate, count, period, clients=None, options=None,
         discover_only=False, exit_wait=1.0):
    """The perfdhcp command line; ``options`` maps code to bytes (``-o``).

    ``exit_wait`` (seconds) keeps perfdhcp listening after its last request,
    without which the answer to that request counts as a drop.
    """
    args = [
        "perfdhcp", "-4", "-l", interface,
        "-r", str(rate), "-n", str(count), "-p", str(period),
        "-R", str(clients or count), "-W", str(int(exit_wait * 1_000_000)),
    ]
    for code, data in (options or {}).items():
        args += ["-o", "%d,%s" % (code, bytes(data).hex())]
    if discover_only:
        args.append("-i")
    return args + [server]


def run(host, server, interface="eth0", rate=100, count=100, period=10, **kwargs):
    """Run perfdhcp in ``host`` against ``server``; returns a PerfResult."""
    command = argv(interface, server, rate, count, period, **kwargs)
    result = host.run(command, check=False, timeout=period + 30)
    if result.returncode not in COMPLETED_STATUSES:
        raise PerfdhcpError(
            "perfdhcp exited %d: %s%s" % (result.returncode, result.stdout[-2000:], result.stderr)
        )
    return parse_summary(result.stdout, result.returncode)
