"""Hostile variants of a valid document, as bytes, from a seed.

Each variant damages `tests.dhcp.documents.v4` in one of the ways that used
to end in a traceback: a field replaced by lists nested past the limit (or
past Python's recursion limit), a string given a lone surrogate (written as
JSON's escape), a field replaced by a number of 5,000 digits, or a string
given a byte that is not UTF-8. Half come as JSON, half as YAML. The same
seed gives the same variants, so a failure can be replayed.
"""

import json
import random

import yaml

from tests.dhcp.documents import v4

KINDS = ("deep", "deeper-than-python", "surrogate", "long-number", "not-utf8")


def _places(value, path=()):
    """Every (container, key) of ``value`` that holds a scalar or a container."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        yield value, key
        if isinstance(item, (dict, list)):
            yield from _places(item, path + (key,))


def _strings(value):
    return [(c, k) for c, k in _places(value) if isinstance(c[k], str)]


def variant(rng, kind):
    """One hostile document of ``kind``, as the bytes of a file.

    The damage goes in as a marker string, replaced in the written text:
    JSON and YAML writers would escape it or refuse it."""
    document = v4()
    as_json = rng.random() < 0.5
    if kind in ("not-utf8", "surrogate"):
        container, key = rng.choice(_strings(document))
        container[key] += "MARK"
        mark = "\udce9" if kind == "not-utf8" else "\\u%04x" % rng.randrange(0xD800, 0xE000)
    else:
        container, key = rng.choice(list(_places(document)))
        container[key] = "MARK"
        if kind == "long-number":
            mark = "9" * 5000
        else:
            levels = rng.randrange(65, 200) if kind == "deep" else rng.randrange(2000, 20000)
            mark = "[" * levels + "]" * levels
    if as_json:
        text = json.dumps(document)
    else:
        # Double quotes, where YAML reads a \u escape, for the surrogate.
        text = yaml.safe_dump(document, default_style='"' if kind == "surrogate" else None)
    if kind in ("long-number", "deep", "deeper-than-python"):
        text = text.replace('"MARK"', mark)
    return text.replace("MARK", mark).encode("utf-8", "surrogateescape")


def variants(count, seed=2026):
    """``count`` hostile documents, (kind, bytes), the kinds in turn."""
    rng = random.Random(seed)
    return [(KINDS[i % len(KINDS)], variant(rng, KINDS[i % len(KINDS)])) for i in range(count)]
