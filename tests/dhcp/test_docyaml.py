"""YAML documents hold JSON's types only (provisioningserver.dhcp.docyaml).

Each case was found by the document fuzzer (tests/fuzz): a YAML value that
``rackctl check`` read one way and ``rackctl configure`` could not send, or
a literal PyYAML let a ValueError out of.
"""

import pytest

from provisioningserver.cli.agent_commands import document_to_send
from provisioningserver.dhcp.document import load_document, parse_document
from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.rpc import ampbox


def test_an_unquoted_date_stays_the_string_it_was_written_as():
    """``ip: 2001-12-14`` is the string '2001-12-14' (refused as no address,
    naming the field), not a date that rackctl configure cannot send as JSON."""
    text = ("hosts:\n  - {host: a, mac: '52:54:00:00:00:01', ip: 2001-12-14}\n"
            "stamp: 2001-12-14T21:59:43.10-05:00\n")
    document = load_document(text)
    assert document["hosts"][0]["ip"] == "2001-12-14"
    assert document["stamp"] == "2001-12-14T21:59:43.10-05:00"
    ampbox.pack_json(document_to_send(text, "doc.yaml"))  # JSON can carry it
    with pytest.raises(DocumentError) as error:
        parse_document(document, 4)
    assert ("hosts[0].ip", "'2001-12-14' is not an IP address") in [
        (p.path, p.message) for p in error.value.problems]


@pytest.mark.parametrize("value, tag", [("!!set {a, b}", "set"), ("!!binary aGVsbG8=", "binary"),
                                        ("!!omap [a: 1]", "omap"), ("!!pairs [a: 1]", "pairs")])
def test_yaml_types_json_cannot_hold_are_refused_with_their_line(value, tag):
    """A set, bytes, an ordered map or pairs: refused at load with the line and
    column, before rackctl configure would crash sending them
    (``Object of type set is not JSON serializable``)."""
    with pytest.raises(DocumentError) as error:
        load_document(f"interfaces: [eth0]\nhosts: {value}\n", source="doc.yaml")
    (problem,) = error.value.problems
    assert problem.path == ""
    assert "doc.yaml is not valid YAML or JSON at line 2, column 8" in problem.message
    assert f"!!{tag} is not a type a document holds" in problem.message


@pytest.mark.parametrize("text", ["mtu: " + "9" * 5000 + "\n", '{"mtu": ' + "9" * 5000 + "}"])
def test_an_integer_too_long_to_read_is_a_problem_with_its_line(text):
    """An integer literal of 5,000 digits (over int()'s 4,300) is a problem at
    its line, in YAML and in JSON alike, not a ValueError from the parser."""
    with pytest.raises(DocumentError) as error:
        load_document(text, source="doc")
    (problem,) = error.value.problems
    assert "line 1, column" in problem.message
    assert "an integer of 5000 characters is too long to read" in problem.message


def test_ordinary_yaml_reads_as_before():
    """Numbers, booleans, null and strings are PyYAML's as ever."""
    assert load_document("a: 1\nb: true\nc: null\nd: 0x1f\ne: 1.5\nf: text\n") == {
        "a": 1, "b": True, "c": None, "d": 31, "e": 1.5, "f": "text"}


def test_a_surrogate_pair_in_yaml_is_the_character_it_encodes_as_in_json():
    """``"\\ud83d\\ude00"`` reads as one character in YAML as it does in JSON
    (PyYAML read two lone surrogates, and the JSON rackctl configure sends
    joined them again: check and configure read different documents)."""
    text = 'a: "x\\ud83d\\ude00y"\n'
    assert load_document(text) == {"a": "x\U0001f600y"}
    assert load_document(text) == load_document('{"a": "x\\ud83d\\ude00y"}')
