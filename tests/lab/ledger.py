"""What the load labs count: every lease event from dhcpd to the region, and
whether rackd stays flat while it carries them.

The event ledger holds three accounts of the same leases side by side:

- what dhcpd committed: its ``DHCPACK on IP to MAC`` lines (each one a
  commit rackd must report; `dhcpd_acks`);
- what rackd's journal recorded: the ``history`` table of its SQLite file,
  read-only while rackd runs (`journal_commits`);
- what the region received: the test region's ``leases`` lines, each event
  with its (journal, id) (`region_account`).

`compare` puts them together: an event is lost when dhcpd committed it and
the region never stored it, duplicated when the region stored it under two
ids (one commit journaled twice), and redelivered when the same id came
twice (harmless: the region keeps one, as the protocol asks; the count
shows how often a cut hit a batch in flight). Everything here is pure but
`journal_commits` and the sampler.

`Sampler` reads a process's resident memory (``VmRSS`` of
/proc/PID/status) and open descriptors (the entries of /proc/PID/fd);
`growth` compares the end of a run with the time just after warm-up, by
medians so that one garbage-collection peak does not decide it.
`stalls` reads rackd's stall warnings (`provisioningserver.services.stallwatch`)
from its log.
"""

import collections
import os
import re
import sqlite3
import statistics
import time

import attrs

_ACK = re.compile(r"^DHCPACK on (\S+) to (\S+)")
_STALL = re.compile(r"the reactor was held for ([0-9.]+) s")


def dhcpd_acks(log_text):
    """(ip, mac) -> how many DHCPACKs dhcpd logged for it."""
    found = collections.Counter()
    for line in log_text.splitlines():
        match = _ACK.match(line)
        if match:
            found[(match.group(1), match.group(2).lower())] += 1
    return found


def journal_commits(path):
    """(ip, mac) -> commits in the journal's history (read-only, while rackd writes)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        rows = db.execute("SELECT ip, mac FROM history WHERE action = 'commit'").fetchall()
    finally:
        db.close()
    return collections.Counter((ip, (mac or "").lower()) for ip, mac in rows)


@attrs.frozen
class RegionAccount:
    stored: collections.Counter  # (ip, mac) -> commits stored under distinct ids
    received: int  # events received, redeliveries included
    redelivered: int  # events whose (journal, id) had come before
    conflicting: int  # one (journal, id) with two different events
    ids: int  # distinct (journal, id)


def region_account(batches):
    """The region's side from its ``leases`` lines (each with ``events``)."""
    seen, stored = {}, collections.Counter()
    received = redelivered = conflicting = 0
    for batch in batches:
        for event in batch["events"]:
            received += 1
            key = (event.get("journal"), event.get("id"))
            body = {k: v for k, v in event.items() if k not in ("journal", "id")}
            if key in seen:
                redelivered += 1
                conflicting += seen[key] != body
                continue
            seen[key] = body
            if event["action"] == "commit":
                stored[(event["ip"], (event["mac"] or "").lower())] += 1
    return RegionAccount(stored, received, redelivered, conflicting, len(seen))


@attrs.frozen
class Ledger:
    committed: int
    journaled: int
    stored: int
    lost: int  # committed by dhcpd, never stored by the region
    duplicated: int  # stored more often than dhcpd committed
    redelivered: int
    conflicting: int

    def exact(self):
        return self.lost == 0 and self.duplicated == 0 and self.conflicting == 0 and \
            self.committed == self.journaled == self.stored


def compare(acks, journaled, account):
    """The `Ledger` of dhcpd's ``acks``, the ``journaled`` commits and the region's account."""
    lost = sum((acks - account.stored).values())
    duplicated = sum((account.stored - acks).values())
    return Ledger(committed=sum(acks.values()), journaled=sum(journaled.values()),
                  stored=sum(account.stored.values()), lost=lost, duplicated=duplicated,
                  redelivered=account.redelivered, conflicting=account.conflicting)


def stalls(log_text):
    """Every stall rackd logged, in seconds, in order."""
    return [float(m.group(1)) for m in _STALL.finditer(log_text)]


def stall_lines(log_text):
    """rackd's stall warnings themselves (where the reactor was held)."""
    return [line for line in log_text.splitlines() if _STALL.search(line)]


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise LookupError(f"no VmRSS for {pid}")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


class Sampler:
    """(time, RSS kB, open fds) of ``pid`` each time `sample` is called."""

    def __init__(self, pid, clock=time.monotonic):
        self.pid, self.clock, self.samples = pid, clock, []

    def sample(self):
        self.samples.append((self.clock(), rss_kb(self.pid), open_fds(self.pid)))
        return self.samples[-1]


def growth(samples, warmup, column, window=0.1):
    """How much ``column`` (1: RSS, 2: fds) grew from just after ``warmup``
    seconds to the end, as a fraction: the median of the last ``window`` of
    the run against the median of the same length from ``warmup``."""
    if not samples:
        raise ValueError("no samples")
    start, end = samples[0][0] + warmup, samples[-1][0]
    span = max((end - start) * window, 1e-9)
    early = [s[column] for s in samples if start <= s[0] <= start + span]
    late = [s[column] for s in samples if s[0] >= end - span]
    if not early or not late:
        raise ValueError("the run is shorter than its warm-up")
    base = statistics.median(early)
    return statistics.median(late) / base - 1 if base else 0.0
