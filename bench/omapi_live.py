"""Live host reservations against the alternatives, with the outage each costs.

Run as root from the repository: ``.venv/bin/python -m bench.omapi_live``
(``--sizes 1000,10000``). It builds a lab (``rkbo-*`` namespaces, torn
down at the end): a rack running the real rackd and dhcpd on a /16, and a
client on the same switch. For each size N, all in the same run:

- ``rackd live``: `rackctl configure` with N new hosts, applied over OMAPI
  (time from the configure call to its reply; rackctl's own start included);
- ``rackd restart``: the same hosts with a changed structural field, so
  rackd checks, writes and restarts dhcpd (time to the reply, which comes
  once the monitor has seen dhcpd serve);
- ``pypureomapi``: N `Omapi.add_host` calls, one request then one reply;
- ``omshell``: one omshell process fed N creates on stdin;
- ``OmapiClient alone``: rackd's client driven directly
  (tests/omapi/driver.py) with 1, 8 (rackd's default) and 16 requests
  outstanding.

Seconds are the wall time of the whole path, a process's start included;
"in-process" rates use the time the process itself measured from its first
request to its last reply, where it reports one.

Beside each, a prober in the client's namespace (``probe`` mode of this
module) sends a DISCOVER every ``--interval`` seconds while the path runs and
counts those left without an OFFER. Its eight clients hold active leases
(see `probe`), and it runs once before each size's paths, so that a fresh
dhcpd's ping checks are not counted against the first path. Figures are
printed as a Markdown table; where the losses fell within a path goes to
stderr.
"""

import argparse
import base64
import ipaddress
import json
import os
import random
import select
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.lab import dhcppacket  # noqa: E402

KEY_NAME = "omapi_key"
POOL = ("198.18.0.100", "198.18.0.200")
# Each path's hosts get addresses and MACs of their own (10,000 fit in each
# range); the OmapiClient-alone rows reserve addresses outside the served /16,
# which dhcpd stores all the same.
BASES = {"live": "198.18.16.0", "pypureomapi": "198.18.64.0", "omshell": "198.18.128.0",
         "window1": "198.18.192.0", "window8": "198.19.0.0", "window16": "198.19.64.0"}
MAC_PREFIX = {"live": 0x20, "pypureomapi": 0x30, "omshell": 0x40, "window1": 0x50,
              "window8": 0x70, "window16": 0x60}
CLIENT_WINDOWS = (1, 8, 16)  # 8 is rackd's default


# The prober, run inside the client's namespace.

def probe(interface, interval, stop_path, limit, grace=3.0):
    """DISCOVERs every ``interval`` s until ``stop_path`` exists (or ``limit``
    s); the counts as JSON. Eight client MACs keep the pool from filling.

    The first OFFER to each MAC is taken with a REQUEST, so that the eight
    leases are active and survive a restart like real clients' leases: a
    fresh dhcpd ping-checks an address before it first offers it (1 s,
    dhcpd's default ping-timeout) and drops that client's DISCOVERs
    meanwhile, which would count as an outage of the path being measured
    when it is only the prober being new (run the prober once before the
    paths: `warm_up`). ``lost_at`` are the send times (monotonic) of the
    unanswered DISCOVERs, to place the losses within a path.
    """
    from tests.lab.rawclient import open_socket
    macs = ["02:99:00:00:00:%02x" % i for i in range(8)]
    sent, answered, bound, started = {}, set(), set(), time.monotonic()
    with open_socket(interface) as sock:
        next_send, stop_at = started, None
        while True:
            now = time.monotonic()
            if stop_at is None and (os.path.exists(stop_path) or now - started > limit):
                stop_at = now
            if stop_at is not None and now - stop_at > grace:
                break
            if stop_at is None and now >= next_send:
                xid = random.getrandbits(32)
                sent[xid] = now
                sock.sendto(dhcppacket.build("DISCOVER", xid, macs[len(sent) % 8]),
                            ("255.255.255.255", 67))
                next_send = now + interval
            ready, _, _ = select.select([sock], [], [], max(0.0, min(next_send - now, 0.01)))
            if ready:
                try:
                    reply = dhcppacket.parse(sock.recv(4096))
                except dhcppacket.PacketError:
                    continue
                if reply["message_type"] == "OFFER" and reply["xid"] in sent:
                    answered.add(reply["xid"])
                    if reply["chaddr"] not in bound:
                        bound.add(reply["chaddr"])
                        server = bytes.fromhex(reply["raw_options"]["54"])
                        sock.sendto(dhcppacket.build("REQUEST", reply["xid"], reply["chaddr"], {
                            50: ipaddress.ip_address(reply["yiaddr"]).packed, 54: server}),
                            ("255.255.255.255", 67))
    lost = sorted(t for xid, t in sent.items() if xid not in answered)
    print(json.dumps({"sent": len(sent), "unanswered": len(lost),
                      "lost_at": [round(t, 3) for t in lost]}))


class Prober:
    def __init__(self, client, interval):
        self.client, self.interval = client, interval
        self.stop_path = client.path("probe.stop")

    def __enter__(self):
        if os.path.exists(self.stop_path):
            os.unlink(self.stop_path)
        self.process = subprocess.Popen(
            self.client.command([sys.executable, "-m", "bench.omapi_live", "probe",
                                 "--interface", "eth0", "--interval", str(self.interval),
                                 "--stop", self.stop_path]),
            cwd=REPO, stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)  # the prober is up and answered before the path starts
        return self

    def __exit__(self, *exc):
        open(self.stop_path, "w").close()
        out, _ = self.process.communicate(timeout=60)
        self.result = json.loads(out)


def warm_up(client, interval):
    """A probe before the measured paths: a fresh dhcpd's ping checks of the
    prober's first offers (about 1 s of dropped DISCOVERs) then fall here."""
    with Prober(client, interval) as prober:
        time.sleep(1.5)
    print("warm-up probe:", {k: v for k, v in prober.result.items() if k != "lost_at"},
          file=sys.stderr)


# The paths.

def hosts(kind, count):
    base = ipaddress.ip_address(BASES[kind])
    return [{"host": f"{kind}-{i}", "ip": str(base + i),
             "mac": "02:%02x:00:%02x:%02x:01" % (MAC_PREFIX[kind], i >> 8, i & 255)}
            for i in range(count)]


def document(host_list=(), domain="a.example"):
    return {"shared_networks": [{"name": "lab", "subnets": [{
        "subnet_cidr": "198.18.0.0/16", "router_ip": "198.18.0.254", "domain_name": domain,
        "pools": [{"ip_range_low": POOL[0], "ip_range_high": POOL[1]}]}]}],
        "hosts": list(host_list)}


def timed(action):
    started = time.monotonic()
    result = action()
    return time.monotonic() - started, result


PYPUREOMAPI = """
import json, sys, time
from pypureomapi import Omapi
job = json.load(sys.stdin)
omapi = Omapi("127.0.0.1", 7911, job["key_name"].encode(), job["secret"].encode())
started = time.monotonic()
for h in job["hosts"]:
    omapi.add_host(h["ip"], h["mac"])
print(time.monotonic() - started)
"""


def pypureomapi_adds(rack, secret, host_list):
    job = json.dumps({"key_name": KEY_NAME, "secret": secret, "hosts": host_list})
    out = rack.run([sys.executable, "-c", PYPUREOMAPI], input=job, timeout=600)
    return float(out.stdout)


def client_adds(rack, secret, host_list, window):
    """rackd's OmapiClient alone (tests/omapi/driver.py), ``window`` outstanding."""
    job = {"port": 7911, "key_name": KEY_NAME, "key_secret": secret, "window": window,
           "mode": "batch", "timeout": 30,
           "ops": [{"op": "add_host", "name": h["host"], "mac": h["mac"], "ip": h["ip"]}
                   for h in host_list]}
    out = rack.run([sys.executable, "-m", "tests.omapi.driver"], input=json.dumps(job),
                   cwd=REPO, timeout=600)
    done = json.loads(out.stdout)
    results = done["results"]
    assert all("ok" in r for r in results), [r for r in results if "ok" not in r][:3]
    return done["seconds"]


def omshell_adds(rack, secret, host_list):
    lines = ["server 127.0.0.1", "port 7911", f"key {KEY_NAME} {secret}", "connect"]
    for h in host_list:
        lines += ["new host", f'set name = "{h["host"]}"', f"set hardware-address = {h['mac']}",
                  "set hardware-type = 1", f"set ip-address = {h['ip']}", "create"]
    out = rack.run(["omshell"], input="\n".join(lines) + "\n", timeout=600)
    if "can't" in out.stdout or "not connected" in out.stdout:
        raise RuntimeError(out.stdout[-500:])


def run(sizes, interval, nice=None):
    from tests.lab.netns import Lab
    from tests.lab.rackd import rack_and_client
    import tempfile
    rows = []
    with Lab(prefix="rkbo-%d-" % os.getpid(), workdir=tempfile.mkdtemp(prefix="rkbo")) as lab:
        settings = {} if nice is None else {"nice": nice}
        agent, client = rack_and_client(lab, prefix=16, **settings)
        rack = agent.host
        agent.configure(document())
        with open(os.path.join(agent.state_dir, "omapi.key")) as f:
            secret = f.read().strip()
        base64.b64decode(secret)
        for size in sizes:
            # A fresh dhcpd with no hosts: a structural change restarts it.
            reset = f"reset{size}.example"
            agent.configure(document(domain=reset))
            time.sleep(1)  # the reset's own outage must not count against the live path
            warm_up(client, interval)
            pid = agent.dhcpd_pid()
            wanted = hosts("live", size)

            def path(name, action):
                with Prober(client, interval) as prober:
                    started = time.monotonic()
                    seconds, result = timed(action)
                inner = result if isinstance(result, float) else None
                rows.append((size, name, seconds, inner, prober.result["sent"],
                             prober.result["unanswered"]))
                lost = [round(t - started, 2) for t in prober.result["lost_at"]]
                span = f", lost from {lost[0]} s to {lost[-1]} s of the path" if lost else ""
                print(rows[-1], span, file=sys.stderr)
                return result

            outcome = path("rackd live", lambda: agent.configure(document(wanted, reset)))
            assert outcome["action"] == "applied-live", outcome
            assert agent.dhcpd_pid() == pid, "dhcpd restarted on the live path"
            outcome = path("rackd restart", lambda: agent.configure(
                document(wanted, domain=f"restart{size}.example")))
            assert outcome["action"] == "restarted", outcome
            path("pypureomapi sequential",
                 lambda: pypureomapi_adds(rack, secret, hosts("pypureomapi", size)))
            for window in CLIENT_WINDOWS:
                path(f"OmapiClient alone, window {window}", lambda w=window: client_adds(
                    rack, secret, hosts(f"window{w}", size), w))
            path("omshell, one process", lambda: omshell_adds(rack, secret, hosts("omshell", size)))
        agent.rackctl("stop-dhcp", check=False)
        agent.stop()
    return rows


def table(rows):
    lines = ["| hosts | path | seconds | hosts/s | in-process hosts/s | DISCOVERs sent "
             "| unanswered |",
             "|---|---|---|---|---|---|---|"]
    for size, name, seconds, inner, sent, unanswered in rows:
        own = f"{size / inner:,.0f}" if inner else "-"
        lines.append(f"| {size:,} | {name} | {seconds:.2f} | {size / seconds:,.0f} | {own} "
                     f"| {sent} | {unanswered} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.omapi_live")
    sub = parser.add_subparsers(dest="mode")
    p = sub.add_parser("probe")
    p.add_argument("--interface", required=True)
    p.add_argument("--interval", type=float, default=0.005)
    p.add_argument("--stop", required=True)
    p.add_argument("--limit", type=float, default=300.0)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--interval", type=float, default=0.005,
                        help="seconds between the prober's DISCOVERs")
    parser.add_argument("--nice", type=int, default=None,
                        help="rackd's niceness (rackd.yaml nice; default: rackd's default)")
    args = parser.parse_args(argv)
    if args.mode == "probe":
        return probe(args.interface, args.interval, args.stop, args.limit)
    rows = run([int(n) for n in args.sizes.split(",")], args.interval, args.nice)
    print(table(rows))


if __name__ == "__main__":
    main()
