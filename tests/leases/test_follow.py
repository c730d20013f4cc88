"""Following dhcpd's log file: offsets, restarts, truncation, replacement."""

import os

import attrs
import pytest
from twisted.internet import defer, task
from twisted.internet.task import Clock

from provisioningserver.dhcp.leaserecord import LeaseEvent
from provisioningserver.leases.txlog import Transaction, parse_transaction
from provisioningserver.leases.journal import Journal
from provisioningserver.leases.follow import (
    KnownClients, LeaseFollowService, LeasesFileTail, LineEvents, LogFollower,
)


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


# The default event source: commits and releases from dhcpd's own lines,
# lease times from the leases file (LeasesFileTail), known clients from the
# applied state (KnownClients), expiries from record lines (LineEvents).

IP = "198.18.1.0"
MAC = "02:00:5e:10:00:01"
CLTT = "6 2026/11/28 23:48:14"


def _lease(ip=IP, mac=MAC, state="active", ends="6 2026/11/28 23:58:14"):
    """A lease record as dhcpd 4.4 writes it; active ones last 600 s by default."""
    return (f"lease {ip} {{\n  starts {CLTT};\n  ends {ends};\n  cltt {CLTT};\n"
            f"  binding state {state};\n  next binding state free;\n"
            f"  hardware ethernet {mac};\n  client-hostname \"a\";\n"
            "  on expiry {\n    log (info, \"x\");\n  }\n}\n")


LEASES_HEADER = ("# This lease file was written by isc-dhcp-4.4.3-P1\n\n"
                 "authoring-byte-order little-endian;\n\n")


def _replace(path, text):
    """A new file (new inode) at ``path``, as dhcpd's and rackd's rewrites make."""
    with open(path + ".new", "w") as f:
        f.write(text)
    os.replace(path + ".new", path)


def _truncate(path, text):
    with open(path, "w") as f:
        f.write(text)


def _tail(tmp_path, text=None):
    path = str(tmp_path / "dhcpd.leases")
    if text is not None:
        _append(path, text)
    tail = LeasesFileTail(path)
    tail.refresh()
    return path, tail


@pytest.mark.parametrize("cut", [1, 2, 20], ids=["newline", "brace", "fields"])
def test_leases_tail_waits_for_a_record_to_be_complete(tmp_path, cut):
    """A record without its closing "}\\n" is not read until an append completes it."""
    record = _lease()
    path, tail = _tail(tmp_path, LEASES_HEADER + record[:-cut])
    assert (tail.times.records, tail.times.lease_time(IP, MAC)) == (0, None)
    _append(path, record[-cut:])
    tail.refresh()
    assert (tail.times.records, tail.times.lease_time(IP, MAC)) == (1, 600)


def test_leases_tail_reads_appended_records_incrementally(tmp_path):
    """Each refresh reads only what was appended since the last one."""
    path, tail = _tail(tmp_path, LEASES_HEADER + _lease())
    tail.refresh()
    assert tail.times.records == 1
    _append(path, _lease(state="released") + _lease(ip="198.18.1.1", mac="02:00:5e:10:00:02",
                                                    ends="6 2026/11/29 00:48:14"))
    tail.refresh()
    assert tail.times.records == 3
    assert tail.times.lease_time(IP, MAC) == 600
    assert tail.times.lease_time("198.18.1.1", "02:00:5e:10:00:02") == 3600
    assert tail.rereads == 0


@pytest.mark.parametrize("rewrite", [_replace, _truncate], ids=["replaced", "truncated"])
def test_a_rewritten_leases_file_is_read_again_from_the_start(tmp_path, rewrite):
    """A new file at the path, or the file cut shorter, is read from 0 and
    counted; leases only in the old content are forgotten."""
    path, tail = _tail(tmp_path, LEASES_HEADER + _lease() + _lease(ip="198.18.1.1"))
    inode = os.stat(path).st_ino
    rewrite(path, LEASES_HEADER + _lease(ip="198.18.1.2"))
    assert (os.stat(path).st_ino != inode) == (rewrite is _replace)
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
    _append(path, _lease())
    tail.refresh()
    assert tail.times.lease_time(IP, MAC) == 600
    assert tail.rereads == 0  # the first read is no reread
    os.unlink(path)
    tail.refresh()
    assert tail.times.lease_time(IP, MAC) == 600


def _known(tmp_path, macs):
    """A KnownClients of the applied file in tmp_path; ``macs`` (a list) may
    change; the calls of its ``macs()`` are counted in the returned list."""
    calls = []

    def read():
        calls.append(1)
        return (m for m in macs)  # a generator, as rackd's is

    path = str(tmp_path / "applied-v4.json")
    return path, KnownClients(path, read), calls


def _grow(path):
    _append(path, " ")


def _same_text_new_inode(path):
    with open(path) as f:
        _replace(path, f.read())


def _touch(path):
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


@pytest.mark.parametrize("change", [_grow, _same_text_new_inode, _touch],
                         ids=["grown", "replaced", "touched"])
def test_known_clients_asks_again_only_when_the_file_changes(tmp_path, change):
    """``macs()`` is called at the first refresh and again only after the
    applied file changed (size, inode or mtime); the answer follows it."""
    macs = [MAC]
    path, known, calls = _known(tmp_path, macs)
    _append(path, "{}")
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
    path, known, calls = _known(tmp_path, [MAC])
    known.refresh()
    known.refresh()
    assert known(MAC) is True and len(calls) == 1
    _append(path, "{}")
    known.refresh()
    assert known(MAC) is True and len(calls) == 2


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


@pytest.mark.parametrize("transaction", [
    Transaction(family=4, type="ACK", ip="198.18.0.5", mac=None),
    parse_transaction("DHCPRELEASE of 198.18.0.5 from <no-hw> via r0 (found)"),
])
def test_line_events_count_an_unusable_line(tmp_path, transaction):
    """A line that should be an event but names no client is None, and counted."""
    events = LineEvents(str(tmp_path / "dhcpd.leases"))
    events.refresh()
    assert events.event(transaction) is None
    assert events.event(transaction) is None
    assert events.unusable == 2


def test_an_unusable_line_is_journaled_as_a_transaction_only(tmp_path):
    """The follower keeps reading past an ACK without a MAC: no event, one transaction."""
    log, leases, journal, follower = _line_setup(tmp_path, [MAC])
    _append(log, "DHCPACK on 198.18.0.5 to <no-hw> via r0\n" + LOG)
    assert follower.poll() == 3
    assert follower.line_events.unusable == 1
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


def test_a_garbled_leases_file_neither_raises_nor_stops_the_tail(tmp_path):
    """Bytes that are not text, a run longer than a chunk without a record's
    end, and a record with wrongly typed fields are skipped without an error;
    the valid record after them is read."""
    path = str(tmp_path / "dhcpd.leases")
    with open(path, "wb") as f:
        f.write(b"\xff\xfe\x00garbage\n" + b"x" * 5000 + b"\n")
        f.write(b"lease 198.18.1.0 {\n  ends soon;\n  cltt 6 2026/13/45 99:99:99;\n"
                b"  binding state active;\n  hardware ethernet zz;\n}\n")
        f.write((LEASES_HEADER + _lease()).encode())
    tail = LeasesFileTail(path, chunk=4096)
    tail.refresh()
    assert tail.times.lease_time(IP, MAC) == 600


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
    assert _result(stopped) is None and follower._fd is None


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
