"""The sorter's lookups from other files: lease times from the leases file
(LeasesFileTail), reservations from the applied state (KnownClients), and
LineEvents, which holds both as an ILookups."""

import os

import pytest
from zope.interface.verify import verifyObject

from provisioningserver.leases.lookups import LeasesFileTail, LineEvents
from provisioningserver.leases.sorter import ILookups
from tests.leases.files import (
    IP, LEASES_HEADER, MAC, append, grow, known_clients, lease, replace, truncate,
)


def _tail(tmp_path, text=None):
    path = str(tmp_path / "dhcpd.leases")
    if text is not None:
        append(path, text)
    tail = LeasesFileTail(path)
    tail.refresh()
    return path, tail


@pytest.mark.parametrize("cut", [1, 2, 20], ids=["newline", "brace", "fields"])
def test_leases_tail_waits_for_a_record_to_be_complete(tmp_path, cut):
    """A record without its closing "}\\n" is not read until an append completes it."""
    record = lease()
    path, tail = _tail(tmp_path, LEASES_HEADER + record[:-cut])
    assert (tail.times.records, tail.times.lease_time(IP, MAC)) == (0, None)
    append(path, record[-cut:])
    tail.refresh()
    assert (tail.times.records, tail.times.lease_time(IP, MAC)) == (1, 600)


def test_leases_tail_reads_appended_records_incrementally(tmp_path):
    """Each refresh reads only what was appended since the last one."""
    path, tail = _tail(tmp_path, LEASES_HEADER + lease())
    tail.refresh()
    assert tail.times.records == 1
    append(path, lease(state="released") + lease(ip="198.18.1.1", mac="02:00:5e:10:00:02",
                                                    ends="6 2026/11/29 00:48:14"))
    tail.refresh()
    assert tail.times.records == 3
    assert tail.times.lease_time(IP, MAC) == 600
    assert tail.times.lease_time("198.18.1.1", "02:00:5e:10:00:02") == 3600
    assert tail.rereads == 0


@pytest.mark.parametrize("rewrite", [replace, truncate], ids=["replaced", "truncated"])
def test_a_rewritten_leases_file_is_read_again_from_the_start(tmp_path, rewrite):
    """A new file at the path, or the file cut shorter, is read from 0 and
    counted; leases only in the old content are forgotten."""
    path, tail = _tail(tmp_path, LEASES_HEADER + lease() + lease(ip="198.18.1.1"))
    inode = os.stat(path).st_ino
    rewrite(path, LEASES_HEADER + lease(ip="198.18.1.2"))
    assert (os.stat(path).st_ino != inode) == (rewrite is replace)
    tail.refresh()
    assert tail.rereads == 1
    assert tail.times.lease_time(IP, MAC) is None
    assert tail.times.lease_time("198.18.1.1", MAC) is None
    assert tail.times.lease_time("198.18.1.2", MAC) == 600
    assert (tail.times.records, len(tail.times)) == (1, 1)


def test_a_missing_leases_file_is_no_error(tmp_path):
    """No file yet (or for a moment, mid-rewrite) reads nothing and keeps what was read."""
    path, tail = _tail(tmp_path)
    assert (len(tail.times), tail.rereads) == (0, 0)
    append(path, lease())
    tail.refresh()
    assert tail.times.lease_time(IP, MAC) == 600
    assert tail.rereads == 0  # the first read is no reread
    os.unlink(path)
    tail.refresh()
    assert tail.times.lease_time(IP, MAC) == 600


def _same_text_new_inode(path):
    with open(path) as f:
        replace(path, f.read())


def _touch(path):
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


@pytest.mark.parametrize("change", [grow, _same_text_new_inode, _touch],
                         ids=["grown", "replaced", "touched"])
def test_known_clients_asks_again_only_when_the_file_changes(tmp_path, change):
    """``macs()`` is called at the first refresh and again only after the
    applied file changed (size, inode or mtime); the answer follows it."""
    macs = [MAC]
    path, known, calls = known_clients(tmp_path, macs)
    append(path, "{}")
    known.refresh()
    known.refresh()
    assert len(calls) == 1
    assert known(MAC) is True and known("02:00:5e:10:00:02") is False
    macs[:] = ["02:00:5e:10:00:02"]
    known.refresh()
    assert len(calls) == 1 and known(MAC) is True  # unchanged file: not asked
    change(path)
    known.refresh()
    known.refresh()
    assert len(calls) == 2
    assert known(MAC) is False and known("02:00:5e:10:00:02") is True


def test_known_clients_asks_once_while_the_file_is_missing(tmp_path):
    """The first refresh asks ``macs()`` even with no applied file (rackd's
    answers from its own state), then again only once the file appears."""
    path, known, calls = known_clients(tmp_path, [MAC])
    known.refresh()
    known.refresh()
    assert known(MAC) is True and len(calls) == 1
    append(path, "{}")
    known.refresh()
    assert known(MAC) is True and len(calls) == 2


def test_a_garbled_leases_file_neither_raises_nor_stops_the_tail(tmp_path):
    """Bytes that are not text, a run longer than a chunk without a record's
    end, and a record with wrongly typed fields are skipped without an error;
    the valid record after them is read."""
    path = str(tmp_path / "dhcpd.leases")
    with open(path, "wb") as f:
        f.write(b"\xff\xfe\x00garbage\n" + b"x" * 5000 + b"\n")
        f.write(b"lease 198.18.1.0 {\n  ends soon;\n  cltt 6 2026/13/45 99:99:99;\n"
                b"  binding state active;\n  hardware ethernet zz;\n}\n")
        f.write((LEASES_HEADER + lease()).encode())
    tail = LeasesFileTail(path, chunk=4096)
    tail.refresh()
    assert tail.times.lease_time(IP, MAC) == 600


def test_line_events_is_the_sorters_lookups(tmp_path):
    """LineEvents provides ILookups, the interface the sorter's fake provides too."""
    assert verifyObject(ILookups, LineEvents(str(tmp_path / "dhcpd.leases")))


def test_line_events_look_up_what_the_files_said_at_the_last_refresh(tmp_path):
    """Lease times and reservations are read by refresh, then looked up in
    memory; without KnownClients, whether a client is known cannot be told."""
    leases = str(tmp_path / "dhcpd.leases")
    applied, clients, _ = known_clients(tmp_path, [MAC])
    append(applied, "{}")
    events, bare = LineEvents(leases, clients), LineEvents(leases)
    append(leases, LEASES_HEADER + lease())
    assert events.lease_time(IP, MAC) is None
    events.refresh()
    bare.refresh()
    assert (events.lease_time(IP, MAC), events.known(MAC), events.known("02:00:5e:10:00:02"),
            bare.known(MAC)) == (600, True, False, None)
    events.close()
    bare.close()
    assert events.leases.tail.closed


def test_known_clients_follow_the_applied_states_generation():
    """With rackd's version (AppliedState.generation) the MACs are asked
    again exactly when a new state is held, not when its file is written."""
    from provisioningserver.leases.lookups import KnownClients
    state = {"generation": 0, "macs": [MAC]}
    known = KnownClients(lambda: state["generation"], lambda: iter(state["macs"]))
    known.refresh()
    assert known(MAC)
    state["macs"] = []  # the file may be new already; the state held is not
    known.refresh()
    assert known(MAC)
    state["generation"] += 1  # held
    known.refresh()
    assert not known(MAC)
