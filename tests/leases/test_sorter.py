"""LineSorter: dhcpd's log bytes in; events, transactions and counts out."""

import attrs
import pytest
from zope.interface import implementer
from zope.interface.verify import verifyObject

from provisioningserver.dhcp.leaserecord import LeaseEvent
from provisioningserver.leases.sorter import ILookups, LineSorter, Notice
from provisioningserver.leases.txlog import Transaction, parse_transaction

IP = "198.18.1.0"
MAC = "02:00:5e:10:00:01"
DUID = "00:01:00:01:32:9d:9c:f4:00:0c:01:02:03:04"

DISCOVER = b"DHCPDISCOVER from 02:00:5e:10:00:01 via eth0\n"
ACK = b"DHCPACK on 198.18.1.0 to 02:00:5e:10:00:01 (a) via eth0\n"
RELEASE = b"DHCPRELEASE of 198.18.1.0 from 02:00:5e:10:00:01 (a) via eth0 (found)\n"
REPLY_NA = (b"Reply NA: address 2001:db8:2::100 to client with duid " + DUID.encode()
            + b" iaid = 1 valid for 600 seconds\n")
COMMIT_RECORD = b"rackd-lease 1 commit 4 198.18.1.0 2:0:5e:10:0:1 - 30 - known -\n"
RELEASE_RECORD = b"rackd-lease 1 release 4 198.18.1.0 2:0:5e:10:0:1 - - - - -\n"
EXPIRY_RECORD = b"rackd-lease 1 expiry 4 198.18.1.0 - - - - - -\n"
BAD_RECORD = b"rackd-lease 1 commit 4 nonsense\n"
NO_HW_ACK = b"DHCPACK on 198.18.0.5 to <no-hw> via r0\n"
GARBLED_TX = b"DHCPOFFER on 198.18.0.999 to 52:54:00:00:00:0a via eth0\n"
OTHER = b"Wrote 3 leases to leases file.\n"


@implementer(ILookups)
class FakeLookups:
    """Lease times and reservations from two dicts, as the files would give them."""

    def __init__(self, times=None, known=None):
        self.times = times or {}
        self._known = known

    def lease_time(self, ip, mac):
        return self.times.get((ip, mac))

    def known(self, mac):
        return None if self._known is None else mac in self._known


def test_the_fake_lookups_provide_the_interface():
    """The fake the tables use is an ILookups (the real one is checked in test_lookups)."""
    assert verifyObject(ILookups, FakeLookups())


def _sorted(data, lookups=None):
    """(events without their times, transaction types, counts, bytes consumed)."""
    sorter = LineSorter(lookups)
    sorter.feed(data)
    batch = sorter.take()
    events = [(e.action, e.ip_family, e.lease_time, e.unknown_client) for e in batch.events]
    counts = {name: getattr(sorter, name) for name in
              ("rejected", "rejected_transactions", "superseded", "unusable")
              if getattr(sorter, name)}
    return events, [t.type for t in batch.transactions], counts, batch.consumed


RESERVED = FakeLookups({(IP, MAC): 600}, known={MAC})
UNRESERVED = FakeLookups({(IP, MAC): 600}, known=set())
NO_KNOWN = FakeLookups()

TABLE = [
    # (id, lines, lookups, events (action, family, lease_time, unknown_client), tx types, counts)
    ("other line", OTHER, None, [], [], {}),
    ("records are the events", COMMIT_RECORD + RELEASE_RECORD + EXPIRY_RECORD, None,
     [("commit", 4, 30, False), ("release", 4, None, None), ("expiry", 4, None, None)], [], {}),
    ("without lookups an ACK is only a transaction", DISCOVER + ACK, None,
     [], ["DISCOVER", "ACK"], {}),
    ("ACK, reserved", ACK, RESERVED, [("commit", 4, 600, False)], ["ACK"], {}),
    ("ACK, unreserved", ACK, UNRESERVED, [("commit", 4, 600, True)], ["ACK"], {}),
    ("ACK, no reservations, no lease time", ACK, NO_KNOWN,
     [("commit", 4, None, None)], ["ACK"], {}),
    ("release line", RELEASE, RESERVED, [("release", 4, None, None)], ["RELEASE"], {}),
    ("Reply NA", REPLY_NA, NO_KNOWN, [("commit", 6, 600, None)], ["REPLY"], {}),
    ("expiry record", EXPIRY_RECORD, RESERVED, [("expiry", 4, None, None)], [], {}),
    ("release record superseded", RELEASE_RECORD, RESERVED, [], [], {"superseded": 1}),
    ("commit record lends its time", COMMIT_RECORD + ACK + ACK, RESERVED,
     [("commit", 4, 30, False), ("commit", 4, 600, False)], ["ACK", "ACK"], {}),
    ("bad record", BAD_RECORD, None, [], [], {"rejected": 1}),
    ("garbled transaction", GARBLED_TX, None, [], [], {"rejected_transactions": 1}),
    ("unusable ACK", NO_HW_ACK, RESERVED, [], ["ACK"], {"unusable": 1}),
    ("binary junk and a long line", b"\xff\x00rackd\n" + b"x" * 10000 + b"\n", None,
     [], [], {}),
]


@pytest.mark.parametrize("data, lookups, events, types, counts",
                         [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])
def test_each_kind_of_line_sorts_as_the_table_says(data, lookups, events, types, counts):
    """What a complete line is: an event, a transaction, both, a note or a count;
    every complete line is consumed."""
    assert _sorted(data, lookups) == (events, types, counts, len(data))


def test_events_keep_log_order_and_carry_their_fields():
    """A DORA, a release and an expiry: the ACK's commit, the release, the
    expiry, in log order, with what the lines and lookups say."""
    sorter = LineSorter(UNRESERVED)
    sorter.feed(DISCOVER + COMMIT_RECORD + ACK + RELEASE + RELEASE_RECORD + EXPIRY_RECORD)
    batch = sorter.take()
    assert [attrs.evolve(e, timestamp=None) for e in batch.events] == [
        LeaseEvent(action="commit", ip_family=4, ip=IP, mac=MAC, hostname="a", lease_time=30,
                   unknown_client=True),
        LeaseEvent(action="release", ip_family=4, ip=IP, mac=MAC, hostname="a"),
        LeaseEvent(action="expiry", ip_family=4, ip=IP)]
    assert [t.type for t in batch.transactions] == ["DISCOVER", "ACK", "RELEASE"]


def test_a_partial_line_is_kept_until_its_newline():
    """Half a line is neither sorted nor consumed; its newline completes it."""
    sorter = LineSorter()
    sorter.feed(EXPIRY_RECORD[:10])
    assert not sorter.has_lines and sorter.take().consumed == 0
    assert sorter.pending == 10
    sorter.feed(EXPIRY_RECORD[10:] + EXPIRY_RECORD[:5])
    assert sorter.has_lines
    batch = sorter.take()
    assert (len(batch.events), batch.consumed, sorter.pending) == (1, len(EXPIRY_RECORD), 5)
    assert not sorter.has_lines


def test_byte_by_byte_sorts_as_all_at_once():
    """However the bytes are cut, the same events and transactions come out."""
    data = DISCOVER + COMMIT_RECORD + ACK + RELEASE + EXPIRY_RECORD + REPLY_NA
    whole = LineSorter(RESERVED)
    whole.feed(data)
    expected = whole.take()
    sorter, events, transactions, consumed = LineSorter(RESERVED), [], [], 0
    for i in range(len(data)):
        sorter.feed(data[i:i + 1])
        batch = sorter.take()
        events += batch.events
        transactions += batch.transactions
        consumed += batch.consumed
    assert (events, transactions, consumed) == (expected.events, expected.transactions,
                                                len(data))


def test_a_run_of_max_line_bytes_without_a_newline_is_skipped():
    """Shorter waits for its newline; max_line bytes with none are consumed,
    counted as rejected and warned about; the line after them is sorted."""
    sorter = LineSorter(max_line=100)
    sorter.feed(b"x" * 99)
    assert sorter.take().consumed == 0
    sorter.feed(b"x")
    batch = sorter.take()
    assert (batch.consumed, sorter.rejected, sorter.pending) == (100, 1, 0)
    assert batch.warnings == [Notice("skipped {n} bytes without a newline in {path}",
                                     {"n": 100})]
    sorter.feed(EXPIRY_RECORD)
    assert len(sorter.take().events) == 1


def test_a_long_partial_line_after_complete_ones_waits_for_its_newline():
    """Only a run with no newline at all is skipped: a long line begun after
    complete ones is sorted once its newline comes."""
    sorter = LineSorter(max_line=100)
    sorter.feed(OTHER + b"x" * 150)
    assert sorter.take().consumed == len(OTHER)
    sorter.feed(b"\n")
    assert (sorter.take().consumed, sorter.rejected) == (151, 0)


def test_reset_drops_a_partial_line():
    """After a reset (the file started anew) the kept bytes are gone."""
    sorter = LineSorter()
    sorter.feed(EXPIRY_RECORD[:20])
    sorter.reset()
    assert sorter.pending == 0
    sorter.feed(EXPIRY_RECORD)
    batch = sorter.take()
    assert (len(batch.events), batch.consumed) == (1, len(EXPIRY_RECORD))


def test_a_bad_record_is_warned_about_with_its_reason():
    """The warning names why; the follower adds the path when it logs it."""
    sorter = LineSorter()
    sorter.feed(BAD_RECORD)
    [notice] = sorter.take().warnings
    assert notice.format == "bad lease record in {path}: {why}"
    assert notice.fields == {"why": "expected 11 fields, got 5"}


@pytest.mark.parametrize("transaction", [
    Transaction(family=4, type="ACK", ip="198.18.0.5", mac=None),
    parse_transaction("DHCPRELEASE of 198.18.0.5 from <no-hw> via r0 (found)"),
])
def test_an_unusable_transaction_is_no_event_and_counted(transaction):
    """A line that should be an event but names no client is None, and counted."""
    sorter = LineSorter(NO_KNOWN)
    assert sorter.event(transaction) is None
    assert sorter.event(transaction) is None
    assert sorter.unusable == 2


def test_unusable_lines_are_warned_about_first_and_every_thousandth():
    """A client may repeat an unusable line at any rate: the warnings do not follow it."""
    sorter = LineSorter(RESERVED)
    sorter.feed(NO_HW_ACK * 2000)
    batch = sorter.take()
    assert [w.fields["n"] for w in batch.warnings] == [1, 1000, 2000]
    assert (len(batch.transactions), sorter.unusable) == (2000, 2000)


def test_noted_lease_times_are_bounded():
    """Commit records whose DHCPACK never comes are forgotten, oldest first."""
    sorter = LineSorter(NO_KNOWN)
    records = b"".join(b"rackd-lease 1 commit 4 198.18.%d.%d 2:0:5e:10:0:1 - 30 - known -\n"
                       % (n // 256, n % 256) for n in range(4097))
    sorter.feed(records + b"DHCPACK on 198.18.0.0 to 02:00:5e:10:00:01 via eth0\n"
                b"DHCPACK on 198.18.16.0 to 02:00:5e:10:00:01 via eth0\n")
    assert [e.lease_time for e in sorter.take().events] == [None, 30]


def test_with_events_off_the_lines_give_transactions_only():
    """events=False (lease_source dhcp-notify): DHCPACK lines and record
    lines make no event, and the transactions are still sorted out."""
    from provisioningserver.dhcp.leaserecord import MAGIC, VERSION
    from provisioningserver.leases.sorter import LineSorter
    sorter = LineSorter(FakeLookups(), events=False)
    sorter.feed(b"DHCPACK on 198.18.0.10 to 02:00:00:00:00:01 via eth0\n"
                + f"{MAGIC} {VERSION} expiry 4 198.18.0.10 - - - - - -\n".encode())
    batch = sorter.take()
    assert batch.events == []
    assert [t.type for t in batch.transactions] == ["ACK"]
