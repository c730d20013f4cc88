"""What dhcpd refuses, refused first by the document reader, naming the field.

Each rule is shown both ways: the real ``dhcpd -t`` rejects the config the
document would render to (so the rule is dhcpd's, not a guess), and
`parse_document` refuses the document with the field's path (exit 2 from
rackctl rather than exit 1, "dhcpd rejected"). The limits were found with
dhcpd 4.4.3-P1 -t: a quoted string of 1,496 characters passes and one of
1,500 is "string constant larger than internal buffer".
"""

import base64

import attrs
import pytest

from provisioningserver.dhcp import model, syntax
from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.render import render
from provisioningserver.dhcpd.check import check_config
from tests.dhcp.documents import problems, v4
from tests.dhcp.samples import inputs_for

pytestmark = pytest.mark.dhcpd

LONGEST_KEY = base64.b64encode(b"k" * (syntax.STRING_MAX // 4 * 3)).decode()
TOO_LONG_KEY = base64.b64encode(b"k" * (syntax.STRING_MAX // 4 * 3 + 1)).decode()


def _dhcpd_verdict(config, text=None):
    """dhcpd -t's verdict on ``config`` rendered (or on ``text``)."""
    text = text if text is not None else render(config, inputs_for(config)).text
    return check_config(text, config.ip_version)


def test_the_longest_omapi_key_passes_dhcpd_and_the_reader():
    """A key of 1,496 base64 characters (1,122 bytes) is read and dhcpd takes it."""
    assert len(LONGEST_KEY) == 1496
    document = dict(v4(), omapi_key=LONGEST_KEY)
    config = parse_document(document, 4)
    result = _dhcpd_verdict(config)
    assert result.ok, result.output


def test_an_omapi_key_past_dhcpd_string_buffer_is_refused_by_path():
    """One more block of base64 (1,500 characters) and dhcpd -t rejects the
    config; the reader refuses the document at omapi_key, without the secret."""
    config = parse_document(dict(v4(), omapi_key=LONGEST_KEY), 4)
    text = render(config, inputs_for(config)).text.replace(LONGEST_KEY, TOO_LONG_KEY)
    result = _dhcpd_verdict(config, text)
    assert not result.ok
    assert "string constant larger than internal buffer" in result.output
    found = problems(dict(v4(), omapi_key=TOO_LONG_KEY), 4)
    assert found == [("omapi_key", "is 1500 characters of base64; dhcpd reads a quoted string "
                                   "of 1499 at most (1122 bytes of key)")]
    assert TOO_LONG_KEY not in str(found)


def test_the_renderer_refuses_a_string_dhcpd_could_not_read():
    """A string past dhcpd's buffer that reached the renderer some other way
    is refused there too, not written."""
    with pytest.raises(syntax.UnsafeString, match="1499 bytes at most"):
        syntax.quote("x" * 1500)
    assert syntax.quote("x" * 1499) == '"' + "x" * 1499 + '"'


def _without_pool_peers(config):
    """``config`` with no pool naming a failover peer (built past the reader)."""
    def network(net):
        return attrs.evolve(net, subnets=tuple(
            attrs.evolve(s, pools=tuple(attrs.evolve(p, failover_peer=None) for p in s.pools))
            for s in net.subnets))
    return attrs.evolve(config, shared_networks=tuple(map(network, config.shared_networks)))


def test_a_failover_peer_no_pool_names_is_refused_by_path():
    """dhcpd -t fails its failover sanity check when a peer is declared and
    no pool uses it; the reader names the peer's name field."""
    config = _without_pool_peers(parse_document(v4(), 4))
    result = _dhcpd_verdict(config)
    assert not result.ok
    assert "Failover configuration sanity check failed" in result.output
    document = v4()
    del document["shared_networks"][0]["subnets"][0]["pools"][0]["failover_peer"]
    assert problems(document, 4) == [(
        "failover_peers[0].name",
        "'failover-1' is named by no pool; dhcpd refuses a failover peer that no pool uses")]


def test_a_shared_network_without_subnets_is_refused_by_path():
    """dhcpd -t rejects an empty shared-network declaration; the reader names
    the shared network's subnets field."""
    config = parse_document(v4(), 4)
    config = attrs.evolve(config, shared_networks=config.shared_networks + (
        model.SharedNetwork(name="empty", subnets=()),))
    result = _dhcpd_verdict(config)
    assert not result.ok
    assert "empty shared-network decl" in result.output
    document = v4()
    document["shared_networks"].append({"name": "empty", "subnets": []})
    assert problems(document, 4) == [
        ("shared_networks[1].subnets", "has no subnets; dhcpd refuses a shared network "
                                       "without one")]
