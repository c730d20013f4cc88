"""The document's field table, read from the model's own fields.

A DHCP config document is the model written out: a mapping per value, one
key per field, nested lists for nested values. Rather than keep a list of
fields beside the model for the reader's "unknown field" and "required field"
checks and another for the writer, both ask the model: every field of the
classes in `provisioningserver.dhcp.model` that the document holds carries
``metadata={"doc": kind}``. Its name is the document's key, its place among
the class's fields is the key's place in a written mapping, and a field with
no default is one the document must give.

The kind says how `provisioningserver.dhcp.docwrite` writes the value:

    value      as it is (strings, numbers, booleans, null)
    text       ``str()`` of it (addresses, networks); null stays null
    texts      a list of ``str()`` of each item
    items      a list of the nested values, each written as a mapping
    options    the override settings as their mapping (`options.to_mapping`)
    optional   as it is, and the key is left out when it is null
    pairs      a mapping from the (key, value) pairs the model keeps as a tuple

Both tables are computed once per class: the reader consults one for every
item of a 10,000-host document.
"""

import functools

import attrs

KINDS = ("value", "text", "texts", "items", "options", "optional", "pairs")


@functools.cache
def document_fields(cls):
    """``(name, kind)`` of each field of ``cls`` that the document holds, in document order."""
    fields = tuple((f.name, f.metadata["doc"]) for f in attrs.fields(cls) if "doc" in f.metadata)
    unknown = [name for name, kind in fields if kind not in KINDS]
    if unknown:
        raise TypeError(f"{cls.__name__}: fields of no known document kind: {unknown}")
    return fields


@functools.cache
def required_fields(cls):
    """The document's keys for ``cls``, each mapped to whether the document must give it."""
    return {f.name: f.default is attrs.NOTHING
            for f in attrs.fields(cls) if "doc" in f.metadata}
