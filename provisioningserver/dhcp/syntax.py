"""What may stand inside dhcpd's syntax, and how it is quoted.

Every string of the document except snippets lands somewhere in dhcpd.conf:
in a quoted string, as a bare name, or in a comment. A quote, backslash,
semicolon, brace or line break there could close the statement or block and
let the rest of the string be read as dhcpd directives. The document parser
rejects such strings with a message naming the field (`unsafe_reason`), and
the template filters refuse them again (`quote`, `comment`) so that a value
built some other way cannot slip through.
"""

import re

# Characters that end a dhcpd token, string, statement or comment.
_UNSAFE = re.compile(r'["\\;{}#\x00-\x1f\x7f]')
# Matched with fullmatch: "$" would also match before a trailing line break.
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_IFNAME = re.compile(r"[A-Za-z0-9_.-]{1,15}")
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_BARE = re.compile(r"[A-Za-z0-9_.:-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# An iPXE script URL: RFC 3986 characters without "#" (dhcpd's comment, and
# no use in a URL sent to a server) and iPXE's own setting references,
# ``${name}`` or ``${name:type}`` (``${mac}``, ``${mac:hexhyp}``,
# ``${net0/ip}``), which iPXE expands when it reads the filename. A brace
# anywhere else is refused, as in every other document string.
_URL_CHARS = r"A-Za-z0-9._~:/?\[\]@!$&'()*+,=%-"
_IPXE_SETTING = r"\$\{[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)?(?::[a-z0-9]+)?\}"
_IPXE_URL = re.compile(rf"(?:{_IPXE_SETTING}|[{_URL_CHARS}])+")
_IPXE_URL_MAX = 255

# A boot file's path: what a TFTP server and a URL both take as they are.
_BOOT_PATH = re.compile(r"[A-Za-z0-9._~+/-]+")
BOOT_PATH_MAX = 128  # the DHCPv4 header's file field


# dhcpd's lexer reads a quoted string into a 1,500-byte buffer (with its
# terminating NUL): a longer one is "string constant larger than internal
# buffer", measured with dhcpd -t 4.4.3 (1,496 base64 characters pass, 1,500 fail).
STRING_MAX = 1499


class UnsafeString(ValueError):
    """A string that cannot be placed inside dhcpd syntax."""


def describe(char):
    return {
        '"': "a double quote",
        "\\": "a backslash",
        ";": "a semicolon",
        "{": "a brace",
        "}": "a brace",
        "#": "a '#'",
        "\n": "a line break",
        "\r": "a carriage return",
        " ": "a space",
    }.get(char, f"control character {ord(char):#04x}" if _CONTROL.match(char) else repr(char))


def unsafe_reason(text):
    """Why ``text`` cannot go inside dhcpd syntax, or None when it can."""
    found = _UNSAFE.search(text)
    if found is None:
        return None
    return f"contains {describe(found.group())}, which dhcpd syntax does not allow here"


def ipxe_url_reason(text):
    """Why ``text`` cannot be an iPXE script URL or path in a dhcpd quoted string,
    or None when it can.

    Beyond `unsafe_reason`'s rule it admits braces, but only in iPXE setting
    references (``${mac}``): inside a quoted string they cannot end a dhcpd
    block, and quote() escapes nothing they need.
    """
    if not text:
        return "is empty"
    if len(text) > _IPXE_URL_MAX:
        return f"is {len(text)} characters long; {_IPXE_URL_MAX} at most"
    if _IPXE_URL.fullmatch(text):
        return None
    bad = _first_bad(text)
    return f"contains {describe(bad)}, which an iPXE script URL may not hold here" \
        if bad is not None else "is not a URL (letters, digits, URL punctuation, ${setting})"


def _first_bad(text):
    """The first character of ``text`` outside a setting reference that no URL holds."""
    rest = re.sub(_IPXE_SETTING, "", text)
    found = re.search(rf"[^{_URL_CHARS}]", rest)
    return found.group() if found else None


def is_dns_label(text):
    return bool(_LABEL.fullmatch(text))


def is_dns_name(text):
    """A host or domain name: dot-separated DNS labels, 253 characters at most."""
    name = text[:-1] if text.endswith(".") else text
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    # An all-numeric last label is no top-level domain (RFC 3696 2) but a
    # mistyped address, such as 198.18.0.256.
    return all(is_dns_label(label) for label in labels) and not labels[-1].isdigit()


def is_interface_name(text):
    return bool(_IFNAME.fullmatch(text))


def is_object_name(text):
    """A name rackd gives to a dhcpd object (shared network, failover peer)."""
    return bool(_NAME.fullmatch(text))


def boot_path_reason(text):
    """Why ``text`` cannot be a boot file's path, or None when it can.

    The path is placed in a quoted ``filename`` and inside ``tftp://`` and
    ``http://`` URLs, so it keeps to characters that need no quoting in any
    of them (letters, digits, ``. _ ~ + - /``), and it is relative (to the
    TFTP root or the HTTP boot path) without ``..``, empty or trailing
    segments.
    """
    if not text:
        return "must not be empty"
    if len(text) > BOOT_PATH_MAX:
        return f"is {len(text)} characters long; a boot file's path has {BOOT_PATH_MAX} at most"
    bad = _BOOT_PATH.sub("", text)
    if bad:
        shown = describe(bad[0]) if _UNSAFE.match(bad[0]) else repr(bad[0])
        return (f"contains {shown}; a boot file's path has letters, digits and "
                "'.', '_', '~', '+', '-', '/' only")
    if text.startswith("/"):
        return "starts with '/'; it is relative to the TFTP root or the HTTP boot path"
    if text.endswith("/") or "//" in text or ".." in text.split("/"):
        return "has an empty, trailing or '..' segment"
    return None


def quote(text):
    """``text`` as a dhcpd quoted string.

    Backslashes and quotes are escaped; line breaks and control characters are
    refused, because dhcpd's lexer ends a string at neither reliably.
    """
    text = str(text)
    if _CONTROL.search(text):
        raise UnsafeString(f"cannot quote {text!r} for dhcpd: control character")
    if len(text.encode("utf-8", "surrogatepass")) > STRING_MAX:
        raise UnsafeString(f"cannot quote {len(text)} characters for dhcpd: "
                           f"{STRING_MAX} bytes at most")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def comment(text):
    """``text`` for the rest of a ``#`` comment line: it must stay on that line."""
    text = str(text)
    if _CONTROL.search(text):
        raise UnsafeString(f"cannot put {text!r} in a dhcpd comment: control character")
    return text


def bare(text):
    """``text`` as a bare dhcpd token (a host name, an interface)."""
    text = str(text)
    if not _BARE.fullmatch(text):
        raise UnsafeString(f"{text!r} is not a plain dhcpd name")
    return text
