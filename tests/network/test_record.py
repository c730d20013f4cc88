"""Recording links as fixtures (scripts/record-links): what it records loads
back into the same links, on this machine and on the committed fixtures."""

import json
import os
import subprocess
import sys

import pytest

from provisioningserver.network.discovery import addresses_by_interface, discover
from provisioningserver.network.record import DEFAULTS, describe
from provisioningserver.network.sysfs import read_facts
from tests.network import fakesys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = sorted(n[:-5] for n in os.listdir(os.path.join(ROOT, "tests/network/data"))
                  if n.endswith(".json"))


def test_this_machine_round_trips_through_the_fixture_loader(tmp_path):
    """This machine's links, recorded, expanded by the fixture loader and discovered
    again, are the links discovery reads from the machine itself."""
    found = addresses_by_interface()
    description = json.loads(json.dumps(describe("/", found)))  # as written to a file
    root = fakesys.expand(description, str(tmp_path))
    assert discover(root, fakesys.addresses(description)) == discover(addresses=lambda: found)


def test_the_script_writes_a_fixture_the_loader_accepts(tmp_path):
    """scripts/record-links -o FILE writes JSON with the about text and the kernel it ran on,
    and the loader expands it into the machine's links."""
    out = tmp_path / "this.json"
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts/record-links"),
                    "--about", "this machine", "-o", str(out)], check=True)
    description = json.loads(out.read_text())
    assert description["about"] == "this machine"
    assert description["recorded"] == {"kernel": os.uname().release, "by": "scripts/record-links"}
    snapshot = discover(fakesys.expand(description, str(tmp_path / "tree")),
                        fakesys.addresses(description))
    assert snapshot.names == discover().names


@pytest.mark.parametrize("name", FIXTURES)
def test_each_fixture_is_what_recording_its_tree_gives(name, tmp_path):
    """Every committed fixture holds only what the recorder records: expanding it and
    recording the tree again gives back its devices, addresses and /proc/net/vlan."""
    description = fakesys.load(name)
    again = describe(fakesys.expand(description, str(tmp_path)), fakesys.addresses(description)())
    assert again["devices"] == description["devices"]
    assert again["addresses"] == description["addresses"]
    assert again["proc_net_vlan"] == description["proc_net_vlan"]


def test_defaults_are_left_out_and_facts_kept(tmp_path):
    """A plain up Ethernet device records as its address alone; a bond keeps its stacking."""
    root = fakesys.expand({"devices": {"eth0": {"address": "52:54:00:00:00:aa"},
                                       "bond0": {"devtype": "bond", "slaves": []}}},
                          str(tmp_path))
    devices = describe(root)["devices"]
    assert devices["eth0"] == {"address": "52:54:00:00:00:aa"}
    assert devices["bond0"]["slaves"] == [] and devices["bond0"]["devtype"] == "bond"
    assert set(read_facts(root, "eth0")) == set(DEFAULTS) | {"address"}


def test_unknown_device_key_is_an_error_naming_it(tmp_path):
    """A fixture key discovery does not read is refused, with the device and key named."""
    with pytest.raises(ValueError, match=r"devices\.eth0: unknown key\(s\) upper"):
        fakesys.expand({"devices": {"eth0": {"upper": ["br0"]}}}, str(tmp_path))


@pytest.mark.parametrize("name", ["rack-bonds", "rack-plain"])
def test_bond_and_vlan_fixtures_come_from_a_real_kernel(name):
    """The bond and VLAN fixtures were recorded (scripts/record-fixtures-vm), not written
    by hand: they name the kernel they were read from."""
    recorded = fakesys.load(name)["recorded"]
    assert recorded["by"] == "scripts/record-links" and recorded["kernel"]
