"""Which interface serves each subnet, and this rack's address on it (pure).

Input: the document and {interface: [addresses]}. A subnet is served on the
interface that carries an address inside it; that address is the rack's
address on the subnet (next-server, boot URLs). When the document names
``interfaces`` (the region's choice) only those are considered, and each must
exist. A shared network's own ``interface`` wins for its subnets. A subnet
with no local address is relayed: it gets no rack address (the renderer then
leaves its boot options out) and is served on the listening interfaces.
"""

import attrs

from provisioningserver.dhcp.errors import DocumentError, Problem


@attrs.frozen
class Selection:
    rack_addresses: dict  # subnet network -> this rack's address on it
    interfaces: tuple  # names for dhcpd's command line, sorted
    relayed: tuple = ()  # subnets with no local address


def select(config, links):
    problems = []
    allowed = set(links)
    if config.interfaces:
        for i, name in enumerate(config.interfaces):
            if name not in links:
                problems.append(Problem(f"interfaces[{i}]", f"no interface {name!r} on this rack"))
        allowed = set(config.interfaces) & set(links)
    rack_addresses, chosen, relayed = {}, set(config.interfaces) & set(links), []
    for n, network in enumerate(config.shared_networks):
        candidates = allowed
        if network.interface is not None:
            if network.interface not in links:
                problems.append(Problem(f"shared_networks[{n}].interface",
                                        f"no interface {network.interface!r} on this rack"))
                continue
            candidates = {network.interface}
        for s, subnet in enumerate(network.subnets):
            cidr = subnet.subnet_cidr
            found = sorted((name, a.ip) for name in candidates for a in links[name]
                           if a.ip in cidr and a.ip.version == cidr.version)
            names = sorted({name for name, _ in found})
            if len(names) > 1:
                problems.append(Problem(
                    f"shared_networks[{n}].subnets[{s}].subnet_cidr",
                    f"{cidr} is on several interfaces ({', '.join(names)}): "
                    "name one in the document's interfaces"))
            elif names:
                chosen.add(names[0])
                rack_addresses[cidr] = found[0][1]
            else:
                relayed.append(cidr)
                if network.interface is not None:
                    chosen.add(network.interface)
    if problems:
        raise DocumentError(problems)
    if config.shared_networks and not chosen:
        raise DocumentError([Problem("shared_networks", "no interface of this rack has an "
                                     "address in any subnet of the document, and the document "
                                     "names no interfaces to listen on")])
    return Selection(rack_addresses=rack_addresses, interfaces=tuple(sorted(chosen)),
                     relayed=tuple(relayed))
