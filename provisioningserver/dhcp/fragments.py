"""Host declarations rendered once and kept while their host is unchanged.

A configure that adds one host to 50,000 should not lay out the other
49,999 declarations again: each is a pure function of its `Host` (and the
family), so `render.render` asks `declarations` for them, which takes from a
caller-kept `Fragments` every host equal to one rendered before and renders
only the rest. The cache is keyed by host name, the key the document and
OMAPI use; an entry serves only a host equal to the one it was made from,
and the identity test comes first because hosts an incremental read
(`incremental.read_document`) reused are the very objects rendered last
time.

Each render replaces the cache's contents with its own hosts' entries, so
the cache holds one config's declarations, never the history; the swap
happens after every host is rendered, so a render that fails half-way (a
hostile string refused) leaves the cache as it was.
"""


class Fragments:
    """Rendered host declarations, kept by a caller across renders."""

    __slots__ = ("_version", "_by_name")

    def __init__(self):
        self._version = None
        self._by_name = {}

    def __len__(self):
        return len(self._by_name)

    def declaration(self, name):
        """The declaration text of host ``name`` in the last render."""
        return self._by_name[name][1]


def declarations(config, render_one, fragments=None):
    """The declaration text of each host of ``config``, in order;
    ``render_one(index, host)`` renders one that ``fragments`` lacks."""
    cached = {}
    if fragments is not None and fragments._version == config.ip_version:
        cached = fragments._by_name
    kept, texts = {}, []
    for i, host in enumerate(config.hosts):
        entry = cached.get(host.host)
        if entry is None or not (entry[0] is host or entry[0] == host):
            entry = (host, render_one(i, host))
        kept[host.host] = entry
        texts.append(entry[1])
    if fragments is not None:
        fragments._version, fragments._by_name = config.ip_version, kept
    return texts
