"""Benchmark: what dhcpd's per-change fsync does to pipelined OMAPI.

    sudo .venv/bin/python -m bench.omapi_fsync [--hosts 3000] [--rounds 2]

Builds one namespace (prefix rkfs-), and for each case starts a fresh dhcpd
(no hosts, leases file on disk) and adds N hosts over OMAPI, timed in the
client's own process from the first request to the last reply:

- ``pypureomapi sequential``: `Omapi.add_host`, one request then one reply;
- ``OmapiClient, window 8``: rackd's client with its default window.

Each pair runs once with dhcpd as rackd runs it (an fsync of the leases
file per host change) and once with ``dont-use-fsync true;``, which no
rackd config renders: it is here only to show how much of the ratio
between the two clients the fsync takes. Cases alternate per round.
"""

import argparse
import base64
import os
import secrets
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bench.omapi_live import KEY_NAME, client_adds, pypureomapi_adds  # noqa: E402
from tests.lab.netns import Lab  # noqa: E402

CONFIG = """\
omapi-port 7911;
key %(key)s { algorithm HMAC-MD5; secret "%(secret)s"; }
omapi-key %(key)s;
%(fsync)s
subnet 198.18.0.0 netmask 255.255.0.0 { pool { range 198.18.0.100 198.18.0.200; } }
"""
FSYNC = {"fsync per change (as rackd runs dhcpd)": "",
         "dont-use-fsync (diagnostic only)": "dont-use-fsync true;"}



def start_dhcpd(server, workdir, run_no, config_text):
    """A fresh dhcpd on interface s0 of ``server``, in run directory
    ``run_no`` of ``workdir``, with ``config_text`` and an empty leases
    file; the process (stopped by the caller) and the directory."""
    path = os.path.join(workdir, f"run{run_no}")
    os.makedirs(path)
    conf, leases = os.path.join(path, "dhcpd.conf"), os.path.join(path, "leases")
    with open(conf, "w") as f:
        f.write(config_text)
    open(leases, "w").close()
    dhcpd = server.popen(["dhcpd", "-d", "-4", "-cf", conf, "-lf", leases,
                          "-pf", os.path.join(path, "pid"), "s0"],
                         name=f"dhcpd{run_no}", log=os.path.join(path, "log"))
    return dhcpd, path

def hosts(tag, count):
    return [{"host": f"{tag}{i}", "mac": "02:%02x:%02x:%02x:%02x:%02x" % (
        tag, (i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255),
        "ip": f"198.18.{1 + i // 250}.{1 + i % 250}"} for i in range(count)]


CLIENTS = {"pypureomapi sequential": pypureomapi_adds,
           "OmapiClient, window 8": lambda server, secret, host_list: client_adds(
               server, secret, host_list, 8)}


def run(count, rounds):
    rates = {(fsync, client): [] for fsync in FSYNC for client in CLIENTS}
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    with Lab(prefix="rkfs-") as lab:
        server = lab.add_host("srv")
        other = lab.add_host("cli")
        lab.link(server, other, "s0", "c0")
        server.add_address("s0", "198.18.0.1/16")
        run_no = 0
        for round_ in range(rounds):
            for fsync, statement in (FSYNC.items() if round_ % 2 == 0
                                     else reversed(FSYNC.items())):
                for client, add in (CLIENTS.items() if round_ % 2 == 0
                                    else reversed(CLIENTS.items())):
                    run_no += 1
                    dhcpd, _ = start_dhcpd(server, lab.workdir, run_no, CONFIG % {
                        "key": KEY_NAME, "secret": secret, "fsync": statement})
                    try:
                        time.sleep(0.7)
                        seconds = add(server, secret, hosts(run_no, count))
                        if not dhcpd.running():
                            raise RuntimeError("dhcpd died during the adds")
                    finally:
                        dhcpd.stop()
                    rates[(fsync, client)].append(count / seconds)
                    print(f"{fsync:40} {client:24} {count / seconds:8,.0f}/s", flush=True)
    return rates


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.omapi_fsync")
    parser.add_argument("--hosts", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    rates = run(args.hosts, args.rounds)
    print("\n| dhcpd | pypureomapi sequential, hosts/s | OmapiClient window 8, hosts/s "
          "| ratio |")
    print("|---|---|---|---|")
    for fsync in FSYNC:
        seq = rates[(fsync, "pypureomapi sequential")]
        win = rates[(fsync, "OmapiClient, window 8")]
        ratios = [w / s for w, s in zip(win, seq)]
        print(f"| {fsync} | {', '.join(f'{r:,.0f}' for r in seq)} "
              f"| {', '.join(f'{r:,.0f}' for r in win)} "
              f"| {', '.join(f'{r:.2f}x' for r in ratios)} |")


if __name__ == "__main__":
    main()
