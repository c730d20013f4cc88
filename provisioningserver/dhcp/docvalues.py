"""Reading one field of a document: shapes and scalars, problems collected.

`FieldReader` holds the checks that do not depend on where a field stands:
is it a mapping with only known keys, a list, a string safe to hand to
dhcpd, an address of the document's family, a network in CIDR form, a MAC,
a DNS name, a number in its range. Each check returns the checked value, or
records a `Problem` naming the field's path and returns None, so the walk in
`provisioningserver.dhcp.document` goes on and one pass reports everything
wrong with a document. That walk (`document.DocumentReader`) subclasses this one
and adds the document's parts: which field is read by which check, and what
model value is built from them.

The split is by what a check needs to know. Nothing here knows a model class
or a field by name: a mapping's known and required keys are handed in
(`docfields.required_fields`), and every message says what was expected and
what came, never more of the document than the field itself.
"""

import ipaddress
import json
import re
import sys

from provisioningserver.dhcp import syntax
from provisioningserver.dhcp.errors import Problem

_MAC = re.compile(r"^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$")


def parse_ip(text):
    """``text`` as an address, or None. Python accepts an IPv6 zone index
    (``fe80::1%eth0``, any characters after the '%'); dhcpd does not, and the
    zone would be rendered verbatim, so it is refused here."""
    if "%" in text:
        return None
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def join_path(path, name):
    """The path of field ``name`` inside ``path`` (the top level's path is empty)."""
    return f"{path}.{name}" if path else name


def key_path(path, key, *, dotted=False):
    """The path of a mapping's ``key`` (any type YAML allows) inside ``path``.

    A key that is empty, holds whitespace, a path's own punctuation or a
    character that does not print (a control character, a lone surrogate), is
    written quoted (JSON's escapes), so that the path names that one key: an
    empty key at the top level had the empty path, the document's own, and
    an empty boot method or option name a path ending in "." (found by the
    document fuzzer, tests/fuzz). ``dotted``: the key's dots are its own
    (option names: ``dhcp6.name-servers``), not quoted."""
    text = str(key)
    if not text or not text.isprintable() or re.search(
            r'[\s\[\]"]' if dotted else r'[\s.\[\]"]', text):
        text = json.dumps(text)
    return join_path(path, text)


def typename(value):
    """What came, as a message names it: "a mapping", "null", ..."""
    if value is None:
        return "null"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


class FieldReader:
    """Checks for one document's fields; collects problems instead of stopping."""

    def __init__(self, ip_version):
        self.ip_version = ip_version
        self.problems = []
        self._seen = set()
        # Per list path: the document indexes of the items kept, and the
        # paths of lists that lost items (`checks.Outline`).
        self.kept = {}
        self.incomplete = set()

    def fail(self, path, message):
        # A missing required field is seen by the mapping and again by the
        # field's reader: say it once.
        problem = Problem(path, message)
        if problem not in self._seen:
            self._seen.add(problem)
            self.problems.append(problem)
        return None

    # Shapes.

    def mapping(self, value, path, fields, *, aliases=()):
        """Check ``value`` is a mapping with only ``fields`` (name -> required,
        from the model's declared fields: `docfields.required_fields`)."""
        if not isinstance(value, dict):
            return self.fail(path, f"expected a mapping, got {typename(value)}")
        for key in value:
            if key not in fields and key not in aliases:
                self.fail(key_path(path, key), "unknown field")
        for name, required in fields.items():
            if required and value.get(name) is None:
                self.fail(join_path(path, name), "required field is missing")
        return value

    def items(self, value, path, read_item):
        """A list of items; null stands for the empty list."""
        if value is None:
            return ()
        if not isinstance(value, list):
            self.incomplete.add(path)
            self.fail(path, f"expected a list, got {typename(value)}")
            return ()
        read = [(i, read_item(item, f"{path}[{i}]")) for i, item in enumerate(value)]
        kept = [(i, item) for i, item in read if item is not None]
        self.kept[path] = tuple(i for i, _ in kept)
        if len(kept) != len(read):
            self.incomplete.add(path)
        return tuple(item for _, item in kept)

    # Scalars.

    def text(self, value, path, *, required=True, allow_empty=False):
        if value is None:
            return None if not required else self.fail(path, "required field is missing")
        if not isinstance(value, str):
            return self.fail(path, f"expected a string, got {typename(value)}")
        if not value and not allow_empty:
            return self.fail(path, "must not be empty")
        reason = syntax.unsafe_reason(value)
        if reason:
            return self.fail(path, f"{value!r} {reason}")
        return value

    def address(self, value, path, *, required=True):
        if value is None or value == "":
            return self.fail(path, "required field is missing") if required else None
        if not isinstance(value, str):
            return self.fail(path, f"expected an IP address, got {typename(value)}")
        if "%" in value:
            return self.fail(path, f"{value!r} has a zone index ('%'), which dhcpd does not accept")
        address = parse_ip(value)
        if address is None:
            return self.fail(path, f"{value!r} is not an IP address")
        return self.same_family(address, value, path)

    def same_family(self, address, value, path):
        if address.version != self.ip_version:
            return self.fail(path, f"{value} is an IPv{address.version} address "
                                   f"in an IPv{self.ip_version} document")
        if address.version == 6 and address.ipv4_mapped is not None:
            return self.fail(path, f"{value} is an IPv4-mapped address "
                                   "in an IPv6 document")
        return address

    def network(self, value, path):
        if value is None:
            return self.fail(path, "required field is missing")
        if not isinstance(value, str):
            return self.fail(path, f"expected a CIDR, got {typename(value)}")
        if "%" in value:
            return self.fail(path, f"{value!r} has a zone index ('%'), which dhcpd does not accept")
        if "/" not in value:
            return self.fail(path, f"{value!r} has no prefix length (CIDR form is address/prefix)")
        try:
            network = ipaddress.ip_network(value.strip(), strict=True)
        except ValueError:
            try:
                loose = ipaddress.ip_network(value.strip(), strict=False)
            except ValueError:
                return self.fail(path, f"{value!r} is not a network in CIDR form (address/prefix)")
            return self.fail(path, f"{value!r} has host bits set: the network is {loose}")
        if network.version != self.ip_version:
            return self.fail(path, f"{value} is an IPv{network.version} network "
                                   f"in an IPv{self.ip_version} document")
        return network

    def mac(self, value, path):
        if not isinstance(value, str):
            # YAML reads 112233445566 as a number, and 11:22:33:44:55:66 too (YAML 1.1
            # sexagesimal): the fix is quotes, so the message says so.
            hint = ("; YAML read it as a number: quote it (mac: \"11:22:33:44:55:66\")"
                    if isinstance(value, (int, float)) and not isinstance(value, bool) else "")
            return self.fail(path, f"expected a MAC address, got {typename(value)}{hint}")
        lowered = value.strip().lower()
        if not _MAC.match(lowered):
            return self.fail(path, f"{value!r} is not a MAC address (six hex octets)")
        digits = re.sub(r"[:-]", "", lowered)
        normal = ":".join(digits[i:i + 2] for i in range(0, 12, 2))
        # The document's own string when it is already normal: no copy.
        return value if normal == value else normal

    def dns_name(self, value, path, *, what="domain name"):
        name = self.text(value, path, required=False)
        if name is None:
            return None
        if not syntax.is_dns_name(name):
            return self.fail(path, f"{name!r} is not a valid {what}")
        # Domain names repeat across subnets (and documents): one copy each.
        return sys.intern(name)

    def whole_number(self, value, path, low, high):
        """An optional whole number from ``low`` to ``high``; None when absent or wrong."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return self.fail(path, f"expected a whole number from {low} to {high}, got {value!r}")
        return value

    def object_name(self, value, path):
        name = self.text(value, path)
        if name is not None and not syntax.is_object_name(name):
            return self.fail(path, f"{name!r} is not a valid name (letters, digits, "
                                   "'.', '_', ':', '-'; 64 at most)")
        return name

    def flag(self, value, path):
        """A boolean; null or absent is false."""
        if value is None:
            return False
        if not isinstance(value, bool):
            self.fail(path, f"expected true or false, got {typename(value)}")
            return False
        return value

    def comment_text(self, value, path, *, required):
        if value is None:
            return self.fail(path, "required field is missing") if required else None
        if not isinstance(value, str):
            return self.fail(path, f"expected a string, got {typename(value)}")
        if re.search(r"[\x00-\x1f\x7f]", value):
            char = re.search(r"[\x00-\x1f\x7f]", value).group()
            return self.fail(path, f"{value!r} contains {syntax.describe(char)}; "
                                   "it is rendered as a one-line comment")
        return value
