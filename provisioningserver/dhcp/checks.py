"""Rules that relate the fields of a DHCP config document to each other.

`check_config` takes a structurally valid `DHCPConfig` and yields a `Problem`
for every rule it breaks, with the path of the offending field: pools inside
their subnet and not overlapping, hosts inside a served subnet but outside
the dynamic pools, no MAC twice in one subnet and no IP twice, failover peers
declared before pools name them.
"""

from provisioningserver.dhcp.errors import Problem


def _subnet_paths(config):
    for n, network in enumerate(config.shared_networks):
        for s, subnet in enumerate(network.subnets):
            yield f"shared_networks[{n}].subnets[{s}]", subnet


def _usable(address, network):
    """Whether ``address`` may be handed to a client on ``network``."""
    if address not in network:
        return False
    if network.version == 4 and network.prefixlen < 31:
        return address not in (network.network_address, network.broadcast_address)
    return True


def _where(address, network):
    if address not in network:
        return f"is outside subnet {network}"
    if address == network.network_address:
        return f"is the network address of subnet {network}"
    return f"is the broadcast address of subnet {network}"


def check_config(config):
    problems = []
    problems += _check_peers(config)
    problems += _check_subnets(config)
    problems += _check_hosts(config)
    return problems


def _check_peers(config):
    seen = {}
    for i, peer in enumerate(config.failover_peers):
        if peer.name in seen:
            yield Problem(f"failover_peers[{i}].name",
                          f"{peer.name!r} is already declared by failover_peers[{seen[peer.name]}]")
        seen.setdefault(peer.name, i)
        if peer.address == peer.peer_address:
            yield Problem(f"failover_peers[{i}].peer_address",
                          f"{peer.peer_address} is this peer's own address")


def _check_subnets(config):
    peers = {p.name for p in config.failover_peers}
    names = {}
    subnets = []
    for n, network in enumerate(config.shared_networks):
        if network.name in names:
            yield Problem(f"shared_networks[{n}].name",
                          f"{network.name!r} is already used by shared_networks[{names[network.name]}]")
        names.setdefault(network.name, n)
    for path, subnet in _subnet_paths(config):
        cidr = subnet.subnet_cidr
        for other_path, other in subnets:
            if cidr.overlaps(other.subnet_cidr):
                yield Problem(f"{path}.subnet_cidr",
                              f"{cidr} overlaps {other.subnet_cidr} ({other_path})")
        subnets.append((path, subnet))
        if subnet.router_ip is not None and not _usable(subnet.router_ip, cidr):
            yield Problem(f"{path}.router_ip", f"{subnet.router_ip} {_where(subnet.router_ip, cidr)}")
        pools = []
        for p, pool in enumerate(subnet.pools):
            pool_path = f"{path}.pools[{p}]"
            bad = False
            for field in ("ip_range_low", "ip_range_high"):
                address = getattr(pool, field)
                if not _usable(address, cidr):
                    bad = True
                    yield Problem(f"{pool_path}.{field}", f"{address} {_where(address, cidr)}")
            if pool.ip_range_low > pool.ip_range_high:
                bad = True
                yield Problem(f"{pool_path}.ip_range_low",
                              f"{pool.ip_range_low} is above ip_range_high {pool.ip_range_high}")
            if pool.failover_peer is not None and pool.failover_peer not in peers:
                yield Problem(f"{pool_path}.failover_peer",
                              f"{pool.failover_peer!r} is not declared in failover_peers")
            if subnet.router_ip is not None and not bad and subnet.router_ip in pool:
                yield Problem(f"{pool_path}",
                              f"range {pool.ip_range_low}-{pool.ip_range_high} contains "
                              f"the router {subnet.router_ip}")
            if bad:
                continue
            for other_path, other in pools:
                if pool.ip_range_low <= other.ip_range_high and other.ip_range_low <= pool.ip_range_high:
                    yield Problem(pool_path, f"range {pool.ip_range_low}-{pool.ip_range_high} "
                                             f"overlaps {other_path}")
            pools.append((pool_path, pool))


def _check_hosts(config):
    subnets = [subnet for _, subnet in _subnet_paths(config)]
    by_ip, by_name, by_mac = {}, {}, {}
    for i, host in enumerate(config.hosts):
        path = f"hosts[{i}]"
        home = next((s for s in subnets if host.ip in s.subnet_cidr), None)
        if home is None:
            yield Problem(f"{path}.ip", f"{host.ip} is not in any subnet of this document")
        elif not _usable(host.ip, home.subnet_cidr):
            yield Problem(f"{path}.ip", f"{host.ip} {_where(host.ip, home.subnet_cidr)}")
        else:
            if host.ip == home.router_ip:
                yield Problem(f"{path}.ip", f"{host.ip} is the router of subnet {home.subnet_cidr}")
            for pool in home.pools:
                if host.ip in pool:
                    yield Problem(f"{path}.ip",
                                  f"{host.ip} is inside dynamic range "
                                  f"{pool.ip_range_low}-{pool.ip_range_high}")
        if host.ip in by_ip:
            yield Problem(f"{path}.ip", f"{host.ip} is already reserved by hosts[{by_ip[host.ip]}]")
        by_ip.setdefault(host.ip, i)
        if host.host in by_name:
            yield Problem(f"{path}.host",
                          f"{host.host!r} is already the name of hosts[{by_name[host.host]}]")
        by_name.setdefault(host.host, i)
        # The same MAC in two subnets is legitimate (VLANs share their parent's MAC);
        # twice in one subnet, dhcpd could not tell which address to give.
        key = (host.mac, home.subnet_cidr if home is not None else None)
        if key in by_mac:
            where = f"subnet {home.subnet_cidr}" if home is not None else "this document"
            yield Problem(f"{path}.mac",
                          f"{host.mac} is already reserved in {where} by hosts[{by_mac[key]}]")
        by_mac.setdefault(key, i)
