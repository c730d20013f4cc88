"""The soak (issue N), CI-sized: configures every 2 s alternating between
two sets of 10,000 reservations, perfdhcp at a steady rate and the region
link cut every 0.5-2 s, all at once, and rackd stays flat and exact.

``RACKD_SOAK_SECONDS`` (default 180, the issue's 3 minutes) sets the
length; bench/soak.py runs the same for 30 minutes and prints the figures.
"""

import os

import pytest

from tests.lab.loadlab import run

pytestmark = pytest.mark.lab

SECONDS = float(os.environ.get("RACKD_SOAK_SECONDS", "180"))
HOSTS = int(os.environ.get("RACKD_SOAK_HOSTS", "10000"))
RATE = 20


def test_soak_configures_load_and_flaps_stay_flat_and_exact(lab):
    """Under configures every 2 s (two 10k host sets in turn), steady
    perfdhcp load and a flapping region link: every configure succeeds,
    every DHCPACK reaches the region exactly once by event id, rackd's RSS
    and open descriptors grow by under 10% after the first fifth of the
    run, and its reactor is never held for 0.25 s or more (the goal is
    0.1 s: see below; rackd logs every hold of 0.1 s in the lab, with
    where it was and the garbage collector's part in it)."""
    seen = run(lab, SECONDS, RATE, hosts=HOSTS, configure_every=2.0, seed=31)
    configures = seen.configures
    # A 20,000-change configure takes about 8 s here: calls queue up and are
    # coalesced; a turn with 8 calls outstanding is skipped (the load
    # generator's back-pressure, not rackd's), so count replies, not turns.
    assert configures.errors == [], configures.errors
    assert len(configures.calls) >= SECONDS / 16, (configures.calls, configures.skipped)
    assert seen.perf.leases > 0, seen.perf.output
    assert seen.ledger.exact(), seen.ledger
    assert seen.growth[0] < 0.10 and seen.growth[1] < 0.10, (seen.growth, seen.samples)
    # The 0.14-0.19 s holds the soak found in the forwarder's SQLite calls
    # are gone (now in a thread: leases.forward); the 30-minute soak still
    # saw two of 0.10-0.13 s (RELIABILITY.md, Soak), about one in fifteen
    # minutes, so a 3-minute run holds rackd to 0.25 s, not to the goal.
    assert all(stall < 0.25 for stall in seen.stalls), seen.stall_lines
