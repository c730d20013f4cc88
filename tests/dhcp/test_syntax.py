"""What may stand inside dhcpd syntax (provisioningserver.dhcp.syntax)."""

import pytest

from provisioningserver.dhcp import syntax

HOSTILE = ['"', "\\", ";", "{", "}", "#", "\n", "\r", "\x00", "\t", "\x7f"]


@pytest.mark.parametrize("char, described", [
    ('"', "a double quote"), ("\\", "a backslash"), (";", "a semicolon"), ("{", "a brace"),
    ("}", "a brace"), ("#", "a '#'"), ("\n", "a line break"), ("\r", "a carriage return"),
    ("\x00", "control character 0x00"), ("\t", "control character 0x09"),
    ("\x7f", "control character 0x7f"),
], ids=repr)
def test_unsafe_reason_names_the_character(char, described):
    """Each character that could end a dhcpd token, string or comment is named."""
    assert syntax.unsafe_reason(f"a{char}b") == (
        f"contains {described}, which dhcpd syntax does not allow here")


@pytest.mark.parametrize("text", ["", "maas.example", "node-01", "a b", "é", "x:y/z"])
def test_unsafe_reason_none_for_plain_text(text):
    """Plain text, spaces and non-ASCII letters are safe."""
    assert syntax.unsafe_reason(text) is None


@pytest.mark.parametrize("text, valid", [
    ("node-01", True), ("a" * 63, True), ("1", True), ("a" * 64, False), ("-a", False),
    ("a-", False), ("a_b", False), ("a.b", False), ("", False),
    ("node\n", False), ("node\r\n", False),
])
def test_is_dns_label(text, valid):
    """A DNS label: letters, digits, inner dashes, 63 at most; no trailing line break."""
    assert syntax.is_dns_label(text) is valid


@pytest.mark.parametrize("text, valid", [
    ("maas.example", True), ("maas.example.", True), ("ntp", True),
    ("a." * 126 + "b", True), ("a." * 127 + "b", False), ("a..b", False), (".", False),
    ("", False), ("198.18.0.256", False), ("host.123", False), ("maas.example\n", False),
])
def test_is_dns_name(text, valid):
    """Dot-separated labels, 253 characters at most, and no all-numeric top label
    (that is a mistyped address)."""
    assert syntax.is_dns_name(text) is valid


@pytest.mark.parametrize("text, valid", [
    ("eth0", True), ("eth0.100", True), ("br-ex_1", True), ("a" * 15, True),
    ("a" * 16, False), ("eth 0", False), ("eth0\n", False), ("", False), ("eth0:1", False),
])
def test_is_interface_name(text, valid):
    """Linux interface names: 15 characters at most, no spaces, no trailing line break."""
    assert syntax.is_interface_name(text) is valid


@pytest.mark.parametrize("text, valid", [
    ("failover-1", True), ("vlan.5001:a_b", True), ("a" * 64, True), ("a" * 65, False),
    ("a b", False), ("peer\n", False), ("", False), ('a"b', False),
])
def test_is_object_name(text, valid):
    """Names of dhcpd objects rackd declares: a plain token of 64 characters at most."""
    assert syntax.is_object_name(text) is valid


@pytest.mark.parametrize("text, quoted", [
    ("maas.example", '"maas.example"'),
    ('a"b', '"a\\"b"'),
    ("a\\b", '"a\\\\b"'),
    ('\\"; } {', '"\\\\\\"; } {"'),
    ("", '""'),
])
def test_quote_escapes(text, quoted):
    """Quotes and backslashes are escaped, so the string cannot end early."""
    assert syntax.quote(text) == quoted


@pytest.mark.parametrize("char", ["\n", "\r", "\x00", "\t", "\x7f"], ids=repr)
def test_quote_refuses_control_characters(char):
    """Line breaks and control characters cannot be quoted for dhcpd."""
    with pytest.raises(syntax.UnsafeString):
        syntax.quote(f"a{char}b")


@pytest.mark.parametrize("char", ["\n", "\r", "\x00", "\x0b", "\x7f"], ids=repr)
def test_comment_refuses_line_breaks(char):
    """A comment must stay on its line: line breaks and control characters are refused."""
    with pytest.raises(syntax.UnsafeString):
        syntax.comment(f"name{char}option x 1;")


def test_comment_keeps_punctuation():
    """Inside a '#' comment dhcpd ignores quotes, braces, ';' and backslashes."""
    text = 'say "hi"; {x} # y \\'
    assert syntax.comment(text) == text


@pytest.mark.parametrize("text", ["node-01", "eth0.100", "a:b_c"])
def test_bare_accepts_plain_names(text):
    """Plain names pass as bare tokens unchanged."""
    assert syntax.bare(text) == text


@pytest.mark.parametrize("text", ["", "a b", "node\n", "a;b", "a{", '"a"', "a\\b", "a#b"],
                         ids=repr)
def test_bare_refuses_anything_else(text):
    """Anything but a plain name, a trailing line break included, is refused."""
    with pytest.raises(syntax.UnsafeString):
        syntax.bare(text)
