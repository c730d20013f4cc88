"""A config's hosts held as a few columns rather than an object each.

What rackd keeps between configures is the applied config, and at 50,000
hosts nearly all of it is hosts: a `model.Host` each, with its name, MAC,
address object and the address's integer, 312 bytes a host in five small
objects (bench/configure_breakdown.py). Worse than their size is where they
lie: made while the document's own objects (its dictionaries and strings,
tens of MB) are alive, they are spread over the allocator's 1 MiB arenas
among those, and an arena goes back to the system only when every object in
it is freed, so the document's memory stays with the process. Measured
in-process at 50,000 hosts, the agent's resident size after a configure fell
from 89 to 62 MB as what was kept per host went from 846 to 322 bytes, and
would be 49 MB with nothing kept per host at all.

`HostTable` is a sequence of `Host` that keeps its hosts as one string, a
line per host of its name, MAC and address's text separated by tabs (none
of them can hold a tab or a newline: the reader refuses them), with where
each line starts, the addresses packed, and the rare host with snippets or
option overrides by its index: some 50 bytes a host, in a dozen objects
whatever the size. A host's whole line is compared with a single
``startswith`` where it lies, and a name, a MAC or an address is counted
among all the hosts by one ``str.count`` (a name always follows a newline
and precedes a tab, an address follows a tab and precedes a newline). A
host is made when it is asked for (2 us), equal to the one the table was
made from, but not the same object: code that needs to know which hosts did
not change asks the table instead of comparing objects.

That is the table's other half. A table built by reading a document against
the applied one (`incremental.read_document`, through `rows`) records its
*lineage*: which of its hosts were copied unchanged from which host of that
table, in runs, and which are new. The render's cache (`fragments`) and the
planner (`plan`) use it to touch only what changed, as they used the
identity of unchanged hosts before. A table does not keep the one it was
read against alive: it knows it by a serial number.

Anything else that takes ``config.hosts`` (the checks, the document writer,
the source map, a test) iterates and gets `Host` objects, and a table is
equal to the tuple of the same hosts.
"""

import array
import bisect
import ipaddress
import itertools
import re
import sys

from provisioningserver.dhcp import model

_SERIALS = itertools.count(1)
_ADDRESS = {4: ipaddress.IPv4Address, 16: ipaddress.IPv6Address}
_PLAIN = ((), ())
_NAMES = re.compile(r"\n([^\t\n]*)\t")
_MACS = re.compile(r"\t([^\t\n]*)\t")
_TEXTS = re.compile(r"\t([^\t\n]*)\n")


def line(name, mac, text):
    """A host's line in a table's text (`HostTable.lines`)."""
    return f"\n{name}\t{mac}\t{text}"


class HostTable(model.HostRows):
    """The hosts of a config, in order; see the module docstring."""

    __slots__ = ("_lines", "_at", "_packed", "_width", "_extras", "_serial", "_source",
                 "_runs", "_fresh", "_gone")

    def __init__(self, lines, at, packed, width, extras, lineage=(None, (), (), ())):
        # Each host's line starts with a newline; one more ends the last.
        self._lines, self._at = lines, at
        self._packed, self._width = packed, width  # addresses packed, each of ``width`` bytes
        self._extras = extras  # index -> (dhcp_snippets, options), for the few that have any
        self._serial = next(_SERIALS)
        self._source, self._runs, self._fresh, self._gone = lineage

    @classmethod
    def of(cls, hosts):
        """The table of ``hosts`` (any iterable of `Host`), with no lineage."""
        rows = Rows(None)
        for host in hosts:
            rows.add(host)
        return rows.table()

    # The sequence.

    def __len__(self):
        return len(self._at) - 1

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(self._host(i) for i in range(*index.indices(len(self))))
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("host index out of range")
        return self._host(index)

    def __iter__(self):
        return map(self._host, range(len(self)))

    def __add__(self, other):
        return tuple(self) + tuple(other)

    def __radd__(self, other):
        return tuple(other) + tuple(self)

    def __eq__(self, other):
        if other is self:
            return True
        if isinstance(other, HostTable):
            # The addresses' texts are each address's own: equal texts, equal addresses.
            return self._lines == other._lines and self._extras == other._extras
        if isinstance(other, (tuple, list)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __hash__(self):
        return hash(tuple(self))  # as the equal tuple's

    def __repr__(self):
        return f"<HostTable of {len(self)} hosts>"

    def _fields(self, i):
        return self._lines[self._at[i] + 1:self._at[i + 1]].split("\t")

    def _host(self, i):
        name, mac, text = self._fields(i)
        width = self._width
        ip = (_ADDRESS[width](self._packed[i * width:(i + 1) * width]) if width
              else ipaddress.ip_address(text))
        snippets, options = self._extras.get(i, _PLAIN)
        return model.Host(host=name, mac=mac, ip=ip, dhcp_snippets=snippets, options=options)

    # The hosts' fields, without making hosts.

    def name(self, i):
        return self._fields(i)[0]

    def ip_text(self, i):
        """Host ``i``'s address as its own text (``str`` of the address)."""
        return self._fields(i)[2]

    def lines(self):
        """(the text, where each host's line starts): for a reader comparing
        many hosts with `line`, each line ending where the next starts."""
        return self._lines, self._at

    def names(self):
        return _NAMES.findall(self._lines)

    def macs(self):
        return _MACS.findall(self._lines)

    def ip_texts(self):
        return _TEXTS.findall(self._lines)

    @property
    def ip_version(self):
        """4 or 6 when every address is of that family (None: mixed, or no host)."""
        return {4: 4, 16: 6}.get(self._width)

    def ip_ints(self):
        """Each host's address as an integer, in order."""
        width = self._width
        if not width:
            return [int(ipaddress.ip_address(t)) for t in self.ip_texts()]
        packed = self._packed
        return [int.from_bytes(packed[k:k + width], "big") for k in range(0, len(packed), width)]

    def count_name(self, name):
        return self._lines.count(f"\n{name}\t")

    def count_mac(self, mac):
        return self._lines.count(f"\t{mac}\t")

    def count_ip_text(self, text):
        return self._lines.count(f"\t{text}\n")

    def index(self, name):
        """The index of the (first) host named ``name``; ValueError if none is."""
        at = self._lines.find(f"\n{name}\t")
        if at < 0:
            raise ValueError(f"no host {name!r}")
        return bisect.bisect_right(self._at, at) - 1

    def has_extras(self, i):
        return i in self._extras

    def footprint(self):
        """The bytes its text, line starts and packed addresses take."""
        return sys.getsizeof(self._lines) + sys.getsizeof(self._at) + sys.getsizeof(self._packed)

    # Lineage.

    def derived_from(self, other):
        """Whether this table was read against ``other`` (see `rows`)."""
        return isinstance(other, HostTable) and self._source == other._serial

    def sibling_of(self, other):
        """Whether this table and ``other`` were read against the same table."""
        return (isinstance(other, HostTable) and self._source is not None
                and self._source == other._source)

    def runs(self):
        """(first index here, first index in the source, count) of each run of
        hosts copied unchanged from the source table, in order."""
        runs = self._runs
        return zip(runs[0::3], runs[1::3], runs[2::3])

    @property
    def fresh(self):
        """The indexes of the hosts not copied from the source table."""
        return self._fresh

    @property
    def gone(self):
        """The indexes, in the source table, of its hosts not copied here."""
        return self._gone

    def source_index(self, i):
        """The index in the source table of host ``i``, or None if it is fresh."""
        for first, start, count in self.runs():
            if first <= i < first + count:
                return start + i - first
            if first > i:
                break
        return None


def names(hosts):
    """The names of ``hosts`` (a table, or any sequence of `Host`), in order."""
    return hosts.names() if isinstance(hosts, HostTable) else [h.host for h in hosts]


def macs(hosts):
    """The MACs of ``hosts``, in order."""
    return hosts.macs() if isinstance(hosts, HostTable) else [h.mac for h in hosts]


def rows(source):
    """A `Rows` to build a table from ``source`` (a `HostTable`) and new hosts."""
    return Rows(source)


class Rows:
    """A table being built: hosts copied from a source table, by index, and
    new ones, in order."""

    def __init__(self, source):
        self.source = source
        self.lines, self.at, self.packed = [], array.array("I", [0]), []
        self.extras, self.widths = {}, set()
        self.runs, self.fresh = array.array("I"), array.array("I")
        self.run = None  # [first here, first in the source, count]
        self.count = 0
        self.extra_keys = sorted(source._extras) if source is not None else []

    def copy(self, k, n=1):
        """Hosts ``k`` to ``k + n`` of the source, unchanged."""
        run = self.run
        if run is not None and run[1] + run[2] == k:
            run[2] += n
        else:
            self._flush()
            self.run = [self.count, k, n]
        self.count += n

    def add(self, host, text=None):
        """A new host; ``text``: its address's text, when the caller has it."""
        self._flush()
        if text is None:
            text = str(host.ip)
        piece = line(host.host, host.mac, text)
        self.lines.append(piece)
        self.at.append(self.at[-1] + len(piece))
        packed = host.ip.packed
        self.packed.append(packed)
        self.widths.add(len(packed))
        if host.dhcp_snippets or host.options:
            self.extras[self.count] = (host.dhcp_snippets, host.options)
        self.fresh.append(self.count)
        self.count += 1

    def _flush(self):
        if self.run is None:
            return
        first, k, n = self.run
        self.run = None
        self.runs.extend((first, k, n))
        source = self.source
        if source._extras:
            keys = self.extra_keys
            for j in keys[bisect.bisect_left(keys, k):bisect.bisect_left(keys, k + n)]:
                self.extras[first + j - k] = source._extras[j]
        starts = source._at
        self.lines.append(source._lines[starts[k]:starts[k + n]])
        self.at.extend(map((self.at[-1] - starts[k]).__add__, starts[k + 1:k + n + 1]))
        width = source._width
        if width:
            self.packed.append(source._packed[k * width:(k + n) * width])
            self.widths.add(width)
        else:
            self.packed.extend(ipaddress.ip_address(source.ip_text(j)).packed
                               for j in range(k, k + n))
            self.widths.update((4, 16))

    def _copied(self):
        """Per host of the source, how many times it was copied (up to 255)."""
        self._flush()
        copied = bytearray(len(self.source))
        for _, k, n in zip(self.runs[0::3], self.runs[1::3], self.runs[2::3]):
            if any(copied[k:k + n]):
                copied[k:k + n] = bytes(min(c + 1, 255) for c in copied[k:k + n])
            else:
                copied[k:k + n] = b"\x01" * n
        return copied

    def copied_twice(self):
        """Whether a host of the source was copied more than once (its name twice)."""
        return self.source is not None and max(self._copied(), default=0) > 1

    def table(self):
        """The table built, with its lineage when it has a source."""
        self._flush()
        widths = self.widths
        width = widths.pop() if len(widths) == 1 else None
        packed = b"".join(self.packed) if width else b""
        self.lines.append("\n")
        lineage = (None, (), (), ())
        if self.source is not None:
            copied = self._copied()
            gone, at = array.array("I"), copied.find(0)
            while at >= 0:
                gone.append(at)
                at = copied.find(0, at + 1)
            lineage = (self.source._serial, self.runs, self.fresh, gone)
        return HostTable("".join(self.lines), self.at, packed, width, self.extras, lineage)
