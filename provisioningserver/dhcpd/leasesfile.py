"""Cleaning dhcpd's leases file of host records (pure).

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
string: a torn write) is left alone and reported, never half-cleaned.
"""


class UnreadableLeases(ValueError):
    pass


def split_statements(text):
    """Yield (start, end, first word) of each top-level statement, and of
    each run of whitespace and comments between them (first word None)."""
    i, n = 0, len(text)
    while i < n:
        start = i
        # Whitespace and comments between statements.
        while i < n and (text[i].isspace() or text[i] == "#"):
            if text[i] == "#":
                end = text.find("\n", i)
                i = n if end == -1 else end + 1
            else:
                i += 1
        if i > start:
            yield start, i, None
            continue
        word_end = i
        while word_end < n and not text[word_end].isspace() and text[word_end] not in ";{":
            word_end += 1
        word = text[i:word_end]
        depth = 0
        while i < n:
            c = text[i]
            if c == '"':
                i += 1
                while i < n and text[i] != '"':
                    i += 2 if text[i] == "\\" else 1
                if i >= n:
                    raise UnreadableLeases(f"unterminated string in statement at offset {start}")
            elif c == "#":
                end = text.find("\n", i)
                i = n - 1 if end == -1 else end
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth < 0:
                    raise UnreadableLeases(f"unbalanced '}}' at offset {i}")
                if depth == 0:
                    i += 1
                    break
            elif c == ";" and depth == 0:
                i += 1
                break
            i += 1
        else:
            raise UnreadableLeases(f"statement at offset {start} ({word!r}) is not closed")
        yield start, i, word


def strip_host_records(text):
    """(text without top-level host records, number removed).

    Raises `UnreadableLeases` when the file cannot be split safely.
    """
    kept, removed = [], 0
    skip_newline = False
    for start, end, word in split_statements(text):
        piece = text[start:end]
        if word == "host":
            removed += 1
            skip_newline = True
            continue
        if skip_newline and word is None and piece.startswith("\n"):
            piece = piece[1:]
        skip_newline = False
        kept.append(piece)
    return "".join(kept), removed
