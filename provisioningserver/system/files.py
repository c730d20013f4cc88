"""Where rackd keeps dhcpd's files, and how it writes them.

A file that dhcpd or a later rackd reads is never seen half-written: it is
written to a temporary file in the same directory, flushed to disk, renamed
over the old one, and the directory is synced so the rename survives a crash.

A file that is damaged all the same (a disk error, a hand edit, a file from
elsewhere) is never deleted: `move_aside` renames it to
``NAME.corrupt-TIMESTAMP`` next to where it was, for a post-mortem, and the
caller starts without it and says so.
"""

import os
import tempfile
import time

import attrs


def atomic_write(path, data, mode=0o644):
    """Replace ``path`` with ``data`` (bytes or str) in one rename."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
    dirfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)


def move_aside(path, now):
    """Rename the damaged ``path`` to ``path.corrupt-YYYYmmddTHHMMSSZ`` (UTC
    at ``now``, seconds since the epoch); the new name."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    target = f"{path}.corrupt-{stamp}"
    os.replace(path, target)
    return target


def read_text(path):
    """The file's text, or None when there is none."""
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read()
    except FileNotFoundError:
        return None


@attrs.frozen
class DhcpdPaths:
    """The files of one family's dhcpd."""

    config: str
    leases: str
    pid: str
    log: str

    @classmethod
    def for_family(cls, config, ip_version):
        suffix = "" if ip_version == 4 else "6"
        return cls(
            config=os.path.join(config.state_dir, f"dhcpd{suffix}.conf"),
            leases=os.path.join(config.state_dir, f"dhcpd{suffix}.leases"),
            pid=os.path.join(config.run_dir, f"dhcpd{suffix}.pid"),
            log=os.path.join(config.state_dir, "log", f"dhcpd{suffix}.log"),
        )


def ensure_directories(config):
    for directory in (config.state_dir, os.path.join(config.state_dir, "log"), config.run_dir):
        os.makedirs(directory, mode=0o755, exist_ok=True)
