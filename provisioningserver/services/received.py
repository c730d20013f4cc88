"""A document as a caller sent it, read in the configure's thread.

Documents reach the configurator from the control socket and the region
link as `system.packed.PackedJSON` (the JSON bytes, not yet parsed), and
from tests and in-process callers as plain mappings. Here, in the thread
that reads the document:

- `document_value` parses a packed one (a syntax error is the document's
  fault: a `DocumentError`);
- `read_packed` reads it against the applied one (`incremental`), unless
  its bytes are those of the document applied last (the same digest): then
  the applied read is the answer, with no parse at all, which is most of
  what a configure that changes nothing at 50,000 hosts used to cost.
"""

from provisioningserver.dhcp.doctext import too_deep_message
from provisioningserver.dhcp.errors import DocumentError, Problem
from provisioningserver.dhcp.incremental import read_document
from provisioningserver.system.packed import NestedTooDeeply, PackedJSON, unpack


def document_value(document):
    """The document's value (a packed one parsed, once)."""
    try:
        return unpack(document)
    except NestedTooDeeply:
        raise DocumentError([Problem("", too_deep_message("document"))]) from None
    except ValueError as error:
        if isinstance(error, DocumentError):
            raise
        raise DocumentError([Problem("", str(error))])


def packed_digest(document):
    """The digest of a packed document's bytes; None for a plain value."""
    return document.digest if isinstance(document, PackedJSON) else None


def read_packed(document, ip_version, previous, previous_digest):
    """The `incremental.Parsed` of ``document``: ``previous`` itself when
    the document is byte for byte the one ``previous`` was read from."""
    if (previous is not None and previous_digest is not None
            and previous.config.ip_version == ip_version
            and packed_digest(document) == previous_digest):
        return previous
    try:
        return read_document(document_value(document), ip_version, previous)
    finally:
        if isinstance(document, PackedJSON):
            document.release()  # read: only its bytes are kept, for the state file
