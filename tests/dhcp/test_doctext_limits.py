"""How much a document may be (provisioningserver.dhcp.doctext): YAML text
at most 8 MiB, JSON text 256 MiB (the AMP links' document limit), and YAML
aliases expanding to 4 Mi values at most; each refused before it costs.

PyYAML holds 50 to 90 times a YAML text's size while reading it, and a
"billion laughs" loads small (PyYAML shares aliased values) but is 387
million strings to everything after the load.
"""

import json
import time
import tracemalloc

import pytest

from provisioningserver.dhcp import doctext
from provisioningserver.dhcp.doctext import (
    MAX_EXPANDED, MAX_JSON_TEXT, MAX_YAML_TEXT, load_document, load_json)
from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.system.packed import MAX_DECODED


def _refusal(read, *args):
    with pytest.raises(DocumentError) as caught:
        read(*args)
    [problem] = caught.value.problems
    return problem.path, problem.message


def laughs(levels, width=9):
    """A "billion laughs": ``levels`` lists of ``width`` aliases of the one
    before, the first of ``width`` strings; ``shared_networks`` the last."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + f"\nshared_networks: *a{levels - 1}\n"


def measured(action):
    """(what ``action`` raised, seconds, tracemalloc peak in bytes)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        action()
        raised = None
    except DocumentError as error:
        raised = error
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return raised, seconds, peak


def test_the_limits_are_those_of_the_essay_and_json_s_is_the_rpc_s():
    """8 MiB of YAML, 256 MiB of JSON (system.packed.MAX_DECODED: what a
    document sent over the AMP links may decode to), 4 Mi expanded values."""
    assert MAX_YAML_TEXT == 8 * 1024 * 1024
    assert MAX_JSON_TEXT == MAX_DECODED == 256 * 1024 * 1024
    assert MAX_EXPANDED == 4 * 1024 * 1024


def test_yaml_over_8_mib_is_refused_before_pyyaml_reads_it():
    """8.8 MiB of YAML: refused at once, naming its size and the limit, with
    no more memory than a few KB."""
    text = "shared_networks: []\n" + "# padding\n" * (900 * 1024)
    raised, seconds, peak = measured(lambda: load_document(text, "site.yaml"))
    [problem] = raised.problems
    assert problem.path == "" and problem.message == (
        f"site.yaml is {len(text):,} bytes of YAML: YAML text may be at most 8,388,608 "
        "bytes (8 MiB: reading YAML costs up to 90 times its size in memory; as JSON a "
        "document may be 256 MiB)")
    assert seconds < 0.5 and peak < 100_000


def test_the_yaml_limit_counts_utf8_bytes_and_holds_at_the_byte(monkeypatch):
    """At the limit a YAML text reads, one byte over it is refused; a
    two-byte character counts two."""
    monkeypatch.setattr(doctext, "MAX_YAML_TEXT", 1000)
    base = "shared_networks: []\n# "
    assert load_document(base + "x" * (1000 - len(base))) == {"shared_networks": []}
    assert "1,001 bytes of YAML" in _refusal(load_document, base + "x" * (1001 - len(base)))[1]
    assert "1,002 bytes of YAML" in _refusal(load_document, base + "\u00e9" * 490)[1]


def test_json_over_8_mib_is_read_as_json():
    """JSON has the higher limit: a 9 MiB JSON document reads."""
    text = json.dumps({"shared_networks": [], "hosts": ["x" * 1000] * (9 * 1024)})
    assert len(text) > MAX_YAML_TEXT
    assert len(load_document(text)["hosts"]) == 9 * 1024


def test_broken_json_over_8_mib_is_not_handed_to_yaml():
    """A JSON text json refuses goes to the YAML reader only when YAML may
    read it: over 8 MiB the refusal names the JSON error and the YAML limit."""
    text = json.dumps({"hosts": ["x" * 1000] * (9 * 1024)})[:-1]  # the last brace cut
    raised, seconds, _ = measured(lambda: load_document(text, "site.json"))
    [problem] = raised.problems
    assert problem.message.startswith("site.json is not valid JSON (Expecting ")
    assert problem.message.endswith(
        f"and at {len(text):,} bytes too large to read as YAML (at most 8,388,608 bytes, 8 MiB)")
    assert seconds < 1


def test_json_over_the_rpc_limit_is_refused_by_both_json_readers(monkeypatch):
    """Past MAX_JSON_TEXT a JSON text is refused by load_document and
    load_json alike (the state file's reader), naming the RPC's limit."""
    monkeypatch.setattr(doctext, "MAX_JSON_TEXT", 100)
    text = json.dumps({"shared_networks": [], "x": "y" * 100})
    for read in (load_document, load_json):
        _, message = _refusal(read, text, "doc.json")
        assert message.startswith(f"doc.json is {len(text)} bytes of JSON: a document may be "
                                  "at most 100 bytes (0 MiB, the document limit of rackd's RPC")


def test_a_billion_laughs_is_refused_fast_and_small_with_the_alias_named():
    """Nine levels of nine aliases (387 million strings expanded) are
    refused at the alias that passes 4 Mi values, with its line and column,
    in well under a second and a few hundred KB; before, the load returned
    a value whose JSON is 2.7 GB."""
    raised, seconds, peak = measured(lambda: load_document(laughs(9), "laughs.yaml"))
    [problem] = raised.problems
    assert problem.path == "" and problem.message == (
        "laughs.yaml's YAML aliases expand it to more than 4,194,304 values (the alias *a5 "
        "at line 7, column 35); a document may expand to 4,194,304 at most")
    assert seconds < 0.5 and peak < 1_000_000


def test_aliases_under_the_bound_read_and_stay_shared():
    """Six levels of nine (531,441 strings) read, the aliased lists shared
    as PyYAML builds them; a document's ordinary aliases are untouched."""
    value = load_document(laughs(6))
    assert value["shared_networks"][0] is value["a4"]
    assert load_document("a: &o {x: 1}\nb: *o\nc: *o\n") == {"a": {"x": 1}, "b": {"x": 1},
                                                            "c": {"x": 1}}


def test_the_bound_counts_every_value_an_alias_stands_for(monkeypatch):
    """An alias counts as all its anchor's values, keys included: with 20
    allowed, a mapping of 3 keys (7 values with itself) and one alias of it
    read (17 values with the keys and the root); a second alias is refused
    (24)."""
    monkeypatch.setattr(doctext, "MAX_EXPANDED", 20)
    two = "a: &m {x: 1, y: 2, z: 3}\nb: *m\n"
    assert load_document(two)["b"] == {"x": 1, "y": 2, "z": 3}
    _, message = _refusal(load_document, two + "c: *m\n")
    assert "(the alias *m at line 3, column 4)" in message


def test_an_alias_inside_its_own_anchor_is_still_too_deep():
    """The alias bound leaves a cycle to the depth check: too deep, not
    counted as endless values."""
    path, message = _refusal(load_document, "a: &x [*x]")
    assert path.startswith("a[0][0]") and "levels deep" in message
