"""Handing freed memory back to the system (glibc's malloc_trim)."""

import gc
import os
import subprocess
import sys
import weakref

import pytest

from provisioningserver.system import memory

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_give_back_asks_glibc_here():
    """On Debian (glibc) the call is made, and it can be made again."""
    assert memory.give_back() is True
    assert memory.give_back() is True


def test_without_malloc_trim_it_does_nothing(monkeypatch):
    """Where the C library has no malloc_trim, nothing is asked and nothing fails."""
    monkeypatch.setattr(memory, "_trim", False)
    assert memory.give_back() is False


class Cycle:
    """Garbage only the cyclic collector can free: it refers to itself."""

    def __init__(self):
        self.me = self


@pytest.fixture
def unfrozen():
    """Each test starts and ends with nothing frozen, as the rest of the suite expects."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_settle_collects_young_cycles_then_freezes_the_survivors(unfrozen):
    """After a settle the objects alive are frozen (out of the collector's
    walks) and a young garbage cycle was freed, not frozen."""
    kept = [object() for _ in range(100)]
    garbage = Cycle()
    freed = weakref.ref(garbage)
    del garbage
    memory.Settle()()
    assert freed() is None
    assert gc.get_freeze_count() >= len(kept)


def test_a_cycle_frozen_while_alive_is_freed_by_the_next_settle(unfrozen):
    """A cycle frozen while it was still referred to, then dropped, is freed
    by the next settle (its full pass walks the frozen objects too): no
    garbage outlives a configure to hold its memory."""
    settle = memory.Settle()
    holder = [Cycle()]
    freed = weakref.ref(holder[0])
    settle()
    assert freed() is not None
    holder.clear()
    settle()
    assert freed() is None and settle.full_passes == 2


def test_prefer_mmap_is_taken_by_glibc():
    """On Debian (glibc) mallopt accepts the pinned threshold, and again."""
    assert memory.prefer_mmap() is True
    assert memory.prefer_mmap() is True


def test_a_large_block_has_its_own_mapping_after_a_larger_one_was_freed():
    """With the threshold pinned, a block over 128 KiB is mapped on its own
    (and so returned whole when freed), even after a larger block was freed,
    which unpinned raises the threshold above it. Seen from /proc/self/maps
    in a fresh interpreter: sixteen live 1 MiB blocks grow the heap by less
    than 1 MiB pinned, and by all 16 MiB unpinned."""
    script = """
import sys
from provisioningserver.system import memory
if sys.argv[1] == "pinned":
    memory.prefer_mmap()
def heap():
    with open("/proc/self/maps") as f:
        for line in f:
            if line.rstrip().endswith("[heap]"):
                low, high = line.split()[0].split("-")
                return int(high, 16) - int(low, 16)
big = bytearray(8 << 20); del big  # unpinned: the threshold rises to 8 MiB
before = heap()
blocks = [bytearray(1 << 20) for _ in range(16)]
print(heap() - before)
"""
    grown = {}
    for mode in ("pinned", "default"):
        done = subprocess.run([sys.executable, "-c", script, mode], capture_output=True,
                              text=True, cwd=ROOT, timeout=60, env={**os.environ, "PYTHONPATH": ROOT})
        assert done.returncode == 0, done.stderr
        grown[mode] = int(done.stdout)
    assert grown["pinned"] < 1 << 20 <= 16 << 20 <= grown["default"]
