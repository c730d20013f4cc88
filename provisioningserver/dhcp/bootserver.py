"""Which address a subnet's boot options name, and where empty subnets go.

A booting client is told a boot server: DHCPv4's ``next-server`` (siaddr)
and the host of every boot URL, ``RACK`` in docs/boot.md. Where it comes
from, in order:

1. the subnet's own ``next_server``, when the document sets one;
2. this rack's address on the subnet, for a subnet the rack is on;
3. for a relayed subnet, this rack's address on the interface that receives
   its relayed packets (`provisioningserver.network.selection` works it out:
   the shared network's ``interface``, or the one interface dhcpd listens
   on). That is the address the relay agent sends to, so the client can
   reach it through the same routers.

With none of them the subnet gets no boot options at all, and the rendered
config says why.

Empty subnets. dhcpd listens only on an interface whose own address is in a
declared subnet, so a listening interface's network that the document lacks
is declared empty. When that interface also serves a subnet of the
document, the empty declaration must be inside the same shared-network
block: a subnet at the top level is a shared network of its own, and dhcpd
refuses to start with "Interface eth0 matches multiple shared networks".
For the same reason an interface with several such networks and no subnet
of the document gets a shared network of their own (`empty_networks`).
"""


def boot_server(subnet, rack_addresses, relay_addresses):
    """(address or None, relayed, a note) for ``subnet``: the note says where a
    relayed subnet's or a subnet's own boot server comes from, for the rendered
    comment; None for the plain case (the rack's address on the subnet)."""
    cidr = subnet.subnet_cidr
    rack = rack_addresses.get(cidr)
    relayed = rack is None
    if relayed:
        rack = relay_addresses.get(cidr)
    if subnet.next_server is not None:
        return subnet.next_server, relayed, "the subnet's next_server"
    if rack is None:
        return None, relayed, None
    if relayed:
        return rack, relayed, ("this rack's address on the interface that receives "
                               "the relayed packets")
    return rack, relayed, None


def empty_declarations(empty_subnets, empty_in, version, network_name):
    """The empty subnet declarations (view data) that belong in shared network
    ``network_name``; None: those at the top level."""
    return [{"network": str(n.network_address), "netmask": str(n.netmask), "cidr": str(n)}
            for n in empty_subnets
            if n.version == version and empty_in.get(n) == network_name]


def empty_networks(inputs, version, shared_networks):
    """The shared networks of empty declarations alone (those the render
    ``inputs`` name in ``empty_in`` that are none of ``shared_networks``), as
    view data."""
    declared = {network.name for network in shared_networks}
    names = dict.fromkeys(name for n, name in inputs.empty_in.items()
                          if n.version == version and name not in declared)
    return [{"name": name, "subnets": empty_declarations(inputs.empty_subnets, inputs.empty_in,
                                                         version, name)}
            for name in names]
