"""Failover takeover, measured and repeated (issue N).

Run as root from the repository, one lab run at a time:

    flock /tmp/rackd-lab.lock .venv/bin/python -m bench.takeover [--reps 3] [--auto-partner-down 3]

Each repetition is tests/lab/test_takeover_lab.py's `run_pair` in a lab of
its own (``rkto-<pid>-*``, torn down at the end): two racks as a failover
pair (max-response-delay 5 s, mclt 10 s), first the primary's dhcpd
SIGKILLed while its rackd runs, then, back in normal state, its whole rack
gone silently (link down, everything in the namespace SIGKILLed). Once
without auto-partner-down and once with ``--auto-partner-down`` seconds.
Reported as min/median/max over the repetitions (bench/figures.py), in
seconds from the fault: to communications-interrupted and partner-down in
the survivor's dhcpd log, to its first OFFER to a new client of the dead
peer's half, to its first ACK to that half's rebinding client, and the
lease that ACK carried against the survivor's lease in normal state.
"""

import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from bench.figures import describe  # noqa: E402
from tests.lab.netns import Lab  # noqa: E402
from tests.lab.test_takeover_lab import run_pair  # noqa: E402

ROWS = (("communications_interrupted", "-> communications-interrupted"),
        ("partner_down", "-> partner-down"),
        ("new", "-> survivor OFFERs to a new client"),
        ("renew", "-> survivor ACKs a rebinding client"),
        ("renew_lease", "that ACK's lease (s)"),
        ("renew_lease_in_normal", "the survivor's lease in normal state (s)"))


def _cell(values, digits=2):
    values = [v for v in values if v is not None]
    return describe(values, digits=digits) if values else "not seen"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.takeover")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--auto-partner-down", type=int, default=3)
    args = parser.parse_args(argv)
    figures = {}
    for setting in (None, args.auto_partner_down):
        for rep in range(args.reps):
            with Lab(prefix="rkto-%d-%d-" % (os.getpid(), len(figures))) as lab:
                figures.setdefault(setting, []).append(run_pair(lab, setting))
            print(f"auto-partner-down {setting}, repetition {rep + 1}: {figures[setting][-1]}",
                  file=sys.stderr)
    print(f"## Failover takeover: {args.reps} repetitions, max-response-delay 5 s, mclt 10 s\n")
    header = [f"{fault}, auto-partner-down {setting if setting is not None else 'off'}"
              for setting in figures for fault in ("dhcpd killed", "rack gone")]
    print("| seconds from the fault | " + " | ".join(header) + " |")
    print("|---" * (len(header) + 1) + "|")
    for key, label in ROWS:
        cells = [_cell([run[index][key] for run in runs])
                 for runs in figures.values() for index in (0, 1)]
        print(f"| {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
