"""YAML for documents: JSON's types only.

A document reaches rackd as YAML or JSON text from a file, and always as
JSON from rackctl to the agent and from the region: ``rackctl configure``
reads a YAML file and sends its value as JSON. PyYAML's safe loader builds
more than JSON can carry: dates and timestamps (``2001-12-14``, unquoted),
``!!binary`` bytes, ``!!set``, ``!!omap`` and ``!!pairs``. Such a value made
``rackctl check`` answer one thing (a field of the wrong type) and
``rackctl configure`` crash with a traceback (``Object of type date is not
JSON serializable``), found by the document fuzzer (tests/fuzz).

So the document's loader builds what JSON would: a date or timestamp stays
the string it was written as (no field of the document is a date, and the
field's own check then says what it expected), and the tags JSON has no
type for are refused with their line and column. An integer literal too
long for Python's ``int()`` (over 4,300 digits) is refused the same way:
PyYAML let its ValueError out, and a JSON document with one fell through
to YAML on its way to that error. And a character beyond the BMP written as
a surrogate pair of ``\\u`` escapes (``"\\ud83d\\ude00"``, as JSON writers
write them) is the one character the pair encodes, as JSON reads it: PyYAML
read two lone surrogates, which the JSON rackctl sends made one character
again, so check and configure read different documents.
"""

import yaml


class DocumentLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` building only what JSON can hold."""


def _as_text(loader, node):
    return loader.construct_scalar(node)


def _text(loader, node):
    text = yaml.SafeLoader.construct_yaml_str(loader, node)
    if not text.isascii() and any("\ud800" <= c <= "\udfff" for c in text):
        try:
            return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        except UnicodeDecodeError:
            pass  # a lone surrogate: left for the field's own check
    return text


def _integer(loader, node):
    try:
        return yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError:
        raise yaml.constructor.ConstructorError(
            None, None, f"an integer of {len(node.value)} characters is too long to read",
            node.start_mark)


def _refused(loader, node):
    tag = node.tag.rsplit(":", 1)[-1]
    raise yaml.constructor.ConstructorError(
        None, None, f"YAML's !!{tag} is not a type a document holds (mappings, lists, "
                    "strings, numbers, true/false and null)", node.start_mark)


DocumentLoader.add_constructor("tag:yaml.org,2002:timestamp", _as_text)
DocumentLoader.add_constructor("tag:yaml.org,2002:int", _integer)
DocumentLoader.add_constructor("tag:yaml.org,2002:str", _text)
for _tag in ("binary", "set", "omap", "pairs"):
    DocumentLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refused)


def load(text):
    """The value of YAML ``text``; `yaml.YAMLError` (with a mark) when it is not one."""
    return yaml.load(text, Loader=DocumentLoader)
