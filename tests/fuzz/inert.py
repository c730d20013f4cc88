"""The inert twin of a config: every document string replaced by a placeholder.

To prove that no document string added to the rendered config's structure,
the config is rendered twice: as it is, and as its twin, in which every
string the document gave (names, MACs, domain names, search lists, boot
paths, iPXE scripts, option values, snippet names and descriptions, the
OMAPI key) is replaced by ``zfuzzNz``: letters and digits only, which no
filter refuses and no lexer splits. The twin's rendering is therefore
injection-free by construction, and `tests.fuzz.conflex.compare` holds the
real rendering against it token by token.

The twin must take the same template branches as the config, so the
replacement is one-to-one (equal strings get equal placeholders: a pool's
``failover_peer`` still names its peer, a subnet's domain is still in its
search list), an empty string stays empty (``{% if description %}``), and
an iPXE script keeps its ``/`` or ``http(s)://`` start (which decides how it
is rendered). Some strings are kept as they are, because the renderer
looks them up rather than prints them (NTP host names, resolved through
the render inputs; option names; boot method names) or because they choose
a branch (a failover peer's mode): `kept_unsafe` checks that each of those
is a plain word, so that keeping it cannot hide an injection. Snippet
values are kept too: raw dhcpd text, trusted by design (dhcpd -t judges
them), and the same in both renderings.
"""

import re

import attrs

# (class name, field) whose strings are kept, not replaced.
KEPT = {("Snippet", "value"), ("FailoverPeer", "mode"), ("Subnet", "ntp_servers"),
        ("Subnet", "disabled_boot_architectures"), ("OptionSetting", "name")}
_PREFIXED = ("ipxe_machine_script", "ipxe_enlist_script")
_WORD = re.compile(r"[A-Za-z0-9_.:-]+")


class Twin:
    """Builds the twin of one config; ``originals`` maps placeholders back."""

    def __init__(self):
        self.placeholders, self.originals, self.kept = {}, {}, []

    def of(self, value, owner=None, field=None):
        if attrs.has(type(value)):
            name = type(value).__name__
            return attrs.evolve(value, **{
                f.name: self.of(getattr(value, f.name), name, f.name)
                for f in attrs.fields(type(value)) if f.init})
        if isinstance(value, tuple):
            if (owner, field) == ("Subnet", "boot_files"):
                return tuple((method, self.of(path, owner, "boot_file"))
                             for method, path in value)
            return tuple(self.of(item, owner, field) for item in value)
        if not isinstance(value, str):
            return value
        if (owner, field) in KEPT:
            if (owner, field) != ("Snippet", "value"):
                self.kept.append((f"{owner}.{field}", value))
            return value
        prefix = ""
        if field in _PREFIXED:
            prefix = next((p for p in ("https://", "http://", "/") if value.startswith(p)), "")
        return prefix + self.placeholder(value[len(prefix):])

    def placeholder(self, text):
        if not text:
            return text
        found = self.placeholders.get(text)
        if found is None:
            found = self.placeholders[text] = f"zfuzz{len(self.placeholders)}z"
            self.originals[found] = text
        return found

    def kept_unsafe(self):
        """The kept strings that are not one plain word: [(field, value)]."""
        return [(field, value) for field, value in self.kept if not _WORD.fullmatch(value)]


def without_snippets(value):
    """``value`` (a config or any model value) with every snippet list emptied:
    what the validator alone answers for, the trusted raw text left out."""
    if attrs.has(type(value)):
        return attrs.evolve(value, **{
            f.name: () if f.name.endswith("dhcp_snippets") else without_snippets(
                getattr(value, f.name))
            for f in attrs.fields(type(value)) if f.init})
    if isinstance(value, tuple):
        return tuple(without_snippets(item) for item in value)
    return value
