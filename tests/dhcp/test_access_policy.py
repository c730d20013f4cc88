"""Access policy in the document: known-only pools and subnets that ignore
unknown clients, parsed, rendered, and accepted by the real dhcpd."""

import pytest

from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.docwrite import to_document
from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.dhcp.render import RenderInputs, render
from provisioningserver.dhcpd.check import check_config

V4 = {"shared_networks": [{"name": "n", "subnets": [
    {"subnet_cidr": "198.18.0.0/24", "ignore_unknown_clients": True, "pools": [
        {"ip_range_low": "198.18.0.10", "ip_range_high": "198.18.0.19"},
        {"ip_range_low": "198.18.0.20", "ip_range_high": "198.18.0.29",
         "known_clients_only": True}]}]}],
    "hosts": [{"host": "node-1", "mac": "52:54:00:00:00:01", "ip": "198.18.0.50"}]}
V6 = {"shared_networks": [{"name": "n", "subnets": [
    {"subnet_cidr": "2001:db8::/64", "ignore_unknown_clients": True, "pools": [
        {"ip_range_low": "2001:db8::10", "ip_range_high": "2001:db8::1f",
         "known_clients_only": True}]}]}]}


def test_flags_are_parsed_and_round_trip():
    """Both flags default to false, are read when set and survive to_document."""
    config = parse_document(V4, 4)
    subnet = config.subnets[0]
    assert subnet.ignore_unknown_clients
    assert [p.known_clients_only for p in subnet.pools] == [False, True]
    assert parse_document(to_document(config), 4) == config


@pytest.mark.parametrize("field, value", [
    ("ignore_unknown_clients", "yes"), ("ignore_unknown_clients", 1)])
def test_a_flag_that_is_not_a_boolean_names_its_field(field, value):
    """A non-boolean flag is an error naming the field."""
    doc = {"shared_networks": [{"name": "n", "subnets": [
        {"subnet_cidr": "198.18.0.0/24", field: value}]}]}
    with pytest.raises(DocumentError) as caught:
        parse_document(doc, 4)
    assert caught.value.paths == [f"shared_networks[0].subnets[0].{field}"]
    assert "expected true or false" in str(caught.value)


def test_known_only_pool_and_ignored_unknowns_render_in_their_scopes():
    """deny unknown-clients goes into the known-only pool only; boot-unknown-clients
    false into the subnet."""
    text = render(parse_document(V4, 4), RenderInputs()).text
    pools = text.split("pool {")[1:]
    assert "deny unknown-clients;" not in pools[0]
    assert "deny unknown-clients;" in pools[1]
    assert text.count("boot-unknown-clients false;") == 1


@pytest.mark.dhcpd
@pytest.mark.parametrize("document, version", [(V4, 4), (V6, 6)], ids=["v4", "v6"])
def test_real_dhcpd_accepts_the_policy(document, version):
    """The real dhcpd -t accepts both statements, v4 and v6."""
    result = check_config(render(parse_document(document, version), RenderInputs()).text, version)
    assert result.ok, result.output
