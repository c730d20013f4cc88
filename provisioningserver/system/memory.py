"""Handing freed memory back to the system.

A configure at 50,000 hosts builds and drops tens of megabytes of objects
(the document's raw value, the previous read, rendered text). Python frees
them, but glibc's allocator keeps the freed pages in the process, so the
agent's resident size stays at its peak. `give_back` asks glibc to return
what is free (``malloc_trim``), and does nothing where that is not glibc.

Large blocks are the other half. glibc serves a request over its mmap
threshold (128 KiB) from a mapping of its own, returned whole when freed,
but raises that threshold to the size of each such block freed (up to 32
MiB): after the first configure, the document's bytes, the rendered text
and the big dict tables of 50,000 hosts all come from the heap, where a
block freed below a live one cannot go back. `prefer_mmap` pins the
threshold at 128 KiB (which also stops its moving), called once at start.
Measured in-process at 50,000 hosts (bench/configure_memory.py): VmHWM
about 10 MB lower, the resident size after a run a few MB lower.

The other cost of holding 50,000 hosts is the cyclic garbage collector's.
A full collection walks every object the process holds, about a million at
50,000 hosts, and holds the interpreter while it does: 35-50 ms each,
measured in-process at 50,000 hosts. The reactor answers nothing for that
long, and neither does the stall watcher's thread (a stall "with no
sample"). When one comes depends on everything the process allocates, the
lease pipeline and the metrics included, not on the configure alone. (Since the
applied hosts are held as a `dhcp.hosttable.HostTable`, a dozen objects
whatever the size, a full pass after a 50,000-host configure walks about
41,000 objects in 8 ms, against 290,000 in 48 ms before: measured with
bench/configure_breakdown.py's configures.) The
objects that outlive a configure (the applied state) are not cyclic
garbage in waiting, so `Settle`
moves them out of the collector's sight after each configure
(``gc.freeze``): the young generations are collected first, then every
survivor is frozen, and a full collection then walks only what came since.
Frozen objects are still freed by their reference counts, as the state a
later configure replaces is; only a cycle that had already reached the old
generation when it was frozen is kept, measured at about ten objects per
configure. A full collection frees those, but it walks the frozen state as
well: 0.13 s on the reactor at 10,000 hosts in the 30-minute soak, once
every 64 configures, as it was then, against the goal of no reactor hold
over 0.1 s. So the full pass is not periodic: it runs when the frozen set
has grown by half since the last one (and by at least ``floor`` objects),
which bounds the cycles kept to half of the state; a site that grows
(10,000 hosts to 50,000) also takes one pass, after which its larger state
is the new measure. At ten objects a configure that is a pass every few
thousand configures. bench/configure_memory.py measures both settings.
"""

import ctypes
import ctypes.util
import gc

_trim = None


def _malloc_trim():
    global _trim
    if _trim is None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _trim = libc.malloc_trim
            _trim.argtypes, _trim.restype = [ctypes.c_size_t], ctypes.c_int
        except (OSError, AttributeError):
            _trim = False
    return _trim


M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024


def prefer_mmap():
    """Pin glibc's mmap threshold (see the module docstring); whether it could."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1


def give_back():
    """Return the free memory to the system; whether anything could be asked."""
    trim = _malloc_trim()
    if not trim:
        return False
    trim(0)
    return True


class Settle:
    """See the module docstring: call after each configure (on any thread).
    ``full_passes`` counts the full collections it ran."""

    def __init__(self, growth=0.5, floor=50_000):
        self.growth, self.floor = growth, floor
        self.measure = None  # the frozen count after the last full pass
        self.full_passes = 0

    def __call__(self, *_):
        gc.collect(1)
        gc.freeze()
        frozen = gc.get_freeze_count()
        if self.measure is None:
            self.measure = frozen
        elif frozen > self.measure + max(self.floor, self.measure * self.growth):
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self.measure = gc.get_freeze_count()
            self.full_passes += 1
