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

The other cost of holding 50,000 hosts was the cyclic garbage collector's.
A full collection walks every object the process holds, about a million at
50,000 hosts when each host was objects of its own, and holds the
interpreter while it does: 35-50 ms each, measured in-process at 50,000
hosts. The reactor answers nothing for that long, and neither does the
stall watcher's thread (a stall "with no sample"). So `Settle` moved what
outlives a configure out of the collector's sight after each configure
(``gc.freeze``), and ran a full pass only now and then. But a cycle that
reached the old generation before it was frozen, dropped later, stays
until the next full pass, about ten objects a configure; and each such
cycle was made during the configure, among the document's objects, whose
1 MiB arena it then holds from going back to the system: measured
in-process at 50,000 hosts (the bench site grown to 50,000, then one host
added at a time), the resident size grew by 1.0 MB with every configure,
from 48 to 62 MB over 14 of them, and stayed at 45 MB with a full pass
after each.

With the hosts held as a `dhcp.hosttable.HostTable` (a dozen objects
whatever the size), a full pass after a 50,000-host configure walks about
41,000 objects in 8 ms (290,000 in 48 ms before). So `Settle` now runs one
after every configure: unfreeze, collect everything, freeze what is left.
The freeze still keeps the agent's own objects (its modules, services,
the applied state) out of the collections that come between configures,
which then walk only what came since.
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

    def __init__(self):
        self.full_passes = 0

    def __call__(self, *_):
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self.full_passes += 1
