"""Benchmark: what the relational checks cost at 1,000, 3,000 and 10,000 subnets.

    flock /tmp/rackd-lab.lock .venv/bin/python -m bench.check_scale [--reps 5]

Pure CPU, no dhcpd. The document is `tests.dhcp.documents.many_subnets`:
n disjoint /26 subnets, each in a shared network of its own, with a router
and a pool (3,000 of them are about 400 KiB of JSON, the size of the
ValidateDHCPv4Config that once stalled rackd for 13 s). Per size:

- ``checks``: `checks.check_config` on the parsed config, the rules that
  relate fields to each other (subnet overlaps found with one sort);
- ``full parse``: `document.parse_document`, the read and those rules;
- ``pairwise (baseline)``: the rule this replaced, every subnet compared
  with every earlier one, run in the same process on the same networks, up
  to ``--pairwise-max`` subnets (10,000 would take minutes).

Each case is repeated and reported as min, median and max
(`bench.figures.spread`). Two ratios, both of medians in this run: growth
(the case at n over the same case at the smallest n, beside what n log n
predicts) and the baseline over ``checks`` at the same n.
"""

import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bench.figures import spread  # noqa: E402
from provisioningserver.dhcp.checks import check_config  # noqa: E402
from provisioningserver.dhcp.document import parse_document  # noqa: E402
from tests.dhcp.documents import many_subnets  # noqa: E402


def pairwise(networks):
    """The old rule: each network against every earlier one."""
    found = {}
    for i, network in enumerate(networks):
        for j in range(i):
            if network.overlaps(networks[j]):
                found.setdefault(i, j)
    return found


def timed(reps, run):
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def cases(n, reps, pairwise_max):
    text = json.dumps(many_subnets(n))
    config = parse_document(json.loads(text), 4)
    networks = [s.subnet_cidr for s in config.subnets]
    yield "checks", timed(reps, lambda: check_config(config))
    yield "full parse", timed(reps, lambda: parse_document(json.loads(text), 4))
    if n <= pairwise_max:
        yield "pairwise (baseline)", timed(max(1, reps // 2), lambda: pairwise(networks))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.check_scale")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--sizes", default="1000,3000,10000")
    parser.add_argument("--pairwise-max", type=int, default=3000)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    first, medians = sizes[0], {}
    print("| subnets | case | min | median | max | growth (n log n predicts) | baseline / checks |")
    print("|---|---|---|---|---|---|---|")
    for n in sizes:
        predicted = n * math.log(n) / (first * math.log(first))
        for name, times in cases(n, args.reps, args.pairwise_max):
            low, mid, high = spread(times)
            medians[n, name] = mid
            growth = f"{mid / medians[first, name]:.1f}x ({predicted:.1f}x)"
            versus = (f"{mid / medians[n, 'checks']:.0f}x" if name == "pairwise (baseline)"
                      else "")
            print(f"| {n:,} | {name} | {_ms(low)} | {_ms(mid)} | {_ms(high)} | {growth} "
                  f"| {versus} |", flush=True)


def _ms(seconds):
    return f"{seconds * 1e3:.1f} ms"


if __name__ == "__main__":
    main()
