"""Option overrides on subnets and hosts: checked values, rendered in their
scope, accepted by the real dhcpd, and planned as restarts for hosts."""

import ipaddress

import pytest

from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.docwrite import to_document
from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.dhcp.options import CATALOGUE
from provisioningserver.dhcp.plan import HostChanges, NoChange, Restart, plan
from provisioningserver.dhcp.render import RenderInputs, render
from provisioningserver.dhcpd.check import check_config

HOST = {"host": "node-7", "mac": "52:54:00:00:00:07", "ip": "198.18.0.7"}


def v4(subnet_options=None, host_options=None, hosts=None):
    subnet = {"subnet_cidr": "198.18.0.0/24", "router_ip": "198.18.0.1",
              "pools": [{"ip_range_low": "198.18.0.100", "ip_range_high": "198.18.0.200"}]}
    if subnet_options is not None:
        subnet["options"] = subnet_options
    host = dict(HOST)
    if host_options is not None:
        host["options"] = host_options
    return {"shared_networks": [{"name": "n", "subnets": [subnet]}],
            "hosts": [host] if hosts is None else hosts}


def v6(subnet_options=None, host_options=None):
    host = {"host": "node-7", "mac": "52:54:00:00:00:07", "ip": "2001:db8::7"}
    if host_options is not None:
        host["options"] = host_options
    subnet = {"subnet_cidr": "2001:db8::/64",
              "pools": [{"ip_range_low": "2001:db8::100", "ip_range_high": "2001:db8::1ff"}]}
    if subnet_options is not None:
        subnet["options"] = subnet_options
    return {"shared_networks": [{"name": "n", "subnets": [subnet]}], "hosts": [host]}


def test_values_are_checked_and_kept_in_document_order():
    """Addresses become address objects (one address counts as a list), numbers
    stay numbers, strings stay strings, in the order the document gives them."""
    config = parse_document(v4(
        subnet_options={"log-servers": "198.18.0.9", "default-lease-time": 300},
        host_options={"domain-name-servers": ["198.18.0.53", "198.18.0.54"],
                      "host-name": "node-7.example.org", "filename": "custom.efi"}), 4)
    subnet, host = config.subnets[0], config.hosts[0]
    assert [(s.name, s.value) for s in subnet.options] == [
        ("log-servers", (ipaddress.ip_address("198.18.0.9"),)), ("default-lease-time", 300)]
    assert [s.name for s in host.options] == ["domain-name-servers", "host-name", "filename"]
    assert host.options[0].value == tuple(
        ipaddress.ip_address(a) for a in ("198.18.0.53", "198.18.0.54"))


def test_overrides_round_trip_through_to_document():
    """to_document gives back a mapping that parses to the same model."""
    config = parse_document(v4(subnet_options={"time-offset": -3600},
                               host_options={"domain-search": ["a.example", "b.example"],
                                             "next-server": "198.18.0.2"}), 4)
    assert parse_document(to_document(config), 4) == config


SUBNET = "shared_networks[0].subnets[0].options"
HOSTS = "hosts[0].options"


@pytest.mark.parametrize("document, path, message", [
    (v4(subnet_options=["routers"]), SUBNET, "expected a mapping"),
    (v4(host_options={"domain-name-server": ["198.18.0.53"]}),
     f"{HOSTS}.domain-name-server", "unknown option for IPv4; known: "),
    (v4(host_options={"dhcp6.name-servers": ["198.18.0.53"]}),
     f"{HOSTS}.dhcp6.name-servers", "unknown option for IPv4"),
    (v4(host_options={"domain-name-servers": ["2001:db8::53"]}),
     f"{HOSTS}.domain-name-servers[0]", "IPv6 address in an IPv4 document"),
    (v4(host_options={"domain-name-servers": ["198.18.0.300"]}),
     f"{HOSTS}.domain-name-servers[0]", "is not an IP address"),
    (v4(host_options={"domain-name-servers": "198.18.0.300"}),
     f"{HOSTS}.domain-name-servers", "is not an IP address"),
    (v4(host_options={"domain-search": "not a name"}),
     f"{HOSTS}.domain-search", "not a valid DNS name"),
    (v4(host_options={"domain-name-servers": []}),
     f"{HOSTS}.domain-name-servers", "expected a list of IP addresses"),
    (v4(host_options={"host-name": 'x"; deny booting; "'}),
     f"{HOSTS}.host-name", "double quote"),
    (v4(host_options={"root-path": "/srv\n}"}), f"{HOSTS}.root-path", "line break"),
    (v4(host_options={"root-path": "x" * 256}), f"{HOSTS}.root-path", "255 at most"),
    (v4(host_options={"host-name": "not a name"}), f"{HOSTS}.host-name", "not a valid DNS name"),
    (v4(host_options={"default-lease-time": -1}), f"{HOSTS}.default-lease-time",
     "from 0 to 4294967295"),
    (v4(host_options={"default-lease-time": True}), f"{HOSTS}.default-lease-time",
     "got True"),
    (v4(host_options={"interface-mtu": 67}), f"{HOSTS}.interface-mtu", "from 68 to 65535"),
    (v4(host_options={"time-offset": "3600"}), f"{HOSTS}.time-offset", "got '3600'"),
    (v4(subnet_options={"routers": ["198.18.0.1"]}), f"{SUBNET}.routers",
     "set the subnet's router_ip instead"),
    (v4(subnet_options={"domain-name-servers": ["198.18.0.53"]}),
     f"{SUBNET}.domain-name-servers", "set the subnet's dns_servers instead"),
    (v4(subnet_options={"filename": "x.efi"}), f"{SUBNET}.filename",
     "set the subnet's boot_files instead"),
    (v4(subnet_options={"next-server": "198.18.0.2"}), f"{SUBNET}.next-server",
     "set the subnet's next_server instead"),
    (v6(host_options={"domain-name-servers": ["2001:db8::53"]}),
     f"{HOSTS}.domain-name-servers", "unknown option for IPv6"),
    (v6(subnet_options={"dhcp6.name-servers": ["2001:db8::53"]}),
     f"{SUBNET}.dhcp6.name-servers", "set the subnet's dns_servers instead"),
], ids=["not-mapping", "typo", "v6-name-in-v4", "wrong-family", "bad-address",
        # A single string stands for a list of one: named by the option's own
        # path, not an item [0] that is not there (found by the fuzzer).
        "bad-single-address", "bad-single-dns-name", "empty-list",
        "injection", "line-break", "too-long", "bad-dns-name", "negative", "bool-number",
        "mtu-range", "string-number", "subnet-routers", "subnet-dns", "subnet-filename",
        "subnet-next-server", "v4-name-in-v6", "v6-subnet-field"])
def test_a_bad_override_is_refused_naming_its_path(document, path, message):
    """Every bad override is one problem at its own path, saying what was wrong."""
    version = 6 if document["shared_networks"][0]["subnets"][0]["subnet_cidr"].startswith(
        "2001") else 4
    with pytest.raises(DocumentError) as caught:
        parse_document(document, version)
    assert caught.value.paths == [path]
    assert message in str(caught.value)


def test_one_bad_override_does_not_hide_another():
    """Each bad entry of one mapping is reported; the walk goes on."""
    with pytest.raises(DocumentError) as caught:
        parse_document(v4(host_options={"nope": 1, "time-offset": "x",
                                        "log-servers": ["198.18.0.9"]}), 4)
    assert caught.value.paths == [f"{HOSTS}.nope", f"{HOSTS}.time-offset"]


def test_overrides_render_inside_their_own_scope():
    """Subnet overrides land in the subnet block, host overrides in the host block,
    quoted and typed as dhcpd expects."""
    text = render(parse_document(v4(
        subnet_options={"log-servers": ["198.18.0.9"], "default-lease-time": 300},
        host_options={"domain-name-servers": ["198.18.0.53"], "host-name": "node-7",
                      "domain-search": ["a.example", "b.example"], "filename": "custom.efi",
                      "next-server": "198.18.0.2"}), 4), RenderInputs()).text
    subnet_block = text.split("subnet 198.18.0.0")[1].split("\n    }\n")[0]
    host_block = text.split("host node-7 {")[1].split("\n}\n")[0]
    assert "        option log-servers 198.18.0.9;" in subnet_block
    assert "        default-lease-time 300;" in subnet_block
    assert "    option domain-name-servers 198.18.0.53;" in host_block
    assert '    option host-name "node-7";' in host_block
    assert '    option domain-search "a.example", "b.example";' in host_block
    assert '    filename "custom.efi";' in host_block
    assert "    next-server 198.18.0.2;" in host_block


def _every_option(version):
    """A value of the right type for each catalogued option, for a host."""
    samples = {
        "addresses": ["198.18.0.53"] if version == 4 else ["2001:db8::53"],
        "address": "198.18.0.2" if version == 4 else "2001:db8::2",
        "text": "some/value", "dns_name": "node-7.example.org", "dns_names": ["example.org"],
    }
    values = {}
    for name, spec in CATALOGUE[version].items():
        kind = spec.type
        values[name] = max(kind.low, min(3600, kind.high)) if kind.kind == "number" \
            else samples[kind.kind]
    return values


@pytest.mark.dhcpd
@pytest.mark.parametrize("version", [4, 6])
def test_real_dhcpd_accepts_every_catalogued_option(version):
    """Each option of the catalogue, in a host, and every subnet-allowed one in a
    subnet, passes the real dhcpd -t: the catalogue's names and value forms are dhcpd's."""
    values = _every_option(version)
    subnet_values = {name: value for name, value in values.items()
                     if not (CATALOGUE[version][name].subnet_field
                             or CATALOGUE[version][name].hosts_only)}
    build = v4 if version == 4 else v6
    config = parse_document(build(subnet_options=subnet_values, host_options=values), version)
    result = check_config(render(config, RenderInputs()).text, version)
    assert result.ok, result.output


@pytest.mark.parametrize("applied, desired, kind, reason", [
    ({}, {}, NoChange, None),
    (None, {"host-name": "node-7"}, Restart, "host node-7 has option overrides"),
    ({"host-name": "node-7"}, {"host-name": "node-8"}, Restart,
     "the option overrides of host node-7 changed"),
    ({"host-name": "node-7"}, {"host-name": "node-7"}, NoChange, None),
], ids=["none", "new-host-with-options", "options-changed", "same-options"])
def test_host_overrides_go_through_a_restart(applied, desired, kind, reason):
    """OMAPI host objects carry no options: a host that gains, has or changes
    overrides is served by a restart, and the reason says so."""
    before = parse_document(v4(hosts=[] if applied is None else
                               [{**HOST, "options": applied}]), 4)
    after = parse_document(v4(host_options=desired), 4)
    result = plan(before, after)
    assert type(result) is kind
    if reason:
        assert reason in " ".join(result.reasons)


def test_a_host_without_overrides_still_goes_live():
    """Subnet overrides elsewhere do not stop a plain host change from going live."""
    before = parse_document(v4(subnet_options={"time-offset": 0}, hosts=[]), 4)
    after = parse_document(v4(subnet_options={"time-offset": 0}), 4)
    assert isinstance(plan(before, after), HostChanges)
