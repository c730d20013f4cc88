"""rackd.yaml's foreign probe keys: defaults, validation naming the key, and
what makeService builds from them."""

import pytest
from twisted.internet import task

from provisioningserver.config import RackdConfig, config_from_mapping
from provisioningserver.dhcp.errors import DocumentError


def test_defaults_probe_every_ten_minutes_on_the_served_interfaces_only():
    """600 s, no extra interfaces."""
    config = RackdConfig()
    assert (config.foreign_probe_interval, config.foreign_probe_interfaces) == (600, ())


def test_keys_are_read():
    """0 (on demand only) is allowed; the interface list becomes a tuple."""
    config = config_from_mapping({"foreign_probe_interval": 0,
                                  "foreign_probe_interfaces": ["eth1", "br0"]})
    assert (config.foreign_probe_interval, config.foreign_probe_interfaces) == (0, ("eth1", "br0"))


@pytest.mark.parametrize("data", [
    {"foreign_probe_interval": -1},
    {"foreign_probe_interval": True},
    {"foreign_probe_interval": "600"},
    {"foreign_probe_interfaces": "eth0"},
    {"foreign_probe_interfaces": ["eth0", 7]},
    {"foreign_probe_interfaces": [""]},
    {"foreign_probe_interfaces": ["../x"]},
])
def test_bad_values_name_the_key(data):
    """A wrong type or value is an error naming the key, saying what came."""
    with pytest.raises(DocumentError) as caught:
        config_from_mapping(data)
    assert caught.value.paths == list(data)
    assert repr(next(iter(data.values()))) in str(caught.value)


def test_make_service_builds_the_probe_from_the_keys(tmp_path):
    """makeService has a foreign-probe service with the configured interval and
    extra interfaces, and the control socket answers from it."""
    from provisioningserver.tap import makeService

    config = config_from_mapping({"state_dir": str(tmp_path / "state"),
                                  "run_dir": str(tmp_path / "run"), "lease_events": False,
                                  "foreign_probe_interval": 60,
                                  "foreign_probe_interfaces": ["eth7"]})
    top = makeService(config, reactor=task.Clock())
    foreign = top.getServiceNamed("foreign-probe")
    assert foreign.interval == 60
    assert foreign.interfaces() == ("eth7",)
    assert top.getServiceNamed("control").factory.foreign is foreign
