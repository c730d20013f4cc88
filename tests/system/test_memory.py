"""Handing freed memory back to the system (glibc's malloc_trim)."""

import gc
import weakref

import pytest

from provisioningserver.system import memory


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


def test_every_full_every_th_settle_frees_the_old_cycles_it_froze(unfrozen):
    """A cycle frozen while it was still referred to, then dropped, outlives
    the ordinary settles; the full_every-th one unfreezes, collects it and
    freezes again."""
    settle = memory.Settle(full_every=3)
    holder = [Cycle()]
    freed = weakref.ref(holder[0])
    settle()  # frozen while alive
    holder.clear()
    settle()
    assert freed() is not None  # a frozen cycle is not walked
    settle()
    assert freed() is None and gc.get_freeze_count() > 0
