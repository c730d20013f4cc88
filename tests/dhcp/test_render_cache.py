"""Rendering with a `Fragments` cache, and the structure fingerprint.

A render that reuses cached host declarations must give the text a render
without the cache gives, byte for byte; the structure fingerprint must be
equal exactly when two configs differ in their hosts alone.
"""

import attrs
import pytest

from provisioningserver.dhcp import model
from provisioningserver.dhcp.render import Fragments, render
from tests.dhcp import samples

GOLDEN_NAMES = sorted(samples.GOLDENS)


def _golden(name):
    config_factory, inputs_factory = samples.GOLDENS[name]
    config = config_factory()
    return config, inputs_factory(config)


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_cached_render_is_the_golden_text(name):
    """Cold, warm, and warm after hosts changed: the text is the uncached render's."""
    config, inputs = _golden(name)
    fragments = Fragments()
    plain = render(config, inputs)
    assert plain.text == (samples.GOLDEN / f"{name}.conf").read_text()
    assert render(config, inputs, fragments).text == plain.text
    assert render(config, inputs, fragments) == plain
    assert len(fragments) == len(config.hosts)
    fewer = attrs.evolve(config, hosts=config.hosts[::2])
    assert render(fewer, inputs, fragments).text == render(fewer, inputs).text
    assert len(fragments) == len(fewer.hosts)
    assert render(config, inputs, fragments).text == plain.text


def test_cached_fragment_serves_only_an_equal_host():
    """A host changed under the same name is rendered anew, not taken from the cache."""
    config, inputs = _golden("small-v4")
    fragments = Fragments()
    render(config, inputs, fragments)
    first = config.hosts[0]
    moved = attrs.evolve(config, hosts=(attrs.evolve(first, mac="52:54:00:ff:ff:ff"),)
                         + config.hosts[1:])
    text = render(moved, inputs, fragments).text
    assert "52:54:00:ff:ff:ff" in text
    assert text == render(moved, inputs).text


def test_cache_of_the_other_family_is_not_used():
    """Fragments rendered for DHCPv4 are not served to a DHCPv6 render."""
    v4, inputs4 = _golden("large-v4")
    v6, inputs6 = _golden("large-v6")
    fragments = Fragments()
    render(v4, inputs4, fragments)
    assert render(v6, inputs6, fragments).text == render(v6, inputs6).text


def _host(name, mac, ip):
    return model.Host(host=name, mac=mac, ip=ip)


def _structure_cases():
    config, inputs = _golden("small-v4")
    host = config.hosts[0]
    subnet = config.shared_networks[0].subnets[0]
    network = config.shared_networks[0]
    new_subnet = attrs.evolve(subnet, domain_name="other.example")
    return config, inputs, [
        ("same config", config, True),
        ("a host added", attrs.evolve(config, hosts=config.hosts + (
            _host("extra", "52:54:00:aa:bb:cc", host.ip + 1000),)), True),
        ("a host removed", attrs.evolve(config, hosts=config.hosts[1:]), True),
        ("no hosts", attrs.evolve(config, hosts=()), True),
        ("a host renamed", attrs.evolve(config, hosts=(attrs.evolve(host, host="renamed"),)
                                        + config.hosts[1:]), True),
        ("a subnet changed", attrs.evolve(config, shared_networks=(
            attrs.evolve(network, subnets=(new_subnet,) + network.subnets[1:]),)
            + config.shared_networks[1:]), False),
        ("a global snippet added", attrs.evolve(config, global_dhcp_snippets=(
            model.Snippet(name="more", value="# more"),)), False),
        ("interfaces changed but not rendered", attrs.evolve(config, interfaces=("eth9",)), True),
    ]


def test_structure_equal_iff_only_hosts_changed():
    """Table: the structure fingerprint is the base's exactly when the change is in hosts alone
    (or renders nothing), and differs for any other rendered change."""
    config, inputs, cases = _structure_cases()
    base = render(config, inputs).structure
    outcomes = {name: render(changed, inputs).structure == base for name, changed, _ in cases}
    assert outcomes == {name: same for name, _, same in cases}


def test_structure_differs_when_inputs_change():
    """The rendering inputs are part of the structure: another lease time is another structure."""
    config, inputs = _golden("small-v4")
    assert render(config, inputs).structure != \
        render(config, attrs.evolve(inputs, lease_time=1200)).structure
