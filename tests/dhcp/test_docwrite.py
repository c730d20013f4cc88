"""Writing the model back as a document: golden files pin every byte.

Each sample is parsed and written back; the mapping, dumped with its keys in
the order the writer gives them (the applied-state file keeps that order),
must equal ``golden/document-<name>.json`` exactly, and `to_json` must be the
same mapping with sorted keys. The goldens were written by the code before
the writer was derived from the model's fields, so they hold that change to
the old output; the round-trip tests below check that reading what was
written gives the same model back. RACKD_UPDATE_GOLDEN=1 rewrites them instead of comparing.
"""

import ipaddress
import json
import os

import attrs
import pytest

from provisioningserver.dhcp.document import document_from_file, load_document, parse_document
from provisioningserver.dhcp.docwrite import to_document, to_json
from provisioningserver.dhcp.model import OptionSetting
from tests.dhcp import documents
from tests.dhcp.documents import v4, v6
from tests.dhcp.samples import EXAMPLES, GOLDEN, example, examples, large_document


def _every_field(ip_version):
    """`documents.v4`/`v6` with every optional field set: overrides, peer
    numbers, access-policy flags."""
    document = documents.base(ip_version)
    subnet = document["shared_networks"][0]["subnets"][0]
    subnet["ignore_unknown_clients"] = True
    subnet["pools"][0]["known_clients_only"] = True
    subnet["options"] = {"default-lease-time": 300}
    host = document["hosts"][0]
    if ip_version == 4:
        document["failover_peers"][0].update(
            port=8647, peer_port=8648, max_response_delay=7, max_unacked_updates=4,
            load_balance_max_seconds=0, mclt=600, split=128, auto_partner_down=120)
        subnet["options"]["log-servers"] = "198.18.0.9"
        host["options"] = {"host-name": "node-01.example.org", "next-server": "198.18.0.2",
                           "domain-search": ["a.example", "b.example"]}
    else:
        subnet["options"]["dhcp6.info-refresh-time"] = 600
        host["options"] = {"dhcp6.domain-search": ["a.example", "b.example"],
                           "dhcp6.preference": 10}
    return parse_document(document, ip_version)


# golden name -> a function building the config to write.
SAMPLES = {
    **{f"example-{name[:-len('.yaml')]}": (lambda name=name: example(name))
       for name in examples()},
    "documents-v4": lambda: parse_document(documents.v4(), 4),
    "documents-v6": lambda: parse_document(documents.v6(), 6),
    "every-field-v4": lambda: _every_field(4),
    "every-field-v6": lambda: _every_field(6),
    "large-v4": lambda: large_document(4, hosts=20),
    "large-v6": lambda: large_document(6, hosts=20),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_written_document_matches_golden(name):
    """parse -> write gives the golden mapping, key order included, and
    `to_json` is that mapping with sorted keys."""
    config = SAMPLES[name]()
    text = json.dumps(to_document(config), indent=1) + "\n"
    path = GOLDEN / f"document-{name}.json"
    if os.environ.get("RACKD_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text()
    assert to_json(config) == json.dumps(json.loads(path.read_text()))


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


def test_to_json_is_stable():
    """to_json writes keys in the writer's order, so equal configs give equal text."""
    config = parse_document(v4(), 4)
    assert to_json(config) == to_json(parse_document(to_document(config), 4))
    assert json.loads(to_json(config))["hosts"][0]["ip"] == "198.18.0.50"


def test_writer_follows_the_declared_fields():
    """A value's fields are written by their declared kind, in declaration
    order; an unset optional field is left out and an undeclared one ignored."""
    @attrs.frozen
    class Part:
        label: str = attrs.field(metadata={"doc": "value"})

    @attrs.frozen
    class Whole:
        hidden: int = 1
        zeta: object = attrs.field(default=None, metadata={"doc": "text"})
        alpha: tuple = attrs.field(default=(), metadata={"doc": "texts"})
        parts: tuple = attrs.field(default=(), metadata={"doc": "items"})
        options: tuple = attrs.field(default=(), metadata={"doc": "options"})
        absent: object = attrs.field(default=None, metadata={"doc": "optional"})
        present: object = attrs.field(default=None, metadata={"doc": "optional"})

    whole = Whole(zeta=ipaddress.ip_address("198.18.0.1"),
                  alpha=(ipaddress.ip_network("198.18.0.0/24"), "name"),
                  parts=(Part("a"), Part("b")),
                  options=(OptionSetting("default-lease-time", 300),), present=0)
    written = to_document(whole)
    assert written == {"zeta": "198.18.0.1", "alpha": ["198.18.0.0/24", "name"],
                       "parts": [{"label": "a"}, {"label": "b"}],
                       "options": {"default-lease-time": 300}, "present": 0}
    assert list(written) == ["zeta", "alpha", "parts", "options", "present"]
    assert to_document(Whole()) == {"zeta": None, "alpha": [], "parts": [], "options": {}}


def test_to_json_keeps_the_order_of_boot_files_and_options():
    """Boot files and options out of alphabetical order come back from to_json's
    text in their order (found by the document fuzzer: with sorted keys, the
    config read back from the text differed from the one written)."""
    document = v4()
    subnet = document["shared_networks"][0]["subnets"][0]
    subnet["boot_files"] = {"uefi_amd64_tftp": "shim/shimx64.efi",
                            "uefi_amd64_http": "grub/bootx64.efi"}
    subnet["options"] = {"time-servers": ["198.18.0.2"], "root-path": "/srv/root"}
    config = parse_document(document, 4)
    assert parse_document(load_document(to_json(config)), 4) == config
