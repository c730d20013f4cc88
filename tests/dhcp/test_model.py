"""The document model: its values and the field table it declares."""

import ipaddress

import attrs
import pytest

from provisioningserver.dhcp import model
from provisioningserver.dhcp.docfields import KINDS, document_fields, required_fields
from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.errors import Problem
from tests.dhcp.documents import v4


def test_problem_without_path_prints_message_only():
    """A document-wide problem (a YAML error) has no path prefix."""
    assert str(Problem("", "not YAML")) == "not YAML"


def test_empty_config():
    """A config without shared networks is empty: that family's dhcpd should not run."""
    assert model.DHCPConfig(ip_version=6).is_empty
    assert not parse_document(v4(), 4).is_empty


def test_pool_contains_and_size():
    """A pool contains its ends and counts them."""
    pool = model.Pool(ip_range_low="198.18.0.10", ip_range_high="198.18.0.19")
    assert ipaddress.ip_address("198.18.0.10") in pool
    assert ipaddress.ip_address("198.18.0.19") in pool
    assert ipaddress.ip_address("198.18.0.20") not in pool
    assert pool.size == 10


DOCUMENT_CLASSES = [model.Snippet, model.Pool, model.Subnet, model.SharedNetwork, model.Host,
                    model.FailoverPeer, model.DHCPConfig]


@pytest.mark.parametrize("cls", DOCUMENT_CLASSES, ids=lambda cls: cls.__name__)
def test_every_field_but_the_family_is_in_the_document(cls):
    """Each field of a document class declares a known document kind, except
    ``DHCPConfig.ip_version``, which the caller gives rather than the document."""
    names = [f.name for f in attrs.fields(cls)]
    assert [name for name, _ in document_fields(cls)] == [n for n in names if n != "ip_version"]
    assert {kind for _, kind in document_fields(cls)} <= set(KINDS)


def test_required_fields_are_those_without_a_default():
    """The reader's required fields are the model's fields with no default, in document order."""
    assert required_fields(model.FailoverPeer) == {
        "name": True, "mode": True, "address": True, "peer_address": True,
        **{name: False for name in ("port", "peer_port", "max_response_delay",
                                    "max_unacked_updates", "load_balance_max_seconds",
                                    "mclt", "split", "auto_partner_down")}}
    assert list(required_fields(model.Snippet).items()) == [
        ("name", True), ("description", False), ("value", True)]
    assert not any(required_fields(model.DHCPConfig).values())


def test_snippet_value_is_keyword_only():
    """The snippet's value follows its optional description in document order,
    so it is given by name."""
    assert model.Snippet(name="n", value="v") == model.Snippet("n", "", value="v")
    with pytest.raises(TypeError):
        model.Snippet("n", "d", "v")
