"""The applied state file at start (services.dhcpstate): whatever it holds,
rackd starts; a file it cannot read is moved aside and the state is empty."""

import json
import os

import pytest

from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcpd.process import DhcpdSpec
from provisioningserver.services.dhcpstate import (
    FORMAT_VERSION, DHCPState, load_state, save_state, state_path)
from tests.logs import lines_with, logged  # noqa: F401 (logged is a fixture)

NOW = 1796350000.0  # 2026-12-04T02:06:40Z
DOC = {"shared_networks": [{"name": "n", "subnets": [{
    "subnet_cidr": "198.18.0.0/24", "pools": [
        {"ip_range_low": "198.18.0.100", "ip_range_high": "198.18.0.150"}]}]}],
    "hosts": [{"host": "h1", "mac": "02:00:00:00:00:01", "ip": "198.18.0.10"}]}
SPEC = DhcpdSpec(4, "/usr/sbin/dhcpd", "/s/dhcpd.conf", "/s/dhcpd.leases", "/r/dhcpd.pid",
                 "/s/log/dhcpd.log", ("eth0",))


def saved(tmp_path):
    save_state(str(tmp_path), 4, DHCPState(SPEC, parse_document(DOC, 4), "s"), DOC)
    with open(state_path(str(tmp_path), 4), "rb") as stream:
        return stream.read()


def test_a_saved_state_reads_back(tmp_path):
    """The round trip the damaged cases are measured against."""
    saved(tmp_path)
    state = load_state(str(tmp_path), 4)
    assert state.spec == SPEC and [h.host for h in state.config.hosts] == ["h1"]


@pytest.mark.parametrize("damage", ["empty", "1 byte", "half", "all but 1 byte", "garbage",
                                    "not utf-8", "not an object", "bad document"])
def test_a_damaged_state_file_is_moved_aside_and_rackd_starts_empty(tmp_path, logged, damage):
    """Truncated to several lengths, garbage, bytes that are not UTF-8, JSON
    of the wrong shape, a document that does not read: the state is empty
    (no exception: rackd starts), the file is kept as
    applied-v4.json.corrupt-<UTC time>, and one warning says so."""
    good = saved(tmp_path)
    data = {"empty": b"", "1 byte": good[:1], "half": good[:len(good) // 2],
            "all but 1 byte": good[:-1], "garbage": b"{\x00\x01 garbage ;;; ]",
            "not utf-8": b"\xff\xfe\x80" * 40, "not an object": b"[1, 2]",
            "bad document": json.dumps({"version": 2, "spec": None,
                                        "document": {"hosts": 7}}).encode()}[damage]
    path = state_path(str(tmp_path), 4)
    with open(path, "wb") as stream:
        stream.write(data)
    assert load_state(str(tmp_path), 4, now=lambda: NOW) == DHCPState()
    aside = path + ".corrupt-20261204T020640Z"
    assert not os.path.exists(path)
    with open(aside, "rb") as stream:
        assert stream.read() == data
    lines = lines_with(logged, "unreadable")
    assert len(lines) == 1 and "moved aside to " + aside in lines[0], lines
    assert "starting with nothing applied" in lines[0]


def test_no_state_file_is_no_state_and_no_warning(tmp_path, logged):
    """A first start: nothing to move, nothing said."""
    assert load_state(str(tmp_path), 4) == DHCPState()
    assert not lines_with(logged, "unreadable")


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
    waits for a document), it does not raise; the file is moved aside."""
    path = state_path(str(tmp_path), 4)
    with open(path, "wb") as f:
        f.write(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    state = load_state(str(tmp_path), 4)
    assert state.config is None and state.spec is None
    assert not os.path.exists(path)
