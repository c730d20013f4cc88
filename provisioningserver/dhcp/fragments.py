"""Host declarations rendered once and kept, compressed, while their host is
unchanged.

A configure that adds one host to 50,000 should not lay out the other
49,999 declarations again: each is a pure function of its `Host` (and the
family), so `render.render` asks `declarations` for them, which takes from a
caller-kept `Fragments` every host equal to one rendered before and renders
only the rest. The identity test comes first, because the hosts an
incremental read (`incremental.read_document`) reused are the very objects
rendered last time, and hosts are first looked for where they were, one
after the other: a name index of the last render is built only when the
order changed (a host inserted or removed in the middle, hosts reordered).

Kept between configures, the declarations are most of what a large site
holds: 50,000 of them are 4.6 MB of text, 237 bytes per host as one string
each (bench/configure_breakdown.py). So they are kept in *blocks* of about
`BLOCK` consecutive hosts, each block's text zlib-compressed with the length
of each declaration in it (an ``array``), and nothing per host: 13 bytes per
host at 50,000 (about 9 of compressed text, 2-4 of lengths). Compressing the
whole text costs about 70 ms at 50,000 hosts and decompressing it about 10,
so a render decompresses every block (the config is written whole anyway)
but compresses only the blocks whose hosts changed: where a block ends is
decided by its hosts' names (a host ends a block when the hash of its name
says so, or when the block reaches ``4 * BLOCK``), so a host added, changed
or removed anywhere changes the block around it and no other. Python's
string hash is per process, which is all the blocks need: they live in it.

Each render replaces the cache's contents with its own hosts' blocks, so
the cache holds one config's declarations, never the history; the swap
happens after every host is rendered, so a render that fails half-way (a
hostile string refused) leaves the cache as it was.
"""

import array
import bisect
import itertools
import zlib

# Hosts per block, on average (a power of two: the test is a mask); at 50,000
# hosts about 100 blocks of some 45 kB of text, each compressed in 0.4 ms.
BLOCK = 512
_MASK = BLOCK - 1
_LONGEST = 4 * BLOCK


class Fragments:
    """Rendered host declarations, kept by a caller across renders."""

    __slots__ = ("_version", "_hosts", "_blocks")

    def __init__(self):
        self._version = None
        self._hosts = ()
        # (first host's index in _hosts, zlib-compressed UTF-8 text, lengths), in order.
        self._blocks = []

    def __len__(self):
        return len(self._hosts)

    def packed(self):
        """The compressed blocks, in order (what is kept, for measuring)."""
        return tuple(data for _, data, _ in self._blocks)


class Declarations:
    """The declaration of each host of one render, found by host name."""

    __slots__ = ("_hosts", "_text", "_blocks")

    def __init__(self, hosts, text, blocks):
        # blocks: (first host's index, where its text starts, lengths), in order.
        self._hosts, self._text, self._blocks = hosts, text, blocks

    def of(self, names):
        """The declaration texts of the hosts ``names``, in that order."""
        wanted = set(names)
        found = {}
        firsts = [first for first, _, _ in self._blocks]
        for i, host in enumerate(self._hosts):
            if host.host in wanted:
                first, at, lengths = self._blocks[bisect.bisect_right(firsts, i) - 1]
                start = at + sum(lengths[:i - first])
                found[host.host] = self._text[start:start + lengths[i - first]]
        return [found[name] for name in names]


class _Last:
    """The last render: its hosts found again, its blocks decompressed on
    demand (each once)."""

    def __init__(self, fragments, version):
        usable = fragments is not None and fragments._version == version
        self.hosts = fragments._hosts if usable else ()
        self.blocks = fragments._blocks if usable else []
        self.starts = {first: k for k, (first, _, _) in enumerate(self.blocks)}
        self.firsts = [first for first, _, _ in self.blocks]
        self.texts = {}
        self.names = None
        self.expected = 0

    def find(self, host):
        """The index of a host equal to ``host`` in the last render, or None."""
        hosts, j = self.hosts, self.expected
        for near in (j, j + 1):  # where it was, or one removed before it
            if near < len(hosts) and (hosts[near] is host or hosts[near].host == host.host):
                # The same host, or the same name changed.
                self.expected = near + 1
                return near if hosts[near] is host or hosts[near] == host else None
        if not hosts:
            return None
        if self.names is None:  # the order changed: an index, for this render only
            self.names = {h.host: k for k, h in enumerate(hosts)}
        j = self.names.get(host.host)
        if j is None:
            return None
        self.expected = j + 1
        return j if hosts[j] is host or hosts[j] == host else None

    def reusable(self, hosts, i):
        """The block of the last render that ``hosts[i:]`` starts with, as it
        was (the same hosts, ending where a block ends), or None."""
        j = self.expected
        k = self.starts.get(j)
        if k is None:
            return None
        n = len(self.blocks[k][2])
        end = i + n
        if end > len(hosts) or not (_ends(hosts[end - 1], n) or end == len(hosts)):
            return None
        if hosts[i:end] != self.hosts[j:j + n]:  # identity first, in C
            return None
        self.expected = j + n
        return k

    def block(self, k):
        """Block ``k``'s text and where each of its declarations starts."""
        found = self.texts.get(k)
        if found is None:
            text = zlib.decompress(self.blocks[k][1]).decode("utf-8")
            found = self.texts[k] = (text, [0, *itertools.accumulate(self.blocks[k][2])])
        return found

    def declaration(self, j):
        """The text of the last render's host ``j``."""
        k = bisect.bisect_right(self.firsts, j) - 1
        text, starts = self.block(k)
        n = j - self.blocks[k][0]
        return text[starts[n]:starts[n + 1]]


def _ends(host, count):
    """Whether a block of ``count`` hosts ends with ``host``."""
    return hash(host.host) & _MASK == _MASK or count >= _LONGEST


def declarations(config, render_one, fragments=None):
    """The text of every host declaration of ``config``, joined in order, and
    its `Declarations`; ``render_one(index, host)`` renders a host that
    ``fragments`` lacks."""
    hosts = config.hosts
    last = _Last(fragments, config.ip_version)
    kept, chunks, spans = [], [], []
    at = i = 0
    found = []  # the last render's index of each host of the block being made

    def keep(start, data, lengths, text):
        nonlocal at
        kept.append((start, data, lengths))
        spans.append((start, at, lengths))
        chunks.append(text)
        at += len(text)

    while i < len(hosts):
        k = last.reusable(hosts, i) if not found and last.blocks else None
        if k is not None:  # a whole block unchanged: kept as it is
            _, data, lengths = last.blocks[k]
            keep(i, data, lengths, last.block(k)[0])
            i += len(lengths)
            continue
        host = hosts[i]
        found.append(last.find(host))
        i += 1
        if not (_ends(host, len(found)) or i == len(hosts)):
            continue
        start = i - len(found)
        texts = [last.declaration(f) if f is not None else render_one(start + n, hosts[start + n])
                 for n, f in enumerate(found)]
        text = "".join(texts)
        keep(start, zlib.compress(text.encode("utf-8")), array.array("I", map(len, texts)), text)
        found = []
    text = "".join(chunks)
    if fragments is not None:
        fragments._version, fragments._hosts, fragments._blocks = config.ip_version, hosts, kept
    return text, Declarations(hosts, text, spans)
