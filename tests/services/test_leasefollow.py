"""Following dhcpd's log file: offsets, restarts, truncation, replacement."""

import os

from twisted.internet.task import Clock

from provisioningserver.services.journal import Journal
from provisioningserver.services.leasefollow import LeaseFollowService, LogFollower


def _clock():
    clock = Clock()
    clock.time = clock.seconds
    return clock


def _record(n, action="commit"):
    return "rackd-lease 1 %s 4 198.18.1.%d 0:c:1:2:3:%x - 600 - unknown -\n" % (action, n, n)


def _append(path, text):
    with open(path, "a") as f:
        f.write(text)


def _setup(tmp_path, **kw):
    log = str(tmp_path / "dhcpd.log")
    journal = Journal(str(tmp_path / "j.db"), clock=_clock())
    return log, journal, LogFollower(log, journal, "dhcpd4", **kw)


def _ips(journal):
    return [e.ip for _, e in journal.pending(10000)]


def test_reads_records_and_skips_other_lines(tmp_path):
    """Only record lines become events; dhcpd's other lines are passed over."""
    log, journal, follower = _setup(tmp_path)
    assert follower.poll() == 0  # no file yet
    _append(log, "DHCPDISCOVER from 00:0c:01:02:03:04 via s0\n" + _record(1) + "DHCPACK on x\n")
    assert follower.poll() == 1
    assert _ips(journal) == ["198.18.1.1"]
    assert journal.position("dhcpd4") == (os.stat(log).st_ino, os.path.getsize(log))


def test_a_partial_line_waits_for_its_newline(tmp_path):
    """dhcpd writes text and newline separately; half a line is not consumed."""
    log, journal, follower = _setup(tmp_path)
    line = _record(1)
    _append(log, line[:-1])
    assert follower.poll() == 0
    _append(log, "\n")
    assert follower.poll() == 1


def test_a_new_follower_resumes_without_duplicates_or_losses(tmp_path):
    """Lines written while rackd was down are read once when it returns."""
    log, journal, follower = _setup(tmp_path)
    _append(log, _record(1) + _record(2))
    follower.poll()
    follower.close()
    _append(log, _record(3))  # rackd down; dhcpd restarted appends
    follower = LogFollower(log, journal, "dhcpd4")
    follower.poll()
    follower.poll()
    assert _ips(journal) == ["198.18.1.1", "198.18.1.2", "198.18.1.3"]


def test_small_chunks_read_everything(tmp_path):
    """Reading in small chunks neither loses nor repeats a line."""
    log, journal, follower = _setup(tmp_path, chunk=1)  # raised to MAX_LINE
    _append(log, "".join(_record(i) for i in range(1, 201)))
    assert follower.poll() == 200
    assert len(set(_ips(journal))) == 200


def test_garbled_lines_are_counted_and_skipped(tmp_path):
    """A bad record, binary junk or an endless line never stops the reading."""
    log, journal, follower = _setup(tmp_path)
    _append(log, "rackd-lease 1 commit 4 nonsense\n")
    with open(log, "ab") as f:
        f.write(b"\xff\x00rackd\n" + b"x" * 10000 + b"\n")
    _append(log, _record(7))
    assert follower.poll() == 1
    assert follower.rejected == 1
    assert _ips(journal) == ["198.18.1.7"]


def test_truncation_restarts_at_zero(tmp_path):
    """A file cut shorter than our offset is read again from its start."""
    log, journal, follower = _setup(tmp_path)
    _append(log, _record(1) + _record(2))
    follower.poll()
    with open(log, "w") as f:
        f.write(_record(3))
    follower.poll()
    assert follower.truncations == 1
    assert _ips(journal) == ["198.18.1.1", "198.18.1.2", "198.18.1.3"]


def test_replacement_finishes_the_old_file_first(tmp_path):
    """A new log file at the path is read after the rest of the old one."""
    log, journal, follower = _setup(tmp_path)
    _append(log, _record(1))
    follower.poll()
    _append(log, _record(2))
    os.rename(log, log + ".1")
    _append(log, _record(3))
    follower.poll()
    assert follower.replacements == 1
    assert _ips(journal) == ["198.18.1.1", "198.18.1.2", "198.18.1.3"]


def test_replaced_while_down_starts_the_new_file_at_zero(tmp_path):
    """A saved position of another inode does not apply to the new file."""
    log, journal, follower = _setup(tmp_path)
    _append(log, _record(1) * 3)
    follower.poll()
    follower.close()
    os.unlink(log)
    _append(log, _record(2))
    LogFollower(log, journal, "dhcpd4").poll()
    assert _ips(journal)[-1] == "198.18.1.2"


def test_consumed_prefix_is_punched_out(tmp_path):
    """Freed space: the consumed prefix reads back as zeros, offsets unchanged."""
    log, journal, follower = _setup(tmp_path, punch_every=4096)
    _append(log, "".join(_record(i % 250) for i in range(200)))
    follower.poll()
    with open(log, "rb") as f:
        head = f.read(4096)
    assert head == b"\0" * 4096 or follower.punch_every == 0
    _append(log, _record(9))
    assert follower.poll() == 1


def test_service_polls_on_the_clock_and_survives_errors(tmp_path):
    """The loop polls every interval; an exception is counted, not fatal."""
    log, journal, follower = _setup(tmp_path)
    clock = _clock()
    svc = LeaseFollowService(follower, clock, interval=0.5)
    svc.startService()
    _append(log, _record(1))
    clock.advance(0.5)
    assert _ips(journal) == ["198.18.1.1"]
    journal.close()  # now every poll fails
    _append(log, _record(2))
    clock.advance(0.5)
    clock.advance(0.5)
    assert svc.errors == 2
    svc.stopService()
    assert clock.getDelayedCalls() == []
