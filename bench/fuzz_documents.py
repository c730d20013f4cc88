"""The document fuzzer's long campaign (the short one is tests/fuzz/test_documents.py).

    python -m bench.fuzz_documents --count 100000 --seed 1 --dhcpd-sample 2000

prints the counters (unhandled exceptions, configs dhcpd -t refused after the
validator accepted them, injections, rejections without a field path, round
trips that came back different, check and configure disagreeing), the rate in
documents per second, and the first few examples of each failure, each with
its document's index: ``tests.fuzz.mutate.Mutator(seeds(), SEED).document(i)``
rebuilds that document alone. Exit status 1 when any counter is not 0.

The engine, the pipeline and the counting are tests/fuzz's (this module only
runs them), so the bench and the test suite count alike. The rate is the whole
pipeline's per document on this machine, dhcpd -t on the sample included; it
is a figure for planning a run, not a benchmark of rackd.
"""

import argparse
import multiprocessing
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.fuzz.campaign import Campaign  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dhcpd-sample", type=int, default=2000,
                        help="accepted configs checked with the real dhcpd -t")
    parser.add_argument("--examples", type=int, default=5, help="examples shown per failure")
    parser.add_argument("--dhcpd", default=None, help="the dhcpd binary (default: on PATH)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="processes, each taking every JOBS-th document (the documents "
                             "are the same whatever JOBS is; the dhcpd sample is not)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    shards = [(args.seed, args.count, -(-args.dhcpd_sample // args.jobs), args.examples,
               args.dhcpd, shard, args.jobs) for shard in range(args.jobs)]
    if args.jobs == 1:
        done = [_run(shards[0])]
    else:
        with multiprocessing.Pool(args.jobs) as pool:
            done = pool.map(_run, shards)
    campaign = Campaign.merge(done, time.monotonic() - started)
    print("\n".join(campaign.report()))
    return 1 if any(campaign.failures().values()) else 0


def _run(arguments):
    return Campaign(*arguments).run()


if __name__ == "__main__":
    sys.exit(main())
