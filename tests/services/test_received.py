"""A document as it came, read in the configure's thread (services.received)."""

import pytest

from provisioningserver.dhcp import incremental
from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.services import received
from provisioningserver.system.packed import PackedJSON
from tests.dhcp import documents


def test_a_repeat_of_the_applied_bytes_is_the_applied_read_without_a_parse(monkeypatch):
    """The same bytes as the document applied last: the applied read itself,
    and the bytes are not even parsed."""
    document = PackedJSON.of(documents.v4())
    previous = incremental.read_document(document.load(), 4)
    again = PackedJSON(document.text)
    monkeypatch.setattr(PackedJSON, "load", lambda self: pytest.fail("parsed"))
    assert received.read_packed(again, 4, previous, document.digest) is previous


def test_other_bytes_or_no_digest_are_read_against_the_applied():
    """Different bytes (the same value written otherwise counts as new), no
    recorded digest, a plain mapping, or the other family: an ordinary read."""
    base = documents.v4()
    previous = incremental.read_document(base, 4)
    digest = PackedJSON.of(base).digest
    spaced = PackedJSON(PackedJSON.of(base).text.replace(b",", b", "))
    for document, known in ((spaced, digest), (PackedJSON.of(base), None), (base, digest)):
        parsed = received.read_packed(document, 4, previous, known)
        assert parsed is not previous and parsed.config == previous.config
    v6 = PackedJSON.of(documents.v6())
    assert received.read_packed(v6, 6, previous, v6.digest).config.ip_version == 6


def test_bytes_that_are_not_json_are_the_documents_fault():
    """A packed document that does not parse is a `DocumentError` (the
    caller gets an invalid-document answer), with the parser's words."""
    with pytest.raises(DocumentError) as error:
        received.document_value(PackedJSON(b'{"shared_networks": ['))
    [problem] = error.value.problems
    assert problem.path == "" and problem.message.startswith("argument document: not JSON")
    assert received.packed_digest({"a": 1}) is None


@pytest.mark.parametrize("text, path, message", [
    (b'{"hosts": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "",
     "document nests lists and mappings more than 64 levels deep"),
    (b'{"hosts": ' + b"[" * 70 + b"]" * 70 + b"}", "hosts[0][0][0][0][0][0][0]...",
     "nests lists and mappings more than 64 levels deep"),
    (b'{"global_dhcp_snippets": [{"name": "\\ud800", "value": "# x"}]}',
     "global_dhcp_snippets[0].name", "holds a lone surrogate (U+D800)"),
    (b'{"shared_networks": [{"name": "caf\xe9"}]}', "", "argument document: not JSON"),
], ids=["past-the-parser", "past-the-limit", "lone-surrogate", "not-utf8"])
def test_a_hostile_packed_document_is_a_document_error(text, path, message):
    """Bytes from the region or the control socket nested too deeply (past
    the limit, or past what the parser reads), holding a lone surrogate, or
    not UTF-8: a DocumentError naming the field, with or without an applied
    document to read against, never RecursionError or UnicodeEncodeError."""
    previous = incremental.read_document(documents.v4(), 4)
    for applied in (None, previous):
        with pytest.raises(DocumentError) as caught:
            received.read_packed(PackedJSON(text), 4, applied, None)
        [problem] = caught.value.problems
        assert problem.path.startswith(path) and problem.message.startswith(message)
