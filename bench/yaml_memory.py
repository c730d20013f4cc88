"""Benchmark: what reading a YAML document costs rackd in memory, and that
the caps of `dhcp.doctext` hold (8 MiB of YAML text, 4 Mi values with the
aliases expanded).

    flock /tmp/rackd-lab.lock .venv/bin/python -m bench.yaml_memory [--reps 3] [--sizes 1,2,4,8]

Each measurement runs in a fresh process. The text is written to a file
first (by this process, so that making it costs the measured one nothing);
the child reads it, resets its peak (``/proc/self/clear_refs``), reads its
resident size (``VmRSS``), hands the text to rackd's reader
(`doctext.load_document`, what rackctl and rackd.yaml's reader call), and
reads its peak (``VmHWM``): the growth is peak minus before. Cases:

- a site of N hosts (bench.scalesite's hosts, written as PyYAML would)
  at each of ``--sizes`` MiB, the largest just under the cap: read;
- the same at 9 MiB: refused by the cap, and read with the cap lifted
  (``MAX_YAML_TEXT`` set to infinity in the child), what rackd did before;
- a "billion laughs" (nine levels of nine aliases, 387 million strings
  expanded, 500 bytes of text): refused by the alias bound; and with the
  bound lifted, read and then written as JSON as ``rackctl configure``
  sends it, at seven levels (4.8 million strings, just past the bound) and
  at nine, the latter under a 4 GiB address-space limit.

Reported as min, median and max (`bench.figures.spread`) of ``--reps``
repetitions, with the growth as a multiple of the text's size.
"""

import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bench.figures import describe  # noqa: E402
from bench.scalesite import base_host  # noqa: E402

CHILD = """
import json, resource, sys, time
from provisioningserver.dhcp import doctext
from provisioningserver.dhcp.errors import DocumentError

path, lifted, then_json = sys.argv[1], sys.argv[2] == "lifted", sys.argv[3] == "json"
if lifted:
    doctext.MAX_YAML_TEXT = doctext.MAX_EXPANDED = float("inf")
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
text = open(path, encoding="utf-8").read()

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # the peak starts again from here
before = status("VmRSS")
start = time.perf_counter()
try:
    value = doctext.load_document(text, "site.yaml")
    outcome = "read"
    if then_json:
        outcome = f"read, {len(json.dumps(value)) / 2**20:.0f} MiB of JSON"
except DocumentError as error:
    outcome = "refused"
except MemoryError:
    outcome = "MemoryError at the 4 GiB limit"
seconds = time.perf_counter() - start
print(json.dumps({"growth": status("VmHWM") - before, "seconds": seconds, "outcome": outcome}))
"""

HEADER = """shared_networks:
- name: lab
  subnets:
  - subnet_cidr: 198.18.0.0/16
    router_ip: 198.18.0.254
    pools:
    - ip_range_low: 198.18.0.100
      ip_range_high: 198.18.0.200
hosts:
"""


def site_text(size):
    """A site's YAML of at most ``size`` bytes, as many hosts as fit."""
    parts, total, i = [HEADER], len(HEADER), 0
    while True:
        host = base_host(i, 0)
        entry = f"- host: {host['host']}\n  mac: '{host['mac']}'\n  ip: {host['ip']}\n"
        if total + len(entry) > size:
            return "".join(parts), i
        parts.append(entry)
        total += len(entry)
        i += 1


def laughs(levels):
    lines = ["a0: &a0 [" + ", ".join(["lol"] * 9) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\nshared_networks: *a{levels - 1}\n"


def measure(directory, text, lifted=False, then_json=False):
    """One fresh process's (growth in bytes, seconds, outcome) for ``text``."""
    import json

    path = os.path.join(directory, "doc.yaml")
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(text)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, path, "lifted" if lifted else "capped",
         "json" if then_json else "-"],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": root})
    result = json.loads(done.stdout)
    return result["growth"], result["seconds"], result["outcome"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--sizes", default="1,2,4,8", help="MiB of YAML read, comma-separated")
    args = parser.parse_args(argv)
    from provisioningserver.dhcp.doctext import MAX_YAML_TEXT

    cases = []  # (label, text, lifted, then_json)
    for mib in (float(s) for s in args.sizes.split(",")):
        text, hosts = site_text(min(int(mib * 2**20), MAX_YAML_TEXT))
        cases.append((f"{len(text) / 2**20:.2f} MiB site, {hosts:,} hosts", text, False, False))
    text, hosts = site_text(9 << 20)
    cases.append((f"9.00 MiB site, {hosts:,} hosts", text, False, False))
    cases.append((f"9.00 MiB site, {hosts:,} hosts, cap lifted", text, True, False))
    cases.append(("billion laughs (9 levels)", laughs(9), False, True))
    cases.append(("7 levels, bound lifted, then JSON", laughs(7), True, True))
    cases.append(("9 levels, bound lifted, then JSON", laughs(9), True, True))
    with tempfile.TemporaryDirectory() as directory:
        print(f"YAML read by doctext.load_document, {args.reps} fresh processes each:")
        for label, text, lifted, then_json in cases:
            runs = [measure(directory, text, lifted, then_json) for _ in range(args.reps)]
            growth = [g for g, _, _ in runs]
            outcomes = sorted({o for _, _, o in runs})
            print(f"  {label:42} {len(text):>10,} bytes: {'; '.join(outcomes)}; "
                  f"growth {describe(growth, ' MiB', 1 / 2**20, 1)}, "
                  f"{describe([g / len(text) for g in growth], 'x', 1, 0)} its size; "
                  f"{describe([s for _, s, _ in runs], ' s', 1, 2)}", flush=True)


if __name__ == "__main__":
    main()
