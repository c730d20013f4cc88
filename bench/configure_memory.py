"""Benchmark: what rackd's configure holds and how long it takes and holds
the reactor, at 50,000 hosts, with and without the two memory settings, or
against another checkout.

    .venv/bin/python -m bench.configure_memory [--hosts 50000] [--reps 3]
    .venv/bin/python -m bench.configure_memory --baseline ../main [--variants shipped]

No dhcpd and no lab: it measures the agent's own side of a configure, the
part that lives in rackd's process. Each run is a fresh interpreter that
refuses TLS as a standalone rackd does (`system.notls`) and builds the real
`Configurator` with the real reactor and thread pool, in front of three
stand-ins for dhcpd: a monitor that reports one running process, a
``dhcpd -t`` that accepts everything and an OMAPI client whose every change
succeeds. It is fed documents as rackd receives them (JSON bytes, read from
files written beforehand by this process, so no run builds the document's
Python objects itself): grown to 1,000, 10,000 and N hosts, then the steady
part: three one-host additions, three structural changes (the DNS server)
and three unchanged documents. After each configure it does what rackd's
outcome listeners do.

The variants, in alternation, ``--reps`` runs each (``--variants`` picks
some, by name, comma-separated):

- ``shipped``: after each configure `memory.Settle` (a full collection,
  then the survivors frozen out of the collector's walks), with glibc's
  mmap threshold pinned at start (`memory.prefer_mmap`);
- ``no freeze``, ``no mmap pin``: one of the two left out;
- ``neither``: the baseline, as rackd was before both.

With ``--baseline TREE`` every variant also runs against the checkout
``TREE`` (its provisioningserver, the same documents and stand-ins), in
alternation with this one's, and the ratios are to that run instead:
``TREE: shipped`` and so on in the table.

Per run: VmRSS and VmHWM after the last configure, the seconds of each
steady kind (the median of its three: one host added, structural, no
change), the reactor's longest lateness during them (a 5 ms looping call;
lateness is how long anything rackd answers would have waited) and how
many full passes the cyclic collector made in them (each holds the
interpreter for tens of ms at this size). Figures are median (min-max) over
the runs, and each variant's ratio to ``neither`` (or to the baseline's
same variant) run by run.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, REPO)

from bench.figures import describe, spread  # noqa: E402
from bench.scalesite import DNS, Site, extra_host  # noqa: E402

VARIANTS = {"shipped": (True, True), "no freeze": (False, True),
            "no mmap pin": (True, False), "neither": (False, False)}


def write_documents(folder, hosts):
    """The documents of one run, as files in order; which are the steady part."""
    site, names = Site(), []

    def dump(kind):
        path = os.path.join(folder, f"{len(names):02d}-{kind}.json")
        with open(path, "w") as stream:
            json.dump(site.document(), stream, separators=(",", ":"))
        names.append((path, kind))

    for size in (1000, 10000, hosts):
        site.size = size
        dump("grow")
    for k in range(3):
        site.extras.append(extra_host(k))
        dump("add")
    for dns in (DNS[1], DNS[0], DNS[1]):
        site.dns = dns
        dump("structural")
    for _ in range(3):
        dump("same")
    return names


STEADY = ("add", "structural", "same")


CHILD = r"""
import gc, ipaddress, json, os, sys, tempfile, time
settle_on, pin_on = json.loads(sys.argv[1])
from provisioningserver.system import memory, notls
notls.refuse_tls()
if pin_on:
    memory.prefer_mmap()
from twisted.internet import defer, reactor, task
from provisioningserver.config import RackdConfig
from provisioningserver.dhcpd.check import CheckResult
from provisioningserver.dhcpd.monitor import MonitorStatus, Outcome
from provisioningserver.network.links import Snapshot
from provisioningserver.omapi.client import ChangeResult
from provisioningserver.services.configure import Configurator
from provisioningserver.system.packed import PackedJSON

class Monitor:
    def __init__(self):
        self.spec = None
    def status(self):
        return MonitorStatus("running" if self.spec else "off", 100 if self.spec else None,
                             0.0, None, 0, self.spec)
    def ensure_running(self, spec, restart=False):
        self.spec = spec
        return defer.succeed(Outcome("restarted", 100, "bench"))
    def record_config(self, spec):
        pass
    def ensure_stopped(self, spec=None):
        self.spec = None
        return defer.succeed(None)

class Omapi:
    def apply(self, changes):
        return defer.succeed([ChangeResult(c) for c in changes])
    def disconnect(self):
        return defer.succeed(None)

def status():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return [int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")]

top = tempfile.mkdtemp(prefix="rkcm-")
config = RackdConfig(state_dir=top + "/state", run_dir=top + "/run", dhcpd="/bin/true")
for d in (config.state_dir, config.run_dir, config.state_dir + "/log"):
    os.makedirs(d)
IF = ipaddress.ip_interface
omapi = Omapi()
configurator = Configurator(
    config, {4: Monitor(), 6: Monitor()}, key_source=lambda: "YmVuY2gta2V5LWZvci1jb25maWd1cmUtbWVtb3J5",
    links=lambda: Snapshot.from_addresses({"lo": [IF("127.0.0.1/8")], "eth0": [IF("198.18.0.5/16")]}),
    clock=reactor, checker=lambda text, v, dhcpd: CheckResult(ok=True),
    omapi_factory=lambda v, key: omapi, resolver=lambda cfg: {})
settle = memory.Settle()
lags, seconds, full = [0.0], {}, [0]
last = [None]

def tick():
    now = time.perf_counter()
    if last[0] is not None:
        lags[0] = max(lags[0], now - last[0] - 0.005)
    last[0] = now

@defer.inlineCallbacks
def main():
    for path, kind in json.loads(sys.argv[2]):
        with open(path, "rb") as stream:
            document = PackedJSON(stream.read())
        loop = task.LoopingCall(tick)
        steady = kind != "grow"
        if steady:
            last[0] = None
            loop.start(0.005)
        started, passes = time.perf_counter(), gc.get_stats()[2]["collections"]
        yield configurator.configure(4, document)
        if steady:
            seconds.setdefault(kind, []).append(time.perf_counter() - started)
            full[0] += gc.get_stats()[2]["collections"] - passes
            loop.stop()
        del document
        if settle_on:
            settle()
        yield task.deferLater(reactor, 0, memory.give_back)
    rss, hwm = status()
    print(json.dumps({"rss": rss, "hwm": hwm, "lag": lags[0],
                      "seconds": {k: sorted(v) for k, v in seconds.items()}, "full_gc": full[0]}))
    reactor.stop()

reactor.callWhenRunning(main)
reactor.run()
"""


def run_child(variant, documents, tree=REPO):
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(VARIANTS[variant]),
                           json.dumps(documents)], capture_output=True, text=True, cwd=tree,
                          timeout=600, env={**os.environ, "PYTHONPATH": tree})
    if done.returncode != 0:
        raise SystemExit(f"{variant} ({tree}): the run failed:\n{done.stderr}")
    return json.loads(done.stdout)


def table(results, hosts, base_of):
    """The markdown table of ``results`` ({label: runs}); ``base_of(label)``
    names the runs each one's ratios are to."""
    lines = [f"| at {hosts:,} hosts | VmRSS after, MB | VmHWM, MB | one host added, s "
             "| structural, s | no change, s | longest reactor wait, ms "
             "| full gc passes in them | RSS / base's | HWM / base's |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for label, runs in results.items():
        base = results[base_of(label)]
        times = [describe([spread(r["seconds"][kind])[1] for r in runs], digits=3)
                 for kind in STEADY]
        lines.append(
            f"| {label} | {describe([r['rss'] for r in runs])} "
            f"| {describe([r['hwm'] for r in runs])} | {' | '.join(times)} "
            f"| {describe([r['lag'] for r in runs], scale=1000)} "
            f"| {describe([r['full_gc'] for r in runs])} "
            f"| {describe([r['rss'] / b['rss'] for r, b in zip(runs, base)], digits=2)} "
            f"| {describe([r['hwm'] / b['hwm'] for r, b in zip(runs, base)], digits=2)} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=50000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--variants", help="comma-separated, of: " + ", ".join(VARIANTS))
    parser.add_argument("--baseline", metavar="TREE",
                        help="a checkout to run each variant against too, for the ratios")
    parser.add_argument("--json", help="write every run's figures here")
    args = parser.parse_args(argv)
    variants = args.variants.split(",") if args.variants else list(VARIANTS)
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"no such variant: {', '.join(sorted(unknown))}")
    trees = {"": REPO}
    if args.baseline:
        baseline = os.path.abspath(args.baseline)
        trees[f"{os.path.basename(baseline.rstrip('/'))}: "] = baseline
    results = {prefix + variant: [] for prefix in trees for variant in variants}
    with tempfile.TemporaryDirectory(prefix="rkcm-docs-") as folder:
        documents = write_documents(folder, args.hosts)
        for rep in range(args.reps):
            for variant in variants:
                for prefix, tree in trees.items():
                    label = prefix + variant
                    results[label].append(run_child(variant, documents, tree))
                    print(f"run {rep + 1}, {label}: {results[label][-1]}", file=sys.stderr)
    if args.baseline:
        other = next(prefix for prefix in trees if prefix)
        base_of = (lambda label: label if label.startswith(other) else other + label)
    else:
        base_of = (lambda label: "neither" if "neither" in results else label)
    print(table(results, args.hosts, base_of))
    if args.json:
        with open(args.json, "w") as stream:
            json.dump(results, stream, indent=1)


if __name__ == "__main__":
    main()
