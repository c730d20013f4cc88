"""A damaged journal file at start: moved aside, a new journal, rackd goes on."""

import os

import pytest

from provisioningserver.leases.journal import Journal
from tests.leases.test_journal import _clock, _event
from tests.logs import lines_with, logged  # noqa: F401 (logged is a fixture)

NOW = 1796350000.0  # 2026-12-04T02:06:40Z


def filled(path):
    """A journal of 2,000 events (some pages), closed; its bytes."""
    journal = Journal(path, clock=_clock())
    for n in range(20):
        journal.record([_event(f"198.18.{n}.{i}") for i in range(100)], "dhcpd4", (1, n))
    journal.close()
    with open(path, "rb") as stream:
        return stream.read()


@pytest.mark.parametrize("damage", ["1 byte", "100 bytes", "one page", "half", "garbage",
                                    "zeroed middle"])
def test_a_damaged_journal_is_moved_aside_and_a_new_one_started(tmp_path, logged, damage):
    """Truncated to 1 byte (which SQLite alone would take for a new file), to
    its header, to its first page or to half, garbage,
    or zeroed pages in the middle: the journal opens (empty, usable), the
    file is kept as NAME.corrupt-<UTC time>, and one warning says so."""
    path = str(tmp_path / "journal.db")
    good = filled(path)
    middle = len(good) // 2
    data = {"1 byte": good[:1], "100 bytes": good[:100], "one page": good[:4096], "half": good[:middle],
            "garbage": os.urandom(len(good)),
            "zeroed middle": good[:middle] + bytes(8192) + good[middle + 8192:]}[damage]
    with open(path, "wb") as stream:
        stream.write(data)
    clock = _clock(NOW)
    journal = Journal(path, clock=clock)
    assert journal.pending() == []
    journal.record([_event()], "dhcpd4", (1, 1))
    assert len(journal.pending()) == 1
    aside = path + ".corrupt-20261204T020640Z"
    with open(aside, "rb") as stream:
        assert stream.read() == data
    lines = lines_with(logged, "damaged")
    assert len(lines) == 1 and f"moved aside to {aside}" in lines[0], lines


def test_a_sound_journal_is_kept_as_it_is(tmp_path, logged):
    """The check at open passes a good file: its events are all there."""
    path = str(tmp_path / "journal.db")
    filled(path)
    assert Journal(path, clock=_clock()).pending_count() == 2000
    assert not lines_with(logged, "damaged")
    assert not [name for name in os.listdir(tmp_path) if "corrupt" in name]
