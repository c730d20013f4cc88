"""Following dhcpd's log file: offsets, restarts, truncation, replacement."""

import os

import attrs
import pytest
from twisted.internet import defer, task
from twisted.internet.task import Clock

from provisioningserver.dhcp.leaserecord import LeaseEvent
from provisioningserver.leases.journal import Journal
from provisioningserver.leases.follow import LeaseFollowService, LogFollower
from provisioningserver.leases.lookups import LineEvents
from tests.leases.files import IP, LEASES_HEADER, MAC, append as _append, grow as _grow
from tests.leases.files import known_clients as _known, lease as _lease
from tests.logged import logged


def _clock():
    clock = Clock()
    clock.time = clock.seconds
    return clock


def _record(n, action="commit"):
    return "rackd-lease 1 %s 4 198.18.1.%d 0:c:1:2:3:%x - 600 - unknown -\n" % (action, n, n)


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


class _FailingOnce:
    """The journal, but its next ``record`` fails as a full disk would."""

    def __init__(self, journal):
        self.journal = journal
        self.failing = True

    def position(self, source):
        return self.journal.position(source)

    def record(self, *args):
        if self.failing:
            self.failing = False
            raise OSError(28, "No space left on device")
        return self.journal.record(*args)


def test_a_failed_commit_reads_the_same_lines_again(tmp_path):
    """Lines whose commit failed are neither lost nor doubled: the next
    poll reads them again, from the position last stored."""
    log, journal, _ = _setup(tmp_path)
    follower = LogFollower(log, _FailingOnce(journal), "dhcpd4")
    _append(log, _record(1) + _record(2) + _record(3)[:10])
    with pytest.raises(OSError):
        follower.poll()
    assert (_ips(journal), follower.events) == ([], 0)
    _append(log, _record(3)[10:])
    assert follower.poll() == 3
    assert _ips(journal) == ["198.18.1.1", "198.18.1.2", "198.18.1.3"]
    assert journal.position("dhcpd4") == (os.stat(log).st_ino, os.path.getsize(log))


def test_a_partial_line_of_a_replaced_file_is_dropped(tmp_path):
    """The half line the old file ended with is not glued to the new file's first."""
    log, journal, follower = _setup(tmp_path)
    _append(log, _record(1) + _record(2)[:15])
    follower.poll()
    os.rename(log, log + ".1")
    _append(log, _record(3))
    follower.poll()
    assert _ips(journal) == ["198.18.1.1", "198.18.1.3"]
    assert (follower.replacements, follower.rejected) == (1, 0)


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


# The default event source: commits and releases from dhcpd's own lines,
# lease times from the leases file and known clients from the applied state
# (LineEvents, tests/leases/test_lookups.py), expiries from record lines.

LOG = (
    "DHCPDISCOVER from 02:00:5e:10:00:01 via eth0\n"
    "DHCPOFFER on 198.18.1.0 to 02:00:5e:10:00:01 (a) via eth0\n"
    "DHCPREQUEST for 198.18.1.0 (198.18.0.1) from 02:00:5e:10:00:01 (a) via eth0\n"
    "rackd-lease 1 commit 4 198.18.1.0 2:0:5e:10:0:1 - 600 - unknown -\n"
    "DHCPACK on 198.18.1.0 to 02:00:5e:10:00:01 (a) via eth0\n"
    "DHCPRELEASE of 198.18.1.0 from 02:00:5e:10:00:01 (a) via eth0 (found)\n"
    "rackd-lease 1 release 4 198.18.1.0 2:0:5e:10:0:1 - - - - -\n"
    "rackd-lease 1 expiry 4 198.18.1.0 - - - - - -\n"
)


def _line_events(tmp_path, macs):
    """LineEvents of the leases file in tmp_path, with the applied file
    there and ``macs`` (a list, which may change) its reservations."""
    path, known, _ = _known(tmp_path, macs)
    if not os.path.exists(path):
        _append(path, "{}")
    return LineEvents(str(tmp_path / "dhcpd.leases"), known)


def _line_setup(tmp_path, macs):
    """(log, leases, journal, follower) reading with `_line_events`."""
    log, journal, follower = _setup(tmp_path, events=_line_events(tmp_path, macs))
    return log, str(tmp_path / "dhcpd.leases"), journal, follower


def _events(journal):
    """The pending events without the time the journal stamped them with."""
    return [attrs.evolve(e, timestamp=None) for _, e in journal.pending(1000)]


def _commit(lease_time=600, unknown_client=False, ip=IP, mac=MAC):
    return LeaseEvent(action="commit", ip_family=4, ip=ip, mac=mac, hostname="a",
                      lease_time=lease_time, unknown_client=unknown_client)


RELEASE = LeaseEvent(action="release", ip_family=4, ip=IP, mac=MAC, hostname="a")
EXPIRY = LeaseEvent(action="expiry", ip_family=4, ip=IP)


@pytest.mark.parametrize("macs, unknown_client", [((MAC,), False), ((), True)],
                         ids=["reserved", "unreserved"])
def test_line_events_journal_commits_releases_and_expiries_once(tmp_path, macs, unknown_client):
    """One poll journals the ACK's commit (lease time from the leases file,
    unknown_client from the reservations), the release and the expiry, in
    log order; the commit record before the ACK only lends its lease time,
    and the legacy release record is skipped; nothing twice, ever."""
    log, leases, journal, follower = _line_setup(tmp_path, list(macs))
    _append(leases, LEASES_HEADER + _lease() + _lease(state="released"))
    _append(log, LOG)
    assert follower.poll() == 3
    assert _events(journal) == [_commit(unknown_client=unknown_client), RELEASE, EXPIRY]
    assert follower.superseded == 1
    assert [t.type for t in journal.transactions()] == [
        "DISCOVER", "OFFER", "REQUEST", "ACK", "RELEASE"]
    assert (follower.events, follower.transactions) == (3, 5)
    assert follower.poll() == 0
    follower.close()
    restarted = LogFollower(log, journal, "dhcpd4", events=_line_events(tmp_path, list(macs)))
    assert restarted.poll() == 0
    assert len(_events(journal)) == 3 and journal.transaction_count() == 5


def test_line_events_follow_the_leases_file_between_polls(tmp_path):
    """A renewal appended to the leases file before its ACK line gives that
    ACK the new lease time; a reservation added meanwhile is known."""
    macs = []
    log, leases, journal, follower = _line_setup(tmp_path, macs)
    _append(leases, _lease())
    _append(log, "DHCPACK on 198.18.1.0 to 02:00:5e:10:00:01 (a) via eth0\n")
    follower.poll()
    _append(leases, _lease(ends="6 2026/11/29 00:48:14"))
    macs.append(MAC)
    _grow(str(tmp_path / "applied-v4.json"))
    _append(log, "DHCPACK on 198.18.1.0 to 02:00:5e:10:00:01 (a) via eth0\n")
    follower.poll()
    assert _events(journal) == [_commit(600, True), _commit(3600, False)]


def test_line_events_without_known_clients_or_lease_record(tmp_path):
    """Without a KnownClients unknown_client is None; an ACK without its
    record has no lease time; a v6 Reply NA is a commit with its lifetime."""
    log, journal, follower = _setup(
        tmp_path, events=LineEvents(str(tmp_path / "dhcpd.leases")))
    duid = "00:01:00:01:32:9d:9c:f4:00:0c:01:02:03:04"
    _append(log, "DHCPACK on 198.18.1.0 to 02:00:5e:10:00:01 (a) via eth0\n"
                 f"Reply NA: address 2001:db8:2::100 to client with duid {duid} iaid = 1 "
                 "valid for 600 seconds\n")
    assert follower.poll() == 2
    assert _events(journal) == [
        _commit(None, None),
        LeaseEvent(action="commit", ip_family=6, ip="2001:db8:2::100", duid=duid,
                   lease_time=600)]


def test_without_line_events_records_are_the_events(tmp_path):
    """The old behaviour: record lines of every action are journaled and
    dhcpd's ACK and release lines make no events (but are transactions)."""
    log, journal, follower = _setup(tmp_path)
    _append(log, LOG + _record(2, "release"))
    assert follower.poll() == 4
    assert [(e.action, e.ip) for e in _events(journal)] == [
        ("commit", IP), ("release", IP), ("expiry", IP), ("release", "198.18.1.2")]
    assert follower.superseded == 0
    assert journal.transaction_count() == 5


def test_an_unusable_line_is_journaled_as_a_transaction_only(tmp_path):
    """The follower keeps reading past an ACK without a MAC: no event, one transaction."""
    log, leases, journal, follower = _line_setup(tmp_path, [MAC])
    _append(log, "DHCPACK on 198.18.0.5 to <no-hw> via r0\n" + LOG)
    assert follower.poll() == 3
    assert follower.sorter.unusable == 1
    assert journal.transaction_count() == 6


def test_a_static_lease_takes_its_lease_time_from_the_record_before_its_ack(tmp_path):
    """dhcpd keeps fixed-address leases out of its leases file and logs a
    commit record (``if static``) before their DHCPACK: the commit event has
    that record's lease time, once; a later ACK without a record has none."""
    log, leases, journal, follower = _line_setup(tmp_path, [MAC])
    _append(leases, LEASES_HEADER)
    ack = "DHCPACK on 198.18.1.0 to 02:00:5e:10:00:01 (a) via eth0\n"
    _append(log, "rackd-lease 1 commit 4 198.18.1.0 2:0:5e:10:0:1 - 30 - known -\n" + ack)
    _append(log, ack)
    assert follower.poll() == 2
    assert _events(journal) == [_commit(lease_time=30), _commit(lease_time=None)]
    assert follower.superseded == 0


# The service with a runner (rackd's is an IdleRunner, provisioningserver.system.idle).

def _result(d):
    """What the Deferred ``d`` has fired with (it must have fired)."""
    seen = []
    d.addBoth(seen.append)
    assert seen, "the Deferred has not fired"
    return seen[0]


def _service(tmp_path, run, **kw):
    path = tmp_path / "dhcpd.log"
    path.write_text("")
    follower = LogFollower(str(path), Journal(str(tmp_path / "j.db")), "dhcpd4")
    return follower, LeaseFollowService(follower, kw.pop("clock", task.Clock()), run=run, **kw)


def test_stopping_waits_for_the_poll_in_progress_then_closes(tmp_path):
    """stopService asks a running poll to end (``stopping``), promotes its
    thread, and fires only once the poll has returned and the file is closed."""
    polls, promoted = [], []

    def run(f):
        polls.append(defer.Deferred())
        return polls[-1]

    follower, service = _service(tmp_path, run, promote=lambda: promoted.append(True))
    service.startService()
    stopped = service.stopService()
    assert follower.stopping and promoted == [True]
    assert not stopped.called
    polls[0].callback(0)
    assert _result(stopped) is None and follower.tail.closed


def test_a_failed_poll_is_counted_and_the_loop_goes_on(tmp_path):
    """A poll that fails is counted (and logged); the next interval polls again."""
    clock, calls = task.Clock(), []

    def run(f):
        calls.append(f)
        return defer.fail(OSError("disk"))

    follower, service = _service(tmp_path, run, clock=clock)
    service.startService()
    clock.advance(0.5)
    assert (len(calls), service.errors) == (2, 2)
    assert _result(defer.maybeDeferred(service.stopService)) is None


def test_polls_that_keep_failing_are_one_line_a_minute_then_one_when_reading_works(tmp_path):
    """A full disk fails every poll, twice a second: the first failure is
    logged with its traceback, the rest are counted into one line per minute,
    and the first poll that works again says how many failed."""
    clock, broken = task.Clock(), [True]

    def run(f):
        return defer.fail(OSError(28, "No space left on device")) if broken[0] else defer.succeed(0)

    follower, service = _service(tmp_path, run, clock=clock)

    def fail_for_two_minutes_then_recover():
        service.startService()
        clock.pump([0.5] * 240)  # 241 polls over 120 s, all failing
        broken[0] = False
        clock.advance(0.5)
        service.stopService()

    lines = logged(fail_for_two_minutes_then_recover)
    assert service.errors == 241
    assert len(lines) == 4, lines
    assert "reading" in lines[0] and "failed" in lines[0]  # its traceback goes with it
    assert "No space left on device" in lines[1] and "No space left on device" in lines[2]
    assert [line.split(": ", 1)[1].split(" more")[0] for line in lines[1:3]] == ["120", "120"]
    assert lines[3].endswith("works again, after 241 failed polls")
    assert clock.getDelayedCalls() == []
