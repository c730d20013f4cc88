"""Cleaning dhcpd's leases file of host records (pure: bytes in, bytes out).

Every host object created, changed or deleted over OMAPI is written to the
leases file as a ``host`` record (a delete as ``host NAME { dynamic; deleted; }``),
and dhcpd replays them at start. Reservations must come only from the config
rackd wrote and the OMAPI calls made since, so before each dhcpd start the
file is rewritten without its top-level ``host`` records. Everything else —
``lease``, ``ia-na``/``ia-ta``/``ia-pd``, ``failover peer`` state, ``server-duid``,
``authoring-byte-order``, comments — is kept byte for byte.

The splitter knows dhcpd's lexical rules that matter here: quoted strings
with backslash escapes, ``#`` comments to the end of the line, and nested
braces. A file it cannot split cleanly (unbalanced braces, an unterminated
string: a torn write) is never half-cleaned: `salvage` keeps the statements
before the damage, cleaned, and the backend moves the file aside and
starts dhcpd from those (dhcpd itself would read up to the damage and drop
the rest, host records of old OMAPI changes included in what it read).

How it is fast. At 50,000 leases and as many host records the file is some
20 MB; the first splitter walked it one character at a time in Python and
took 2-3 s, inside the restart's outage. This one works on the bytes as read
and lets one compiled regular expression take a whole statement with the
gap before it (a lease, or an ia-na with its nested iaaddr, strings and
comments included) in one call, its group ``host`` saying whether to drop
it; what that expression does not take (braces nested deeper, a torn or
wrong statement, a trailing gap) goes to a slower path that searches for
the next byte that matters (``{ } " ; #``) and names what is wrong. A
statement costs one call into the regex engine instead of ~300 turns of a
Python loop (bench/leasesfile_strip.py measures both, and checks that they
keep the same bytes). Whitespace is what dhcpd's lexer calls whitespace,
ASCII space, tab, CR, LF, VT and FF: the old splitter, on decoded text, also
took Unicode spaces (and ``\\x1c``-``\\x1f``) for separators, which dhcpd
never writes outside a string.

Scanning ahead of the stop. The scan is the expensive part; the restart
should not wait for it while no dhcpd serves. `scan` therefore runs while
the old dhcpd still serves and keeps its work: the cleaned bytes up to the
end of the last complete statement (a statement dhcpd is in the middle of
writing is not complete yet, and is no error at that point). `finish`, once
the old dhcpd has stopped, takes the file as it is then: when it still
starts with the scanned bytes (dhcpd only appends between its rewrites), only
the bytes from the resume point on are split, so the records dhcpd appended
meanwhile are kept (or dropped, for hosts) like any other; when it does not
(dhcpd rewrote the file, or someone else did), the whole file is cleaned
again. Either way the result is what `strip_host_records` gives on the final
file, because a top-level statement boundary resets every lexical state.
"""

import re

import attrs


class UnreadableLeases(ValueError):
    pass


class TornEnd(UnreadableLeases):
    """The last statement is not finished: torn, or still being written."""


_SPACE = b" \t\n\r\v\f"
_GAP = re.compile(rb"(?:[ \t\n\r\v\f]+|#[^\n]*\n?)+")
_WORD = re.compile(rb"[^ \t\n\r\v\f;{]*")
_TOP = re.compile(rb'[{}";#]')  # what matters at a statement's top level
# Python 3.11.2 (this venv's) gives wrong matches for nested possessive
# quantifiers (``(?:(?:[^;]++)*+;)*+`` matches "lease"), so none are used.
# Instead every run is followed by a lookahead that forbids a shorter one:
# each alternative can then match in one way only, and a match that fails
# gives up in linear time (no catastrophic backtracking on a torn file).
_STRING = rb'"[^"\\]*(?:\\.[^"\\]*)*"'
_FLAT = rb'(?:[^{}"#]+(?![^{}"#])|' + _STRING + rb"|#[^\n]*\n)*"
# Inside braces: everything up to the next brace, strings and comments whole.
_BODY = re.compile(_FLAT, re.S)
_STRING_REST = re.compile(_STRING[1:], re.S)  # after the opening quote
# One statement up to two levels of braces deep (a lease; an ia-na with its
# iaaddr), with the gap before it: the common case, one call into the regex
# engine. Its group "host" is set when the first word is "host".
_HEAD = rb'(?:[^{}";#]+(?![^{}";#])|' + _STRING + rb"|#[^\n]*\n)*"
_BLOCK = rb'\{(?:[^{}"#]+(?![^{}"#])|' + _STRING + rb"|#[^\n]*\n|\{" + _FLAT + rb"\})*\}"
_NEXT = re.compile(rb"(?:[ \t\n\r\v\f]+(?![ \t\n\r\v\f])|#[^\n]*(?:\n|\Z))*(?![ \t\n\r\v\f#])(?P<at>)"
                   rb"(?P<host>host(?=[ \t\n\r\v\f;{]|\Z))?" + _HEAD + rb"(?:;|" + _BLOCK + rb")",
                   re.S)
_OPEN, _CLOSE, _QUOTE, _HASH, _NEWLINE = b"{}\"#\n"


def _statement_end(data, start, word):
    """The offset just past the statement that starts at ``start``."""
    i = start
    while True:  # at the statement's top level, before any brace
        found = _TOP.search(data, i)
        if found is None:
            raise TornEnd(f"statement at offset {start} ({word!r}) is not closed")
        i = found.start()
        c = data[i]
        if c == _QUOTE:
            string = _STRING_REST.match(data, i + 1)
            if string is None:
                raise TornEnd(f"unterminated string in statement at offset {start}")
            i = string.end()
        elif c == _HASH:
            newline = data.find(b"\n", i)
            if newline == -1:
                raise TornEnd(f"statement at offset {start} ({word!r}) is not closed")
            i = newline + 1
        elif c == _CLOSE:
            raise UnreadableLeases(f"unbalanced '}}' at offset {i}")
        elif c == _OPEN:
            break
        else:  # ";"
            return i + 1
    depth = 0
    while True:  # data[i] is a brace
        depth += 1 if data[i] == _OPEN else -1
        if depth == 0:
            return i + 1
        i = _BODY.match(data, i + 1).end()
        if i == len(data) or data[i] not in b"{}":
            if i < len(data) and data[i] == _QUOTE:
                raise TornEnd(f"unterminated string in statement at offset {start}")
            raise TornEnd(f"statement at offset {start} ({word!r}) is not closed")


@attrs.frozen
class Scan:
    """A pass over the leases file, to be finished by `finish`.

    ``kept`` is the cleaned form of ``data[:resume]``, which ends with a
    complete statement; ``after_host`` says whether that statement was a host
    record (whose line end is dropped with it).
    """

    data: bytes = attrs.field(repr=lambda data: f"<{len(data)} bytes>")
    kept: bytes = attrs.field(repr=lambda kept: f"<{len(kept)} bytes>")
    removed: int
    resume: int
    after_host: bool


def _is_host(data, i):
    """Whether the statement at ``i`` has the first word ``host``."""
    return data.startswith(b"host", i) and (i + 4 == len(data) or data[i + 4] in _SPACE + b";{")


def _clean(data, start=0, after_host=False, torn_end_ok=False, damage=None):
    """(kept spans, removed, resume, after_host) for ``data`` from ``start``:
    ``resume`` is the end of the last complete statement, ``after_host``
    whether that was a host record (its line end goes with it). Given a
    list ``damage``, the first statement that does not split stops the
    walk instead of raising, and what was wrong is appended to it."""
    spans, removed, n = [], 0, len(data)
    i = resume = start
    if after_host and data[i:i + 1] == b"\n":
        i += 1
    kept_from = i
    match = _NEXT.match
    while True:
        found = match(data, i)
        if found is not None:
            at, end, host = found.start("at"), found.end(), found.start("host") >= 0
        else:
            # Deeper braces, a torn or wrong statement, or only a gap left:
            # the slow path takes it, and names what is wrong.
            gap = _GAP.match(data, i)
            at = gap.end() if gap is not None else i
            if at == n:
                break
            host = _is_host(data, at)
            try:
                end = _statement_end(data, at, _WORD.match(data, at).group())
            except UnreadableLeases as error:
                if torn_end_ok and isinstance(error, TornEnd):
                    break
                if damage is None:
                    raise
                damage.append((at, str(error)))
                break
        resume, after_host, i = end, host, end
        if host:
            removed += 1
            if at > kept_from:
                spans.append((kept_from, at))
            if data[end:end + 1] == b"\n":
                i += 1
            kept_from = i
    if n > kept_from:
        spans.append((kept_from, n))
    return spans, removed, resume, after_host


def _join(data, spans):
    return b"".join(data[begin:end] for begin, end in spans)


def strip_host_records(data):
    """(``data`` without top-level host records, number removed).

    Raises `UnreadableLeases` when the file cannot be split safely.
    """
    spans, removed, _, _ = _clean(data)
    return _join(data, spans), removed


def scan(data):
    """A `Scan` of ``data``, which dhcpd may still be appending to (an
    unfinished last statement is left for `finish`). Raises
    `UnreadableLeases` for what no later append can mend."""
    spans, removed, resume, after_host = _clean(data, torn_end_ok=True)
    # What lies past the resume point (a gap, a torn statement) is split again
    # by `finish`: a comment cut short there may go on in the next bytes.
    kept = [(begin, min(end, resume)) for begin, end in spans if begin < resume]
    return Scan(data, _join(data, kept), removed, resume, after_host)


def finish(earlier, data):
    """(``data`` without top-level host records, number removed), reusing the
    `Scan` ``earlier`` when ``data`` only grew since. Raises `UnreadableLeases`
    like `strip_host_records`."""
    if earlier is None or not data.startswith(earlier.data):
        return strip_host_records(data)
    spans, removed, _, _ = _clean(data, earlier.resume, earlier.after_host)
    return earlier.kept + _join(data, spans), earlier.removed + removed


def salvage(data):
    """What dhcpd can start from when `strip_host_records` refuses ``data``
    (a torn write, damage): (the statements before the first that does not
    split, cleaned of host records; host records removed; the offset where
    the damage starts; what is wrong there, or None when nothing is)."""
    damage = []
    spans, removed, _, _ = _clean(data, damage=damage)
    if not damage:
        return _join(data, spans), removed, len(data), None
    at, problem = damage[0]  # where the statement that does not split begins
    kept = [(begin, min(end, at)) for begin, end in spans if begin < at]
    return _join(data, kept), removed, at, problem
