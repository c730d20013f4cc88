"""The document model and its round trip through the parser."""

import ipaddress
import json
from pathlib import Path

import pytest

from provisioningserver.dhcp import model
from provisioningserver.dhcp.document import (
    document_from_file, load_document, parse_document, to_document, to_json)
from provisioningserver.dhcp.errors import Problem
from tests.dhcp.documents import v4, v6

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("name, ip_version", [("lab-v4.yaml", 4), ("lab-v6.yaml", 6)])
def test_examples_round_trip(name, ip_version):
    """parse(to_document(c)) == c for the example documents, and to_document is stable."""
    config = document_from_file(EXAMPLES / name, ip_version)
    document = to_document(config)
    assert parse_document(document, ip_version) == config
    assert to_document(parse_document(document, ip_version)) == document


@pytest.mark.parametrize("build, ip_version", [(v4, 4), (v6, 6)])
def test_full_documents_round_trip(build, ip_version):
    """Every field survives the round trip, through JSON text as well."""
    config = parse_document(build(), ip_version)
    assert parse_document(to_document(config), ip_version) == config
    assert parse_document(load_document(to_json(config)), ip_version) == config


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


def test_to_json_is_stable():
    """to_json sorts keys, so equal configs give equal text."""
    config = parse_document(v4(), 4)
    assert to_json(config) == to_json(parse_document(to_document(config), 4))
    assert json.loads(to_json(config))["hosts"][0]["ip"] == "198.18.0.50"
