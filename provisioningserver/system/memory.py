"""Handing freed memory back to the system.

A configure at 50,000 hosts builds and drops tens of megabytes of objects
(the document's raw value, the previous read, rendered text). Python frees
them, but glibc's allocator keeps the freed pages in the process, so the
agent's resident size stays at its peak. `give_back` asks glibc to return
what is free (``malloc_trim``), and does nothing where that is not glibc.
"""

import ctypes
import ctypes.util

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


def give_back():
    """Return the free memory to the system; whether anything could be asked."""
    trim = _malloc_trim()
    if not trim:
        return False
    trim(0)
    return True
