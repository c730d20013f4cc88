"""Benchmark (reliability): hundreds of kill -9s of rackd inside a configure.

    sudo flock /tmp/rackd-lab.lock .venv/bin/python -m bench.crash_points \
        [--trials 220] [--seed N] [--start K]

Runs the crash trials of tests/lab/crashtrials.py on one lab (prefix
rkcp-): first the duration of each kind of configure is measured (rackctl's
wall time, A to B live and A to C with a restart, the median of three),
then ``--trials`` seeded trials: each kind's named crash points in turn
(``omapi-change`` at a random K of the 25 live changes) and every third
trial a kill after a random delay within that kind's measured duration.
Each trial also requires one dhcpd, no more, in the rack's namespace.
``--start K`` runs trials K to K + ``--trials`` of the same seeded
sequence, so that a long run can be taken in slices (each slice measures
the durations again, and scales the same random draws by them). A trial
that fails its judgement (a mix, dhcpd stopped, a state file that
does not read, no convergence) is counted with its message and the run
goes on.

Prints, per kind and point: trials, how many served the old document and
how many the new one whole, failures; and the time a trial took and the
time from the new rackd's start to dhcpd judged, as min, median and max.
The figures go into RELIABILITY.md.
"""

import argparse
import collections
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bench.figures import describe  # noqa: E402
from tests.lab.crashtrials import CrashRig, Result, seeded_trials  # noqa: E402
from tests.lab.netns import Lab  # noqa: E402


def group(trial):
    if trial.point is None:
        return "random delay"
    return trial.point.split(":")[0]


def run(count, seed, start=0):
    with Lab(prefix=f"rkcp-{os.getpid()}-") as lab:
        rig = CrashRig(lab)
        durations = rig.measure(repeat=3)
        print("configure durations (s):", {k: round(v, 3) for k, v in durations.items()},
              flush=True)
        results, failures = [], []
        trials = seeded_trials(seed, start + count, durations)[start:]
        for n, trial in enumerate(trials, start):
            began = time.monotonic()
            try:
                result = rig.run(trial)
            except AssertionError as error:
                failures.append((trial, str(error)[:300]))
                print(f"{n}: {trial.kind} {trial.label}: FAILED {str(error)[:300]}", flush=True)
                result = Result(trial, "failed", False, time.monotonic() - began, 0.0)
                rig.agent.stop()
                rig.agent.start()
            else:
                print(f"{n}: {trial.kind} {trial.label}: {result.served}, "
                      f"converged={result.converged}, {result.seconds:.1f}s", flush=True)
            results.append(result)
        return durations, results, failures


def report(results, failures):
    table = collections.defaultdict(collections.Counter)
    for r in results:
        key = (r.trial.kind, group(r.trial))
        table[key]["trials"] += 1
        table[key][r.served] += 1
        table[key]["not converged"] += 0 if r.converged or r.served == "failed" else 1
    print("\n| configure | crash | trials | old whole | new whole | failed | not converged |")
    print("|---|---|---|---|---|---|---|")
    for (kind, point), counts in sorted(table.items()):
        print(f"| {kind} | {point} | {counts['trials']} | {counts['old']} | {counts['new']} "
              f"| {counts['failed']} | {counts['not converged']} |")
    done = [r for r in results if r.served != "failed"]
    print(f"\ntrials: {len(results)}, failed: {len(failures)}")
    if done:
        print("seconds per trial:", describe([r.seconds for r in done], "s", digits=1))
        print("new rackd start to dhcpd judged:",
              describe([r.resume_seconds for r in done], "s", digits=2))
    for trial, message in failures:
        print("FAILED", trial, message)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.crash_points")
    parser.add_argument("--trials", type=int, default=220)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--start", type=int, default=0)
    args = parser.parse_args(argv)
    _, results, failures = run(args.trials, args.seed, args.start)
    report(results, failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
