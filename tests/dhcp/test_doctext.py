"""Hostile documents (provisioningserver.dhcp.doctext): each a DocumentError
naming the field, never a traceback.

Before these rules a fuzzer found 215 tracebacks in 10,000 documents:
RecursionError from deep nesting, UnicodeDecodeError from bytes that are not
UTF-8, and lone surrogates that passed the reader and broke rendering, or
made `parse_document` itself raise UnicodeEncodeError.
"""

import json

import pytest

from provisioningserver.dhcp.doctext import (
    MAX_DEPTH, decode, load_document, load_json, value_problems)
from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.dhcp.incremental import read_document
from tests.dhcp.documents import POOL, SUBNET, edit, problems, v4

TOO_DEEP = f"lists and mappings more than {MAX_DEPTH} levels deep; a document may nest " \
           f"{MAX_DEPTH} at most"
SURROGATE = "holds a lone surrogate (U+D800), which is not Unicode text " \
            "(JSON's \\ud800-\\udfff escapes come only in pairs)"


def _refusal(read, *args):
    with pytest.raises(DocumentError) as caught:
        read(*args)
    return [(p.path, p.message) for p in caught.value.problems]


def _nested(levels):
    return "[" * levels + "]" * levels


@pytest.mark.parametrize("text", [
    _nested(100_000), '{"a": ' + _nested(100_000) + "}", "a:\n  " + _nested(100_000),
    "- " * 50_000 + "x",
], ids=["json-array", "json-in-a-field", "yaml-flow", "yaml-block"])
def test_nesting_thousands_deep_is_a_document_error(text):
    """JSON or YAML nested 50,000-100,000 deep is refused as the whole
    document's problem, not a RecursionError."""
    [(path, message)] = _refusal(load_document, text, "doc.yaml")
    assert path == "" and message.startswith(f"doc.yaml nests {TOO_DEEP}")


@pytest.mark.parametrize("prefix, suffix", [('{"a": ', "}"), ("a: ", "")], ids=["json", "yaml"])
def test_the_limit_is_64_levels_whatever_the_recursion_limit(prefix, suffix):
    """64 levels (the document's mapping and 63 lists in it) read; 65 are
    refused, in JSON (counted on the value) and in YAML (counted as it is
    composed)."""
    assert load_document(prefix + _nested(MAX_DEPTH - 1) + suffix) is not None
    [(path, message)] = _refusal(load_document, prefix + _nested(MAX_DEPTH) + suffix)
    if prefix.startswith("{"):
        assert path == "a[0][0][0][0][0][0][0]...(56 levels more)"
        assert message == f"nests {TOO_DEEP}"
    else:
        assert path == "" and message.startswith(f"document nests {TOO_DEEP} (at line 1")


def test_an_alias_cycle_is_too_deep_not_a_hang():
    """A YAML anchor that holds an alias of itself is a value of endless depth:
    refused at the limit, not walked forever."""
    [(path, message)] = _refusal(load_document, "a: &x [*x]")
    assert path.startswith("a[0][0]") and message == f"nests {TOO_DEEP}"


def test_bytes_that_are_not_utf8_name_the_byte_and_where():
    """Latin-1 text is refused with the first bad byte, its offset, line and column."""
    assert _refusal(decode, "a: 1\nname: caf\xe9\n".encode("latin-1"), "doc.yaml") == [
        ("", "doc.yaml is not UTF-8 text: byte 0xe9 at offset 14 (line 2, column 10)")]
    assert _refusal(load_json, b'{"a": "\xff"}') == [
        ("", "document is not UTF-8 text: byte 0xff at offset 7 (line 1, column 8)")]


def test_a_number_too_long_to_read_is_a_document_error():
    """An integer of 5,000 digits (Python reads 4,300 at most) in JSON or YAML."""
    for text in ("a: " + "1" * 5000, '{"a": ' + "1" * 5000 + "}"):
        assert _refusal(load_document, text) == [
            ("", "document holds a number of more than 4,300 digits")]


@pytest.mark.parametrize("path", [
    "global_dhcp_snippets[0].name", "global_dhcp_snippets[0].description",
    f"{SUBNET}.dhcp_snippets[0].value", f"{SUBNET}.options.root-path",
    f"{POOL}.dhcp_snippets[0].name", "hosts[0].host",
])
def test_a_lone_surrogate_is_refused_where_it_stands(path):
    """JSON's "\\ud800" in a snippet's name, description or text, an option's
    text or a host name: refused with that field's path (snippet names and
    descriptions passed before, and option text made the reader raise)."""
    document = v4()
    document["shared_networks"][0]["subnets"][0]["options"] = {"root-path": "/srv"}
    text = json.dumps(edit(document, path, "x\ud800"))  # as the JSON escape \ud800
    assert "\\ud800" in text
    assert _refusal(load_document, text) == [(path, SURROGATE)]
    assert problems(json.loads(text), 4) == [(path, SURROGATE)]


def test_a_lone_surrogate_in_a_key_is_shown_escaped():
    """A key with a surrogate is named escaped, so the message itself can be printed."""
    [problem] = value_problems({"hosts": [{"x\ud800": 1}]})
    assert (problem.path, problem.message) == ("hosts[0].'x\\ud800'", SURROGATE)
    problem.path.encode("ascii")


def test_a_surrogate_pair_is_text():
    """A pair of surrogate escapes is one character (an emoji): accepted."""
    document = edit(v4(), "global_dhcp_snippets[0].description", "\U0001F600")
    assert "\\ud83d\\ude00" in json.dumps(document)
    assert problems(json.loads(json.dumps(document)), 4) == []


def test_the_incremental_reader_refuses_a_changed_host_as_the_full_read_does():
    """Against an applied document, a changed host nested too deeply or with a
    lone surrogate gets the full read's error, word for word."""
    previous = read_document(v4(), 4)
    for value in ({"deep": json.loads(_nested(MAX_DEPTH))}, {"host": "node-01\ud800"}):
        document = v4()
        document["hosts"][0].update(value)
        incremental = _refusal(read_document, document, 4, previous)
        assert incremental == _refusal(parse_document, document, 4)
        assert incremental[0][0].startswith("hosts[0].")
    document = v4()
    document["shared_networks"][0]["mtu"] = json.loads(_nested(MAX_DEPTH))
    assert _refusal(read_document, document, 4, previous)[0][0].startswith(
        "shared_networks[0].mtu[0]")
