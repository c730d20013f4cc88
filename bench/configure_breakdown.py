"""Benchmark: what each structure rackd keeps between configures costs per
host, at 50,000 hosts.

    .venv/bin/python -m bench.configure_breakdown [--hosts 50000] [--json FILE]

bench/configure_memory.py says how much the agent holds after a configure;
this says what it is. In one fresh interpreter (TLS refused as a standalone
rackd does) it builds the real `Configurator` in front of stand-ins that
answer at once (a monitor reporting one running dhcpd, a ``dhcpd -t`` that
accepts everything, an OMAPI client whose every change succeeds, threads
replaced by calls in place, so no reactor runs), gives it the bench site
(bench/scalesite.py) at N hosts and then at N + 1 (one host added: the
incremental read's path), as packed JSON bytes like the control socket's,
and settles as rackd does after each (`memory.Settle`, `memory.give_back`).

Then it walks what the configurator keeps for the family and sizes each
part: the objects reachable from it (``sys.getsizeof``, the collector's
header included, pymalloc's rounding not), each object counted once, in
the first part that reaches it, in this order:

- the applied hosts: the config's host tuple and each `Host` with its
  name, MAC, address, or the `hosttable.HostTable` that holds them;
- the rest of the applied config (networks, subnets, pools);
- the incremental read's per-host entries (`incremental.Parsed.hosts`:
  fingerprints) and its indexes (``by_ip``, ``by_mac``), as older trees
  have them, or its fingerprints of the hosts that are not plain
  (``odd``) and the addresses' text (``ips``);
- the rendered host declarations (`fragments.Fragments`);
- anything else the read keeps.

Each is shown in MB and in bytes per host. Beside them VmRSS before and
after the configures and, with ``--traced``, tracemalloc's count of what
they left allocated (everything, found or not by the walk; tracemalloc's
own bookkeeping then inflates VmRSS by some 10 MB, so the two are not
measured together by default). The parts' names are looked up by
attribute, so the bench runs against an older tree that still has them
(``--tree``), and a part the code no longer has shows as absent.
"""

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

CHILD = r"""
import gc, ipaddress, json, os, sys, tempfile, tracemalloc, types
hosts, site_dir, traced_on = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
sys.path.insert(0, site_dir)
from provisioningserver.system import memory, notls
notls.refuse_tls()
memory.prefer_mmap()
from twisted.internet import defer
from provisioningserver.config import RackdConfig
from provisioningserver.dhcpd.check import CheckResult
from provisioningserver.dhcpd.monitor import MonitorStatus, Outcome
from provisioningserver.network.links import Snapshot
from provisioningserver.omapi.client import ChangeResult
from provisioningserver.services.configure import Configurator
from provisioningserver.system.packed import PackedJSON
from scalesite import Site, extra_host

class Monitor:
    spec = None
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

def rss():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(fields["VmRSS"].split()[0]) / 1024

top = tempfile.mkdtemp(prefix="rkcb-")
config = RackdConfig(state_dir=top + "/state", run_dir=top + "/run", dhcpd="/bin/true")
for d in (config.state_dir, config.run_dir, config.state_dir + "/log"):
    os.makedirs(d)
IF = ipaddress.ip_interface
configurator = Configurator(
    config, {4: Monitor(), 6: Monitor()}, key_source=lambda: "YmVuY2gta2V5LWZvci1jb25maWd1cmUtbWVtb3J5",
    links=lambda: Snapshot.from_addresses({"lo": [IF("127.0.0.1/8")], "eth0": [IF("198.18.0.5/16")]}),
    clock=None, checker=lambda text, v, dhcpd: CheckResult(ok=True),
    omapi_factory=lambda v, key: Omapi(), resolver=lambda cfg: {},
    run_in_thread=lambda f, *a, **k: defer.maybeDeferred(f, *a, **k))
settle = memory.Settle()
site = Site()
site.size = hosts
documents = [json.dumps(site.document(), separators=(",", ":")).encode()]
site.extras.append(extra_host(0))
documents.append(json.dumps(site.document(), separators=(",", ":")).encode())
del site
gc.collect()
rss_before = rss()
if traced_on:
    tracemalloc.start()
for text in documents:
    failures = []
    configurator.configure(4, PackedJSON(text)).addErrback(failures.append)
    if failures:
        failures[0].raiseException()
    settle()
    memory.give_back()
del documents, text
gc.collect()
traced = tracemalloc.get_traced_memory()[0] if traced_on else None
tracemalloc.stop()
memory.give_back()
rss_after = rss()

SKIP = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
        types.MethodType, types.CodeType)
seen = set()

def size(*roots):
    total, stack = 0, [r for r in roots if r is not None]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, SKIP):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total

applied = configurator.state.get(4).config
parsed = configurator._parsed[4]
fragments = configurator._fragments[4]
n = len(applied.hosts)
parts = {}
parts["applied hosts (config.hosts)"] = size(applied.hosts)
parts["rest of the applied config"] = size(applied)
for name in ("hosts", "by_ip", "by_mac", "odd"):
    value = getattr(parsed, name, None)
    parts[f"Parsed.{name}"] = None if value is None else size(value)
ips = getattr(parsed, "ips", None)
parts["Parsed.ips (addresses' text)"] = None if ips is None else size(ips, parsed.ip_starts)
parts["rendered declarations (Fragments)"] = size(fragments)
parts["rest of Parsed"] = size(parsed)
print(json.dumps({"hosts": n, "parts": parts, "traced": traced,
                  "rss_before": rss_before, "rss_after": rss_after}))
"""


def run(tree, hosts, traced=False):
    """The figures of one run against the checkout ``tree``."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(hosts), os.path.join(REPO, "bench"), str(int(traced))],
        capture_output=True, text=True, cwd=tree, timeout=900,
        env={**os.environ, "PYTHONPATH": tree})
    if done.returncode != 0:
        raise SystemExit(f"the run in {tree} failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def table(result, title):
    n = result["hosts"]
    lines = [f"| {title}, at {n:,} hosts | MB | B/host |", "|---|---|---|"]
    found = 0
    for name, value in result["parts"].items():
        if value is None:
            lines.append(f"| {name} | absent | - |")
            continue
        found += value
        lines.append(f"| {name} | {value / 2**20:.1f} | {value / n:.0f} |")
    lines.append(f"| all the parts | {found / 2**20:.1f} | {found / n:.0f} |")
    if result["traced"] is not None:
        lines.append(f"| left allocated by the configures (tracemalloc) | "
                     f"{result['traced'] / 2**20:.1f} | {result['traced'] / n:.0f} |")
    lines.append(f"| VmRSS before / after the configures, MB | {result['rss_before']:.1f} / "
                 f"{result['rss_after']:.1f} | |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=50000)
    parser.add_argument("--tree", default=REPO,
                        help="the checkout whose provisioningserver is measured")
    parser.add_argument("--traced", action="store_true",
                        help="count what the configures left allocated with tracemalloc "
                             "(its own bookkeeping then inflates VmRSS)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    result = run(os.path.abspath(args.tree), args.hosts, args.traced)
    print(table(result, os.path.basename(os.path.abspath(args.tree)) or "tree"))
    if args.json:
        with open(args.json, "w") as stream:
            json.dump(result, stream, indent=1)


if __name__ == "__main__":
    main()
