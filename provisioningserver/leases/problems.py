"""Requests dhcpd could not serve, counted per subnet and pool.

The journal hands every committed batch of transactions (dhcpd's per-packet
log lines, `provisioningserver.leases.txlog`) to `ProblemCounts`, which keeps
two kinds of problem: ``no_free_leases`` (a DHCPDISCOVER dhcpd could not
offer anything to; a DHCPv6 "no addresses available") and ``nak``.

Each is charged to the place of the applied document it is about:

- no free leases: dhcpd names the network: the shared network's name (rackd
  renders one per document shared network: ``network lab: no free leases``)
  or, for dhcpd's implicit one, the subnet's CIDR. It counts against that
  subnet, and its pool when the subnet has exactly one; a shared network of
  several subnets counts under its own name;
- a NAK: where the client is: the subnet of its relay, else the subnet of
  the address it asked for, else the one on the interface it came in on;
  and the pool, when that subnet has one holding the NAKed address.

What cannot be placed is counted under the subnet ``unknown``. Counts start at
zero when rackd starts; a storm shows as ``last_minute``, the count within
the last ``window`` seconds of the clock, kept as one counter per second so
that a storm costs memory per second, not per request.
"""

import collections
import ipaddress

import attrs

from provisioningserver.leases.txlog import NAK, NO_FREE_LEASES

UNKNOWN = "unknown"
KINDS = (NO_FREE_LEASES, NAK)


@attrs.frozen
class Problem:
    """Where a problem is counted: (family, subnet, pool range or None, kind)."""

    family: int
    subnet: str
    pool: str | None
    kind: str


def _pool_range(pool):
    return f"{pool.ip_range_low}-{pool.ip_range_high}"


def _network(text):
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def place(transaction, config):
    """The `Problem` a problem transaction counts as, under ``config`` (the
    applied DHCPConfig of its family, or None)."""
    family, kind = transaction.family, transaction.problem
    subnets = config.subnets if config is not None else ()
    if kind == NO_FREE_LEASES:
        network = _network(transaction.network or "")
        candidates = [s for s in subnets if network is not None and s.subnet_cidr == network]
        if not candidates and config is not None:
            named = [n for n in config.shared_networks if n.name == transaction.network]
            candidates = [s for n in named for s in n.subnets]
        if len(candidates) == 1:
            subnet = candidates[0]
            pool = _pool_range(subnet.pools[0]) if len(subnet.pools) == 1 else None
            return Problem(family, str(subnet.subnet_cidr), pool, kind)
        if candidates:  # a shared network of several subnets ran out as a whole
            return Problem(family, transaction.network, None, kind)
        return Problem(family, str(network) if network else UNKNOWN, None, kind)
    # A NAK counts where the client is: behind its relay, else on the subnet of
    # the address it asked for, else on the interface it came in on.
    address = ipaddress.ip_address(transaction.ip) if transaction.ip else None
    for text in (transaction.relay, transaction.ip):
        if not text:
            continue
        where = ipaddress.ip_address(text)
        for subnet in subnets:
            if where.version == subnet.subnet_cidr.version and where in subnet.subnet_cidr:
                pools = [p for p in subnet.pools if address is not None
                         and address.version == where.version and address in p]
                return Problem(family, str(subnet.subnet_cidr),
                               _pool_range(pools[0]) if pools else None, kind)
        if text == transaction.relay:
            break  # a relay we do not serve: the address it asked for says nothing
    if transaction.interface and config is not None:
        for network in config.shared_networks:
            if network.interface == transaction.interface and network.subnets:
                return Problem(family, str(network.subnets[0].subnet_cidr), None, kind)
    return Problem(family, UNKNOWN, None, kind)


class ProblemCounts:
    """Counts problem transactions; a journal transaction observer.

    ``applied(family)`` returns the applied DHCPConfig (or None); it is read
    as each batch arrives, so a problem counts where it was when it happened.
    """

    def __init__(self, applied, clock, window=60.0):
        self.applied = applied
        self.clock = clock
        self.window = window
        self._counts = collections.Counter()
        self._recent = collections.deque()  # [second, Counter of Problem], oldest first

    def __call__(self, transactions):
        configs = {}
        for transaction in transactions:
            if transaction.problem is None:
                continue
            family = transaction.family
            if family not in configs:
                configs[family] = self.applied(family)
            problem = place(transaction, configs[family])
            self._counts[problem] += 1
            second = int(transaction.time if transaction.time is not None
                         else self.clock.seconds())
            if not self._recent or self._recent[-1][0] != second:
                self._recent.append([second, collections.Counter()])
            self._recent[-1][1][problem] += 1
        self._forget()

    def _forget(self):
        cutoff = self.clock.seconds() - self.window
        while self._recent and self._recent[0][0] < cutoff:
            self._recent.popleft()

    def problem_counts(self):
        """[(family, subnet, pool or None, kind, count)], sorted: for the metrics."""
        return sorted(((p.family, p.subnet, p.pool, p.kind, n) for p, n in self._counts.items()),
                      key=lambda row: (row[0], row[1], row[2] or "", row[3]))

    def problems(self):
        """The counts as mappings, each with ``last_minute``: the count within
        the last ``window`` seconds (a storm is a large one)."""
        self._forget()
        recent = collections.Counter()
        for _, counter in self._recent:
            recent.update(counter)
        return [
            {"family": family, "subnet": subnet, "pool": pool, "kind": kind, "count": count,
             "last_minute": recent[Problem(family, subnet, pool, kind)]}
            for family, subnet, pool, kind, count in self.problem_counts()
        ]
