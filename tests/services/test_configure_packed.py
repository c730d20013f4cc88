"""Documents that arrive packed (as the control socket and the region link
deliver them): read in a thread, recognised when repeated, and saved as the
bytes that came."""

import json

from provisioningserver.dhcp import incremental
from provisioningserver.services import received
from provisioningserver.services.dhcpstate import load_state, state_path
from provisioningserver.system.packed import PackedJSON
from tests.services.test_configure import document, host, result_of, rig  # noqa: F401


def test_the_same_bytes_again_are_unchanged_without_a_read(rig, monkeypatch):
    """A second configure with the bytes of the applied document does not
    read the document again, and changes nothing."""
    doc = document(hosts=[host(10)])
    first = result_of(rig.configurator.configure(4, PackedJSON.of(doc)))
    assert first.action == "started"
    reads = []
    monkeypatch.setattr(received, "read_document",
                        lambda *a: reads.append(a) or incremental.read_document(*a))
    again = result_of(rig.configurator.configure(4, PackedJSON.of(doc)))
    assert again.action == "unchanged" and reads == []
    changed = result_of(rig.configurator.configure(4, PackedJSON.of(
        document(hosts=[host(10), host(11)]))))
    assert changed.action == "applied-live" and len(reads) == 1


def test_a_packed_document_is_saved_as_it_came_and_reads_back(rig):
    """The state file holds the document's own bytes, and a new rackd reads
    back the same config from it."""
    doc = document(hosts=[host(10)])
    packed = PackedJSON(json.dumps(doc, indent=3).encode())  # not as rackd would write it
    result_of(rig.configurator.configure(4, packed))
    with open(state_path(rig.config.state_dir, 4), "rb") as f:
        saved = f.read()
    assert packed.text in saved
    assert json.loads(saved)["document"] == doc
    state = load_state(rig.config.state_dir, 4)
    assert state.config == rig.configurator.applied(4).config


def test_serves_knows_the_applied_bytes_only(rig):
    """`serves` is true for the applied document's bytes, false for other
    bytes, a plain mapping, or after a stop."""
    doc = document(hosts=[host(10)])
    assert not rig.configurator.serves(4, PackedJSON.of(doc))
    result_of(rig.configurator.configure(4, PackedJSON.of(doc)))
    assert rig.configurator.serves(4, PackedJSON.of(doc))
    assert not rig.configurator.serves(4, PackedJSON.of(document(hosts=[host(11)])))
    assert not rig.configurator.serves(4, doc)
    result_of(rig.configurator.stop(4))
    assert not rig.configurator.serves(4, PackedJSON.of(doc))
