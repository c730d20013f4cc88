"""Writing a mutated document as JSON or YAML text, the way no library would.

The fuzzer wants texts that `json.dumps` and `yaml.safe_dump` refuse to
write or write only one way: a mapping with the same key twice, an integer
of 5,000 digits, a list nested 3,000 deep, a YAML scalar left unquoted so
that YAML reads ``yes``, ``0x1f`` or ``2001-01-01`` as something else than
a string, a YAML tag (``!!binary``, ``!!set``). So mutated values are plain
Python values (dicts, lists, strings, numbers, booleans, None) plus four
markers, and this module writes them:

- `Pairs`: a mapping as (key, value) pairs, where a key may repeat;
- `Plain`: a YAML scalar written exactly as given (in JSON: a string);
- `BigInt`: the digits of an integer too long for ``int()``'s default limit;
- `Deep`: ``depth`` levels of ``[`` or ``{"k":`` around a value, written
  without recursion (the point is to be deeper than the reader's stack).

Strings are written with JSON's escapes (ASCII only), which YAML's double
quoted style shares, so a lone surrogate reaches the reader as ``\\ud800``
in either format and not as bytes no encoder would write. Pure: values in,
text out.
"""

import json
import math
import re


class Pairs(list):
    """A mapping as a list of (key, value) pairs; keys may repeat."""


class Plain(str):
    """A YAML scalar written as it is, unquoted (a JSON string in JSON)."""


class BigInt(str):
    """An integer literal of these digits, however long."""


class Deep:
    """``depth`` levels of list (or mapping, key "k") around ``value``."""

    def __init__(self, depth, value=0, mapping=False):
        self.depth, self.value, self.mapping = depth, value, mapping

    def __eq__(self, other):
        return isinstance(other, Deep) and (self.depth, self.value, self.mapping) == (
            other.depth, other.value, other.mapping)

    def __repr__(self):
        return f"Deep({self.depth}, {self.value!r}, mapping={self.mapping})"


def _scalar_json(value):
    if isinstance(value, BigInt):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return json.dumps(value)  # str (Plain too), int, bool, None, finite float


def to_json(value, indent=None):
    """``value`` as JSON text (the markers written as the module docstring says)."""
    out = []
    _json(value, out, indent, 0)
    return "".join(out)


def _json(value, out, indent, level):
    pad = "" if indent is None else "\n" + " " * (indent * (level + 1))
    end = "" if indent is None else "\n" + " " * (indent * level)
    if isinstance(value, Deep):
        opener, closer = ('{"k": ', "}") if value.mapping else ("[", "]")
        out.append(opener * value.depth)
        _json(value.value, out, indent, level)
        out.append(closer * value.depth)
    elif isinstance(value, (dict, Pairs)):
        items = value.items() if isinstance(value, dict) else value
        parts = []
        for key, item in items:
            inner = []
            _json(item, inner, indent, level + 1)
            parts.append(pad + json.dumps(str(key) if not isinstance(key, str) else key)
                         + ": " + "".join(inner))
        out.append("{" + ",".join(parts) + (end if parts else "") + "}")
    elif isinstance(value, list):
        parts = []
        for item in value:
            inner = []
            _json(item, inner, indent, level + 1)
            parts.append(pad + "".join(inner))
        out.append("[" + ",".join(parts) + (end if parts else "") + "]")
    else:
        out.append(_scalar_json(value))


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _scalar_yaml(value):
    if isinstance(value, (Plain, BigInt)):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return json.dumps(value)  # double-quoted: YAML reads JSON's escapes


def _key_yaml(key):
    if isinstance(key, str) and not isinstance(key, Plain) and _PLAIN_KEY.fullmatch(key) \
            and key not in ("null", "true", "false", "yes", "no", "on", "off", "y", "n"):
        return key
    return _scalar_yaml(key)


def to_yaml(value):
    """``value`` as block-style YAML text."""
    lines = []
    _yaml(value, lines, 0)
    return "\n".join(lines) + "\n"


def _flow(value):
    """A value YAML can take on one line: scalars, empty collections, `Deep`."""
    if isinstance(value, Deep):
        return to_json(value)  # JSON is YAML's flow style
    if isinstance(value, (dict, Pairs)) and not value:
        return "{}"
    if isinstance(value, list) and not value:
        return "[]"
    if isinstance(value, (dict, Pairs, list)):
        return None
    return _scalar_yaml(value)


def _yaml(value, lines, level):
    pad = "  " * level
    flow = _flow(value)
    if flow is not None:
        lines.append(pad + flow)
        return
    if type(value) is list:  # Pairs is a list too, but a mapping
        entries = [("- ", "-", item) for item in value]
    else:
        items = value.items() if isinstance(value, dict) else value
        entries = [(f"{_key_yaml(key)}: ", f"{_key_yaml(key)}:", item) for key, item in items]
    for inline, alone, item in entries:
        flow = _flow(item)
        if flow is not None:
            lines.append(pad + inline + flow)
        else:
            lines.append(pad + alone)
            _yaml(item, lines, level + 1)
