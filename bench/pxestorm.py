"""The PXE storm, repeated, with its spread (issue N).

Run as root from the repository, one lab run at a time:

    flock /tmp/rackd-lab.lock .venv/bin/python -m bench.pxestorm [--reps 3] [--clients 200]

One lab (``rkpx-<pid>-*``, torn down at the end) as in
tests/lab/test_pxe_storm_lab.py: rackd with its defaults (ping check on,
30 s PXE leases) on a /16, perfdhcp at 20 DORA/s throughout. Each
repetition first boots one new PXE client alone (the baseline), then a
storm of ``--clients`` new ones whose DISCOVERs all go within one second,
then renews them for ``--renew-for`` seconds. Reported per repetition and
as min/median/max over them: DISCOVER -> OFFER for the lone client and for
the storm's clients (median and slowest), their ratio to the baseline, how
many were offered on the first and second try, and the renewals ACKed,
NAKed and unanswered.
"""

import argparse
import os
import statistics
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from bench.figures import describe  # noqa: E402
from tests.lab.loadlab import LeaseLoad  # noqa: E402
from tests.lab.netns import Lab  # noqa: E402
from tests.lab.test_pxe_storm_lab import storm, storm_lab  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.pxestorm")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--renew-for", type=float, default=65.0)
    args = parser.parse_args(argv)
    rows = []
    with Lab(prefix="rkpx-%d-" % os.getpid()) as lab:
        agent, client = storm_lab(lab)
        for rep in range(args.reps):
            load = LeaseLoad(client, 20, args.renew_for + 30, clients=40, tag=f"load{rep}")
            alone = storm(client, 0, tag=f"alone{rep}", clients=1, kind=0x40 + rep)
            crowd = storm(client, args.renew_for, tag=f"storm{rep}", clients=args.clients,
                          kind=0x50 + rep)
            load.result()
            base = alone["clients"][0]["offer_after"]
            offers = [c["offer_after"] for c in crowd["clients"] if c["offer_after"] is not None]
            rows.append({"base": base, "median": statistics.median(offers),
                         "slowest": max(offers), **crowd["summary"],
                         "within": crowd["first_discovers_within"]})
    print(f"## PXE storm: {args.clients} clients, {args.reps} repetitions\n")
    print("| rep | DISCOVERs within | lone client -> OFFER | storm median | storm slowest | "
          "median / lone | 1st try | 2nd try | never | renewed | NAK | unanswered |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n, r in enumerate(rows, 1):
        print(f"| {n} | {r['within']:.2f} s | {r['base']:.3f} s | {r['median']:.3f} s | "
              f"{r['slowest']:.3f} s | {r['median'] / r['base']:.2f} | {r['offered_first_try']} | "
              f"{r['offered_second_try']} | {r['never_offered']} | {r['renewed']} | "
              f"{r['renewals_naked']} | {r['renewals_unanswered']} |")
    print()
    for key, label in (("base", "lone client -> OFFER"), ("median", "storm median -> OFFER"),
                       ("slowest", "storm slowest -> OFFER")):
        print(f"- {label}: {describe([r[key] for r in rows], ' s', digits=3)}")
    print(f"- storm median / lone: {describe([r['median'] / r['base'] for r in rows], digits=2)}")
    bad = [r for r in rows if r["never_offered"] or r["renewals_unanswered"] or r["renewals_naked"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
