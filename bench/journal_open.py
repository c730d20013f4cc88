"""Benchmark: what the damage check costs rackd's start (the journal's open).

    .venv/bin/python -m bench.journal_open [--events 250000] [--rounds 5]

Builds a lease journal of ``--events`` events (each in the events and the
history tables, some 60 MB at the default, near the default
``journal_max_bytes`` of 64 MiB) in a temporary directory, then opens it
``--rounds`` times each way, alternating:

- checked: as rackd opens its main journal, `PRAGMA quick_check` reading
  every page once;
- unchecked: as the follower's second connection opens it, no check;
- baseline: reading the file's bytes once, start to end (what any check
  of every page must at least do).

Reports each as min, median and max seconds, and the ratio checked /
baseline per round. The file is in the page cache after the first round
(as it mostly is on a rack that just stopped rackd); a cold cache adds the
read of the file from disk to both sides of the first open.
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bench.figures import describe  # noqa: E402
from provisioningserver.dhcp.leaserecord import LeaseEvent  # noqa: E402
from provisioningserver.leases.journal import Journal  # noqa: E402


def build(path, count):
    journal = Journal(path)
    batch = 5000
    for start in range(0, count, batch):
        journal.record([LeaseEvent(action="commit", ip_family=4,
                                   ip=f"198.18.{(i >> 8) & 255}.{i & 255}",
                                   mac=f"02:00:00:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:"
                                       f"{i & 255:02x}", hostname=f"node-{i}", lease_time=600)
                        for i in range(start, min(start + batch, count))], "bench")
    journal.close()


def opened(path, threaded):
    began = time.perf_counter()
    Journal(path, threaded=threaded).close()
    return time.perf_counter() - began


def read_through(path):
    began = time.perf_counter()
    with open(path, "rb") as stream:
        while stream.read(1 << 20):
            pass
    return time.perf_counter() - began


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.journal_open")
    parser.add_argument("--events", type=int, default=250000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "leases.db")
        build(path, args.events)
        print(f"journal: {args.events} events, {os.path.getsize(path) / 1e6:.1f} MB")
        checked, unchecked, baseline = [], [], []
        for _ in range(args.rounds):
            checked.append(opened(path, threaded=False))
            unchecked.append(opened(path, threaded=True))
            baseline.append(read_through(path))
    print("checked open:", describe(checked, " s", digits=3))
    print("unchecked open:", describe(unchecked, " s", digits=4))
    print("baseline, one read of the file:", describe(baseline, " s", digits=3))
    print("ratio checked/baseline:",
          describe([c / b for c, b in zip(checked, baseline)], "x", digits=1))


if __name__ == "__main__":
    main()
