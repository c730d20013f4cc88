"""Rules that relate the fields of a DHCP config document to each other.

`check_config` takes a `DHCPConfig` and returns a `Problem` for every rule it
breaks, with the path of the offending field: no subnet overlapping an
earlier one (`overlap`: one sort, not a comparison of every pair); pools
inside their subnet, in order and not overlapping; hosts inside a served
subnet but outside the dynamic pools and off the router's address; no MAC
twice in one subnet and no IP twice; failover peers declared before pools name them, each DHCPv4
peer named by a pool, mclt and split on the primary only, and no DHCPv4
failover settings in a DHCPv6 document; no shared network without subnets.
The last two are dhcpd's own rules (``dhcpd -t`` refuses both), checked
here so that they are named by path rather than by a rendered line.

The rules also run on a document whose structural pass found problems, so
that one round trip reports everything. The parser drops list items it could
not read, which shifts the indexes of those that follow; an `Outline` tells
these rules where each kept item stood in the document, which lists lost
items, and which failover peer names were declared. Rules whose answer
depends on a lost item hold back rather than guess: with a subnet lost, a
host is not called "outside every subnet"; with a failover peer's name
unreadable, no pool's peer is called undeclared.

Addresses a client may hold: in IPv4 neither the network nor the broadcast
address of a subnet, except in /31 and /32 (RFC 3021: both addresses of a
/31 are hosts). In IPv6 not the all-zeros address of the prefix, which is the
Subnet-Router anycast address (RFC 4291 2.6.1), except in /127 and /128
(RFC 6164). dhcpd itself accepts ranges over these addresses and would hand
them out.
"""

from provisioningserver.dhcp.errors import Problem
from provisioningserver.dhcp.overlap import earliest_overlaps
from provisioningserver.dhcp.ranges import earliest_range_overlaps
from provisioningserver.dhcp.subnetindex import SubnetIndex


class Outline:
    """What the structural pass knew beyond the model it built.

    ``kept`` maps a list's path to the document indexes of the items the model
    holds; ``incomplete`` names the lists that lost items or could not be read;
    ``peer_names`` are the failover peer names the document declares, or None
    when one could not be read; ``peer_uses_known`` is false when a pool's
    failover_peer could not be read. The default outline fits a model built
    whole.
    """

    def __init__(self, kept=None, incomplete=(), peer_names=None, peer_uses_known=True):
        self.kept = dict(kept or {})
        self.incomplete = frozenset(incomplete)
        self.peer_names = peer_names
        self.peer_uses_known = peer_uses_known

    @classmethod
    def of(cls, config):
        return cls(peer_names=frozenset(p.name for p in config.failover_peers))

    def item(self, list_path, index):
        """The document path of the model's ``index``-th item of ``list_path``."""
        kept = self.kept.get(list_path)
        return f"{list_path}[{kept[index] if kept is not None else index}]"

    @property
    def all_subnets(self):
        """Whether the model holds every subnet of the document."""
        return not any(p == "shared_networks" or p.endswith(".subnets")
                       for p in self.incomplete)


def _subnet_paths(config, outline):
    for n, network in enumerate(config.shared_networks):
        network_path = outline.item("shared_networks", n)
        for s, subnet in enumerate(network.subnets):
            yield outline.item(f"{network_path}.subnets", s), subnet


def _usable(address, network):
    """Whether ``address`` may be handed to a client on ``network``."""
    if address not in network:
        return False
    if network.version == 4 and network.prefixlen < 31:
        return address not in (network.network_address, network.broadcast_address)
    if network.version == 6 and network.prefixlen < 127:
        return address != network.network_address
    return True


def _sound(pool, network):
    """Whether ``pool`` is a range of client addresses of ``network``, low to high.

    Only sound pools are compared with other pools, the router and hosts: an
    end out of its subnet, or the ends swapped, is reported once, and what it
    would overlap says nothing reliable about the range that was meant.
    """
    return (_usable(pool.ip_range_low, network) and _usable(pool.ip_range_high, network)
            and pool.ip_range_low <= pool.ip_range_high)


def _where(address, network):
    if address not in network:
        return f"is outside subnet {network}"
    if address == network.network_address:
        if network.version == 6:
            return f"is the Subnet-Router anycast address of subnet {network}"
        return f"is the network address of subnet {network}"
    return f"is the broadcast address of subnet {network}"


def check_config(config, outline=None):
    outline = outline if outline is not None else Outline.of(config)
    problems = []
    problems += _check_peers(config, outline)
    problems += _check_subnets(config, outline)
    problems += _check_hosts(config, outline)
    return problems


def check_sections(config, outline=None):
    """The rules of `check_config` that involve no host (peers, networks,
    subnets, pools): a few items, whatever the site's size."""
    outline = outline if outline is not None else Outline.of(config)
    return list(_check_peers(config, outline)) + list(_check_subnets(config, outline))


def placement(config):
    """Everything about the subnets that the host rules read (each subnet's
    CIDR, router and pool ranges, in document order). Two configs with the
    same placement judge the same hosts alike."""
    return tuple((s.subnet_cidr, s.router_ip,
                  tuple((p.ip_range_low, p.ip_range_high) for p in s.pools))
                 for net in config.shared_networks for s in net.subnets)


_V4_ONLY_PEER_FIELDS = ("port", "peer_port", "max_response_delay", "max_unacked_updates",
                        "load_balance_max_seconds", "mclt", "split", "auto_partner_down")


def _check_peers(config, outline):
    seen = {}
    named = _named_peers(config, outline)
    for i, peer in enumerate(config.failover_peers):
        path = outline.item("failover_peers", i)
        if peer.name in seen:
            yield Problem(f"{path}.name", f"{peer.name!r} is already declared by {seen[peer.name]}")
        elif named is not None and peer.address.version == 4 and peer.name not in named:
            # dhcpd -t: "Failover configuration sanity check failed".
            yield Problem(f"{path}.name", f"{peer.name!r} is named by no pool; dhcpd refuses "
                                          "a failover peer that no pool uses")
        seen.setdefault(peer.name, path)
        if peer.address == peer.peer_address:
            yield Problem(f"{path}.peer_address",
                          f"{peer.peer_address} is this peer's own address")
        if peer.mode == "secondary":
            # dhcpd refuses both on a secondary: the primary alone decides them.
            for field in ("mclt", "split"):
                if getattr(peer, field) is not None:
                    yield Problem(f"{path}.{field}", "only the primary may set it")
        if peer.address.version == 6:
            # dhcpd6 has no failover: the pool halves are fixed, only the role counts.
            for field in _V4_ONLY_PEER_FIELDS:
                if getattr(peer, field) is not None:
                    yield Problem(f"{path}.{field}",
                                  "has no meaning in DHCPv6 (pools are split in halves)")


def _named_peers(config, outline):
    """The failover peer names the pools give; None when a pool, a subnet or
    a shared network was lost (it may have named one)."""
    if (not outline.peer_uses_known or not outline.all_subnets
            or any(p.endswith(".pools") for p in outline.incomplete)):
        return None
    return {pool.failover_peer for subnet in config.subnets for pool in subnet.pools}


def _check_subnets(config, outline):
    names = {}
    for n, network in enumerate(config.shared_networks):
        path = outline.item("shared_networks", n)
        if network.name in names:
            yield Problem(f"{path}.name",
                          f"{network.name!r} is already used by {names[network.name]}")
        names.setdefault(network.name, path)
        if not network.subnets and f"{path}.subnets" not in outline.incomplete:
            # dhcpd -t: "empty shared-network decl".
            yield Problem(f"{path}.subnets", "has no subnets; dhcpd refuses a shared "
                                             "network without one")
    subnets = list(_subnet_paths(config, outline))
    overlapping = earliest_overlaps([subnet.subnet_cidr for _, subnet in subnets])
    for i, (path, subnet) in enumerate(subnets):
        if i in overlapping:
            other_path, other = subnets[overlapping[i]]
            yield Problem(f"{path}.subnet_cidr",
                          f"{subnet.subnet_cidr} overlaps {other.subnet_cidr} ({other_path})")
        yield from _check_subnet(path, subnet, outline)


def _check_subnet(path, subnet, outline):
    cidr, router = subnet.subnet_cidr, subnet.router_ip
    if router is not None and not _usable(router, cidr):
        yield Problem(f"{path}.router_ip", f"{router} {_where(router, cidr)}")
    sound = [p for p, pool in enumerate(subnet.pools) if _sound(pool, cidr)]
    # Each pool that overlaps earlier ones names only the earliest: naming
    # every one made the messages quadratic (300 copies of a pool in 64
    # shared networks: 2.9 million problems, 3.7 GB to read a 3.6 MB document).
    overlapping = {sound[i]: sound[j] for i, j in earliest_range_overlaps(
        [(int(subnet.pools[p].ip_range_low), int(subnet.pools[p].ip_range_high))
         for p in sound]).items()}
    for p, pool in enumerate(subnet.pools):
        pool_path = outline.item(f"{path}.pools", p)
        inside = True
        for field in ("ip_range_low", "ip_range_high"):
            address = getattr(pool, field)
            if not _usable(address, cidr):
                inside = False
                yield Problem(f"{pool_path}.{field}", f"{address} {_where(address, cidr)}")
        if inside and pool.ip_range_low > pool.ip_range_high:
            yield Problem(f"{pool_path}.ip_range_low",
                          f"{pool.ip_range_low} is above ip_range_high {pool.ip_range_high}")
        if (pool.failover_peer is not None and outline.peer_names is not None
                and pool.failover_peer not in outline.peer_names):
            yield Problem(f"{pool_path}.failover_peer",
                          f"{pool.failover_peer!r} is not declared in failover_peers")
        if not _sound(pool, cidr):
            continue
        if router is not None and router in pool:
            yield Problem(pool_path, f"range {pool.ip_range_low}-{pool.ip_range_high} "
                                     f"contains the router {router}")
        if p in overlapping:
            yield Problem(pool_path, f"range {pool.ip_range_low}-{pool.ip_range_high} "
                                     f"overlaps {outline.item(f'{path}.pools', overlapping[p])}")


def _check_hosts(config, outline):
    index = SubnetIndex.of(config)
    by_ip, by_name, by_mac = {}, {}, {}
    for i, host in enumerate(config.hosts):
        path = outline.item("hosts", i)
        home = index.home(host.ip)
        yield from placement_problems(path, host, home, all_subnets=outline.all_subnets)
        if host.ip in by_ip:
            yield Problem(f"{path}.ip", f"{host.ip} is already reserved by {by_ip[host.ip]}")
        by_ip.setdefault(host.ip, path)
        # The name is how OMAPI finds a host object: two hosts with one name
        # could not be told apart when one of them changes.
        if host.host in by_name:
            yield Problem(f"{path}.host", f"{host.host!r} is already the name of {by_name[host.host]}")
        by_name.setdefault(host.host, path)
        # The same MAC in two subnets is legitimate (VLANs share their parent's MAC);
        # twice in one subnet, dhcpd could not tell which address to give.
        key = (host.mac, home.subnet_cidr if home is not None else None)
        if key in by_mac:
            where = f"subnet {home.subnet_cidr}" if home is not None else "this document"
            yield Problem(f"{path}.mac", f"{host.mac} is already reserved in {where} by {by_mac[key]}")
        by_mac.setdefault(key, path)


def placement_problems(path, host, home, *, all_subnets=True):
    """What is wrong with where ``host`` (at ``path``) stands in ``home``, the
    first subnet that holds its address (None: no subnet does).

    These rules need only the host and its subnet, not the other hosts:
    `provisioningserver.dhcp.incremental` runs them on a changed host alone.
    With ``all_subnets`` false (the document lost a subnet), a host in no
    subnet is not reported: its subnet may be the lost one.
    """
    if home is None:
        if all_subnets:
            yield Problem(f"{path}.ip", f"{host.ip} is not in any subnet of this document")
    elif not _usable(host.ip, home.subnet_cidr):
        yield Problem(f"{path}.ip", f"{host.ip} {_where(host.ip, home.subnet_cidr)}")
    else:
        if host.ip == home.router_ip:
            yield Problem(f"{path}.ip", f"{host.ip} is the router of subnet {home.subnet_cidr}")
        for pool in home.pools:
            if _sound(pool, home.subnet_cidr) and host.ip in pool:
                yield Problem(f"{path}.ip",
                              f"{host.ip} is inside dynamic range "
                              f"{pool.ip_range_low}-{pool.ip_range_high}")
