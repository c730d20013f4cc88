"""Hostile documents through ``rackctl render``: how each one ends.

    .venv/bin/python -m bench.hostile_documents [--count 1000] [--seed 2026]

Not a timing: a count of outcomes, for RELIABILITY.md and for comparing two
trees (run it from each). `tests.dhcp.hostile.variants` damages a valid
document in turn by nesting past the 64-level limit, nesting past Python's
recursion limit, a lone surrogate, a number of 5,000 digits and a byte that
is not UTF-8 (half as JSON, half as YAML); each is written to a file and
handed to ``rackctl render`` in this process, and the exit code, or the
exception that escaped, is counted per kind. Exit 2 (invalid document,
naming the field) is the only right answer for every one of them.
"""

import argparse
import collections
import contextlib
import io
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from provisioningserver.cli.rackctl import main as rackctl  # noqa: E402
from tests.dhcp.hostile import variants  # noqa: E402

RACK = ["--rack-address", "198.18.0.0/24=198.18.0.2", "--rack-address", "198.18.1.0/24=198.18.1.2"]


def outcome(path):
    """How ``rackctl render`` on ``path`` ends: "exit N" or "traceback X"."""
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return f"exit {rackctl(['render', *RACK, path])}"
    except SystemExit as error:
        return f"exit {error.code}"
    except Exception as error:
        return f"traceback {type(error).__name__}"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.hostile_documents")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    counts = collections.Counter()
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "doc.yaml")
        for kind, data in variants(args.count, args.seed):
            with open(path, "wb") as stream:
                stream.write(data)
            counts[kind, outcome(path)] += 1
    print("| kind | outcome | documents |")
    print("|---|---|---|")
    for (kind, what), n in sorted(counts.items()):
        print(f"| {kind} | {what} | {n} |")
    wrong = sum(n for (_, what), n in counts.items() if what != "exit 2")
    print(f"\n{args.count - wrong} of {args.count} exit 2; {wrong} otherwise")


if __name__ == "__main__":
    main()
