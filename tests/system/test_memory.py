"""Handing freed memory back to the system (glibc's malloc_trim)."""

from provisioningserver.system import memory


def test_give_back_asks_glibc_here():
    """On Debian (glibc) the call is made, and it can be made again."""
    assert memory.give_back() is True
    assert memory.give_back() is True


def test_without_malloc_trim_it_does_nothing(monkeypatch):
    """Where the C library has no malloc_trim, nothing is asked and nothing fails."""
    monkeypatch.setattr(memory, "_trim", False)
    assert memory.give_back() is False
