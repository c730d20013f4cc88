"""The lease socket and spool: validation, batching, draining."""

import os
import socket

from twisted.internet import reactor
from twisted.internet.task import Clock
from twisted.logger import Logger

from provisioningserver.leases.journal import Journal
from provisioningserver.leases.notify import (
    Counts,
    LeaseDatagrams,
    LeaseSocketService,
    drain_spool,
)

RECORD = b"rackd-lease 1 commit 4 198.18.1.%d 0:c:1:2:3:4 - 600 - unknown 1700000000\n"


def _clock():
    clock = Clock()
    clock.time = clock.seconds
    return clock


def _journal(tmp_path):
    return Journal(str(tmp_path / "j.db"), clock=_clock())


def test_a_burst_of_datagrams_is_one_commit(tmp_path):
    """Datagrams received in one reactor turn are recorded together."""
    journal = _journal(tmp_path)
    clock = _clock()
    protocol = LeaseDatagrams(journal, clock)
    for n in range(1, 4):
        protocol.datagramReceived(RECORD % n)
    assert journal.pending_count() == 0
    clock.advance(0)
    assert [e.ip for _, e in journal.pending()] == ["198.18.1.1", "198.18.1.2", "198.18.1.3"]
    assert journal.pending()[0][1].timestamp == 1700000000.0
    assert protocol.counts.events == 3


def test_hostile_datagrams_are_counted_not_raised(tmp_path):
    """Oversized, binary, non-record and wrongly typed datagrams are rejected."""
    journal = _journal(tmp_path)
    clock = _clock()
    protocol = LeaseDatagrams(journal, clock)
    for data in [
        b"x" * 70000,
        b"rackd-lease " + b"\xff" * 3000,
        b"\x00\x01\x02",
        b"",
        b"hello",
        b"rackd-lease 1 commit 4 198.18.1.1 0:c:1:2:3:4 - six - unknown -",
        b"rackd-lease 1 commit 4 198.18.1.1\nrackd-lease 1 commit 4 198.18.1.2",
    ]:
        protocol.datagramReceived(data)
    protocol.datagramReceived(RECORD % 9)
    clock.advance(0)
    assert protocol.counts.rejected == 7
    assert [e.ip for _, e in journal.pending()] == ["198.18.1.9"]


def test_drain_spool_records_lines_and_removes_the_file(tmp_path):
    """Spooled lines go to the journal in one batch; bad lines are counted."""
    journal = _journal(tmp_path)
    spool = str(tmp_path / "spool")
    with open(spool, "wb") as f:
        f.write(RECORD % 1 + b"garbage\n" + RECORD % 2)
    counts = Counts()
    assert drain_spool(spool, journal, counts, Logger()) == 2
    assert counts.rejected == 1 and counts.spooled == 2
    assert not os.path.exists(spool) and not os.path.exists(spool + ".draining")
    assert drain_spool(spool, journal, counts, Logger()) == 0


def test_a_leftover_draining_file_is_drained_first(tmp_path):
    """A crash mid-drain leaves .draining: it is drained, then the spool."""
    journal = _journal(tmp_path)
    spool = str(tmp_path / "spool")
    with open(spool + ".draining", "wb") as f:
        f.write(RECORD % 1)
    with open(spool, "wb") as f:
        f.write(RECORD % 2)
    assert drain_spool(spool, journal, Counts(), Logger()) == 2
    assert [e.ip for _, e in journal.pending()] == ["198.18.1.1", "198.18.1.2"]


def test_service_listens_and_drains_after_the_grace(tmp_path):
    """A real unix datagram reaches the journal; the spool waits for the grace."""
    journal = _journal(tmp_path)
    sock_path, spool = str(tmp_path / "s.sock"), str(tmp_path / "spool")
    with open(spool, "wb") as f:
        f.write(RECORD % 5)
    clock = _clock()
    svc = LeaseSocketService(sock_path, spool, journal, reactor, clock=clock, grace=3)
    svc.startService()
    try:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        client.sendto(RECORD % 6, sock_path)
        client.close()
        # Let the real reactor read the datagram; the flush runs on `clock`.
        svc._port.doRead()
        clock.advance(0)
        assert [e.ip for _, e in journal.pending()] == ["198.18.1.6"]
        clock.advance(3)
        assert [e.ip for _, e in journal.pending()][-1] == "198.18.1.5"
    finally:
        svc.stopService()
    assert clock.getDelayedCalls() == []


def _crash_after_recording(spool, journal):
    """What a crash between the journal commit and the unlink leaves behind."""
    os.rename(spool, spool + ".draining")
    with open(spool + ".draining", "rb") as f:
        inode, size = os.fstat(f.fileno()).st_ino, len(f.read())
    from provisioningserver.dhcp.leaserecord import parse_record

    with open(spool + ".draining", "rb") as f:
        events = [parse_record(line) for line in f.read().splitlines()]
    journal.record(events, "dhcp-notify-spool", position=(inode, size))


def test_a_crash_after_recording_does_not_duplicate(tmp_path):
    """A .draining file whose events the journal already holds (its inode and
    size are the recorded position) is deleted without recording it again."""
    journal = _journal(tmp_path)
    spool = str(tmp_path / "spool")
    with open(spool, "wb") as f:
        f.write(RECORD % 1 + RECORD % 2)
    _crash_after_recording(spool, journal)
    assert drain_spool(spool, journal, Counts(), Logger()) == 0
    assert [e.ip for _, e in journal.pending()] == ["198.18.1.1", "198.18.1.2"]
    assert not os.path.exists(spool + ".draining")
    assert journal.position("dhcp-notify-spool") == (0, 0)


def test_a_crash_before_recording_loses_nothing(tmp_path):
    """A .draining file the journal does not name is recorded, once."""
    journal = _journal(tmp_path)
    spool = str(tmp_path / "spool")
    with open(spool, "wb") as f:
        f.write(RECORD % 3)
    os.rename(spool, spool + ".draining")  # the crash came right after the rename
    assert drain_spool(spool, journal, Counts(), Logger()) == 1
    assert drain_spool(spool, journal, Counts(), Logger()) == 0
    assert [e.ip for _, e in journal.pending()] == ["198.18.1.3"]


def test_a_stale_position_never_hides_a_new_spool(tmp_path):
    """A new spool that reuses an old one's inode and size is still recorded:
    a fresh drain clears the position before it reads."""
    journal = _journal(tmp_path)
    spool = str(tmp_path / "spool")
    with open(spool, "wb") as f:
        f.write(RECORD % 4)
    inode = os.stat(spool).st_ino
    journal.record([], "dhcp-notify-spool", position=(inode, len(RECORD % 4)))
    assert drain_spool(spool, journal, Counts(), Logger()) == 1
    assert [e.ip for _, e in journal.pending()] == ["198.18.1.4"]
