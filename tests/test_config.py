"""rackd's own YAML config: defaults, overrides and unknown keys."""

import ipaddress

import pytest

from provisioningserver.config import RackdConfig, config_from_mapping, load_config
from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.network.selection import Selection


def test_every_key_is_optional():
    """An empty config gives the packaged defaults."""
    config = config_from_mapping({})
    assert config == RackdConfig()
    assert config.control_socket_path == "/run/rackd/control.sock"


def test_overrides_are_read(tmp_path):
    """Keys in the file override the defaults, boot settings included."""
    path = tmp_path / "rackd.yaml"
    path.write_text(f"state_dir: {tmp_path}/state\nrun_dir: {tmp_path}/run\n"
                    "omapi_port_v4: 7001\nboot:\n  http_port: 8080\n")
    config = load_config(str(path))
    assert config.state_dir == f"{tmp_path}/state"
    assert config.control_socket_path == f"{tmp_path}/run/control.sock"
    assert config.omapi_port(4) == 7001
    assert config.boot.http_port == 8080


@pytest.mark.parametrize("data, path", [
    ({"stat_dir": "/x"}, "stat_dir"),
    ({"boot": {"http_prot": 1}}, "boot.http_prot"),
    ({"omapi_port_v4": "7911"}, "omapi_port_v4"),
    ({"omapi_port_v6": 70000}, "omapi_port_v6"),
    ({"lease_time": True}, "lease_time"),
    ({"state_dir": 5}, "state_dir"),
])
def test_bad_keys_are_errors_naming_the_key(data, path):
    """Unknown or mistyped keys are refused, naming the key."""
    with pytest.raises(DocumentError) as caught:
        config_from_mapping(data)
    assert caught.value.paths == [path]


def test_lease_event_keys():
    """Lease event keys are read and checked; the socket and spool default to
    dhcp-notify's built-in names in the state directory."""
    config = config_from_mapping({"lease_events": False, "journal_max_bytes": 1000,
                                  "history_days": 7, "state_dir": "/s"})
    assert (config.lease_events, config.journal_max_bytes, config.history_days) == (
        False, 1000, 7)
    assert config.lease_socket_path == "/s/dhcp-notify.sock"
    assert config.lease_spool_path == "/s/dhcp-notify.spool"
    assert RackdConfig().lease_events is True
    for data, path in [({"lease_events": "yes"}, "lease_events"),
                       ({"history_days": 0}, "history_days"),
                       ({"lease_socket": 3}, "lease_socket")]:
        with pytest.raises(DocumentError) as caught:
            config_from_mapping(data)
        assert caught.value.paths == [path]


def test_service_backend_key():
    """service_backend is process by default, may be systemd, and nothing else."""
    assert RackdConfig().service_backend == "process"
    assert config_from_mapping({"service_backend": "systemd"}).service_backend == "systemd"
    with pytest.raises(DocumentError) as caught:
        config_from_mapping({"service_backend": "runit"})
    assert caught.value.paths == ["service_backend"]


def test_service_backend_picks_the_monitors_backend(tmp_path):
    """makeService gives each dhcpd monitor the backend the config names."""
    from twisted.internet import task

    from provisioningserver.dhcpd.process import ProcessBackend
    from provisioningserver.dhcpd.systemd import SystemdBackend
    from provisioningserver.tap import makeService

    for name, backend in (("process", ProcessBackend), ("systemd", SystemdBackend)):
        config = config_from_mapping({"state_dir": str(tmp_path / name / "state"),
                                      "run_dir": str(tmp_path / name / "run"),
                                      "service_backend": name, "lease_events": False})
        top = makeService(config, reactor=task.Clock())
        for family in ("dhcpd-v4", "dhcpd-v6"):
            assert isinstance(top.getServiceNamed(family).backend, backend)


def test_failover_safety_time_reaches_the_failover_watch(tmp_path):
    """failover_safety_time defaults to dhcp.failover's 600 s, must be a positive
    whole number, and is the safety time partner-down checks against."""
    from twisted.internet import task

    from provisioningserver.tap import makeService

    assert RackdConfig().failover_safety_time == 600
    with pytest.raises(DocumentError) as caught:
        config_from_mapping({"failover_safety_time": -5})
    assert caught.value.paths == ["failover_safety_time"]
    config = config_from_mapping({"state_dir": str(tmp_path / "state"),
                                  "run_dir": str(tmp_path / "run"),
                                  "failover_safety_time": 90, "lease_events": False})
    top = makeService(config, reactor=task.Clock())
    assert top.getServiceNamed("failover").safety_time == 90


def test_render_inputs_carry_the_agent_settings_and_the_selection():
    """render_inputs (the one builder for the agent and rackctl) takes lease times,
    boot settings, the family's OMAPI port and the lease hooks from the config, and
    the rack addresses and empty subnets from the selection."""
    config = config_from_mapping({"lease_time": 1234, "pxe_lease_time": 77, "omapi_port_v6": 7000,
                                  "lease_events": False, "boot": {"http_port": 5300}})
    net, empty = ipaddress.ip_network("2001:db8::/64"), ipaddress.ip_network("2001:db8:1::/64")
    selection = Selection(rack_addresses={net: ipaddress.ip_address("2001:db8::2")},
                          interfaces=("eth0",), empty_subnets=(empty,))
    inputs = config.render_inputs(6, selection, "a2V5", {"ntp": ()})
    assert (inputs.lease_time, inputs.pxe_lease_time, inputs.omapi_port) == (1234, 77, 7000)
    assert (inputs.omapi_key, inputs.ntp_addresses, inputs.lease_hooks) == ("a2V5", {"ntp": ()},
                                                                            False)
    assert inputs.boot.http_port == 5300
    assert inputs.rack_addresses == selection.rack_addresses
    assert inputs.empty_subnets == (empty,)


def test_the_packaged_sample_config_is_valid_and_names_every_key():
    """debian/rackd.yaml, its commented defaults uncommented, is a valid
    rackd.yaml, and it names every key rackd accepts."""
    import os

    import attrs
    import yaml

    from provisioningserver.config import RackdConfig, config_from_mapping
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "debian", "rackd.yaml")) as f:
        # "#key: value" and its indented continuation "#  - item"; prose is "# text".
        lines = [line[1:] for line in f.read().splitlines() if line.startswith("#")
                 and len(line) > 1 and (line[1] != " " or line.startswith("#  "))]
    data = yaml.safe_load("\n".join(line for line in lines if "(default" not in line
                                    and "..." not in line))
    region = data.pop("region")
    assert region == ["region.example.org:5250"]
    config_from_mapping(data)
    named = set(data) | {"region", "region_fingerprint", "rack_id", "rack_name"}
    assert {f.name for f in attrs.fields(RackdConfig)} <= named
