"""The forwarder: journal events to the region, deleted only once acked.

One batch is in flight at a time, oldest events first (`Journal.pending`
is in arrival order), so the region sees every address's events in the
order dhcpd produced them. A batch leaves the journal only after the
region's `UpdateLeases` reply; a failure leaves it there and the same
batch (or a longer one, if more came) goes again later. So a region that
dies mid-reply (or whose link is cut before the reply arrives) gets a batch
twice, never loses one; each event carries its journal's identity and its id
there, so the region stores it once (exactly once by event id).

``send(events)`` returns a Deferred of the reply. It fails with
`NoRegionConnection` while no region is connected: the forwarder then
waits ``interval`` and asks again, it is not the region's fault. A batch
whose connection was lost under it (`ConnectionClosed`: the link cut, the
region restarted) is the same case, not a failing region: backing off
there would let a flapping link push the next try up to ``max_delay``
away, long after the rack has reconnected. Any other
failure (the region is connected but the call fails) backs off
exponentially up to ``max_delay`` (`provisioningserver.system.backoff`)
and is reported in `status`.

Standalone (no ``region`` in rackd.yaml, ``send`` None) there is nobody
to wait for: the state is ``standalone`` and each batch leaves the queue as
soon as it is read. The events stay in the journal's history, which is what
the reports read; the queue of undelivered events does not grow without end
(retention never trims it, so it would fill ``journal_max_bytes``).

New events do not wait for a poll: the journal's observers include
`Forwarder.nudge`, which sends at once when the forwarder is idle. The
journal is still looked at every ``poll_interval`` seconds while idle, as a
safety net for events written where no observer sees them (another process
using the same journal file).

Reading a batch and deleting it once acked are SQLite calls, and SQLite can
wait: for the disk (the delete commits with ``synchronous=FULL``, an fsync
behind dhcpd's own fsync per OMAPI change) and for the other connections'
locks. The 3-minute soak saw the reactor held 0.14-0.19 s inside
`Journal.pending` (no garbage collection in it), against the goal of no
hold over 0.1 s. So the forwarder reads and deletes through ``run(f,
*args)``, a Deferred of ``f(*args)``: in the agent, a thread of the
reactor's pool on a journal connection of the forwarder's own
(``reader``), one call at a time (one batch in flight). By default ``run``
calls at once, as the tests do.
"""

import attrs
from twisted.application import service
from twisted.internet import defer
from twisted.internet.error import ConnectionClosed
from twisted.logger import Logger

from provisioningserver.system.backoff import Backoff

BATCH = 500


class NoRegionConnection(Exception):
    """No region connection has finished its handshake and registration.

    Defined here, where it is handled: the region link raises it and the
    forwarder waits for a connection instead of backing off."""


def event_to_wire(event, event_id, journal):
    """One `LeaseEvent` as the dict `UpdateLeases` carries, with its id
    (``event_id`` in ``journal``): the key a region stores it under, so that
    a batch sent again is known for one it already holds."""
    return {**attrs.asdict(event), "id": event_id, "journal": journal}


class Forwarder(service.Service):
    """Drains ``journal`` through ``send``; times come from ``clock``."""

    log = Logger()

    def __init__(self, journal, send, clock, batch=BATCH, interval=1.0, poll_interval=30.0,
                 initial_delay=1.0, max_delay=60.0, limit=None, reader=None,
                 run=defer.maybeDeferred):
        self.journal = journal  # the counts for status()
        self.reader = journal if reader is None else reader  # pending and ack, through run
        self.run = run
        self.send = send
        self.clock = clock
        self.batch = batch
        self.interval = interval  # while no region is connected
        self.poll_interval = poll_interval  # while idle: nudge() brings new events sooner
        self.backoff = Backoff(initial=initial_delay, maximum=max_delay)
        self.limit = limit  # a JournalLimit (leases.retention), or None
        # idle, sending, waiting (no region connected), backoff, standalone (none configured)
        self.state = "standalone" if send is None else "idle"
        self.failures = 0
        self.sent = 0
        self.last_error = None
        self._call = None
        self._inflight = None

    def startService(self):
        super().startService()
        self._schedule(0)

    def stopService(self):
        super().stopService()
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        # A batch in flight stays in the journal; it goes again next time.

    def _schedule(self, delay):
        if not self.running:
            return
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = self.clock.callLater(delay, self.tick)

    def nudge(self, *batch):
        """New events: send now unless waiting or backing off already.

        A journal observer: called with the committed batch, which it does not
        need (the journal is the queue)."""
        if self.state in ("idle", "standalone") and self._inflight is None:
            self._schedule(0)

    def tick(self):
        """One turn: read a batch, send it, delete it once acked. Returns the
        turn's Deferred (the one in flight, if a turn is)."""
        self._call = None
        if self._inflight is not None:
            return self._inflight
        d = self._turn()
        if not d.called:
            self._inflight = d

            def done(result):
                self._inflight = None
                return result

            d.addBoth(done)
        return d

    @defer.inlineCallbacks
    def _turn(self):
        try:
            pending = yield self.run(self.reader.pending, self.batch)
        except Exception as error:
            self._failed(error)
            return
        idle = "idle" if self.send is not None else "standalone"
        if not pending:
            self.state = idle
            self._schedule(self.poll_interval)
            return
        ids = [i for i, _ in pending]
        if self.send is None:
            # Kept in the history for the reports; no one to send to.
            try:
                yield self.run(self.reader.ack, ids)
            except Exception as error:
                self._failed(error)
                return
            self._schedule(0)
            return
        self.state = "sending"
        journal = self.journal.identity
        try:
            yield self.send([event_to_wire(e, i, journal) for i, e in pending])
            yield self.run(self.reader.ack, ids)
        except Exception as error:
            self._failed(error)
            return
        self._acked(ids)

    def _acked(self, ids):
        self.sent += len(ids)
        self.failures = 0
        self.last_error = None
        self.state = "idle"
        self._schedule(0)  # more may be waiting: go on at once

    def _failed(self, error):
        if isinstance(error, (NoRegionConnection, ConnectionClosed)):
            self.state = "waiting"
            self.failures = 0
            self._schedule(self.interval)
            return None
        self.failures += 1
        self.last_error = f"{type(error).__name__}: {error}"
        self.state = "backoff"
        delay = self.backoff.delay(self.failures)
        self.log.warn("UpdateLeases failed ({e}); again in {d} s", e=self.last_error, d=delay)
        self._schedule(delay)
        return None

    def status(self):
        status = {
            "state": self.state,
            "pending": self.journal.pending_count(),
            "sent": self.sent,
            "failures": self.failures,
            "last_error": self.last_error,
            "journal_bytes": self.journal.size_bytes(),
            "journal_max_bytes": None,
            "journal_over_limit": False,
        }
        if self.limit is not None:
            status.update(self.limit.status())
        return status
