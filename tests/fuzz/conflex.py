"""Reading rendered dhcpd.conf text as dhcpd's lexer does, to see injections.

An injection is a document string that leaves its place in dhcpd's syntax:
a quote that ends a quoted string early, a semicolon that ends a statement,
a brace that opens or closes a block, a line break that ends a comment, a
space that splits a bare name in two. Whatever the string was meant to be,
the result is text that dhcpd reads as more (or other) statements than the
template wrote.

To see that exactly, the rendered text is cut into tokens the way dhcpd's
own lexer (common/conflex.c) cuts it: ``#`` to the end of the line is a
comment, wherever it stands outside a string; a ``"`` opens a string that
only an unescaped ``"`` closes, with dhcpd's escapes (``\\t``, ``\\r``,
``\\n``, ``\\b``, octal, ``\\x`` hex, any other character as itself); ``{``,
``}``, ``;`` and ``,`` are tokens of their own; whitespace separates the
rest. Comments are dropped. Where dhcpd would cut a bare word further (at
``.``, ``:``, ``=``), this lexer keeps one *atom*: the document's bare
values (host names, MACs, addresses) cannot contain whitespace or the four
punctuation characters once the validator has accepted them, so an atom
is exactly one of them or one of the template's words.

`compare` then holds the tokens of the config against those of its inert
twin (`tests.fuzz.inert`: the same config with every document string
replaced by a placeholder that cannot leave its place). The two must have
the same tokens, kind for kind, punctuation for punctuation, each atom and
each string's decoded value equal once the twin's placeholders are put back
to the strings they stand for. Any difference is a string that changed the
structure, or a string that dhcpd would read as another value than the
document's: both are counted as injections.
"""

import re

_SPACE = " \t\r\n\v\f"
_PUNCT = "{};,"
_ESCAPES = {"t": "\t", "r": "\r", "n": "\n", "b": "\b"}
PLACEHOLDER = re.compile(r"zfuzz\d+z")


def tokens(text):
    """[(kind, value)] of ``text``: kind "atom", "string", "punct", or
    "open-string" (a string no quote closes, running to the end)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c in _SPACE:
            i += 1
        elif c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif c == '"':
            value, i, closed = _string(text, i + 1)
            out.append(("string" if closed else "open-string", value))
        elif c in _PUNCT:
            out.append(("punct", c))
            i += 1
        else:
            j = i
            while j < n and text[j] not in _SPACE and text[j] not in _PUNCT and text[j] not in '"#':
                j += 1
            out.append(("atom", text[i:j]))
            i = j
    return out


def _string(text, i):
    """(decoded value, index after the closing quote, closed) from just after a quote."""
    value, n = [], len(text)
    while i < n:
        c = text[i]
        if c == '"':
            return "".join(value), i + 1, True
        if c != "\\" or i + 1 >= n:
            value.append(c)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt in "01234567":
            digits = re.match(r"[0-7]{1,3}", text[i + 1:]).group()
            value.append(chr(int(digits, 8) & 0xff))
            i += 1 + len(digits)
        elif nxt == "x" and re.match(r"[0-9a-fA-F]", text[i + 2:i + 3]):
            digits = re.match(r"[0-9a-fA-F]{1,2}", text[i + 2:]).group()
            value.append(chr(int(digits, 16)))
            i += 2 + len(digits)
        else:
            value.append(_ESCAPES.get(nxt, nxt))
            i += 2
    return "".join(value), n, False


def compare(config_text, twin_text, originals):
    """None when ``config_text`` has the structure of ``twin_text``; else a
    sentence saying where they part. ``originals`` maps each placeholder of
    the twin to the document string it stands for."""
    ours, theirs = tokens(config_text), tokens(twin_text)

    def restore(text):
        return PLACEHOLDER.sub(lambda m: originals[m.group()], text)

    for index, (got, expected) in enumerate(zip(ours, theirs)):
        if got[0] != expected[0] or (got[0] == "punct" and got[1] != expected[1]):
            return _parted(index, ours, f"a {got[0]} {got[1]!r} where the template has "
                                        f"a {expected[0]} {restore(expected[1])!r}")
        if got[0] != "punct" and got[1] != restore(expected[1]):
            what = "string reads as" if got[0] == "string" else "atom is"
            return _parted(index, ours, f"the {what} {got[1]!r}, not the document's "
                                        f"{restore(expected[1])!r}")
    if len(ours) != len(theirs):
        index = min(len(ours), len(theirs))
        return _parted(index, ours, f"{len(ours)} tokens where the template has {len(theirs)}")
    return None


def _parted(index, ours, message):
    context = " ".join(value if kind != "string" else repr(value)
                       for kind, value in ours[max(index - 4, 0):index + 4])
    return f"token {index}: {message} (near: {context[:200]})"
