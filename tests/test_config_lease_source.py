"""rackd.yaml lease_source: log (default) or dhcp-notify, and what each renders."""

import pytest

from provisioningserver.config import config_from_mapping
from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.dhcp.render import render
from provisioningserver.network.selection import Selection
from tests.dhcp.samples import example


def inputs(config, ip_version=4):
    return config.render_inputs(ip_version, Selection({}, ()), "c2VjcmV0", {})


def test_the_default_source_is_dhcpds_log():
    """No key: lease_source is log and no execute() hook is rendered."""
    config = config_from_mapping({})
    assert config.lease_source == "log" and config.lease_notify is None
    assert inputs(config).lease_notify is None


def test_dhcp_notify_renders_execute_hooks_for_both_families():
    """lease_source dhcp-notify: the hooks run the program with the
    configured socket and the state directory's spool, v4 and v6."""
    config = config_from_mapping({"lease_source": "dhcp-notify", "state_dir": "/srv/rackd",
                                  "dhcp_notify": "/opt/rackd/dhcp-notify"})
    notify = config.lease_notify
    assert (notify.program, notify.socket_path, notify.spool_path) == (
        "/opt/rackd/dhcp-notify", "/srv/rackd/dhcp-notify.sock", "/srv/rackd/dhcp-notify.spool")
    for ip_version, name in ((4, "lab-v4.yaml"), (6, "lab-v6.yaml")):
        text = render(example(name), inputs(config, ip_version)).text
        assert 'execute("/opt/rackd/dhcp-notify", "-s", "/srv/rackd/dhcp-notify.sock"' in text
        assert "on commit" in text and "on release" in text
        # DHCPv6 has no packet at expiry, so no expiry hook (hooks._events).
        assert ("on expiry" in text) == (ip_version == 4)


def test_lease_events_false_still_turns_collection_off():
    """lease_events: false renders no hook, whatever the source."""
    config = config_from_mapping({"lease_source": "dhcp-notify", "lease_events": False})
    text = render(example("lab-v4.yaml"), inputs(config)).text
    assert "execute(" not in text and "log(info" not in text


@pytest.mark.parametrize("data, path", [
    ({"lease_source": "syslog"}, "lease_source"),
    ({"dhcp_notify": "relative/dhcp-notify"}, "dhcp_notify"),
    ({"dhcp_notify": '/bin/evil"); execute("/bin/sh'}, "dhcp_notify"),
    ({"lease_socket": "/run/with space.sock"}, "lease_socket"),
])
def test_a_bad_source_or_path_is_refused_naming_the_key(data, path):
    """An unknown source, or a path that could not go into execute() as it
    is, is an error naming the key."""
    with pytest.raises(DocumentError) as caught:
        config_from_mapping(data)
    assert caught.value.paths == [path]
