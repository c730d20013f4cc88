"""Reading what is new in a file that another process appends to.

rackd follows two files dhcpd writes: its log (stderr, which rackd opened
with O_APPEND: `provisioningserver.leases.follow`) and its leases file
(`provisioningserver.leases.lookups`). Both grow by appends; both are at
times replaced or cut, and `FileTail` is the one place that knows how.

Where we are is (inode, offset): the file we hold open and how far into it
we have read. `read` returns the next chunk of new bytes, or None when
there is nothing new. Only at the end of the file in hand does it look for
a change at the path, so nothing written to the old file is skipped:

- the file at the path has another inode (replaced by a rename, or deleted
  and created again): the old one has been read to its end through the
  descriptor we hold; we open the new one and read it from 0;
- the file is shorter than our offset (someone cut it): we read it again
  from 0;
- no file at the path (not created yet, or for a moment mid-rewrite): we
  keep what we hold, and wait.

Either restart is counted, and the chunk that starts anew says so
(`Chunk.restart`), so a reader drops what it kept of the old content: a
partial line, or lease times the new file no longer holds.

Where to begin when the file is first opened is asked of ``resume``: the
log follower stores its position with the events it read (the journal), so
it resumes there if the inode is still the one it read, and starts at 0 on
another inode. A stored offset beyond the end means the file was cut while
rackd was away: that counts as a truncation.

What the reader has consumed can be given back to the file system with
`free`: dhcpd never reopens its stderr, so its log is never rotated by
renaming; instead the consumed prefix is punched out (``fallocate`` with
PUNCH_HOLE, KEEP_SIZE). Offsets stay valid, the writer is untouched, and
the disk space comes back; the file is sparse and its size keeps growing.
"""

import ctypes
import ctypes.util
import errno
import os

import attrs

CHUNK = 1 << 20
TRUNCATED = "truncated"
REPLACED = "replaced"

_BLOCK = 4096
_FALLOC_FL_KEEP_SIZE = 0x01
_FALLOC_FL_PUNCH_HOLE = 0x02


def punch_hole(fd, length):
    """Free the first ``length`` bytes of ``fd`` (rounded down to a block).

    Returns False where the file system or libc cannot do it.
    """
    length -= length % _BLOCK
    if length <= 0:
        return True
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    flags = _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE
    result = libc.fallocate(
        ctypes.c_int(fd), ctypes.c_int(flags), ctypes.c_int64(0), ctypes.c_int64(length)
    )
    return result == 0


@attrs.frozen
class Chunk:
    """New bytes of the file; ``restart`` (TRUNCATED or REPLACED) when they
    begin a file read anew from 0, and then ``data`` may be empty."""

    data: bytes
    restart: str | None = None


def _no_position():
    return None


class FileTail:
    """The new bytes of the file at ``path``, ``chunk`` bytes at a time.

    ``resume()`` gives the (inode, offset) to start at when the file is
    opened, or None for its start. With ``punch_every``, `free` punches the
    consumed prefix out each time that many more bytes were consumed."""

    def __init__(self, path, chunk=CHUNK, resume=_no_position, punch_every=0):
        self.path = path
        self.chunk = chunk
        self.resume = resume
        self.punch_every = punch_every
        self.inode = None
        self.offset = 0  # how far into the file in hand we have read
        self.truncations = 0
        self.replacements = 0
        self._fd = None
        self._punched = 0

    @property
    def closed(self):
        return self._fd is None

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def seek(self, offset):
        """Read the file in hand again from ``offset`` (a reader that could
        not keep what it read: the journal failed)."""
        self.offset = offset

    def read(self):
        """The next `Chunk` of new bytes, or None when there is none."""
        if self._fd is None and not self._open():
            return None
        restart = None
        while True:
            data = os.pread(self._fd, self.chunk, self.offset)
            if data:
                self.offset += len(data)
                return Chunk(data, restart)
            if restart is not None:
                return Chunk(b"", restart)  # a new, empty file: still news
            restart = self._moved()
            if restart is None:
                return None

    def free(self, consumed):
        """The reader has consumed the file in hand up to ``consumed``."""
        if self.punch_every and consumed - self._punched >= self.punch_every:
            if punch_hole(self._fd, consumed):
                self._punched = consumed
            else:
                self.punch_every = 0  # not supported here: stop trying

    def _open(self):
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        st = os.fstat(fd)
        saved = self.resume()
        self._fd, self.inode, self.offset, self._punched = fd, st.st_ino, 0, 0
        if saved is not None and saved[0] == st.st_ino:
            if saved[1] <= st.st_size:
                self.offset = saved[1]
            else:
                self.truncations += 1
        return True

    def _moved(self):
        """At the end of the file in hand: TRUNCATED or REPLACED if we now
        read from 0 (the same file cut, or a new one), else None."""
        if os.fstat(self._fd).st_size < self.offset:
            self.truncations += 1
            self.offset = self._punched = 0
            return TRUNCATED
        try:
            st = os.stat(self.path)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise
        if st.st_ino == self.inode:
            return None
        self.replacements += 1
        self.close()
        fd = os.open(self.path, os.O_RDONLY)
        self._fd, self.inode, self.offset, self._punched = fd, os.fstat(fd).st_ino, 0, 0
        return REPLACED
