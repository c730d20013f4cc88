"""FileTail on real files: appends, resuming, truncation, replacement by
rename, a file missing then appearing, and punching out what was consumed."""

import os

import pytest

from provisioningserver.leases.tail import REPLACED, TRUNCATED, Chunk, FileTail


def _append(path, data):
    with open(path, "ab") as f:
        f.write(data)


def _all(tail):
    """Every chunk ``tail`` has now, until it says there is nothing new."""
    chunks = []
    while (chunk := tail.read()) is not None:
        chunks.append(chunk)
    return chunks


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "f")


def test_a_missing_file_reads_nothing_until_it_appears(path):
    """No file is no error and no chunk; once created, it is read from 0."""
    tail = FileTail(path)
    assert tail.read() is None and tail.closed
    _append(path, b"one\n")
    assert _all(tail) == [Chunk(b"one\n")]
    assert (tail.inode, tail.offset) == (os.stat(path).st_ino, 4)
    assert (tail.truncations, tail.replacements) == (0, 0)


def test_each_read_returns_only_what_was_appended_since(path):
    """Appends come back once each, partial lines included, in chunks of at most ``chunk``."""
    _append(path, b"abcdefg")
    tail = FileTail(path, chunk=3)
    assert [c.data for c in _all(tail)] == [b"abc", b"def", b"g"]
    assert tail.read() is None
    _append(path, b"hi")
    assert _all(tail) == [Chunk(b"hi")]


@pytest.mark.parametrize("saved, offset, truncations", [
    (None, 0, 0),
    ("same inode", 4, 0),
    ("other inode", 0, 0),
    ("beyond the end", 0, 1),
], ids=lambda v: str(v))
def test_opening_resumes_at_a_saved_position_of_the_same_file(path, saved, offset,
                                                              truncations):
    """``resume`` is asked at open: its offset applies to the same inode
    only; an offset beyond the end is a truncation (the file was cut while
    we were away) and reads from 0."""
    _append(path, b"old\nnew\n")
    inode = os.stat(path).st_ino
    position = {None: None, "same inode": (inode, 4), "other inode": (inode + 1, 4),
                "beyond the end": (inode, 99)}[saved]
    tail = FileTail(path, resume=lambda: position)
    assert tail.read() == Chunk(b"old\nnew\n"[offset:])
    assert tail.truncations == truncations


def test_a_truncated_file_is_read_again_from_its_start(path):
    """A file cut shorter than our offset restarts at 0, counted and marked."""
    _append(path, b"first\nsecond\n")
    tail = FileTail(path)
    _all(tail)
    with open(path, "wb") as f:
        f.write(b"third\n")
    assert _all(tail) == [Chunk(b"third\n", TRUNCATED)]
    assert (tail.truncations, tail.replacements, tail.offset) == (1, 0, 6)


def test_a_file_cut_to_nothing_is_news_without_data(path):
    """Emptied: an empty chunk says to drop what was kept of the old content."""
    _append(path, b"partial")
    tail = FileTail(path)
    _all(tail)
    open(path, "wb").close()
    assert _all(tail) == [Chunk(b"", TRUNCATED)]


def test_rotation_by_rename_finishes_the_old_file_then_reads_the_new(path):
    """What was appended to the old file before the rename is read first,
    through the descriptor held; then the new file at the path, from 0."""
    _append(path, b"1\n")
    tail = FileTail(path)
    _all(tail)
    _append(path, b"2\n")
    os.rename(path, path + ".1")
    _append(path, b"3\n")
    assert _all(tail) == [Chunk(b"2\n"), Chunk(b"3\n", REPLACED)]
    assert (tail.replacements, tail.inode) == (1, os.stat(path).st_ino)


def test_a_file_deleted_keeps_what_is_held_until_another_appears(path):
    """While nothing is at the path, the old file is kept; a new one is a replacement."""
    _append(path, b"1\n")
    tail = FileTail(path)
    _all(tail)
    os.unlink(path)
    assert tail.read() is None and not tail.closed
    _append(path, b"")
    assert _all(tail) == [Chunk(b"", REPLACED)]


def test_seek_reads_again_from_an_earlier_offset(path):
    """A reader that could not keep a chunk gets the same bytes again."""
    _append(path, b"abcdef")
    tail = FileTail(path)
    _all(tail)
    tail.seek(2)
    assert _all(tail) == [Chunk(b"cdef")]


def test_free_punches_the_consumed_prefix_out_every_punch_every_bytes(path):
    """The consumed prefix reads back as zeros (where the file system can
    punch holes; elsewhere punching stops); the offsets stay valid."""
    _append(path, b"x" * 10000)
    tail = FileTail(path, punch_every=4096)
    _all(tail)
    tail.free(4000)  # less than punch_every: nothing yet
    with open(path, "rb") as f:
        assert f.read(1) == b"x"
    tail.free(9000)
    with open(path, "rb") as f:
        head = f.read(8192)
    assert head == b"\0" * 8192 or tail.punch_every == 0
    _append(path, b"y")
    assert tail.read() == Chunk(b"y")
    tail.close()
    assert tail.closed
