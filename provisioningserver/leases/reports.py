"""Lease reports: current leases, pool usage, unknown clients (pure).

Inputs are the newest recorded event per address (`Journal.latest`), the
configs dhcpd serves (`Configurator.applied(v).config`, None when unknown)
and the time; outputs are plain dicts ready for JSON. Nothing here reads a
file or a clock.

An address is leased when its newest event is a commit whose lease has not
run out (``timestamp + lease_time``); a commit with no lease time counts as
leased until a release or expiry says otherwise. A pool's used addresses
are its leased ones together with the reservations that fall inside it,
each address counted once, so ``free = size - used``.
"""

import bisect
import ipaddress

import attrs

from provisioningserver.dhcp import hosttable
from provisioningserver.dhcp.hosttable import HostTable


def _address(text):
    return ipaddress.ip_address(text)


def active_leases(latest, now):
    """The events of ``latest`` that hold a lease at ``now``, by address order."""
    active = []
    for event in latest:
        if event.action != "commit":
            continue
        if event.lease_time is not None and event.timestamp + event.lease_time <= now:
            continue
        active.append(event)
    return sorted(active, key=lambda e: (e.ip_family, _address(e.ip)))


def _lease_view(event, now):
    view = attrs.asdict(event)
    if event.lease_time is not None:
        view["ends"] = event.timestamp + event.lease_time
    else:
        view["ends"] = None
    return view


def _subnets(configs):
    for config in configs:
        if config is None:
            continue
        for subnet in config.subnets:
            yield subnet


def current_leases(latest, configs, now):
    """[{subnet, leases: [...]}] per served subnet, then ``other`` for the rest."""
    leases = active_leases(latest, now)
    report, placed = [], set()
    for subnet in _subnets(configs):
        inside = [e for e in leases if _address(e.ip) in subnet.subnet_cidr]
        placed.update(id(e) for e in inside)
        report.append({"subnet": str(subnet.subnet_cidr),
                       "leases": [_lease_view(e, now) for e in inside]})
    rest = [e for e in leases if id(e) not in placed]
    if rest:
        report.append({"subnet": None, "leases": [_lease_view(e, now) for e in rest]})
    return report


def _held(latest, now):
    """The events of ``latest`` that hold a lease at ``now``, in any order."""
    return [event for event in latest if event.action == "commit" and (
        event.lease_time is None or event.timestamp + event.lease_time > now)]


class _Addresses:
    """One family's addresses as sorted integers: how many fall in a range
    is two bisections, not a comparison per address (a scrape of /metrics
    at 50,000 hosts compared each with every pool, on the reactor)."""

    def __init__(self, addresses):
        self.sorted = sorted(set(addresses))
        self._members = None

    @property
    def members(self):
        if self._members is None:
            self._members = frozenset(self.sorted)
        return self._members

    def within(self, low, high):
        """The addresses from ``low`` to ``high`` (ints), inclusive."""
        return self.sorted[bisect.bisect_left(self.sorted, low):
                           bisect.bisect_right(self.sorted, high)]


# The reservations of the configs last seen, by identity (configs are
# immutable, and the applied one changes only with a configure).
_RESERVED = {}


def _reserved(config):
    held = _RESERVED.get(id(config))
    if held is None or held[0] is not config:
        by_family = {4: [], 6: []}
        hosts = config.hosts
        if isinstance(hosts, HostTable) and hosts.ip_version:  # no host made per address
            by_family[hosts.ip_version] = hosts.ip_ints()
        else:
            for host in hosts:
                by_family[host.ip.version].append(int(host.ip))
        held = (config, {v: _Addresses(a) for v, a in by_family.items()})
        if len(_RESERVED) >= 4:
            _RESERVED.clear()
        _RESERVED[id(config)] = held
    return held[1]


def pool_usage(latest, configs, now):
    """Per pool: size, active leases, reserved hosts inside, free, percent used."""
    leased = {4: [], 6: []}
    for event in _held(latest, now):
        address = _address(event.ip)
        leased[address.version].append(int(address))
    leased = {v: _Addresses(a) for v, a in leased.items()}
    report = []
    for config in configs:
        if config is None:
            continue
        reserved = _reserved(config)
        for subnet in config.subnets:
            for pool in subnet.pools:
                # Addresses of the two families never mix: only this pool's family.
                family = pool.ip_range_low.version
                low, high = int(pool.ip_range_low), int(pool.ip_range_high)
                active = leased[family].within(low, high)
                hosts = len(reserved[family].within(low, high))
                both = sum(1 for a in active if a in reserved[family].members)
                used = len(active) + hosts - both
                report.append({
                    "subnet": str(subnet.subnet_cidr),
                    "range": f"{pool.ip_range_low}-{pool.ip_range_high}",
                    "size": pool.size,
                    "active": len(active),
                    "reserved": hosts,
                    "free": pool.size - used,
                    "percent_used": round(100.0 * used / pool.size, 1),
                })
    return report


def _normal_mac(mac):
    return ":".join("%02x" % int(part, 16) for part in mac.split(":"))


def _comparable_mac(mac):
    """An event's MAC as `reserved_macs` holds them; one that is not a MAC as
    it came (it matches no reservation)."""
    try:
        return _normal_mac(mac)
    except ValueError:
        return mac


def reserved_macs(configs):
    macs = set()
    for config in configs:
        if config is None:
            continue
        for mac in hosttable.macs(config.hosts):
            try:
                macs.add(_normal_mac(mac))
            except ValueError:
                continue  # not a MAC we can compare; the document allows only MACs
    return macs


def unknown_clients(latest, configs):
    """Clients whose newest commit dhcpd flagged unknown and no reservation
    names now (a reservation made since enrols them), one per MAC, newest."""
    reserved = reserved_macs(configs)
    found = {}
    for event in latest:
        if event.action != "commit" or event.unknown_client is not True or event.mac is None:
            continue
        if _comparable_mac(event.mac) in reserved:
            continue  # enrolled since: the flag was dhcpd's verdict at the time
        seen = found.get(event.mac)
        if seen is None or event.timestamp >= seen.timestamp:
            found[event.mac] = event
    return [attrs.asdict(e) for e in sorted(found.values(), key=lambda e: e.mac)]


def history_view(events):
    """Events as dicts, oldest first."""
    return [attrs.asdict(e) for e in events]
