"""Which subnet of a config holds an address, found without a scan.

Three places ask for a host's subnet: the relational checks (a host must
stand in a served subnet, outside its pools), the planner (dhcpd's host
objects are keyed by MAC and subnet, `plan.host_key`) and the incremental
reader (its MAC index is keyed the same way). Asking ``config.subnets`` each
time builds the tuple of every subnet and walks it, once per host: at 50,000
hosts that is the planner's largest cost after the renames.

`SubnetIndex` is built once per config: the subnets sorted by their first
address, so a lookup is one bisection and one containment test. The answer
must be the one a scan in document order gives, the first subnet that holds
the address; the two agree whenever no two subnets overlap, which a valid
document guarantees (`checks` refuses overlaps). An index of overlapping
subnets (a config that was not checked, or a document being checked) keeps
the scan, so the answer stays the document-order one in every case.
"""

import bisect


class SubnetIndex:
    """The subnets of a config, for `home` lookups."""

    __slots__ = ("_subnets", "_starts", "_ordered", "_scan")

    def __init__(self, subnets):
        self._subnets = tuple(subnets)
        ordered = sorted(self._subnets, key=_start)
        self._starts = [_start(s) for s in ordered]
        self._ordered = ordered
        self._scan = any(
            a.subnet_cidr.version == b.subnet_cidr.version
            and int(b.subnet_cidr.network_address) <= int(a.subnet_cidr.broadcast_address)
            for a, b in zip(ordered, ordered[1:]))

    @classmethod
    def of(cls, config):
        return cls(s for net in config.shared_networks for s in net.subnets)

    def home(self, address):
        """The first subnet, in document order, that holds ``address``; None if none does."""
        if self._scan:
            return next((s for s in self._subnets if address in s.subnet_cidr), None)
        i = bisect.bisect_right(self._starts, (address.version, int(address))) - 1
        if i < 0:
            return None
        subnet = self._ordered[i]
        return subnet if address in subnet.subnet_cidr else None


def _start(subnet):
    network = subnet.subnet_cidr
    return network.version, int(network.network_address)
