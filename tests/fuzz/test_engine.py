"""The fuzzer's own parts: the mutation engine, the writers, the injection check.

A fuzzer that cannot see an injection or that builds a different document
each run proves nothing, so these hold it to what tests/fuzz/test_documents.py
relies on.
"""

import json

import yaml

from provisioningserver.dhcp.document import load_document, parse_document
from provisioningserver.dhcp.render import render
from provisioningserver.dhcp.syntax import quote
from tests.fuzz import conflex
from tests.fuzz.emit import BigInt, Deep, Pairs, Plain, to_json, to_yaml
from tests.fuzz.inert import Twin, without_snippets
from tests.fuzz.mutate import KINDS, Mutator
from tests.fuzz.pipeline import inputs_for
from tests.fuzz.seeds import seeds


def test_a_document_follows_from_the_seed_and_its_index_alone():
    """Document 123 of seed 7 is the same bytes whether or not documents 0-122
    were built first, and another seed gives another document."""
    found = seeds()
    first = Mutator(found, 7)
    built = [first.document(i) for i in range(124)][123]
    assert Mutator(found, 7).document(123) == built
    assert Mutator(found, 8).document(123) != built


def test_every_mutation_kind_is_used_and_documents_come_in_every_format():
    """In 600 documents every kind of mutation occurs, and JSON, YAML and broken bytes."""
    mutator = Mutator(seeds(), 1)
    done, formats = [], set()
    for i in range(600):
        _, _, _, fmt, steps = mutator.document(i)
        done += steps
        formats.add(fmt)
    assert {kind for kind in KINDS if any(d.startswith(kind + " ") for d in done)} == set(KINDS)
    assert {"json", "yaml", "json-indented", "yaml-original"} <= formats
    assert any(d.startswith("bytes: ") for d in done)


def test_the_writers_give_what_no_library_writes():
    """A repeated key, an unquoted YAML scalar, a 5,000-digit integer and deep
    nesting come out as written, in both formats where the format allows."""
    value = {"a": Pairs([("k", 1), ("k", 2)]), "b": Plain("yes"), "c": [Deep(3, 0)],
             "d": "\ud800"}
    assert json.loads(to_json(value)) == {"a": {"k": 2}, "b": "yes", "c": [[[[0]]]],
                                          "d": "\ud800"}
    assert yaml.safe_load(to_yaml(value)) == {"a": {"k": 2}, "b": True, "c": [[[[0]]]],
                                              "d": "\ud800"}
    assert to_json(BigInt("9" * 5000)) == "9" * 5000


def test_the_seeds_are_valid_and_their_twins_match_them():
    """Every seed renders with the same structure as its inert twin: the check
    sees no injection where there is none."""
    for name, version, doc, _ in seeds():
        config = parse_document(doc, version)
        twin = Twin()
        copy = twin.of(config)
        text = render(config, inputs_for(config)).text
        assert conflex.compare(text, render(copy, inputs_for(copy)).text,
                               twin.originals) is None, name
        assert twin.kept_unsafe() == [], name


def _unescaped(twin_text, originals, escape):
    """The twin's text with each placeholder put back by ``escape``: what a
    renderer that forgot (or did) its quoting would have written."""
    return conflex.PLACEHOLDER.sub(lambda m: escape(originals[m.group()]), twin_text)


def test_the_check_sees_a_string_that_leaves_its_quotes_or_its_comment():
    """Put back raw into the twin's text, a domain name with a quote and a
    semicolon, a host name with a space, a snippet name with a line break each
    change the structure and are reported; put back as quote() escapes them
    (inside strings) they are not."""
    doc = load_document(json.dumps(seeds()[6][2]))  # documents.v4
    config = parse_document(doc, 4)
    twin = Twin()
    copy = twin.of(config)
    twin_text = render(copy, inputs_for(copy)).text
    for field, evil in [("maas.example", 'maas.example"; allow bootp; "'),
                        ("node-01", "node-01 deny"),
                        ("global snippet", "global snippet\nallow bootp;")]:
        originals = dict(twin.originals)
        placeholder = twin.placeholders[field]
        originals[placeholder] = evil
        raw = _unescaped(twin_text, originals, lambda s: s)
        assert conflex.compare(raw, twin_text, originals) is not None, field
    escaped = twin_text.replace(f'"{twin.placeholders["maas.example"]}"',
                                quote('maas.example"; allow bootp; "'))
    originals = dict(twin.originals, **{twin.placeholders["maas.example"]:
                                        'maas.example"; allow bootp; "'})
    assert conflex.compare(_unescaped(escaped, originals, lambda s: s), twin_text,
                           originals) is None


def test_the_lexer_reads_strings_and_comments_as_dhcpd_does():
    """``#`` starts a comment outside strings only; escapes are dhcpd's; an
    unclosed string runs to the end."""
    assert conflex.tokens('a "b#c\\"d\\x41\\101\\n" # e; f\ng;') == [
        ("atom", "a"), ("string", 'b#c"dAA\n'), ("atom", "g"), ("punct", ";")]
    assert conflex.tokens('x "open') == [("atom", "x"), ("open-string", "open")]


def test_without_snippets_empties_every_snippet_list():
    """What dhcpd is asked again when a config is refused: no snippet left anywhere."""
    config = without_snippets(parse_document(seeds()[6][2], 4))
    assert config.global_dhcp_snippets == () and config.hosts[0].dhcp_snippets == ()
    assert all(not p.dhcp_snippets for s in config.subnets for p in s.pools)
