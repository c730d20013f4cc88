"""What dhcpd's log lines do not say, kept in memory from other files.

rackd's default event source turns dhcpd's own DHCPACK and release lines
into lease events (`provisioningserver.leases.sorter`). Two things such an
event needs are not in the line:

- the DHCPv4 lease time, which dhcpd writes to its leases file (and
  fsyncs) before it sends and logs the DHCPACK. `LeasesFileTail` follows
  that file with a `provisioningserver.leases.tail.FileTail` and feeds its
  complete records to a `LeaseTimes`. dhcpd rewrites the file at start and
  about hourly (a new inode at the path, holding every current lease), and
  rackd rewrites it before each dhcpd start: the tail then reads the new
  file from 0 and the times start afresh.
- whether a host reservation names the client (``unknown_client``).
  `KnownClients` asks rackd for the applied hosts' MACs again only when
  the applied state file changed (inode, mtime or size).

`LineEvents` holds both and is the sorter's `ILookups`: the follower calls
`refresh` (the only I/O here) after reading a chunk of the log and before
sorting it, so every ACK in the chunk finds its lease already read; the
lookups themselves only read memory.
"""

import os

from zope.interface import implementer

from provisioningserver.leases.leasetimes import LeaseTimes
from provisioningserver.leases.sorter import ILookups
from provisioningserver.leases.tail import CHUNK, FileTail

_RECORD_END = b"\n}\n"


class LeasesFileTail:
    """Reads dhcpd's leases file as it grows into a `LeaseTimes`.

    Only complete records are read (up to a closing brace at the start of a
    line); the rest waits. A file replaced or cut shorter is read again
    from 0 (``rereads``), into new times."""

    def __init__(self, path, chunk=CHUNK):
        self.tail = FileTail(path, chunk=chunk)
        self.times = LeaseTimes()
        self._partial = b""  # a record still being written

    @property
    def path(self):
        return self.tail.path

    @property
    def rereads(self):
        return self.tail.truncations + self.tail.replacements

    def refresh(self):
        while (chunk := self.tail.read()) is not None:
            if chunk.restart is not None:
                self.times, self._partial = LeaseTimes(), b""
            data = self._partial + chunk.data
            end = data.rfind(_RECORD_END) + len(_RECORD_END)
            if end < len(_RECORD_END):
                if len(data) < self.tail.chunk:
                    self._partial = data  # a record still being written
                    continue
                end = len(data)  # a chunk without a record's end: not dhcpd's
            self.times.feed(data[:end].decode("utf-8", "replace"))
            self._partial = data[end:]

    def close(self):
        self.tail.close()


def file_version(path):
    """A `KnownClients` version read from a file: its identity, time and size
    (None while it is missing). For a follower with no AppliedState to ask."""

    def version():
        try:
            st = os.stat(path)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    return version


class KnownClients:
    """Whether a reservation names a MAC: ``macs()`` returns the MACs of
    the applied hosts, and is asked again when ``version()`` changes.

    rackd's version is `AppliedState.generation`, which grows only once the
    new state is held: a version read from the state file would change as
    soon as the file is written (in a thread, before the state is held), and
    the MACs read then would be the old ones, kept until the next change."""

    def __init__(self, version, macs):
        self.version = version
        self.macs = macs
        self._seen = self  # no version is this: the first refresh asks macs()
        self._known = frozenset()

    def refresh(self):
        seen = self.version()
        if seen != self._seen:
            self._known = frozenset(self.macs())
            self._seen = seen

    def __call__(self, mac):
        return mac in self._known


@implementer(ILookups)
class LineEvents:
    """The default source's lookups: DHCPv4 lease times from the leases file
    at ``leases_path``, and the unknown-client flag from ``clients`` (a
    `KnownClients`; without one, the flag is not set)."""

    def __init__(self, leases_path, clients=None):
        self.leases = LeasesFileTail(leases_path)
        self.clients = clients

    def refresh(self):
        """Read what is new in the files (before sorting the lines they explain)."""
        self.leases.refresh()
        if self.clients is not None:
            self.clients.refresh()

    def lease_time(self, ip, mac):
        return self.leases.times.lease_time(ip, mac)

    def known(self, mac):
        return None if self.clients is None else self.clients(mac)

    def close(self):
        self.leases.close()
