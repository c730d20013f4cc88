"""Per-machine iPXE scripts: ``ipxe_machine_script`` for machines with a host
reservation, ``ipxe_enlist_script`` for any other, read, checked, rendered for
both families, planned (a change restarts dhcpd) and accepted by the real dhcpd.
The lab that boots real iPXE against them is tests/lab/test_firmware_lab.py."""

import attrs
import pytest

from provisioningserver.dhcp import plan
from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.docwrite import to_document
from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.dhcp.render import render
from provisioningserver.dhcp.syntax import UnsafeString
from provisioningserver.dhcpd.check import check_config
from tests.dhcp.samples import inputs_for

V4 = {"shared_networks": [{"name": "n", "subnets": [{
    "subnet_cidr": "198.18.0.0/24",
    "pools": [{"ip_range_low": "198.18.0.100", "ip_range_high": "198.18.0.199"}]}]}],
    "hosts": [{"host": "node-1", "mac": "52:54:00:00:00:01", "ip": "198.18.0.50"}]}
V6 = {"shared_networks": [{"name": "n", "subnets": [{
    "subnet_cidr": "2001:db8::/64",
    "pools": [{"ip_range_low": "2001:db8::1000", "ip_range_high": "2001:db8::1fff"}]}]}]}
SCRIPTS = {"ipxe_machine_script": "/ipxe/${mac:hexhyp}", "ipxe_enlist_script": "/ipxe/enlist"}


def _config(base=V4, version=4, **fields):
    return parse_document({**base, **fields}, version)


def _render(config):
    return render(config, inputs_for(config)).text


def test_fields_default_to_none_and_are_left_out_of_a_written_document():
    """Unset, both fields are None and to_document writes neither key."""
    config = _config()
    assert (config.ipxe_machine_script, config.ipxe_enlist_script) == (None, None)
    assert "ipxe_machine_script" not in to_document(config)


def test_fields_are_read_and_round_trip():
    """Set, both are kept as given (iPXE references included) and survive to_document."""
    config = _config(**SCRIPTS)
    assert config.ipxe_machine_script == "/ipxe/${mac:hexhyp}"
    assert parse_document(to_document(config), 4) == config


@pytest.mark.parametrize("value", [
    "/ipxe/${mac}", "/ipxe/${net0/mac}?uuid=${uuid}", "http://198.18.0.9:8080/x/${mac:hexhyp}",
    "https://region.example/ipxe?m=${mac}&s=${serial}", "http://[2001:db8::9]:5248/a/b.ipxe",
])
def test_urls_and_paths_with_ipxe_settings_are_accepted(value):
    """Paths on the rack's server and http(s) URLs, with ${setting} references, pass."""
    assert _config(ipxe_enlist_script=value).ipxe_enlist_script == value


@pytest.mark.parametrize("value, expected", [
    ('/x"; next-server 198.18.0.66; filename "y', "a double quote"),
    ("/x;y", "a semicolon"),
    ("/x\nnext-server 198.18.0.66", "a line break"),
    ("/x{y}", "a brace"),
    ("/${mac", "a brace"),
    ("/x y", "a space"),
    ("/x#y", "a '#'"),
    ("/x\\y", "a backslash"),
    ("ipxe/enlist", "neither a path on the rack's HTTP server"),
    ("tftp://198.18.0.9/x", "neither a path on the rack's HTTP server"),
    ("", "is empty"),
    ("/" + "x" * 300, "255 at most"),
    (["/x"], "expected a string, got"),
])
def test_bad_values_are_errors_naming_the_field(value, expected):
    """A value that could leave its quoted string, or is no URL or rack path, is an
    error naming the field and saying why."""
    for field in ("ipxe_machine_script", "ipxe_enlist_script"):
        with pytest.raises(DocumentError) as caught:
            _config(**{field: value})
        assert caught.value.paths == [field]
        assert expected in str(caught.value)


def test_unset_fields_render_one_script_for_every_ipxe_client():
    """Without the fields iPXE gets rackd.yaml's script and dhcpd tests no `known`."""
    text = _render(_config())
    assert "if known" not in text
    assert text.count('filename "http://198.18.0.2:5248/ipxe.cfg";') == 2


def test_known_and_unknown_machines_get_their_scripts_in_both_ipxe_branches():
    """With both fields, each iPXE branch (user class, option 175) sends a machine
    with a reservation to its script on the rack and any other to enlistment."""
    text = _render(_config(**SCRIPTS))
    branch = ('if known {\n'
              '                # A machine with a host reservation: its own script (ipxe_machine_script).\n'
              '                filename "http://198.18.0.2:5248/ipxe/${mac:hexhyp}";\n'
              '            } else {\n'
              '                # Any other machine: the enlistment script (ipxe_enlist_script).\n'
              '                filename "http://198.18.0.2:5248/ipxe/enlist";\n'
              '            }')
    assert text.count(branch) == 2
    assert "ipxe.cfg" not in text


def test_one_field_alone_keeps_the_default_for_the_other_group():
    """Only ipxe_enlist_script set: known machines keep rackd.yaml's script."""
    text = _render(_config(ipxe_enlist_script="http://198.18.0.9/enlist"))
    known, unknown = text.split("if known {")[1].split("} else {")[:2]
    assert 'filename "http://198.18.0.2:5248/ipxe.cfg";' in known
    assert 'filename "http://198.18.0.9/enlist";' in unknown


def test_dhcpv6_scripts_are_bootfile_urls_on_the_bracketed_rack_address():
    """DHCPv6: the same choice, as dhcp6.bootfile-url on [RACK]."""
    text = _render(_config(V6, 6, **SCRIPTS))
    assert 'option dhcp6.bootfile-url "http://[2001:db8::2]:5248/ipxe/${mac:hexhyp}";' in text
    assert 'option dhcp6.bootfile-url "http://[2001:db8::2]:5248/ipxe/enlist";' in text
    assert text.count("if known {") == 1


def test_render_refuses_a_bad_value_built_without_the_reader():
    """A model made some other way with an injecting value fails to render, naming the field."""
    config = attrs.evolve(_config(), ipxe_machine_script='/x"; filename "evil')
    with pytest.raises(UnsafeString, match="ipxe_machine_script"):
        _render(config)


def test_changing_a_script_restarts_dhcpd():
    """dhcpd cannot change a subnet's statements live: a new script is a restart."""
    before, after = _config(), _config(**SCRIPTS)
    decision = plan.plan(before, after)
    assert isinstance(decision, plan.Restart)
    assert "ipxe_machine_script changed" in decision.reasons
    assert "ipxe_enlist_script changed" in decision.reasons


@pytest.mark.dhcpd
@pytest.mark.parametrize("base, version", [(V4, 4), (V6, 6)], ids=["v4", "v6"])
def test_real_dhcpd_accepts_the_split(base, version):
    """dhcpd -t accepts `if known` with both scripts, v4 and v6."""
    result = check_config(_render(_config(base, version, **SCRIPTS)), version)
    assert result.ok, result.output
