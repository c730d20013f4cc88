"""Which interface serves each subnet, and this rack's address on it (pure).

Input: a checked document (one IP family) and a `Snapshot` of the node's
links; output: a `Selection`, or a `DocumentError` listing every problem with
the path of the field it is about. The rules, in the order they apply:

1. Only the document's family counts: a v4 document looks at IPv4 addresses,
   a v6 one at IPv6 addresses other than link-local (fe80::/10).
2. Interfaces the document names (``interfaces``, the region's choice; a
   shared network's ``interface``) must exist, be up, carry DHCP, and not be
   enslaved: naming a bond member or bridge port is an error that names the
   bond or bridge instead. With ``interfaces`` named, only those are
   listened on; a shared network's ``interface`` is the only candidate for
   its subnets.
3. Otherwise a subnet is served on the device carrying an address inside it.
   An address on a bond member or bridge port counts for the bond or bridge
   above it (followed upwards: a bond under a bridge gives the bridge); a
   VLAN device is a device of its own, so a tagged VLAN is served on it.
   The reason for a chosen device also says why not the devices under it
   (`below`: a bridge's ports, a bond's members, a VLAN's parent).
   Down devices and devices that cannot carry DHCP are passed over, and the
   reason says so; two usable devices are an ambiguity error, and a subnet
   only on down devices is an error too.
4. A subnet with no usable local address is relayed: no rack address, and
   served through the listening interfaces. Its relayed packets arrive on
   its shared network's ``interface`` when the document names one, else on
   the one interface dhcpd listens on; this rack's (first) address there is
   its default boot server (``relay_addresses``). With several listening
   interfaces and none named, that is unknown: no boot options unless the
   subnet sets ``next_server``. A document whose subnets are all relayed
   must name the interface (in the shared network, or in ``interfaces``).
   dhcpd ignores a listening interface whose own address has no subnet
   declaration, so each such network is returned in ``empty_subnets`` for
   the renderer to declare empty, inside the shared network of a subnet
   served on the same interface if there is one, or in a shared network of
   their own when one interface has several (``empty_in``: dhcpd refuses an
   interface that is in two shared networks).
5. A failover peer's ``address`` must be one of this rack's addresses.
"""

import ipaddress

import attrs

from provisioningserver.dhcp.errors import DocumentError, Problem
from provisioningserver.network.links import Snapshot


@attrs.frozen
class SubnetChoice:
    """How one subnet is served, and why."""

    subnet: "ipaddress.IPv4Network | ipaddress.IPv6Network"
    interface: "str | None"  # None: relayed, served through every listening interface
    address: "ipaddress.IPv4Address | ipaddress.IPv6Address | None"  # this rack's address on the subnet
    why: str
    received_on: "str | None" = None  # relayed: the interface its relayed packets arrive on
    boot_server: "ipaddress.IPv4Address | ipaddress.IPv6Address | None" = None


@attrs.frozen
class Selection:
    rack_addresses: dict  # subnet network -> this rack's address on it
    interfaces: tuple  # names for dhcpd's command line, sorted
    relayed: tuple = ()  # subnets with no local address
    empty_subnets: tuple = ()  # listening interfaces' networks the document lacks
    reasons: dict = attrs.field(factory=dict)  # subnet network -> SubnetChoice
    # Relayed subnet -> this rack's address on the interface that receives it.
    relay_addresses: dict = attrs.field(factory=dict)
    # Empty network -> the shared network to declare it in (absent: top level).
    empty_in: dict = attrs.field(factory=dict)


def _relation(snapshot, name):
    master = snapshot[name].master
    role = "a member" if master in snapshot and snapshot[master].kind == "bond" else "a port"
    return f"{role} of {master}"


def unusable(snapshot, name):
    """Why dhcpd cannot listen on the named device, or None."""
    if name not in snapshot:
        return f"no interface {name!r} on this rack"
    link = snapshot[name]
    if link.master:
        return f"{name} is {_relation(snapshot, name)}: name {snapshot.top(name)} instead"
    if not link.carries_dhcp:
        return f"{name} is {link.why_not} and cannot carry DHCP"
    if not link.running:
        return f"{name} is {link.state}"
    return None


def _carriers(snapshot, cidr):
    """{serving device: [(address, carrying device), ...]} for the subnet."""
    found = {}
    for link in snapshot.links:
        for address in link.addresses_of(cidr.version):
            if address.ip in cidr:
                found.setdefault(snapshot.top(link.name), []).append((address.ip, link.name))
    return {name: sorted(pairs) for name, pairs in found.items()}


def _via(snapshot, serving, carrier):
    """How an address on ``carrier`` lands on ``serving``, when they differ."""
    if carrier == serving:
        return ""
    return f" ({carrier} is {_relation(snapshot, carrier)}, so dhcpd listens on {serving})"


def _describe(snapshot, name):
    link = snapshot[name] if name in snapshot else None
    if link is not None and link.kind == "vlan":
        tag = f"VLAN {link.vlan_id}" if link.vlan_id is not None else "a VLAN"
        return f"{name} ({tag} on {link.parent})"
    if link is not None and link.kind in ("bond", "bridge"):
        return f"{name} (a {link.kind})"
    return name


def _enslaved(snapshot, name, seen=()):
    """[(device, the bond or bridge it is enslaved to)] under ``name``, followed down."""
    if name not in snapshot or name in seen:
        return []
    link, found = snapshot[name], []
    for child in link.ports + link.members:
        found.append((child, name))
        found += _enslaved(snapshot, child, seen + (name,))
    return found


def _enslaved_text(snapshot, pairs):
    groups = {}
    for child, owner in pairs:
        groups.setdefault(owner, []).append(child)
    parts = []
    for owner, children in groups.items():
        role = "member" if snapshot[owner].kind == "bond" else "port"
        parts.append(f"{owner}'s {role}{'s' if len(children) > 1 else ''} {', '.join(children)}")
    return " and ".join(parts)


def below(snapshot, name):
    """Why dhcpd listens on ``name`` and not on the devices under it (a bridge's
    ports, a bond's members, a VLAN's parent and what that is made of), or
    None when nothing is under it."""
    if name not in snapshot:
        return None
    link = snapshot[name]
    if link.kind == "vlan" and link.parent:
        pairs = _enslaved(snapshot, link.parent)
        under = f"its parent {link.parent}" + (
            f" (with {_enslaved_text(snapshot, pairs)})" if pairs else "")
        tag = f"VLAN {link.vlan_id}" if link.vlan_id is not None else "the VLAN"
        return (f"not on {under}: {'they carry' if pairs else 'it carries'} {tag} tagged, "
                f"and only {name} receives its frames untagged")
    pairs = _enslaved(snapshot, name)
    if not pairs:
        return None
    many = len(pairs) > 1
    return (f"not on {_enslaved_text(snapshot, pairs)}: enslaved, {'they pass' if many else 'it passes'} "
            f"{'their' if many else 'its'} frames up to {name}")


def _place(snapshot, cidr, fixed, allowed):
    """One subnet: ("chosen", name, address, why), ("relayed", notes) or
    ("error", message)."""
    usable, down, notes = [], [], []
    for serving, pairs in sorted(_carriers(snapshot, cidr).items()):
        address, carrier = pairs[0]
        where = f"{address} is on {carrier}{_via(snapshot, serving, carrier)}"
        if fixed is not None and serving != fixed:
            notes.append(f"{where}, but the shared network names {fixed}")
        elif allowed is not None and serving not in allowed:
            notes.append(f"{where}, which the document's interfaces leave out")
        elif serving not in snapshot:
            notes.append(f"{where}, but {serving} is not on this rack")
        elif not snapshot[serving].carries_dhcp:
            notes.append(f"{where}, {snapshot[serving].why_not}")
        elif not snapshot[serving].running:
            down.append(serving)
            notes.append(f"{where}, which is {snapshot[serving].state}: not chosen")
        else:
            usable.append((serving, address, where))
    if len(usable) > 1:
        names = ", ".join(name for name, _, _ in usable)
        return ("error", f"{cidr} is on several interfaces ({names}): name one in the "
                         "document's interfaces or in the shared network's interface")
    if usable:
        name, address, where = usable[0]
        why = f"{where}; served on {_describe(snapshot, name)}"
        if fixed is not None:
            why += ", the shared network's interface"
        under = below(snapshot, name)
        return ("chosen", name, address, "; ".join([why] + ([under] if under else []) + notes))
    if down:
        return ("error", f"{cidr} is only on {', '.join(down)}, which "
                         f"{'is' if len(down) == 1 else 'are'} down: bring "
                         f"{'it' if len(down) == 1 else 'one'} up, or remove the subnet")
    return ("relayed", notes)


def _named(snapshot, config, problems):
    names = []
    for i, name in enumerate(config.interfaces):
        why = unusable(snapshot, name)
        if why:
            problems.append(Problem(f"interfaces[{i}]", why))
        else:
            names.append(name)
    return names


def _failover(snapshot, config, problems):
    ours = {a.ip for a in snapshot.addresses()}
    for i, peer in enumerate(config.failover_peers):
        if peer.address not in ours:
            listed = ", ".join(str(a.ip) for a in snapshot.addresses(peer.address.version)
                               if not a.ip.is_loopback and not a.ip.is_link_local)
            problems.append(Problem(
                f"failover_peers[{i}].address",
                f"{peer.address} is not an address of this rack "
                f"(its addresses: {listed or 'none'})"))


def _empty_subnets(snapshot, config, listening, homes):
    """The undeclared networks of the listening interfaces, and for each the
    shared network to declare it in: the one the interface serves (``homes``,
    interface -> name), else, for an interface with several, one of their own
    (named after the interface, with a space no document name may hold):
    each top-level subnet is a shared network of its own, and dhcpd refuses an
    interface in two."""
    networks, empty_in = set(), {}
    for name in sorted(listening):
        own = [a.network for a in snapshot[name].addresses_of(config.ip_version)
               if not any(a.ip in s.subnet_cidr for s in config.subnets)]
        networks.update(own)
        home = homes.get(name) or (f"{name} (undeclared networks)" if len(set(own)) > 1
                                   else None)
        for network in own if home else ():
            empty_in.setdefault(network, home)
    return tuple(sorted(networks)), empty_in


def _relay_problems(config, relayed):
    """A relay-only document that names no interface: where to name one."""
    unnamed = sorted({n for _, n, fixed, _ in relayed if fixed is None})
    return [Problem(f"shared_networks[{n}].interface",
                    "no interface of this rack has an address in any subnet of the document, "
                    "so its subnets are relayed: name the interface that receives their "
                    "relayed packets (here, or in the document's interfaces)")
            for n in unnamed or range(len(config.shared_networks))]


def _relayed_choice(snapshot, config, cidr, fixed, notes, interfaces):
    """The `SubnetChoice` of a relayed subnet: where its packets arrive, and
    the boot server that gives."""
    through = fixed or ", ".join(interfaces)
    why = [f"no usable address of this rack in {cidr}: relayed, served through {through}"]
    receiver = fixed or (interfaces[0] if len(interfaces) == 1 else None)
    addresses = snapshot[receiver].addresses_of(config.ip_version) if receiver else ()
    server = addresses[0].ip if addresses else None
    if server is not None:
        why.append(f"its relayed packets arrive on {receiver}, so its boot server is "
                   f"{server}, this rack's address there")
    elif receiver is not None:
        why.append(f"its relayed packets arrive on {receiver}, which has no IPv"
                   f"{config.ip_version} address: no default boot server")
    else:
        why.append("the document does not say which interface receives its relayed "
                   "packets (the shared network's interface): no default boot server")
    return SubnetChoice(cidr, None, None, "; ".join(why + notes), received_on=receiver,
                        boot_server=server)


def _own_server(snapshot, subnet, choice):
    """``choice`` with the subnet's own next_server, when it sets one."""
    server = subnet.next_server
    if server is None:
        return choice
    ours = any(a.ip == server for a in snapshot.addresses(server.version))
    note = (f"boot server {server}, the subnet's next_server"
            + ("" if ours else " (not an address of this rack: the boot files must be "
                               "served there)"))
    return attrs.evolve(choice, why=f"{choice.why}; {note}", boot_server=server)


def select(config, snapshot):
    """The `Selection` for ``config`` on ``snapshot`` (see the module docstring).

    ``snapshot`` may also be a plain ``{name: [addresses]}`` mapping, read
    as `Snapshot.from_addresses`."""
    if not isinstance(snapshot, Snapshot):
        snapshot = Snapshot.from_addresses(snapshot)
    problems = []
    named = _named(snapshot, config, problems)
    allowed = set(named) if config.interfaces else None
    listening = set(named)
    rack_addresses, reasons, relayed, homes, subnets = {}, {}, [], {}, {}
    for n, network in enumerate(config.shared_networks):
        fixed = network.interface
        if fixed is not None:
            why = unusable(snapshot, fixed)
            if why:
                problems.append(Problem(f"shared_networks[{n}].interface", why))
                continue
        for s, subnet in enumerate(network.subnets):
            cidr = subnet.subnet_cidr
            subnets[cidr] = subnet
            outcome = _place(snapshot, cidr, fixed, allowed)
            if outcome[0] == "error":
                problems.append(Problem(f"shared_networks[{n}].subnets[{s}].subnet_cidr",
                                        outcome[1]))
            elif outcome[0] == "chosen":
                _, name, address, why = outcome
                listening.add(name)
                rack_addresses[cidr] = address
                homes.setdefault(name, network.name)
                reasons[cidr] = SubnetChoice(cidr, name, address, why, boot_server=address)
            else:
                relayed.append((cidr, n, fixed, outcome[1]))
                if fixed is not None:
                    listening.add(fixed)
    _failover(snapshot, config, problems)
    if problems:
        raise DocumentError(problems)
    if config.shared_networks and not listening:
        raise DocumentError(_relay_problems(config, relayed))
    interfaces = tuple(sorted(listening))
    relay_addresses = {}
    for cidr, _, fixed, notes in relayed:
        reasons[cidr] = _relayed_choice(snapshot, config, cidr, fixed, notes, interfaces)
        if reasons[cidr].boot_server is not None:
            relay_addresses[cidr] = reasons[cidr].boot_server
    reasons = {cidr: _own_server(snapshot, subnets[cidr], choice)
               for cidr, choice in reasons.items()}
    empty, empty_in = _empty_subnets(snapshot, config, listening, homes)
    return Selection(rack_addresses=rack_addresses, interfaces=interfaces,
                     relayed=tuple(cidr for cidr, _, _, _ in relayed),
                     empty_subnets=empty, reasons=reasons,
                     relay_addresses=relay_addresses, empty_in=empty_in)
