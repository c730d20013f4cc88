"""A DHCPv6 domain list fits dhcpd's buffer: 65,280 bytes of names in wire form.

Found by the document fuzzer (bench/fuzz_documents.py, seed 1, document
5,925): a DHCPv6 search list of long names that the validator took and
``dhcpd -t`` refused ("Error assembling domain list: Message too long").
"""

import attrs
import pytest

from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.render import render
from provisioningserver.dhcp.syntax import DOMAIN_LIST_MAX, domain_list_reason
from provisioningserver.dhcpd.check import check_config
from tests.dhcp.documents import SUBNET, base, edit, problems
from tests.dhcp.samples import inputs_for

LONG = ("a" * 63 + ".") * 3 + "a" * 61  # 253 characters: 255 bytes in wire form


def _name(length, tag):
    """A valid name of ``length`` characters starting with label ``tag``."""
    labels, left = [tag], length - len(tag)
    while left > 0:
        size = min(63, left - 1)
        if left - 1 - size == 1 or size == 0:  # no name ends in a lone dot
            size -= 1
        labels.append("a" * max(size, 1))
        left -= len(labels[-1]) + 1
    return ".".join(labels)


def _names(total):
    """Distinct names taking exactly ``total`` bytes in wire form (255 at most each)."""
    names, left = [], total
    while left:
        size = min(255, left)
        if 0 < left - size < 5:
            size -= 5
        names.append(_name(size - 2, f"n{len(names)}"))
        left -= size
    return names


def _v6(search, domain=None):
    document = edit(base(6), f"{SUBNET}.search_list", search)
    return edit(document, f"{SUBNET}.domain_name", domain)


def test_the_wire_size_of_names():
    """A name takes its length plus two; a trailing dot adds nothing."""
    assert domain_list_reason(_names(DOMAIN_LIST_MAX)) is None
    assert domain_list_reason([n + "." for n in _names(DOMAIN_LIST_MAX)]) is None
    assert "65281 bytes" in domain_list_reason(_names(DOMAIN_LIST_MAX + 1))
    assert "65280" in domain_list_reason(["example"] * 7254)  # 9 bytes each: 65,286


@pytest.mark.dhcpd
def test_dhcpd_takes_a_domain_list_of_the_limit_and_refuses_one_byte_more():
    """65,280 bytes pass the validator and dhcpd -t; 65,281 fail both, the
    validator naming the search list (with the domain, which leads it)."""
    fits = parse_document(_v6(_names(DOMAIN_LIST_MAX)), 6)
    assert check_config(render(fits, inputs_for(fits)).text, 6).ok
    names = _names(DOMAIN_LIST_MAX + 1)
    [(path, message)] = problems(_v6(names), 6)
    assert path == f"{SUBNET}.search_list"
    assert message == ("with domain_name, takes 65281 bytes as DNS names; dhcpd's DHCPv6 "
                       "domain list holds 65280 at most")
    config = parse_document(_v6(_names(DOMAIN_LIST_MAX)), 6)  # built past the validator:
    subnet = attrs.evolve(config.subnets[0], search_list=tuple(names))
    network = attrs.evolve(config.shared_networks[0],
                           subnets=(subnet,) + config.shared_networks[0].subnets[1:])
    over = attrs.evolve(config, shared_networks=(network,))
    result = check_config(render(over, inputs_for(over)).text, 6)
    assert not result.ok and "Message too long" in result.output


def test_the_domain_counts_and_dhcpv4_has_no_such_limit():
    """The domain leads a DHCPv6 list, so it counts; DHCPv4 takes the same list."""
    names = _names(DOMAIN_LIST_MAX - 12)  # "lab.example" takes 13
    assert problems(_v6(names), 6) == []
    assert [p for p, _ in problems(_v6(names, "lab.example"), 6)] == [f"{SUBNET}.search_list"]
    v4 = edit(base(4), f"{SUBNET}.search_list", _names(DOMAIN_LIST_MAX + 1))
    assert problems(v4, 4) == []


def test_a_host_domain_search_override_is_held_to_the_limit():
    """A DHCPv6 host's dhcp6.domain-search override: the same limit, its path."""
    document = edit(base(6), "hosts[0].options", {
        "dhcp6.domain-search": _names(DOMAIN_LIST_MAX + 1)})
    assert [p for p, _ in problems(document, 6)] == ["hosts[0].options.dhcp6.domain-search"]
