"""The single-field checks on their own: values back, or problems recorded.

Every message is tested word for word through whole documents in
test_document.py; these tests pin what `FieldReader` promises its subclass:
a checked value or None, each problem recorded once with its path, and the
walk of a list keeping track of which document items survived.
"""

import ipaddress

from provisioningserver.dhcp.docvalues import FieldReader, join_path, parse_ip, typename
from provisioningserver.dhcp.errors import Problem


def test_check_gives_the_value_or_records_one_problem():
    """A good value comes back checked; a bad one gives None and one problem,
    however often it is reported."""
    reader = FieldReader(4)
    assert reader.address("198.18.0.1", "a") == ipaddress.ip_address("198.18.0.1")
    assert reader.address("2001:db8::1", "b") is None
    assert reader.mapping({}, "c", {"name": True}) == {}
    assert reader.text(None, "c.name") is None
    assert reader.problems == [
        Problem("b", "2001:db8::1 is an IPv6 address in an IPv4 document"),
        Problem("c.name", "required field is missing")]


def test_items_keeps_the_document_index_of_what_it_built():
    """A list item that cannot be read is dropped, and the list is marked
    incomplete with the indexes of the items kept."""
    reader = FieldReader(4)
    read = reader.items(["198.18.0.1", "nope", "198.18.0.3"], "dns", reader.address)
    assert read == (ipaddress.ip_address("198.18.0.1"), ipaddress.ip_address("198.18.0.3"))
    assert reader.kept == {"dns": (0, 2)} and reader.incomplete == {"dns"}
    assert reader.items(None, "none", reader.address) == ()


def test_helpers():
    """Paths join with a dot below the top level; a zone index is no address;
    values are named as a message says them."""
    assert join_path("", "hosts") == "hosts" and join_path("hosts[0]", "ip") == "hosts[0].ip"
    assert parse_ip("fe80::1%eth0") is None and parse_ip(" 198.18.0.1 ") is not None
    assert [typename(v) for v in (None, {}, [], "", True, 1)] == [
        "null", "a mapping", "a list", "a string", "a boolean", "a number"]
