"""Interface selection for the agent: which interface serves each subnet."""

import ipaddress

import attrs
import pytest

from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.network.links import Snapshot
from provisioningserver.network.selection import below, select

IF = ipaddress.ip_interface


def config(interfaces=(), network_interface=None, cidrs=("198.18.0.0/24",)):
    return parse_document({
        "interfaces": list(interfaces),
        "shared_networks": [{"name": "n", "interface": network_interface, "subnets": [
            {"subnet_cidr": c} for c in cidrs]}],
    }, 4)


LINKS = {
    "lo": [IF("127.0.0.1/8")],
    "eth0": [IF("198.18.0.1/24"), IF("2001:db8::1/64")],
    "eth1": [IF("198.18.1.1/24")],
}


def test_subnet_is_served_on_the_interface_with_an_address_in_it():
    """The interface carrying an address in the subnet is chosen, with that address."""
    chosen = select(config(), LINKS)
    assert chosen.interfaces == ("eth0",)
    assert chosen.rack_addresses == {ipaddress.ip_network("198.18.0.0/24"): ipaddress.ip_address("198.18.0.1")}


def test_relayed_subnet_has_no_rack_address_and_is_reported():
    """A subnet with no local address is relayed: no rack address, listed as relayed."""
    chosen = select(config(cidrs=("198.18.0.0/24", "198.19.5.0/24")), LINKS)
    assert chosen.relayed == (ipaddress.ip_network("198.19.5.0/24"),)
    assert ipaddress.ip_network("198.19.5.0/24") not in chosen.rack_addresses


def test_named_interfaces_must_exist():
    """An interface the document names that this rack lacks is an error naming it."""
    with pytest.raises(DocumentError) as caught:
        select(config(interfaces=["eth9"]), LINKS)
    assert caught.value.paths == ["interfaces[0]"]
    assert "eth9" in str(caught.value)


def test_named_interfaces_restrict_the_choice():
    """With interfaces named, a subnet on another interface counts as relayed."""
    chosen = select(config(interfaces=["eth1"]), LINKS)
    assert chosen.interfaces == ("eth1",)
    assert chosen.relayed == (ipaddress.ip_network("198.18.0.0/24"),)


def test_ambiguous_subnet_names_the_candidates():
    """A subnet with addresses on two interfaces is an error naming both."""
    links = dict(LINKS, eth2=[IF("198.18.0.9/24")])
    with pytest.raises(DocumentError) as caught:
        select(config(), links)
    assert "eth0, eth2" in str(caught.value)
    assert caught.value.paths == ["shared_networks[0].subnets[0].subnet_cidr"]


def test_nothing_to_listen_on_is_an_error():
    """No local address in any subnet and no interfaces named: nothing to serve on."""
    with pytest.raises(DocumentError, match="no interface of this rack"):
        select(config(cidrs=("198.19.9.0/24",)), LINKS)


# On recorded snapshots (tests/network/data): bonds, VLANs and bridges.

NET = ipaddress.ip_network
IP = ipaddress.ip_address


def doc(*cidrs, version=4, interfaces=(), network_interface=None, failover=None, more=()):
    document = {
        "interfaces": list(interfaces),
        "shared_networks": [{"name": "n", "interface": network_interface,
                             "subnets": [{"subnet_cidr": c} for c in cidrs]}]
        + [{"name": f"m{i}", "subnets": [{"subnet_cidr": c}]} for i, c in enumerate(more)],
    }
    if failover:
        document["failover_peers"] = [{"name": "f", "mode": "primary", "address": failover,
                                       "peer_address": "198.18.0.99"}]
        # dhcpd refuses a peer no pool uses: the first subnet's pool does.
        first = ipaddress.ip_network(cidrs[0]).network_address
        document["shared_networks"][0]["subnets"][0]["pools"] = [
            {"ip_range_low": str(first + 100), "ip_range_high": str(first + 150),
             "failover_peer": "f"}]
    return parse_document(document, version)


def test_bridge_over_bond_is_chosen_not_its_members(recorded):
    """The untagged subnet is served on br0, not on bond0 or its NICs."""
    chosen = select(doc("198.18.0.0/24"), recorded("rack-bonds"))
    assert chosen.interfaces == ("br0",)
    assert chosen.rack_addresses == {NET("198.18.0.0/24"): IP("198.18.0.2")}
    assert "served on br0 (a bridge)" in chosen.reasons[NET("198.18.0.0/24")].why


def test_vlan_on_bond_and_vlan_on_bridge_are_their_own_devices(recorded):
    """Tagged VLANs are served on the VLAN devices, whatever they sit on."""
    chosen = select(doc("198.18.100.0/24", "198.18.200.0/24"), recorded("rack-bonds"))
    assert chosen.interfaces == ("bond0.100", "br0.200")
    reasons = chosen.reasons
    assert reasons[NET("198.18.100.0/24")].interface == "bond0.100"
    assert "VLAN 100 on bond0" in reasons[NET("198.18.100.0/24")].why
    assert "VLAN 200 on br0" in reasons[NET("198.18.200.0/24")].why


def test_bridge_over_vlan_over_bond(recorded):
    """A VM bridge on a VLAN of the bond serves its subnets, both of its addresses."""
    chosen = select(doc("198.19.30.0/24", "198.19.31.0/24"), recorded("rack-bonds"))
    assert chosen.interfaces == ("br300",)
    assert chosen.rack_addresses[NET("198.19.31.0/24")] == IP("198.19.31.2")


def test_address_on_a_bond_member_counts_for_the_top_device(recorded):
    """An address left on an enslaved NIC leads to the bridge above its bond."""
    snapshot = recorded("rack-bonds")
    links = [attrs.evolve(link, addresses=("198.18.7.5/24",)) if link.name == "eno2" else link
             for link in snapshot.links]
    chosen = select(doc("198.18.7.0/24"), Snapshot(links))
    assert chosen.interfaces == ("br0",)
    assert chosen.rack_addresses[NET("198.18.7.0/24")] == IP("198.18.7.5")
    assert "eno2 is a member of bond0, so dhcpd listens on br0" in \
        chosen.reasons[NET("198.18.7.0/24")].why


@pytest.mark.parametrize("name, message", [
    ("eno1", "eno1 is a member of bond0: name br0 instead"),
    ("bond0", "bond0 is a port of br0: name br0 instead"),
    ("bond0.300", "bond0.300 is a port of br300: name br300 instead"),
    ("lo", "lo is a loopback device and cannot carry DHCP"),
    ("wg0", "wg0 is an IP tunnel (link type none) and cannot carry DHCP"),
    ("eno3", "eno3 is down (down)"),
])
def test_named_interface_must_be_one_dhcpd_can_listen_on(recorded, name, message):
    """Naming an enslaved, loopback, tunnel or down device is an error saying which."""
    with pytest.raises(DocumentError) as caught:
        select(doc("198.18.0.0/24", interfaces=[name]), recorded("rack-bonds"))
    assert caught.value.paths == ["interfaces[0]"]
    assert str(caught.value) == f"interfaces[0]: {message}"


def test_shared_network_interface_is_checked_too(recorded):
    """A shared network naming a bond member is an error at its own path."""
    with pytest.raises(DocumentError) as caught:
        select(doc("198.18.0.0/24", network_interface="eno2"), recorded("rack-bonds"))
    assert caught.value.paths == ["shared_networks[0].interface"]


def test_shared_network_interface_wins_and_serves_its_relayed_subnets(recorded):
    """With the shared network's interface named, its relayed subnets go through it alone."""
    chosen = select(doc("198.18.0.0/24", "198.19.99.0/24", network_interface="br0",
                        more=("198.18.100.0/24",)), recorded("rack-bonds"))
    assert chosen.interfaces == ("bond0.100", "br0")
    relayed = chosen.reasons[NET("198.19.99.0/24")]
    assert relayed.interface is None
    assert relayed.why == (
        "no usable address of this rack in 198.19.99.0/24: relayed, served through br0; "
        "its relayed packets arrive on br0, so its boot server is 198.18.0.2, "
        "this rack's address there")
    assert (relayed.received_on, relayed.boot_server) == ("br0", IP("198.18.0.2"))
    assert chosen.relay_addresses == {NET("198.19.99.0/24"): IP("198.18.0.2")}
    assert "the shared network's interface" in chosen.reasons[NET("198.18.0.0/24")].why


def test_subnet_only_on_a_down_interface_is_an_error(recorded):
    """A subnet whose only local address is on a down NIC names it and says it is down."""
    with pytest.raises(DocumentError) as caught:
        select(doc("198.18.0.0/24", "198.18.50.0/24"), recorded("rack-bonds"))
    assert str(caught.value) == ("shared_networks[0].subnets[1].subnet_cidr: 198.18.50.0/24 "
                                 "is only on eno3, which is down: bring it up, or remove "
                                 "the subnet")


def test_up_interface_wins_over_a_down_one_and_the_reason_says_so(recorded):
    """Two carriers, one down: the up one is chosen, the reason names the down one."""
    chosen = select(doc("198.18.11.0/24"), Snapshot(
        [attrs.evolve(link, addresses=("198.18.11.9/24",)) if link.name == "enp2s0" else link
         for link in recorded("rack-plain").links]))
    assert chosen.interfaces == ("enp1s0",)
    assert "198.18.11.9 is on enp2s0, which is down (administratively): not chosen" in \
        chosen.reasons[NET("198.18.11.0/24")].why


def test_two_usable_carriers_are_ambiguous(recorded):
    """A subnet on a NIC and on a veth is an error naming both."""
    with pytest.raises(DocumentError, match=r"198.18.10.0/24 is on several interfaces "
                                            r"\(enp1s0, veth0\)"):
        select(doc("198.18.10.0/24"), recorded("rack-plain"))


def test_naming_one_candidate_resolves_the_ambiguity(recorded):
    """The document's interfaces choose between the two carriers."""
    chosen = select(doc("198.18.10.0/24", interfaces=["veth0"]), recorded("rack-plain"))
    assert chosen.rack_addresses == {NET("198.18.10.0/24"): IP("198.18.10.77")}
    assert "enp1s0, which the document's interfaces leave out" in \
        chosen.reasons[NET("198.18.10.0/24")].why


def test_tunnel_address_makes_a_subnet_relayed_with_a_note(recorded):
    """A subnet whose local address is on a tunnel is relayed, and the reason says why."""
    chosen = select(doc("198.18.0.0/24", "198.18.60.0/24"), recorded("rack-bonds"))
    assert chosen.relayed == (NET("198.18.60.0/24"),)
    assert "198.18.60.1 is on wg0, an IP tunnel" in chosen.reasons[NET("198.18.60.0/24")].why


def test_relayed_subnets_get_empty_declarations_for_listening_networks(recorded):
    """Listening interfaces' own networks missing from the document come back as empty subnets."""
    chosen = select(doc("198.19.99.0/24", interfaces=["br0", "bond0.100"]), recorded("rack-bonds"))
    assert chosen.relayed == (NET("198.19.99.0/24"),)
    assert chosen.empty_subnets == (NET("198.18.0.0/24"), NET("198.18.100.0/24"))
    assert chosen.reasons[NET("198.19.99.0/24")].why == (
        "no usable address of this rack in 198.19.99.0/24: relayed, "
        "served through bond0.100, br0; the document does not say which interface "
        "receives its relayed packets (the shared network's interface): no default "
        "boot server")
    assert chosen.relay_addresses == {}
    # Neither listening interface serves a subnet of the document: top level.
    assert chosen.empty_in == {}


def test_no_empty_declaration_where_the_document_has_the_network(recorded):
    """A listening network the document declares needs no empty subnet; a secondary one does."""
    chosen = select(doc("198.18.10.0/24", interfaces=["enp1s0"]), recorded("rack-plain"))
    assert chosen.empty_subnets == (NET("198.18.11.0/24"),)
    # The secondary network shares enp1s0 with the declared subnet: its empty
    # declaration goes in that subnet's shared network (dhcpd refuses an
    # interface in two shared networks).
    assert chosen.empty_in == {NET("198.18.11.0/24"): "n"}


def test_ipv6_document_uses_ipv6_addresses_only(recorded):
    """A v6 document picks v6 addresses; link-local ones never count."""
    snapshot = recorded("rack-bonds")
    chosen = select(doc("2001:db8::/64", "2001:db8:100::/64", version=6), snapshot)
    assert chosen.rack_addresses == {NET("2001:db8::/64"): IP("2001:db8::2"),
                                     NET("2001:db8:100::/64"): IP("2001:db8:100::2")}
    assert chosen.empty_subnets == ()
    with pytest.raises(DocumentError, match="no interface of this rack"):
        select(doc("fe80::/64", version=6), snapshot)


def test_ipv4_document_ignores_ipv6_addresses(recorded):
    """br0.200 has only IPv4 global addresses: its empty subnets in v6 are none, in v4 its network."""
    snapshot = recorded("rack-bonds")
    v4 = select(doc("198.19.99.0/24", interfaces=["br0.200"]), snapshot)
    assert v4.empty_subnets == (NET("198.18.200.0/24"),)
    v6 = select(doc("2001:db8:99::/64", version=6, interfaces=["br0.200"]), snapshot)
    assert v6.empty_subnets == ()


def test_failover_address_must_be_this_racks(recorded):
    """A failover address that no link carries is an error at its path, listing ours."""
    snapshot = recorded("rack-plain")
    assert select(doc("198.18.42.0/24", failover="198.18.42.1"), snapshot).interfaces == \
        ("enp1s0.42",)
    with pytest.raises(DocumentError) as caught:
        select(doc("198.18.42.0/24", failover="198.18.42.9"), snapshot)
    assert caught.value.paths == ["failover_peers[0].address"]
    assert "198.18.42.9 is not an address of this rack" in str(caught.value)
    assert "198.18.10.1" in str(caught.value)


def test_captured_bridge_namespace(recorded):
    """On the tree captured from a real namespace: the bridge serves, its ports never do,
    and the carrier-less veth is refused as down."""
    snapshot = recorded("netns-bridge")
    chosen = select(doc("198.18.1.0/24", "198.19.7.0/24"), snapshot)
    assert chosen.interfaces == ("br0",)
    assert chosen.relayed == (NET("198.19.7.0/24"),)
    with pytest.raises(DocumentError, match="p0 is a port of br0: name br0 instead"):
        select(doc("198.18.1.0/24", interfaces=["p0"]), snapshot)
    with pytest.raises(DocumentError, match=r"only on v0, which is down"):
        select(doc("198.18.2.0/24"), snapshot)


# Relayed subnets: where their packets arrive, and their boot server.

RELAY_LINKS = {"lo": [IF("127.0.0.1/8")],
               "eth0": [IF("198.18.41.1/24"), IF("198.18.42.1/24"), IF("2001:db8:41::1/64")],
               "eth1": [IF("198.18.43.1/24")]}


def relay_doc(*, interface="eth0", version=4, subnet=None, more=()):
    subnet = subnet or {"subnet_cidr": "198.18.40.0/24" if version == 4 else "2001:db8:40::/64"}
    return parse_document({"shared_networks": [
        {"name": "remote", "interface": interface, "subnets": [subnet]},
        *({"name": f"m{i}", "subnets": [{"subnet_cidr": c}]} for i, c in enumerate(more))]},
        version)


def test_relay_only_document_is_served_on_the_named_interface():
    """Every subnet relayed: valid when the shared network names the interface that
    receives them; dhcpd listens there, the rack's first address on it is the boot
    server, and its own networks are declared empty at the top level."""
    chosen = select(relay_doc(), RELAY_LINKS)
    assert chosen.interfaces == ("eth0",)
    assert chosen.rack_addresses == {}
    assert chosen.relay_addresses == {NET("198.18.40.0/24"): IP("198.18.41.1")}
    assert chosen.empty_subnets == (NET("198.18.41.0/24"), NET("198.18.42.0/24"))
    # Two undeclared networks on eth0 and no subnet of the document there: one
    # shared network of their own (two top-level subnets would be two).
    assert chosen.empty_in == {NET("198.18.41.0/24"): "eth0 (undeclared networks)",
                               NET("198.18.42.0/24"): "eth0 (undeclared networks)"}
    choice = chosen.reasons[NET("198.18.40.0/24")]
    assert (choice.interface, choice.received_on, choice.boot_server) == (
        None, "eth0", IP("198.18.41.1"))
    assert choice.why == (
        "no usable address of this rack in 198.18.40.0/24: relayed, served through eth0; "
        "its relayed packets arrive on eth0, so its boot server is 198.18.41.1, "
        "this rack's address there")


def test_relay_only_document_without_an_interface_names_the_field():
    """Every subnet relayed and no interface named: an error at each shared network's
    interface, saying what to name."""
    with pytest.raises(DocumentError) as caught:
        select(relay_doc(interface=None), RELAY_LINKS)
    assert caught.value.paths == ["shared_networks[0].interface"]
    assert "name the interface that receives their relayed packets" in str(caught.value)


def test_relay_only_ipv6_document_uses_the_interfaces_ipv6_address():
    """In a v6 document the default boot server is the receiving interface's global
    IPv6 address."""
    chosen = select(relay_doc(version=6), RELAY_LINKS)
    assert chosen.relay_addresses == {NET("2001:db8:40::/64"): IP("2001:db8:41::1")}
    assert chosen.empty_subnets == (NET("2001:db8:41::/64"),)


def test_one_listening_interface_receives_the_relayed_packets():
    """With no interface named but one listening interface (a direct subnet's), the
    relayed subnet's boot server is the rack's address there."""
    chosen = select(relay_doc(interface=None, more=("198.18.43.0/24",)), RELAY_LINKS)
    assert chosen.interfaces == ("eth1",)
    assert chosen.relay_addresses == {NET("198.18.40.0/24"): IP("198.18.43.1")}


def test_several_listening_interfaces_leave_no_default_boot_server():
    """Two listening interfaces and none named for the relayed subnet: no default boot
    server (the reason says so); the subnet's next_server still gives one."""
    document = relay_doc(interface=None, more=("198.18.43.0/24", "198.18.41.0/24"))
    chosen = select(document, RELAY_LINKS)
    assert chosen.interfaces == ("eth0", "eth1")
    assert chosen.relay_addresses == {}
    assert "no default boot server" in chosen.reasons[NET("198.18.40.0/24")].why
    own = relay_doc(interface=None, more=("198.18.43.0/24", "198.18.41.0/24"),
                    subnet={"subnet_cidr": "198.18.40.0/24", "next_server": "198.18.41.1"})
    choice = select(own, RELAY_LINKS).reasons[NET("198.18.40.0/24")]
    assert choice.boot_server == IP("198.18.41.1")
    assert choice.why.endswith("; boot server 198.18.41.1, the subnet's next_server")


def test_next_server_elsewhere_is_noted():
    """A next_server that is not an address of this rack is accepted, and the reason
    says the boot files must be served there."""
    document = relay_doc(subnet={"subnet_cidr": "198.18.40.0/24", "next_server": "198.18.41.9"})
    choice = select(document, RELAY_LINKS).reasons[NET("198.18.40.0/24")]
    assert choice.boot_server == IP("198.18.41.9")
    assert choice.why.endswith(
        "boot server 198.18.41.9, the subnet's next_server (not an address of this rack: "
        "the boot files must be served there)")


def test_other_network_of_a_serving_interface_goes_in_its_shared_network():
    """eth0 serves 198.18.41.0/24 (shared network m0) and also carries 198.18.42.0/24,
    which the document lacks: that empty declaration belongs in m0; a relayed
    network naming eth0 does not move it."""
    chosen = select(relay_doc(more=("198.18.41.0/24",)), RELAY_LINKS)
    assert chosen.empty_subnets == (NET("198.18.42.0/24"),)
    assert chosen.empty_in == {NET("198.18.42.0/24"): "m0"}


def test_the_reason_says_why_not_a_bridges_ports(recorded):
    """Served on a bridge, the reason names its ports and why dhcpd is not on them."""
    chosen = select(doc("198.18.1.0/24"), recorded("netns-bridge"))
    assert chosen.reasons[NET("198.18.1.0/24")].why == (
        "198.18.1.1 is on br0; served on br0 (a bridge); not on br0's ports p0, p1: "
        "enslaved, they pass their frames up to br0")


def test_the_reason_says_why_not_a_bond_under_a_bridge(recorded):
    """A bridge over a bond: the reason goes down through the bond to its members."""
    chosen = select(doc("198.18.0.0/24"), recorded("rack-bonds"))
    assert ("not on br0's port bond0 and bond0's members eno1, eno2: enslaved, they pass "
            "their frames up to br0") in chosen.reasons[NET("198.18.0.0/24")].why


def test_the_reason_says_why_not_a_vlans_bond_or_its_members(recorded):
    """Served on a VLAN of a bond: neither the bond nor its members, which carry it tagged."""
    chosen = select(doc("198.18.100.0/24"), recorded("rack-bonds"))
    assert chosen.reasons[NET("198.18.100.0/24")].why == (
        "198.18.100.2 is on bond0.100; served on bond0.100 (VLAN 100 on bond0); not on its "
        "parent bond0 (with bond0's members eno1, eno2): they carry VLAN 100 tagged, and only "
        "bond0.100 receives its frames untagged")


def test_below_is_none_for_a_plain_device(recorded):
    """Nothing is under a plain NIC, and a name not on the rack has nothing under it."""
    snapshot = recorded("rack-plain")
    assert below(snapshot, "enp1s0") is None and below(snapshot, "nope0") is None
    assert below(snapshot, "enp1s0.42") == ("not on its parent enp1s0: it carries VLAN 42 "
                                            "tagged, and only enp1s0.42 receives its frames "
                                            "untagged")
