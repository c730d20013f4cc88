"""kill -9 rackd inside a configure: dhcpd serves the old or the new document whole.

A seeded subset of the crash trials of tests/lab/crashtrials.py (each
named crash point of a live host change and of a restart once, and a few
kills at random moments within the measured duration of each kind);
bench/crash_points.py runs hundreds of the same trials and reports them.
"""

import os

import pytest

from tests.lab.crashtrials import NAMED, CrashRig, Trial, run_trials, seeded_trials

pytestmark = pytest.mark.lab

SEED = int(os.environ.get("RACKD_CRASH_SEED", "20261204"))


def test_every_named_crash_point_leaves_one_document_whole(lab):
    """At each named point of a live change (before the render, at a
    random OMAPI change, after the write, before the state is saved) and of
    a restart (before the render, after the write, between dhcpd's stop and
    start, between the new dhcpd's spawn and its start record, before the
    save): the new rackd serves A or the new document
    whole (hosts over OMAPI, DNS by probe), the state file reads, and a
    configure of the new document converges."""
    rig = CrashRig(lab)
    trials = [Trial(kind, point if point != "omapi-change" else f"{point}:{k}")
              for kind, points in NAMED.items() for point in points
              for k in ((1, 12, 25) if point == "omapi-change" else (0,))]
    results = run_trials(rig, trials)
    assert all(r.converged for r in results), results
    # Where the kill lands decides which document serves: before any change, the old.
    by_label = {(r.trial.kind, r.trial.point): r.served for r in results}
    assert by_label[("hosts", "before-render")] == "old"
    assert by_label[("restart", "before-render")] == "old"
    assert by_label[("restart", "stopped")] == "new"
    assert by_label[("restart", "spawned")] == "new"


def test_kills_at_seeded_random_moments_leave_one_document_whole(lab):
    """Kills after a seeded random delay within each kind's measured
    configure time: the same judgement as at the named points."""
    rig = CrashRig(lab)
    durations = rig.measure(repeat=1)
    trials = [t for t in seeded_trials(SEED, 12, durations) if t.point is None]
    trials += [Trial(kind, delay=durations[kind] * share)
               for kind in durations for share in (0.3, 0.6, 0.9)]
    results = run_trials(rig, trials)
    assert all(r.converged for r in results), results
