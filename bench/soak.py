"""The soak and region flapping at full length (issue N), with the figures.

Run as root from the repository, one lab run at a time:

    flock /tmp/rackd-lab.lock .venv/bin/python -m bench.soak --minutes 30
    flock /tmp/rackd-lab.lock .venv/bin/python -m bench.soak --flapping --minutes 5

Both are `tests.lab.loadlab.run`, the scenario of tests/lab/test_soak_lab.py
(3 minutes in CI) and tests/lab/test_flapping_lab.py (5 minutes), in a lab
of their own (``rksk-<pid>-*`` namespaces, torn down at the end, also on
failure). The soak: rackd configured every ``--every`` seconds (default 2)
alternating between two sets of ``--hosts`` reservations (default 10,000),
perfdhcp at ``--rate`` DORA/s (default 20) and the region link cut every
0.5-2 s, all for the whole run. ``--flapping``: the same without configures.

Figures, each against its own baseline in this run: rackd's RSS and open
descriptors at the end against just after warm-up (the first fifth), as
growth, with min/median/max after warm-up (bench/figures.py); the event
ledger (dhcpd's ACKs, journaled, stored by the region by (journal, id), lost,
duplicated, redelivered); the cuts; configure call times, min/median/max;
every stall rackd logged at its 0.1 s threshold; perfdhcp's summary.
``--json FILE`` writes the raw samples too.
"""

import argparse
import collections
import json
import os
import sys
import time

import attrs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from bench.figures import describe  # noqa: E402
from tests.lab.loadlab import run  # noqa: E402
from tests.lab.netns import Lab  # noqa: E402


def report(seen, seconds):
    """The figures of one `run`, as Markdown lines."""
    warm = [s for s in seen.samples if s[0] >= seen.samples[0][0] + seconds / 5]
    ledger = seen.ledger
    lines = [
        f"- events: dhcpd ACKs {ledger.committed}, journaled {ledger.journaled}, stored by the "
        f"region {ledger.stored}; lost {ledger.lost}, duplicated {ledger.duplicated}, "
        f"conflicting ids {ledger.conflicting}; redelivered (same id again, stored once) "
        f"{ledger.redelivered}; exact: {ledger.exact()}",
        f"- region link: {len(seen.cuts)} cuts, {sum(n for _, n in seen.cuts)} of them "
        "with a connection open",
        f"- rackd RSS after warm-up: {describe([s[1] / 1024 for s in warm], ' MB', digits=1)}; "
        f"growth {seen.growth[0] * 100:+.1f}%",
        f"- rackd open fds after warm-up: {describe([s[2] for s in warm])}; "
        f"growth {seen.growth[1] * 100:+.1f}%",
        f"- stalls >= 0.1 s: {len(seen.stalls)}"
        + (f", longest {max(seen.stalls):.2f} s" if seen.stalls else ""),
        f"- perfdhcp: {seen.perf.leases} ACKs, rate {seen.perf.rate}/s, " + ", ".join(
            f"{name} {x.sent} sent {x.drops} dropped" for name, x in seen.perf.exchanges.items()),
    ]
    configures = seen.configures
    if configures is not None:
        actions = collections.Counter(action for _, _, action in configures.calls)
        lines.append(f"- configures: {len(configures.calls)} replies ({dict(actions)}), "
                     f"{len(configures.errors)} failed, {configures.skipped} skipped; "
                     "call -> reply " + (describe([c[1] for c in configures.calls], " s", digits=2)
                                         if configures.calls else "-"))
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--flapping", action="store_true", help="no configures")
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--every", type=float, default=2.0, help="seconds between configures")
    parser.add_argument("--rate", type=int, default=20, help="perfdhcp DORA/s")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="write the raw figures here")
    args = parser.parse_args(argv)
    seconds = args.minutes * 60
    started = time.monotonic()
    with Lab(prefix="rksk-%d-" % os.getpid()) as lab:
        seen = run(lab, seconds, args.rate, hosts=args.hosts, seed=args.seed,
                   configure_every=None if args.flapping else args.every)
    kind = "flapping" if args.flapping else f"soak ({args.hosts} hosts every {args.every:g} s)"
    print(f"## {kind}, {args.minutes:g} minutes, perfdhcp {args.rate}/s, seed {args.seed}\n")
    print("\n".join(report(seen, seconds)))
    for line in seen.stall_lines:
        print("   ", line)
    print(f"\n(run took {time.monotonic() - started:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "ledger": attrs.asdict(seen.ledger), "cuts": seen.cuts,
                "samples": seen.samples, "stalls": seen.stalls,
                "configures": seen.configures.calls if seen.configures else None}, f, indent=1)
    return 0 if seen.ledger.exact() and not seen.stalls and max(seen.growth) < 0.10 else 1


if __name__ == "__main__":
    sys.exit(main())
