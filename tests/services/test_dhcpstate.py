"""The applied state file at start (services.dhcpstate): whatever it holds,
rackd starts; a file it cannot read is set aside as no state."""

import json

import pytest

from provisioningserver.services.dhcpstate import FORMAT_VERSION, load_state, state_path


def _state(document):
    return json.dumps({"version": FORMAT_VERSION, "spec": None, "structure": None,
                       "aliases": {}, "document": document})


@pytest.mark.parametrize("content", [
    _state({"shared_networks": "x"})[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}",
    _state({"hosts": json.loads("[" * 70 + "]" * 70)}),
    _state({"global_dhcp_snippets": [{"name": "\ud800", "value": "# x"}]}),
    b'{"version": 3, "document": {"a": "caf\xe9"}}',
    "[1, 2]",
], ids=["nested-past-the-parser", "nested-past-the-limit", "lone-surrogate", "not-utf8",
        "not-a-mapping"])
def test_a_hostile_state_file_is_no_state_not_a_crash(tmp_path, content):
    """A state file nested too deeply, with a lone surrogate, not UTF-8 or
    not a mapping: load_state warns and returns the empty state (rackd then
    waits for a document), it does not raise."""
    path = state_path(str(tmp_path), 4)
    with open(path, "wb") as f:
        f.write(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    state = load_state(str(tmp_path), 4)
    assert state.config is None and state.spec is None
