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

from provisioningserver.dhcp import hosttable

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
        hosts = self._hosts
        if isinstance(hosts, hosttable.HostTable) and len(names) <= 16:
            where = {name: hosts.index(name) for name in names}  # found in C, a few
        else:
            wanted = set(names)
            where = {name: i for i, name in enumerate(hosttable.names(hosts)) if name in wanted}
        firsts = [first for first, _, _ in self._blocks]
        found = []
        for name in names:
            i = where[name]
            first, at, lengths = self._blocks[bisect.bisect_right(firsts, i) - 1]
            start = at + sum(lengths[:i - first])
            found.append(self._text[start:start + lengths[i - first]])
        return found


class _Last:
    """The last render's blocks, decompressed on demand (each once)."""

    def __init__(self, blocks):
        self.blocks = blocks
        self.starts = {first: k for k, (first, _, _) in enumerate(blocks)}
        self.firsts = [first for first, _, _ in blocks]
        self.texts = {}

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


class _Objects:
    """The hosts of a render found among the last render's by identity, or
    by name and equality (any sequence of `Host`)."""

    def __init__(self, previous, hosts):
        self.previous, self.hosts = previous, hosts
        self.names, self.expected = None, 0

    def name(self, i):
        return self.hosts[i].host

    def start(self, i):
        """Where in the last render a block starting at host ``i`` would start."""
        return self.expected

    def same(self, i, j, n):
        """Whether hosts ``i`` to ``i + n`` are the last render's ``j`` to ``j + n``."""
        if self.hosts[i:i + n] != self.previous[j:j + n]:  # identity first, in C
            return False
        self.expected = j + n
        return True

    def find(self, i):
        """The index of a host equal to host ``i`` in the last render, or None."""
        hosts, host, j = self.previous, self.hosts[i], self.expected
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


class _Lineage:
    """The hosts of a table found among the last render's through what the
    tables record of where their hosts came from (`hosttable`): the last
    render's table itself, one read against it, or one read against the
    same table as it (after a render that was not applied: a dry run, a
    config dhcpd refused)."""

    def __init__(self, previous, hosts):
        self.hosts = hosts
        n = len(hosts)
        if hosts is previous:
            self.origin = array.array("i", range(n))
            return
        self.origin = array.array("i", [-1]) * n
        if hosts.derived_from(previous):
            for first, start, count in hosts.runs():
                self.origin[first:first + count] = array.array("i", range(start, start + count))
            return
        # Siblings: each host found through the table both were read against.
        shared = {}
        for first, start, count in previous.runs():
            shared.update(zip(range(start, start + count), range(first, first + count)))
        for first, start, count in hosts.runs():
            for i in range(first, first + count):
                self.origin[i] = shared.get(start + i - first, -1)

    @staticmethod
    def usable(previous, hosts):
        return (isinstance(hosts, hosttable.HostTable)
                and isinstance(previous, hosttable.HostTable)
                and (hosts is previous or hosts.derived_from(previous)
                     or hosts.sibling_of(previous)))

    def name(self, i):
        return self.hosts.name(i)

    def start(self, i):
        return self.origin[i]

    def same(self, i, j, n):
        return self.origin[i:i + n] == array.array("i", range(j, j + n))

    def find(self, i):
        j = self.origin[i]
        return j if j >= 0 else None


def _ends(name, count):
    """Whether a block of ``count`` hosts ends with host ``name``."""
    return hash(name) & _MASK == _MASK or count >= _LONGEST


def declarations(config, render_one, fragments=None):
    """The text of every host declaration of ``config``, joined in order, and
    its `Declarations`; ``render_one(index, host)`` renders a host that
    ``fragments`` lacks."""
    hosts = config.hosts
    usable = fragments is not None and fragments._version == config.ip_version
    previous = fragments._hosts if usable else ()
    last = _Last(fragments._blocks if usable else [])
    match = (_Lineage if _Lineage.usable(previous, hosts) else _Objects)(previous, hosts)
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
        k = last.starts.get(match.start(i)) if not found and last.blocks else None
        if k is not None:
            n = len(last.blocks[k][2])
            end = i + n
            if (end <= len(hosts) and (end == len(hosts) or _ends(match.name(end - 1), n))
                    and match.same(i, last.blocks[k][0], n)):
                # A whole block unchanged: kept as it is.
                _, data, lengths = last.blocks[k]
                keep(i, data, lengths, last.block(k)[0])
                i = end
                continue
        found.append(match.find(i))
        i += 1
        if not (i == len(hosts) or _ends(match.name(i - 1), len(found))):
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
