"""Discovery on recorded sysfs trees: kinds, stacking and state of each link."""

import ipaddress

from provisioningserver.network.discovery import addresses_by_interface, discover
from provisioningserver.network.links import Link, Snapshot
from provisioningserver.network.record import describe
from provisioningserver.network.sysfs import read_links, vlan_table
from tests.network import fakesys


def test_bonds_bridges_and_vlans_are_told_apart(recorded):
    """Each device of the bonded rack gets its kind from sysfs."""
    snapshot = recorded("rack-bonds")
    kinds = {link.name: link.kind for link in snapshot.links}
    assert kinds == {
        "lo": "loopback", "eno1": "physical", "eno2": "physical", "eno3": "physical",
        "bond0": "bond", "br0": "bridge", "bond0.100": "vlan", "br0.200": "vlan",
        "bond0.300": "vlan", "br300": "bridge", "wg0": "tunnel"}


def test_stacking_is_read_from_both_ends(recorded):
    """Bond members, bridge ports, masters, VLAN parents and ids all come through."""
    snapshot = recorded("rack-bonds")
    assert snapshot["bond0"].members == ("eno1", "eno2")
    assert snapshot["eno1"].master == "bond0"
    assert snapshot["br0"].ports == ("bond0",)
    assert snapshot["bond0"].master == "br0"
    assert (snapshot["bond0.100"].parent, snapshot["bond0.100"].vlan_id) == ("bond0", 100)
    assert (snapshot["br0.200"].parent, snapshot["br0.200"].vlan_id) == ("br0", 200)
    assert snapshot["br300"].ports == ("bond0.300",)
    assert snapshot["bond0.300"].master == "br300"


def test_top_follows_masters_upwards(recorded):
    """A bond member under a bridged bond serves through the bridge."""
    snapshot = recorded("rack-bonds")
    assert snapshot.top("eno1") == "br0"
    assert snapshot.top("bond0.300") == "br300"
    assert snapshot.top("bond0.100") == "bond0.100"


def test_vlan_parent_without_proc_net_vlan(tmp_path):
    """Without 8021q's /proc table a VLAN's parent comes from its lower_ link; its id is unknown.
    A kernel that has a VLAN device always has the table (8021q makes it in every
    namespace); a root without /proc mounted (a chroot) does not."""
    description = dict(fakesys.load("rack-plain"), proc_net_vlan=False)
    link = discover(fakesys.expand(description, str(tmp_path)), fakesys.addresses(description))
    assert (link["enp1s0.42"].kind, link["enp1s0.42"].parent) == ("vlan", "enp1s0")
    assert link["enp1s0.42"].vlan_id is None


def test_devices_that_cannot_carry_dhcp_are_marked_not_dropped(recorded):
    """Loopback and tunnels stay in the snapshot, with the reason they cannot serve."""
    bonds, plain = recorded("rack-bonds"), recorded("rack-plain")
    assert bonds["lo"].why_not == "a loopback device"
    assert bonds["wg0"].why_not == "an IP tunnel (link type none)"
    assert plain["sit0"].why_not == "an IP tunnel (link type sit)"
    assert plain["veth0"].carries_dhcp and plain["veth0"].kind == "other"


def test_down_is_administrative_or_operational(recorded):
    """An admin-down device and one whose operstate is down are both not running."""
    bonds, plain = recorded("rack-bonds"), recorded("rack-plain")
    assert plain["enp2s0"].state == "down (administratively)"
    assert bonds["eno3"].state == "down (down)"
    assert not bonds["eno3"].running and not plain["enp2s0"].running
    assert bonds["lo"].running  # operstate "unknown" is not down


def test_mac_mtu_and_addresses(recorded):
    """MAC, MTU and both families' addresses reach the snapshot."""
    br0 = recorded("rack-bonds")["br0"]
    assert (br0.mac, br0.mtu) == ("52:54:00:aa:00:01", 9000)
    assert ipaddress.ip_interface("2001:db8::2/64") in br0.addresses
    assert [str(a) for a in br0.addresses_of(6)] == ["2001:db8::2/64"]  # no fe80::


def test_bonding_masters_file_is_not_a_device(tmp_path):
    """sys/class/net/bonding_masters (a file) is not read as a link."""
    root = fakesys.expand(fakesys.load("rack-bonds"), str(tmp_path))
    assert (tmp_path / "sys/class/net/bonding_masters").is_file()
    assert "bonding_masters" not in read_links(root)


def test_vlan_table_skips_headers(tmp_path):
    """/proc/net/vlan/config's two header lines are not VLANs."""
    root = fakesys.expand(fakesys.load("rack-bonds"), str(tmp_path))
    assert vlan_table(root) == {"bond0.100": (100, "bond0"), "br0.200": (200, "br0"),
                                "bond0.300": (300, "bond0")}


def test_a_name_only_netifaces_knows_is_kept(tmp_path):
    """A device seen by netifaces but missing from sysfs stays, marked unusable."""
    root = fakesys.expand({"devices": {"eth0": {}}}, str(tmp_path))
    snapshot = discover(root, lambda: {"eth0": [], "gone0": [ipaddress.ip_interface("198.18.0.1/24")]})
    assert snapshot.names == ("eth0", "gone0")
    assert not snapshot["gone0"].carries_dhcp


def test_recording_a_tree_gives_back_its_description(tmp_path):
    """describe() inverts expand(), so trees captured on real nodes load as written."""
    description = fakesys.load("rack-bonds")
    root = fakesys.expand(description, str(tmp_path))
    again = describe(root, fakesys.addresses(description)())
    assert again["devices"] == description["devices"]
    assert again["addresses"] == description["addresses"]


def test_snapshot_round_trips_through_json_data(recorded):
    """to_dict / from_dict keep every field."""
    snapshot = recorded("rack-bonds")
    assert Snapshot.from_dict(snapshot.to_dict()) == snapshot


def test_from_addresses_marks_lo_as_loopback():
    """The simple constructor: lo is loopback, everything else an up Ethernet link."""
    snapshot = Snapshot.from_addresses({"lo": ["127.0.0.1/8"], "eth0": ["198.18.0.1/24"]})
    assert snapshot["lo"].kind == "loopback" and not snapshot["lo"].carries_dhcp
    assert snapshot["eth0"] == Link(name="eth0", addresses=("198.18.0.1/24",))


def test_this_machine_discovers_loopback():
    """On the real machine, lo is found, marked loopback, with 127.0.0.1."""
    snapshot = discover()
    assert snapshot["lo"].kind == "loopback"
    assert ipaddress.ip_interface("127.0.0.1/8") in snapshot["lo"].addresses
    assert set(addresses_by_interface()) <= set(snapshot.names)
