"""Benchmark: what a read and a render cost when little changed, at 1k-50k hosts.

    flock /tmp/rackd-lab.lock .venv/bin/python -m bench.parse_scale [--reps 5]

Pure CPU, no dhcpd. Per site size (1,000, 10,000 and 50,000 hosts in four
/16 subnets of one shared network, each with a router, a DNS server and a
pool) and per case, the case is repeated and its min/median/max reported
(`bench.figures.spread`). Every document is a fresh JSON round trip, as an
RPC argument would be, so no case profits from sharing the raw objects of
the previous document.

- ``full parse``: `document.parse_document`, what every configure paid;
- ``read: nothing changed / one host added / one host changed / all
  renamed``: `incremental.read_document` against the `Parsed` of the base;
- ``render cold``: `render.render` without a cache; ``render warm, one host
  added``: with a `Fragments` filled by a render of the base;
- ``only-hosts test, second render``: the old proof that only hosts changed
  (render the new config with the applied hosts, compare the texts);
  ``only-hosts test, structure``: comparing the two `Rendered.structure`;
- ``plan: all renamed``: `plan.plan` from the base to the renamed config.
"""

import argparse
import ipaddress
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import attrs  # noqa: E402

from bench.figures import spread  # noqa: E402
from provisioningserver.dhcp.document import parse_document  # noqa: E402
from provisioningserver.dhcp.incremental import read_document  # noqa: E402
from provisioningserver.dhcp.plan import plan  # noqa: E402
from provisioningserver.dhcp.render import Fragments, RenderInputs, render  # noqa: E402

KEY = "YmVuY2gta2V5LWZvci1wYXJzZS1zY2FsZS0xMjM0NTY="
SUBNETS = 4


def document(hosts, rename=""):
    nets = [ipaddress.ip_network(f"10.{i}.0.0/16") for i in range(SUBNETS)]
    subnets = [{"subnet_cidr": str(n), "router_ip": str(n.network_address + 1),
                "dns_servers": [str(n.network_address + 2)], "domain_name": "site.example",
                "pools": [{"ip_range_low": str(n.network_address + 100),
                           "ip_range_high": str(n.network_address + 199)}]} for n in nets]
    return {"omapi_key": KEY, "shared_networks": [{"name": "site", "subnets": subnets}],
            "hosts": [host(i, rename) for i in range(hosts)]}


def host(i, prefix=""):
    net = ipaddress.ip_network(f"10.{i % SUBNETS}.0.0/16")
    return {"host": f"{prefix}node-{i:05d}",
            "mac": "52:54:%02x:%02x:%02x:%02x" % (i >> 24 & 255, i >> 16 & 255, i >> 8 & 255,
                                                  i & 255),
            "ip": str(net.network_address + 256 + i // SUBNETS)}


def fresh(doc):
    return json.loads(json.dumps(doc))


def timed(reps, prepare, run):
    """Seconds of ``run(prepare())`` per repetition (preparation untimed)."""
    times = []
    for _ in range(reps):
        arg = prepare()
        start = time.perf_counter()
        run(arg)
        times.append(time.perf_counter() - start)
    return times


def cases(n, reps):
    base = document(n)
    text = json.dumps(base)
    parsed = read_document(json.loads(text), 4)
    inputs = RenderInputs(omapi_key=KEY)
    added = fresh(base)
    added["hosts"].append(host(n))
    changed = fresh(base)
    changed["hosts"][n // 2]["ip"] = host(n + SUBNETS * 10)["ip"]
    renamed_doc = document(n, rename="r-")
    added_config = read_document(fresh(added), 4, parsed).config
    renamed_config = read_document(fresh(renamed_doc), 4, parsed).config
    previous = render(parsed.config, inputs)

    def warm():
        fragments = Fragments()
        render(parsed.config, inputs, fragments)
        return fragments

    yield "full parse", timed(reps, lambda: json.loads(text), lambda d: parse_document(d, 4))
    for name, doc in (("nothing changed", base), ("one host added", added),
                      ("one host changed", changed), ("all renamed", renamed_doc)):
        yield f"read: {name}", timed(reps, lambda doc=doc: fresh(doc),
                                     lambda d: read_document(d, 4, parsed))
    yield "render cold", timed(reps, lambda: None, lambda _: render(added_config, inputs))
    yield "render warm, one host added", timed(
        reps, warm, lambda fragments: render(added_config, inputs, fragments))
    new = render(added_config, inputs)
    yield "only-hosts test, second render", timed(
        reps, lambda: None, lambda _: render(attrs.evolve(added_config, hosts=parsed.config.hosts),
                                             inputs).text == previous.text)
    yield "only-hosts test, structure", timed(
        reps, lambda: None, lambda _: new.structure == previous.structure)
    yield "plan: all renamed", timed(reps, lambda: None,
                                     lambda _: plan(parsed.config, renamed_config))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.parse_scale")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--sizes", default="1000,10000,50000")
    args = parser.parse_args(argv)
    print("| hosts | case | min | median | max |")
    print("|---|---|---|---|---|")
    for n in (int(s) for s in args.sizes.split(",")):
        for name, times in cases(n, args.reps):
            low, mid, high = spread(times)
            print(f"| {n:,} | {name} | {_ms(low)} | {_ms(mid)} | {_ms(high)} |", flush=True)


def _ms(seconds):
    return f"{seconds * 1e3:.3f} ms" if seconds < 0.001 else f"{seconds * 1e3:.1f} ms"


if __name__ == "__main__":
    main()
