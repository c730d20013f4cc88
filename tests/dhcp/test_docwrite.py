"""Writing the model back as a document: golden files pin every byte.

Each sample is parsed and written back; the mapping, dumped with its keys in
the order the writer gives them (the applied-state file keeps that order),
must equal ``golden/document-<name>.json`` exactly, and `to_json` must be the
same mapping with sorted keys. The goldens were written by the code before
the writer was derived from the model's fields, so they hold that change to
the old output. RACKD_UPDATE_GOLDEN=1 rewrites them instead of comparing.
"""

import json
import os

import pytest

from provisioningserver.dhcp.document import parse_document, to_document, to_json
from tests.dhcp import documents
from tests.dhcp.samples import GOLDEN, example, examples, large_document


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
    assert to_json(config) == json.dumps(json.loads(path.read_text()), sort_keys=True)
