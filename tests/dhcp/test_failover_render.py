"""Failover in the document and in the rendered configs: the optional peer
settings (defaults, overrides, refusals), the primary and secondary DHCPv4
configs, and the DHCPv6 pool split, each against a golden file and the real
``dhcpd -t``."""

import ipaddress
import os

import attrs
import pytest

from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.docwrite import to_document
from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.dhcp.render import render, split_range
from provisioningserver.dhcpd.check import check_config
from tests.dhcp.samples import GOLDEN, KEY, inputs_for


def _document(version, mode, **peer_fields):
    v4 = version == 4
    ours, theirs = ("198.18.40.2", "198.18.40.3") if v4 else ("2001:db8:40::2", "2001:db8:40::3")
    if mode == "secondary":
        ours, theirs = theirs, ours
    peer = {"name": "vlan-40", "mode": mode, "address": ours, "peer_address": theirs,
            **peer_fields}
    subnet = {"subnet_cidr": "198.18.40.0/24" if v4 else "2001:db8:40::/64",
              "pools": [
                  {"ip_range_low": "198.18.40.100" if v4 else "2001:db8:40::100",
                   "ip_range_high": "198.18.40.199" if v4 else "2001:db8:40::1ff",
                   "failover_peer": "vlan-40"},
                  # A pool without a peer is served whole by both.
                  {"ip_range_low": "198.18.40.210" if v4 else "2001:db8:40::300",
                   "ip_range_high": "198.18.40.219" if v4 else "2001:db8:40::3ff"}]}
    if v4:
        subnet["router_ip"] = "198.18.40.1"
    return {"omapi_key": KEY, "failover_peers": [peer],
            "shared_networks": [{"name": "vlan-40", "subnets": [subnet]}]}


OVERRIDES = {"port": 8647, "peer_port": 8648, "max_response_delay": 7,
             "max_unacked_updates": 4, "load_balance_max_seconds": 0,
             "auto_partner_down": 120}
# golden name -> (family, document)
GOLDENS = {
    "failover-primary-v4": (4, _document(4, "primary", mclt=600, split=128, **OVERRIDES)),
    "failover-secondary-v4": (4, _document(4, "secondary", **OVERRIDES)),
    "failover-primary-defaults-v4": (4, _document(4, "primary")),
    "failover-primary-v6": (6, _document(6, "primary")),
    "failover-secondary-v6": (6, _document(6, "secondary")),
}


def _rendered(name):
    version, document = GOLDENS[name]
    config = parse_document(document, version)
    return render(config, inputs_for(config)).text


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_golden(name):
    """Each failover config renders to exactly its stored text
    (RACKD_UPDATE_GOLDEN=1 rewrites the files instead)."""
    text = _rendered(name)
    path = GOLDEN / f"{name}.conf"
    if os.environ.get("RACKD_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text()


@pytest.mark.dhcpd
@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_real_dhcpd_accepts(name):
    """dhcpd -t accepts the primary and secondary configs of both families."""
    result = check_config(_rendered(name), GOLDENS[name][0])
    assert result.ok, result.output


def test_defaults_when_the_document_says_nothing():
    """A peer without settings gets port 647, delay 60, 10 unacked updates, 3 s, and on
    the primary mclt 3600 and split 255; no auto-partner-down."""
    lines = _rendered("failover-primary-defaults-v4").splitlines()
    for line in ("    port 647;", "    peer port 647;", "    max-response-delay 60;",
                 "    max-unacked-updates 10;", "    load balance max seconds 3;",
                 "    mclt 3600;", "    split 255;"):
        assert line in lines, line
    assert not any("auto-partner-down" in line for line in lines)


def test_overrides_reach_the_config():
    """Every setting the document gives replaces its default, on the primary and secondary."""
    primary = _rendered("failover-primary-v4").splitlines()
    for line in ("    port 8647;", "    peer port 8648;", "    max-response-delay 7;",
                 "    max-unacked-updates 4;", "    load balance max seconds 0;",
                 "    mclt 600;", "    split 128;", "    auto-partner-down 120;"):
        assert line in primary, line
    secondary = _rendered("failover-secondary-v4")
    assert "    secondary;\n" in secondary and "    auto-partner-down 120;\n" in secondary
    assert "mclt" not in secondary and "split" not in secondary


def test_settings_survive_a_round_trip():
    """to_document keeps the settings the document gave and adds none it did not."""
    document = GOLDENS["failover-primary-v4"][1]
    config = parse_document(document, 4)
    assert parse_document(to_document(config), 4) == config
    (peer,) = to_document(parse_document(_document(4, "primary"), 4))["failover_peers"]
    assert set(peer) == {"name", "mode", "address", "peer_address"}


@pytest.mark.parametrize("field, value, message", [
    ("port", 0, "expected a whole number from 1 to 65535, got 0"),
    ("split", 257, "expected a whole number from 0 to 256, got 257"),
    ("mclt", "1h", "expected a whole number from 1 to 2147483647, got '1h'"),
    ("mclt", 0, "expected a whole number from 1 to 2147483647, got 0"),
    ("auto_partner_down", True, "expected a whole number from 1 to 2147483647, got True"),
    ("max_response_delay", 0, "expected a whole number from 1 to 2147483647, got 0"),
])
def test_bad_settings_are_refused_with_their_path(field, value, message):
    """A setting outside its range, or not a whole number, is a problem at its path."""
    with pytest.raises(DocumentError) as caught:
        parse_document(_document(4, "primary", **{field: value}), 4)
    assert [(p.path, p.message) for p in caught.value.problems] == [
        (f"failover_peers[0].{field}", message)]


@pytest.mark.dhcpd
def test_the_shortest_mclt_dhcpd_takes_is_the_validators_least():
    """mclt 0 is refused with its path (the document fuzzer found that the
    validator took it and dhcpd -t refused it: "primary failover server
    must have mclt."), and mclt 1, the least the validator takes, dhcpd takes."""
    config = parse_document(_document(4, "primary", mclt=1), 4)
    assert check_config(render(config, inputs_for(config)).text, 4).ok
    # The model built directly: what dhcpd says of what the validator now refuses.
    zero = attrs.evolve(config, failover_peers=(attrs.evolve(config.failover_peers[0], mclt=0),))
    result = check_config(render(zero, inputs_for(zero)).text, 4)
    assert not result.ok
    assert any("must have mclt" in e.error for e in result.errors), result.output


def test_secondary_may_not_set_mclt_or_split():
    """mclt and split belong to the primary; dhcpd refuses them on a secondary."""
    with pytest.raises(DocumentError) as caught:
        parse_document(_document(4, "secondary", mclt=60, split=128), 4)
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("failover_peers[0].mclt", "only the primary may set it"),
        ("failover_peers[0].split", "only the primary may set it")]


def test_v6_refuses_v4_failover_settings():
    """In a DHCPv6 document the failover protocol settings have no meaning and are refused."""
    with pytest.raises(DocumentError) as caught:
        parse_document(_document(6, "primary", auto_partner_down=60), 6)
    assert [p.path for p in caught.value.problems] == ["failover_peers[0].auto_partner_down"]


def test_v6_pool_is_split_in_halves():
    """The primary serves the lower half of a peer's pool and the secondary the upper;
    a pool without a peer is served whole by both."""
    primary = _rendered("failover-primary-v6")
    secondary = _rendered("failover-secondary-v6")
    assert "range6 2001:db8:40::100 2001:db8:40::17f;" in primary
    assert "range6 2001:db8:40::180 2001:db8:40::1ff;" in secondary
    for text in (primary, secondary):
        assert "range6 2001:db8:40::300 2001:db8:40::3ff;" in text
        assert 'failover peer "' not in text


@pytest.mark.parametrize("low, high, primary, secondary", [
    (0, 9, (0, 4), (5, 9)),       # even size: equal halves
    (0, 10, (0, 5), (6, 10)),     # odd size: the primary has the middle
    (7, 8, (7, 7), (8, 8)),
    (7, 7, (7, 7), (None, None)),  # one address: the secondary has none
])
def test_split_range_is_deterministic_and_complete(low, high, primary, secondary):
    """The halves never overlap, together cover the range, and depend only on it."""
    base = ipaddress.ip_address("2001:db8::")

    def at(pair):
        return tuple(None if n is None else base + n for n in pair)

    assert split_range(base + low, base + high, "primary") == at(primary)
    assert split_range(base + low, base + high, "secondary") == at(secondary)


def test_v6_secondary_of_single_address_pool_renders_no_pool():
    """A one-address pool leaves the secondary with a comment instead of an empty pool6,
    and dhcpd still accepts the result when dhcpd is present."""
    document = _document(6, "secondary")
    pool = document["shared_networks"][0]["subnets"][0]["pools"][0]
    pool["ip_range_low"] = pool["ip_range_high"] = "2001:db8:40::100"
    config = parse_document(document, 6)
    text = render(config, inputs_for(config)).text
    assert "# The secondary of vlan-40 has no half of a one-address pool." in text
    assert "2001:db8:40::100" not in text
