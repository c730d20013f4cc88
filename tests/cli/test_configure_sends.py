"""What `rackctl configure` sends: JSON as the bytes of the file (checked
to parse, not serialised again), YAML read into a mapping."""

import json

import pytest

from provisioningserver.cli import common
from provisioningserver.cli.rackctl import main
from provisioningserver.system.packed import PackedJSON

DOC = {"shared_networks": [{"name": "lan", "subnets": [{"subnet_cidr": "198.18.0.0/24"}]}]}


@pytest.fixture
def sent(monkeypatch):
    calls = []

    def answer(socket, command, **arguments):
        calls.append(arguments["document"])
        return {"outcome": {"ip_version": 4, "action": "unchanged", "reason": "same"}}

    monkeypatch.setattr(common, "call_agent", answer)
    return calls


def test_json_is_sent_as_its_own_bytes(tmp_path, sent):
    """A JSON file goes as it is, packed: its bytes, and the same value."""
    text = json.dumps(DOC, indent=2) + "\n"
    (tmp_path / "doc.json").write_text(text)
    assert main(["configure", "--socket", "/nonexistent", str(tmp_path / "doc.json")]) == 0
    [document] = sent
    assert isinstance(document, PackedJSON)
    assert document.text == text.encode() and document.load() == DOC


@pytest.mark.parametrize("text", [
    "shared_networks:\n  - name: lan\n    subnets:\n      - subnet_cidr: 198.18.0.0/24\n",
    "{shared_networks: [{name: lan, subnets: [{subnet_cidr: 198.18.0.0/24}]}]}\n",
], ids=["block", "flow-style-not-json"])
def test_yaml_is_read_here_into_a_mapping(tmp_path, sent, text):
    """YAML, also in flow style that looks like JSON but is not, is read by
    the document reader and sent as the mapping."""
    (tmp_path / "doc.yaml").write_text(text)
    assert main(["configure", "--socket", "/nonexistent", str(tmp_path / "doc.yaml")]) == 0
    assert sent == [DOC]
