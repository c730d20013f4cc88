"""Batches paced by the window: `PacedBatch` alone with changes finished by
hand, and `OmapiClient.apply` reading a large batch lazily."""

import attrs
from twisted.internet.error import ConnectionRefusedError
from twisted.python.failure import Failure

from provisioningserver.omapi import errors
from provisioningserver.omapi.batch import PARK_LIMIT, PacedBatch
from provisioningserver.omapi.client import AddHost
from tests.omapi.test_client import Lab, has_result, result_of, warm_up


@attrs.frozen
class Change:
    label: str
    mac: str | None = None
    name: str | None = None


class Starter:
    """A `start` function whose changes the test finishes by hand."""

    def __init__(self):
        self.started = []
        self.running = {}

    def __call__(self, change, report):
        self.started.append(change.label)
        self.running[change.label] = report

    def finish(self, label):
        self.running.pop(label)(f"done {label}")


def counting(changes, pulled):
    for change in changes:
        pulled.append(change)
        yield change


def test_at_most_window_start_and_each_finish_starts_one():
    """Of 1,000 independent changes only ``window`` start and only those are
    read from the iterable; each that finishes lets exactly one more start."""
    starter, pulled = Starter(), []
    changes = [Change(f"c{i}", mac=f"m{i}") for i in range(1000)]
    batch = PacedBatch(counting(changes, pulled), starter, window=4)
    done = batch.run()
    assert starter.started == ["c0", "c1", "c2", "c3"] and len(pulled) == 4
    starter.finish("c1")
    assert starter.started[-1] == "c4" and len(starter.running) == 4 and len(pulled) == 5
    while starter.running:
        starter.finish(next(iter(starter.running)))
        assert len(starter.running) <= 4 and batch.held <= 4
    assert result_of(done) == [f"done c{i}" for i in range(1000)]


def test_changes_naming_one_key_run_in_order_one_at_a_time():
    """Changes that share a MAC or a name (case aside) run one after the
    other in the order given, while unrelated ones go past them."""
    starter = Starter()
    changes = [Change("remove", mac="AA"), Change("add", mac="aa", name="h"),
               Change("other", mac="bb"), Change("rename", name="H")]
    done = PacedBatch(changes, starter, window=8).run()
    assert starter.started == ["remove", "other"]
    starter.finish("remove")
    assert starter.started == ["remove", "other", "add"]
    starter.finish("other")
    starter.finish("add")
    assert starter.started[-1] == "rename"
    starter.finish("rename")
    assert result_of(done) == ["done remove", "done add", "done other", "done rename"]


def test_one_key_repeated_parks_a_bounded_number():
    """A batch that names one host 20,000 times holds at most the park limit
    in memory, runs one change at a time, and completes in order."""
    starter, pulled = Starter(), []
    changes = (Change(f"c{i}", name="same") for i in range(20_000))
    batch = PacedBatch(counting(changes, pulled), starter, window=2)
    done = batch.run()
    assert batch.held <= 2 * PARK_LIMIT + 1
    assert len(pulled) == batch.held and len(starter.running) == 1
    for i in range(20_000):
        starter.finish(f"c{i}")
        assert len(starter.running) <= 1 and batch.held <= 2 * PARK_LIMIT + 1
    results = result_of(done)
    assert len(results) == 20_000 and results[-1] == "done c19999"


def test_changes_that_finish_at_once_do_not_recurse():
    """20,000 changes whose results are ready the moment they start run in a
    loop, not one nested call each (which would exhaust the stack)."""
    changes = [Change(f"c{i}", mac=f"m{i % 3}") for i in range(20_000)]
    done = PacedBatch(changes, lambda c, report: report(c.label), window=8).run()
    assert result_of(done) == [c.label for c in changes]


def test_empty_batch_completes_at_once():
    """No changes: the batch's result is an empty list, at once."""
    assert result_of(PacedBatch([], Starter(), window=8).run()) == []


def test_client_reads_a_large_batch_only_as_the_window_frees():
    """apply() of 10,000 adds from a generator returns at once with only the
    window's worth read and sent, nothing queued on the window's semaphore;
    each reply from dhcpd lets one more change go out. When dhcpd is gone,
    the rest fail without ever queueing more than the window."""
    lab = Lab(window=8)
    warm_up(lab)
    server = lab.servers[0]
    server.hold = True
    pulled = []
    adds = (AddHost(f"h{i}", "02:00:%02x:%02x:%02x:01" % (i >> 16, (i >> 8) & 255, i & 255),
                    f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}") for i in range(10_000))
    before = len(server.received)
    batch = lab.client.apply(counting(adds, pulled))
    lab.pump.flush()
    assert len(pulled) == 8 and len(server.received) - before == 8
    assert not lab.client._slots.waiting
    for _ in range(3):
        server.release(1)
        lab.pump.flush()
    assert len(pulled) == 11 and len(server.received) - before == 11
    assert not has_result(batch)
    lab.servers[0].transport.loseConnection()
    lab.pump.flush()
    lab.reactor.advance(0)
    # The rest of the batch now fails fast, one connection attempt each,
    # still without 10,000 requests queued at once.
    while lab.reactor.tcpClients:
        _, _, factory, _, _ = lab.reactor.tcpClients.pop(0)
        factory.clientConnectionFailed(None, Failure(ConnectionRefusedError()))
        assert len(lab.client._slots.waiting) <= 8
    results = result_of(batch)
    assert len(results) == 10_000
    assert [r.ok for r in results[:3]] == [True] * 3
    assert all(isinstance(r.error, errors.OmapiConnectionLost) for r in results[3:])
