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
  Python's recursion limit (about 1,000) gets the same message;
- a string or a mapping key with a lone surrogate;
- a number too long to read (Python reads 4,300 digits at most).

`value_problems` runs first in every reader of a value (`document.
parse_document`, `incremental.read_document`), whatever the value came
from: a file through rackctl, the region's RPC, the control socket or the
state file at start. The strings of an unchanged host are not walked again
by the incremental reader: they equal strings it already checked.
"""

import json

import yaml

from provisioningserver.dhcp.docvalues import join_path
from provisioningserver.dhcp.errors import DocumentError, Problem

MAX_DEPTH = 64
_MAX_PROBLEMS = 20
# The path of a value nested too deeply is shown this many steps long.
_SHOWN_SEGMENTS = 8


def too_deep_message(source=None):
    """Why a value nested too deeply is refused; ``source`` names the whole
    document when the problem has no field path."""
    subject = f"{source} nests" if source else "nests"
    return (f"{subject} lists and mappings more than {MAX_DEPTH} levels deep; "
            f"a document may nest {MAX_DEPTH} at most")


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
    if text.lstrip()[:1] == "{":
        # JSON is read as JSON first: PyYAML took 1.5 s for a 10,000-host
        # document that json reads in 3 ms. Anything json refuses is YAML's.
        try:
            data = json.loads(text)
        except RecursionError:
            raise DocumentError([Problem("", too_deep_message(source))]) from None
        except ValueError:
            pass
        else:
            raise_problems(data)
            return data
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DocumentError([Problem("", f"{source} is not valid YAML or JSON{where}: "
                                         f"{getattr(error, 'problem', None) or error}")])
    except _TooDeep as error:
        raise DocumentError([Problem("", too_deep_message(source) + error.where)]) from None
    except ValueError as error:
        # An integer of more than 4,300 digits, a date with a 13th month.
        reason = ("holds a number of more than 4,300 digits" if "digits" in str(error)
                  else f"is not readable: {error}")
        raise DocumentError([Problem("", f"{source} {reason}")]) from None
    if data is None:
        data = {}
    raise_problems(data)
    return data


class _TooDeep(Exception):
    def __init__(self, mark):
        super().__init__(mark)
        self.where = f" (at line {mark.line + 1}, column {mark.column + 1})" if mark else ""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing the 65th level of nesting as it
    composes it (the composer recurses once a level)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if not self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


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
