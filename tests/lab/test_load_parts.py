"""The load labs' pieces, checked without root: the cut schedule, the relay
on loopback, the event ledger, the growth figure and the stall log."""

import asyncio
import collections

import pytest

from tests.lab import ledger, linkcut


def test_the_cut_schedule_is_seeded_bounded_and_within_the_run():
    """The same seed gives the same cuts; every gap is within [low, high]
    and the last cut comes before the end of the run."""
    times = linkcut.cut_times(7, 60.0)
    assert times == linkcut.cut_times(7, 60.0) != linkcut.cut_times(8, 60.0)
    gaps = [b - a for a, b in zip([0.0] + times, times)]
    assert all(0.5 <= gap <= 2.0 for gap in gaps) and times[-1] < 60.0
    assert 60 / 2.0 - 1 <= len(times) <= 60 / 0.5
    with pytest.raises(ValueError):
        linkcut.cut_times(1, 10, low=0)


def test_the_relay_carries_bytes_and_a_cut_resets_both_sides():
    """Bytes go through the relay to the target and back; a cut aborts the
    connection (the client sees it end) and counts it, and a new connection
    works again at once."""

    async def scenario():
        async def echo(reader, writer):
            while data := await reader.read(100):
                writer.write(data)
            writer.close()

        target = await asyncio.start_server(echo, "127.0.0.1", 0)
        relay = linkcut.Relay(target.sockets[0].getsockname()[:2])
        front = await asyncio.start_server(relay.handle, "127.0.0.1", 0)
        address = front.sockets[0].getsockname()[:2]
        reader, writer = await asyncio.open_connection(*address)
        writer.write(b"lease")
        assert await reader.read(100) == b"lease"
        assert relay.cut() == 1
        try:
            ended = await asyncio.wait_for(reader.read(100), 5)
        except ConnectionResetError:
            ended = b""
        assert ended == b""
        reader, writer = await asyncio.open_connection(*address)
        writer.write(b"again")
        assert await reader.read(100) == b"again"
        writer.close()
        front.close()
        target.close()

    asyncio.run(scenario())


def test_the_relay_log_gives_its_cuts():
    """`cuts` reads the cut lines of a relay's log and skips the rest."""
    text = '{"event": "listening", "t": 1}\nTraceback\n{"event": "cut", "t": 2.5, ' \
        '"connections": 1}\n{"event": "cut", "t": 3.0, "connections": 0}\n'
    assert linkcut.cuts(text) == [(2.5, 1), (3.0, 0)]


def _event(n, ip="198.18.0.100", mac="02:00:00:00:00:01", journal="j1"):
    return {"action": "commit", "ip": ip, "mac": mac, "id": n, "journal": journal}


def test_the_ledger_tells_lost_duplicated_and_redelivered_apart():
    """dhcpd's ACK lines, the journal's commits and the region's batches
    compared: an id received twice is a redelivery (stored once); the same
    commit stored under two ids is a duplicate; an ACK never stored is lost;
    one id carrying two different events is a conflict."""
    log = ("DHCPDISCOVER from 02:00:00:00:00:01 via eth0\n"
           "DHCPACK on 198.18.0.100 to 02:00:00:00:00:01 via eth0\n"
           "DHCPACK on 198.18.0.101 to 02:00:00:00:00:02 (node) via 198.18.0.2\n"
           "DHCPACK to 198.18.0.9 (02:00:00:00:00:09) via eth0\n")  # an INFORM: no lease
    acks = ledger.dhcpd_acks(log)
    assert acks == collections.Counter({("198.18.0.100", "02:00:00:00:00:01"): 1,
                                        ("198.18.0.101", "02:00:00:00:00:02"): 1})
    second = _event(2, "198.18.0.101", "02:00:00:00:00:02")
    exact = ledger.region_account([{"events": [_event(1)]}, {"events": [_event(1), second]}])
    found = ledger.compare(acks, acks, exact)
    assert found.exact() and found.redelivered == 1 and found.stored == 2
    twice = ledger.region_account([{"events": [_event(1), _event(3), second]}])
    found = ledger.compare(acks, acks, twice)
    assert (found.duplicated, found.lost, found.exact()) == (1, 0, False)
    short = ledger.region_account([{"events": [_event(1)]}])
    assert ledger.compare(acks, acks, short).lost == 1
    clash = ledger.region_account([{"events": [_event(1), dict(_event(1), ip="198.18.0.7"),
                                               second]}])
    assert ledger.compare(acks, acks, clash).conflicting == 1


def test_growth_compares_the_end_with_just_after_warm_up():
    """Growth is the median of the run's last tenth against the median of a
    tenth from the end of warm-up: a warm-up climb and one late peak do not
    count, a steady climb does."""
    flat = [(t, 100 + (50 if t < 10 else 0) + (90 if t == 95 else 0), 10) for t in range(101)]
    assert ledger.growth(flat, warmup=20, column=1) == 0.0
    climbing = [(t, 100 + t, 10) for t in range(101)]
    assert ledger.growth(climbing, warmup=0, column=1) == pytest.approx(195 / 105 - 1)
    with pytest.raises(ValueError):
        ledger.growth(climbing[:3], warmup=50, column=1)


def test_stalls_are_read_from_rackd_log():
    """Every stall warning's duration, in order; other lines are ignored."""
    text = ("x [stallwatch#warn] the reactor was held for 0.12 s: 100% in a\n"
            "x [stallwatch#warn] the reactor was held for 1.50 s (no sample of where)\n"
            "x something else held for 3 s\n")
    assert ledger.stalls(text) == [0.12, 1.5]


def test_stall_lines_are_the_warnings_themselves():
    """`stall_lines` keeps each stall warning whole (where the reactor was)."""
    text = "a\nx the reactor was held for 0.17 s: 100% in leases/journal.py:10 record\nb\n"
    assert ledger.stall_lines(text) == [text.splitlines()[1]]
