"""What a document must be before the reader walks it: text, shallow, Unicode.

A fuzzer fed rackctl 10,000 hostile documents and 215 of them ended in a
traceback (exit 1, the code for "dhcpd rejected") instead of exit 2 naming
a field: 137 `RecursionError` from JSON or YAML nested thousands of levels
deep (both parsers recurse once a level, and so does everything that
prints, compares or copies such a value), 62 `UnicodeDecodeError` from a
file that is not UTF-8, and 16 lone surrogates: JSON's ``"\\ud800"`` escape
makes a Python string that no UTF-8 writer takes, so rendering it, printing
it or saving the state raised. Each is now a `DocumentError` with the path
of the field, or none for the document as a whole:

- bytes that are not UTF-8 (`decode`: the offset, line and column of the
  first bad byte);
- lists and mappings nested more than `MAX_DEPTH` (64) levels deep. The
  document's own shape needs 9 at most (a snippet of a pool of a subnet of
  a shared network), so the limit costs no valid document anything. It is
  counted, not left to the recursion limit: the YAML loader counts levels
  as it composes them and stops at the 65th, and `value_problems` walks a
  value with a list of its own, visiting a value shared through YAML
  aliases again only when it is met deeper (so an alias cycle is "too deep"
  too, not a hang). JSON's parser, in C, recurses: a text nested past
  Python's recursion limit (about 1,000) is handed to the YAML loader,
  which counts and says at which line and column the 65th level opens;
- a string or a mapping key with a lone surrogate;
- a number too long to read (Python reads 4,300 digits at most), with its
  line and column (`docyaml`, which also keeps a YAML document to JSON's
  types).

How much text is read at all, before any parser sees it:

- YAML text: `MAX_YAML_TEXT`, 8 MiB. PyYAML (its pure-Python loader, which
  the document's loader is) holds 50 to 90 times a text's size while it
  reads it: 175 MB for the fuzzer's 3.6 MB document, and 86 times for a
  site of hosts, 684 MiB and 36 s at 8 MiB (bench/yaml_memory.py); with no
  cap a YAML file took rackctl, or rackd.yaml's reader, as much as it was
  large. 8 MiB is well above a real site: 50,000 hosts are 3.1 MB of YAML.
  Larger sites are JSON, which costs a few times its size.
- JSON text: `MAX_JSON_TEXT`, 256 MiB, the document limit of the AMP links
  (`system.packed.MAX_DECODED`, what a packed document may decode to), so
  a file refused here is one the agent would refuse anyway, and one read
  here is one it takes. JSON's cap is the higher since json reads it in C
  at a few times its size; YAML's is 32 times lower for PyYAML's 86 times.
- YAML aliases: `MAX_EXPANDED` values, 4 Mi. PyYAML shares an aliased
  value, so a "billion laughs" (nine aliases of nine aliases, nine levels
  deep) loads small and fast; but everything after the load sees the
  value expanded: the reader walks each of its 387 million strings and
  rackctl configure writes them all as JSON (gigabytes). The loader counts
  the values as it composes them, an alias counting as all it stands for,
  and refuses the alias that takes the count past 4 Mi, with its line and
  column. An 8 MiB document without aliases holds fewer values than that
  (each takes two bytes at least, ``1,`` in a flow list).

`value_problems` runs first in every reader of a value (`document.
parse_document`, `incremental.read_document`), whatever the value came
from: a file through rackctl, the region's RPC, the control socket or the
state file at start. The strings of an unchanged host are not walked again
by the incremental reader: they equal strings it already checked.
"""

import json

import yaml

from provisioningserver.dhcp.docvalues import join_path
from provisioningserver.dhcp.docyaml import DocumentLoader
from provisioningserver.dhcp.errors import DocumentError, Problem

MAX_DEPTH = 64
MAX_YAML_TEXT = 8 << 20  # bytes of YAML text a document may be
MAX_JSON_TEXT = 256 << 20  # bytes of JSON text: the AMP links' system.packed.MAX_DECODED
MAX_EXPANDED = 4 << 20  # values of a YAML document, its aliases expanded
_MAX_PROBLEMS = 20
# The path of a value nested too deeply is shown this many steps long.
_SHOWN_SEGMENTS = 8


def too_deep_message(source=None):
    """Why a value nested too deeply is refused; ``source`` names the whole
    document when the problem has no field path."""
    subject = f"{source} nests" if source else "nests"
    return (f"{subject} lists and mappings more than {MAX_DEPTH} levels deep; "
            f"a document may nest {MAX_DEPTH} at most")


def text_size(text):
    """Bytes of ``text`` (str) as UTF-8, without encoding ASCII text."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def too_large(source, size, kind=None):
    """The `DocumentError` for ``size`` bytes (a number, or text such as
    "over N") of ``kind`` text ("YAML", "JSON", or None: either), over the
    limit of that kind."""
    size = f"{size:,}" if isinstance(size, int) else size
    if kind == "YAML":
        rule = (f"YAML text may be at most {MAX_YAML_TEXT:,} bytes ({MAX_YAML_TEXT >> 20} MiB: "
                f"reading YAML costs up to 90 times its size in memory; as JSON a document "
                f"may be {MAX_JSON_TEXT >> 20} MiB)")
    else:
        rule = (f"a document may be at most {MAX_JSON_TEXT:,} bytes ({MAX_JSON_TEXT >> 20} MiB, "
                "the document limit of rackd's RPC)")
        if kind is None:
            rule += f" as JSON, and {MAX_YAML_TEXT >> 20} MiB as YAML"
    what = f" of {kind}" if kind else ""
    return DocumentError([Problem("", f"{source} is {size} bytes{what}: {rule}")])


def decode(data, source="document"):
    """``data`` (bytes) as text; a `DocumentError` naming where it is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise DocumentError([Problem("", (
            f"{source} is not UTF-8 text: byte {data[error.start]:#04x} at offset "
            f"{error.start} (line {line}, column {column})"))]) from None


def load_json(text, source="document"):
    """The value of JSON ``text`` (str or bytes), checked by `value_problems`;
    `DocumentError` for anything that is not a readable, acceptable JSON value."""
    if len(text) > MAX_JSON_TEXT:
        raise too_large(source, len(text), "JSON")
    if isinstance(text, (bytes, bytearray)):
        text = decode(bytes(text), source)
    try:
        value = json.loads(text)
    except RecursionError:
        raise DocumentError([Problem("", too_deep_message(source))]) from None
    except ValueError as error:
        raise DocumentError([Problem("", f"{source} is not valid JSON: {error}")]) from None
    raise_problems(value)
    return value


def load_document(text, source="document"):
    """Parse YAML or JSON text (JSON is YAML) into a value checked by
    `value_problems`; a `DocumentError` for anything else."""
    # Bytes are counted only where the characters could be over a limit.
    size = text_size(text) if len(text) > MAX_YAML_TEXT // 4 else len(text)
    if text.lstrip()[:1] == "{":
        if size > MAX_JSON_TEXT:
            raise too_large(source, size, "JSON")
        # JSON is read as JSON first: PyYAML took 1.5 s for a 10,000-host
        # document that json reads in 3 ms. Anything json refuses is YAML's.
        try:
            data = json.loads(text)
        except (RecursionError, ValueError) as error:
            # Anything json refuses is YAML's, nesting past json's recursion
            # too: YAML's loader counts the levels and says at which line
            # the 65th opens (the fuzzer counted the bare refusal as one
            # that names no place).
            if size > MAX_YAML_TEXT:
                raise DocumentError([Problem("", (
                    f"{source} is not valid JSON ({_json_error(error)}), and at {size:,} "
                    f"bytes too large to read as YAML (at most {MAX_YAML_TEXT:,} bytes, "
                    f"{MAX_YAML_TEXT >> 20} MiB)"))]) from None
        else:
            raise_problems(data)
            return data
    if size > MAX_YAML_TEXT:
        raise too_large(source, size, "YAML")
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DocumentError([Problem("", f"{source} is not valid YAML or JSON{where}: "
                                         f"{getattr(error, 'problem', None) or error}")])
    except _TooDeep as error:
        raise DocumentError([Problem("", too_deep_message(source) + error.where)]) from None
    except _TooMany as error:
        raise DocumentError([Problem("", (
            f"{source}'s YAML aliases expand it to more than {MAX_EXPANDED:,} values "
            f"(the alias *{error.anchor}{error.where}); a document may expand to "
            f"{MAX_EXPANDED:,} at most"))]) from None
    except ValueError as error:
        # A constructor's own refusal. Long integers and dates (a 13th
        # month) are docyaml's now, refused with their line; kept for any other.
        raise DocumentError([Problem("", f"{source} is not readable: {error}")]) from None
    if data is None:
        data = {}
    raise_problems(data)
    return data


def _json_error(error):
    return "nested too deeply" if isinstance(error, RecursionError) else str(error)


class _TooDeep(Exception):
    def __init__(self, mark):
        super().__init__(mark)
        self.where = f" (at line {mark.line + 1}, column {mark.column + 1})" if mark else ""


class _TooMany(Exception):
    def __init__(self, event):
        super().__init__(event.anchor)
        mark = event.start_mark
        self.anchor = event.anchor
        self.where = f" at line {mark.line + 1}, column {mark.column + 1}"


class _Loader(DocumentLoader):
    """The document's YAML loader (`docyaml`: JSON's types only), refusing
    the 65th level of nesting as it composes it (the composer recurses once
    a level), and the alias that expands the document past `MAX_EXPANDED`
    values."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._values = 0  # composed so far, an alias counting as all it stands for
        self._sizes = {}  # anchor -> the values its node stands for

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            # An anchor still being composed (an alias inside itself) counts
            # one: its endless depth is refused as too deep.
            self._values += self._sizes.get(event.anchor, 1)
            if self._values > MAX_EXPANDED:
                raise _TooMany(event)
            return node
        before = self._values
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            self._depth += 1
            try:
                if self._depth > MAX_DEPTH:
                    raise _TooDeep(event.start_mark)
                node = super().compose_node(parent, index)
            finally:
                self._depth -= 1
        else:
            node = super().compose_node(parent, index)
        self._values += 1
        if event.anchor is not None:
            self._sizes[event.anchor] = self._values - before
        return node


def raise_problems(value, path="", depth=1):
    """Raise a `DocumentError` if `value_problems` finds any."""
    problems = value_problems(value, path, depth)
    if problems:
        raise DocumentError(problems)


def value_problems(value, path="", depth=1):
    """What makes ``value`` (at ``path``, ``depth`` levels down) unfit to be
    read: nesting past `MAX_DEPTH`, lone surrogates. A list of `Problem`."""
    problems = []
    # (value, depth, parent entry, key or index): paths are built only for problems.
    root = (value, depth, None, path)
    stack, deepest = [root], {}
    while stack and len(problems) < _MAX_PROBLEMS:
        entry = stack.pop()
        current, level = entry[0], entry[1]
        kind = type(current)
        if kind is dict or kind is list:
            if level > MAX_DEPTH:
                where = _path(entry, _SHOWN_SEGMENTS)
                problems.append(Problem(where, too_deep_message(None if where else "document")))
                continue
            if deepest.get(id(current), 0) >= level:
                continue  # met before (a YAML alias), and no deeper
            deepest[id(current)] = level
            pairs = current.items() if kind is dict else enumerate(current)
            below = len(stack)
            for key, item in pairs:
                if kind is dict and type(key) is str and not key.isascii() and _surrogate(key):
                    problems.append(Problem(_path((None, 0, entry, key)), _surrogate_message(key)))
                kind_of_item = type(item)
                if kind_of_item is str:
                    if not item.isascii() and _surrogate(item):
                        problems.append(Problem(_path((item, 0, entry, key)),
                                                _surrogate_message(item)))
                elif kind_of_item is dict or kind_of_item is list:
                    stack.append((item, level + 1, entry, key))
            if len(stack) - below > 1:
                stack[below:] = stack[:below - 1:-1] if below else stack[::-1]
        elif kind is str and not current.isascii() and _surrogate(current):
            problems.append(Problem(path, _surrogate_message(current)))
    return problems


def _surrogate(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _surrogate_message(text):
    code = next(ord(c) for c in text if 0xD800 <= ord(c) <= 0xDFFF)
    return (f"holds a lone surrogate (U+{code:04X}), which is not Unicode text "
            "(JSON's \\ud800-\\udfff escapes come only in pairs)")


def _path(entry, shown=MAX_DEPTH):
    """The document path of a stack entry, cut short past ``shown`` steps."""
    steps = []  # (whether the parent is a list, key or index), leaf first
    while entry[2] is not None:
        steps.append((type(entry[2][0]) is list, entry[3]))
        entry = entry[2]
    steps.reverse()
    path = entry[3]
    for in_list, key in steps[:shown]:
        path = f"{path}[{key}]" if in_list else join_path(path, _key_text(key))
    if len(steps) > shown:
        path += f"...({len(steps) - shown} levels more)"
    return path


def _key_text(key):
    """A mapping key as a path segment: itself, or escaped when it is not
    plain text (a surrogate must not reach the message)."""
    text = str(key)
    return text if text.isprintable() and (text.isascii() or not _surrogate(text)) \
        else ascii(text)
