"""rackctl on hostile documents: exit 2 naming the field, never a traceback.

Deep nesting, bytes that are not UTF-8, lone surrogates and numbers too long
to read used to end in a Python traceback and exit 1, the code that says
"dhcpd rejected the config". YAML over 8 MiB and a "billion laughs" were
read: the first at up to 90 times its size, the second into 387 million
strings for render and check to walk and configure to send.
"""

import io
import json
import sys

import pytest

from provisioningserver.cli import common
from provisioningserver.cli.rackctl import main
from provisioningserver.dhcp import doctext
from tests.dhcp.test_doctext_limits import laughs

RACK = ["--rack-address", "198.18.0.0/24=198.18.0.2"]
SUBNET = {"subnet_cidr": "198.18.0.0/24"}


def _document(**subnet):
    return {"shared_networks": [{"name": "lan", "subnets": [dict(SUBNET, **subnet)]}]}


HOSTILE = {
    "deep-json": ('{"shared_networks": ' + "[" * 100_000 + "]" * 100_000 + "}", "doc.json"),
    "deep-yaml": ("shared_networks:\n  - " + "[" * 100_000 + "]" * 100_000 + "\n", "doc.json"),
    "latin-1": ("shared_networks:\n  - name: caf\xe9\n".encode("latin-1"), "doc.json"),
    "surrogate-in-snippet-name": (
        json.dumps(_document(dhcp_snippets=[{"name": "a\ud800", "value": "# x"}])),
        "shared_networks[0].subnets[0].dhcp_snippets[0].name"),
    "surrogate-in-option-text": (json.dumps(_document(options={"root-path": "/\ud800"})),
                                 "shared_networks[0].subnets[0].options.root-path"),
    "number-of-5000-digits": ("shared_networks:\n  - mtu: " + "9" * 5000 + "\n", "doc.json"),
    "yaml-over-8-mib": ("shared_networks: []\n" + "# padding\n" * (900 * 1024),
                        "bytes of YAML: YAML text may be at most 8,388,608 bytes"),
    "billion-laughs": (laughs(9), "doc.json's YAML aliases expand it to more than 4,194,304"),
}


def _write(tmp_path, content):
    path = tmp_path / "doc.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("command", ["render", "check"])
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_render_and_check_exit_2_naming_the_field(tmp_path, capsys, command, case):
    """render and check refuse each hostile document with exit 2 and the
    field's path (the file's name for the whole document); no traceback."""
    content, where = HOSTILE[case]
    path = _write(tmp_path, content)
    assert main([command, *RACK, path]) == 2
    err = capsys.readouterr().err
    assert where in err and "Traceback" not in err
    err.encode("utf-8")  # printable: no surrogate reached the message


@pytest.mark.parametrize("case", ["deep-json", "deep-yaml", "latin-1", "number-of-5000-digits",
                                  "yaml-over-8-mib", "billion-laughs"])
def test_configure_refuses_before_calling_the_agent(tmp_path, capsys, monkeypatch, case):
    """configure refuses what cannot be read at all (exit 2, the file named)
    and sends nothing to the agent."""
    sent = []
    monkeypatch.setattr(common, "call_agent", lambda *a, **k: sent.append(k))
    path = _write(tmp_path, HOSTILE[case][0])
    assert main(["configure", "--socket", "/nonexistent", path]) == 2
    assert "doc.json" in capsys.readouterr().err
    assert sent == []


@pytest.mark.parametrize("command", ["check", "configure"])
def test_a_file_over_the_document_limit_is_not_read_past_it(tmp_path, capsys, monkeypatch,
                                                             command):
    """A file over MAX_JSON_TEXT (256 MiB; 1,000 bytes here) is refused
    after reading one byte more than that, naming the limits: exit 2."""
    monkeypatch.setattr(doctext, "MAX_JSON_TEXT", 1000)
    monkeypatch.setattr(common, "call_agent", lambda *a, **k: pytest.fail("sent"))
    path = _write(tmp_path, json.dumps({"shared_networks": [], "x": "y" * 2000}))
    socket = ["--socket", "/nonexistent"] if command == "configure" else RACK
    assert main([command, *socket, path]) == 2
    assert (f"{path} is over 1,000 bytes: a document may be at most 1,000 bytes (0 MiB, the "
            "document limit of rackd's RPC) as JSON, and 8 MiB as YAML\n"
            ) in capsys.readouterr().err


def test_configure_from_stdin_that_is_not_utf8(capsys, monkeypatch):
    """A document on stdin with a Latin-1 byte is refused naming stdin."""
    monkeypatch.setattr(common, "call_agent", lambda *a, **k: pytest.fail("sent"))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(HOSTILE["latin-1"][0])))
    assert main(["configure", "--socket", "/nonexistent", "-"]) == 2
    assert "stdin is not UTF-8 text: byte 0xe9" in capsys.readouterr().err


def test_interfaces_with_a_document_that_is_not_utf8(tmp_path, capsys):
    """rackctl interfaces DOC reads the document as render does: exit 2."""
    path = _write(tmp_path, HOSTILE["latin-1"][0])
    assert main(["interfaces", path]) == 2
    assert "is not UTF-8 text" in capsys.readouterr().err


def test_generated_hostile_documents_all_exit_2(tmp_path, capsys):
    """50 generated hostile documents (tests.dhcp.hostile: 10 of each kind,
    JSON and YAML) all end in exit 2 from rackctl render; none escapes as an
    exception or passes."""
    from tests.dhcp.hostile import variants

    outcomes = []
    for kind, data in variants(50, seed=7):
        path = _write(tmp_path, data)
        outcomes.append((kind, main(["render", *RACK, "--rack-address",
                                     "198.18.1.0/24=198.18.1.2", path])))
    capsys.readouterr()
    assert [o for o in outcomes if o[1] != 2] == []
