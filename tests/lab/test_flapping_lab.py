"""Region flapping under lease load (issue N): the link to the region is cut
every 0.5-2 s while perfdhcp keeps dhcpd committing leases, and every
commit still reaches the region exactly once by event id.

The lab is `tests.lab.loadlab.FlappingLab`. The run lasts
``RACKD_FLAP_SECONDS`` (default 300, the issue's five minutes; CI runs it
so); bench/soak.py runs the same pieces longer and prints the figures.
"""

import os

import pytest

from tests.lab.loadlab import run

pytestmark = pytest.mark.lab

SECONDS = float(os.environ.get("RACKD_FLAP_SECONDS", "300"))
RATE = 20  # DORA/s: a steady load that this shared 2-core machine carries


def test_flapping_region_link_loses_and_duplicates_no_lease_event(lab):
    """With the region link cut every 0.5-2 s for the whole run under
    steady lease load, every DHCPACK dhcpd logged is journaled once and
    stored by the region once: none lost, none stored twice, no id reused
    for another event. rackd's memory and open descriptors grow by under
    10% after the first fifth of the run, and its reactor is never held
    for 0.1 s or more. The region answers 0.2 s after storing a batch, so
    some cuts lose the reply: those batches come again and are stored once."""
    seen = run(lab, SECONDS, RATE, seed=20261204)
    assert seen.perf.leases > RATE * SECONDS * 0.5, seen.perf.output
    ledger = seen.ledger
    assert ledger.lost == 0 and ledger.duplicated == 0 and ledger.conflicting == 0, ledger
    assert ledger.committed == ledger.journaled == ledger.stored, ledger
    assert ledger.redelivered > 0, ledger  # cuts did fall between storing and the reply
    assert len(seen.cuts) >= SECONDS / 2.0 and \
        sum(n for _, n in seen.cuts) >= len(seen.cuts) / 4, seen.cuts
    assert seen.growth[0] < 0.10 and seen.growth[1] < 0.10, (seen.growth, seen.samples)
    assert seen.stalls == [], seen.stall_lines
