"""What rackd counts as things happen, for the metrics endpoint.

Most metrics are read at scrape time from the services that already hold
them (pool usage, dhcpd state, the journal's backlog). A few are about
events that leave no state behind: a lease event journaled, a configure
run that ended, an OMAPI request answered. Those are counted here, in
plain Python objects with no Prometheus types in them:
`provisioningserver.services.metrics` turns them into metric families
when Prometheus asks.

Lease events are counted in-process, as the journal commits them
(`Journal.observers`), rather than read back from the journal's history:
the history is pruned after ``history_days``, so a count taken from it
would go down, which a Prometheus counter must never do; and a commit
that rolls back is not counted, so the counter agrees with the journal.
Like every in-process counter, they start from zero when rackd starts;
Prometheus's ``rate()`` and ``increase()`` handle that reset.

Every counter is keyed by a tuple of label values; the metrics module
knows the label names. Times come from the injected clock.
"""

import collections

from twisted.internet import defer
from twisted.python.failure import Failure

from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.services.coalesce import ConfigureTimeout
from provisioningserver.services.configure import ConfigRejected, DhcpdMissing, StartFailed

# Seconds. A live OMAPI change takes milliseconds; a restart with thousands
# of hosts takes about a second; a configure that waits on dhcpd's start
# verification can take tens of seconds.
OMAPI_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
CONFIGURE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class Histogram:
    """Observations per key, bucketed: ``buckets`` are upper bounds, the
    counts per bucket are not cumulative (the metrics module adds them up)."""

    def __init__(self, buckets):
        self.buckets = tuple(buckets)
        self.series = {}  # key -> [counts per bucket + one for +Inf, sum]

    def observe(self, key, value):
        counts, total = self.series.get(key, ([0] * (len(self.buckets) + 1), 0.0))
        index = next((i for i, bound in enumerate(self.buckets) if value <= bound),
                     len(self.buckets))
        counts[index] += 1
        self.series[key] = (counts, total + value)


class LeaseEventCounts:
    """Journaled lease events by (ip_family, action); a `Journal` observer."""

    def __init__(self):
        self.counts = collections.Counter()

    def __call__(self, events):
        for event in events:
            self.counts[(event.ip_family, event.action)] += 1


# How a configure ended, when it did not return an Outcome: the error's class.
_FAILURES = (
    (DocumentError, "invalid"),
    (ConfigRejected, "rejected"),
    (StartFailed, "failed"),
    (ConfigureTimeout, "timeout"),
    (DhcpdMissing, "dhcpd-missing"),
)


def configure_outcome(result):
    """The outcome label of one configure or stop run: the `Outcome`'s action
    (unchanged, applied-live, started, restarted, stopped), or what failed."""
    if isinstance(result, Failure):
        for error_class, label in _FAILURES:
            if result.check(error_class):
                return label
        return "error"
    return getattr(result, "action", "error")


class ConfigureStats:
    """Configure runs by (ip_version, outcome), with their durations; a
    `Coalescer.on_outcome` listener (one run answers all its callers, so it
    counts once)."""

    def __init__(self):
        self.counts = collections.Counter()
        self.durations = Histogram(CONFIGURE_BUCKETS)

    def __call__(self, ip_version, result, seconds):
        key = (ip_version, configure_outcome(result))
        self.counts[key] += 1
        self.durations.observe(key, seconds)


class OmapiStats:
    """OMAPI requests by (family, server, method): latency of every request,
    and failures by exception class."""

    def __init__(self):
        self.latency = Histogram(OMAPI_BUCKETS)
        self.errors = collections.Counter()  # (family, server, method, error class) -> n

    def observe(self, key, seconds, error=None):
        self.latency.observe(key, seconds)
        if error is not None:
            self.errors[key + (type(error).__name__,)] += 1


# Not requests: closing the connection is not timed.
_UNTIMED = frozenset({"disconnect"})


class TimedOmapi:
    """An `OmapiClient` whose Deferred-returning methods are timed into
    ``stats``. A batch (`apply`) is one request for the latency; each of its
    changes that failed counts as an error of ``apply``. Everything else is
    the client's own, so the client may gain methods without this changing."""

    def __init__(self, client, clock, stats, family, server="local"):
        self._client = client
        self._clock = clock
        self._stats = stats
        self._family = family
        self._server = server

    def __repr__(self):
        return f"<TimedOmapi {self._client!r}>"

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if name.startswith("_") or name in _UNTIMED or not callable(attribute):
            return attribute

        def timed(*args, **kwargs):
            started = self._clock.seconds()
            result = attribute(*args, **kwargs)
            if not isinstance(result, defer.Deferred):
                return result
            return result.addBoth(self._done, (self._family, self._server, name), started)

        return timed

    def _done(self, result, key, started):
        seconds = max(0.0, self._clock.seconds() - started)
        if isinstance(result, Failure):
            self._stats.observe(key, seconds, result.value)
            return result
        self._stats.observe(key, seconds)
        if key[2] == "apply" and isinstance(result, list):
            for change in result:
                error = getattr(change, "error", None)
                if error is not None:
                    self._stats.errors[key + (type(error).__name__,)] += 1
        return result
