"""The demo: rackd serving a real DHCP client in a lab of its own.

    scripts/demo [--keep | --clean] [--document FILE]

Builds two network namespaces on a bridge (a rack running rackd, a client),
hands rackd an example document with ``rackctl configure``, runs the real
dhclient in the client, prints the lease it got and rackd's status, and tears
everything down. ``--keep`` leaves the lab up and says how to explore it;
``--clean`` removes a kept lab. Traffic stays inside the namespaces, on
198.18.0.0/24.
"""

import argparse
import os
import sys

from tests.lab.dhclient import Dhclient
from tests.lab.netns import Lab, cleanup_stale
from tests.lab.rackd import REPO, RackdAgent

PREFIX = "rkdemo-"
RACK_ADDRESS = "198.18.0.1/24"
DEFAULT_DOCUMENT = os.path.join(REPO, "examples", "lab-v4.yaml")


def show_lease(lease, out):
    rows = [
        ("address", lease.address), ("subnet mask", lease.subnet_mask),
        ("routers", ", ".join(lease.routers)), ("DNS servers", ", ".join(lease.dns_servers)),
        ("domain", lease.domain_name), ("search list", ", ".join(lease.search_list)),
        ("NTP servers", ", ".join(lease.ntp_servers)), ("next-server", lease.next_server),
        ("filename", lease.filename), ("lease time", f"{lease.lease_time} s"),
        ("server", lease.server_id),
    ]
    for name, value in rows:
        print(f"  {name:<12} {value or '-'}", file=out)


def run(args, out):
    cleanup_stale(PREFIX)
    lab = Lab(prefix=PREFIX)
    try:
        switch = lab.add_switch("switch")
        rack, client = lab.add_host("rack"), lab.add_host("client")
        lab.attach(rack, switch)
        lab.attach(client, switch)
        rack.add_address("eth0", RACK_ADDRESS)
        print(f"lab: namespaces {rack.netns} (rack, {RACK_ADDRESS} on eth0), "
              f"{client.netns} (client), joined by a bridge in {switch.netns}", file=out)
        agent = RackdAgent(rack).start()
        print(f"rackd: running in {rack.netns}, control socket {agent.socket}", file=out)
        with open(args.document) as stream:
            result = agent.rackctl("configure", "-", stdin=stream.read())
        print(f"$ rackctl configure {os.path.relpath(args.document, REPO)}", file=out)
        print("  " + result.stdout.strip().replace("\n", "\n  "), file=out)
        dhclient = Dhclient(client)
        lease = dhclient.obtain()
        print(f"dhclient in {client.netns} got a lease:", file=out)
        show_lease(lease, out)
        print("$ rackctl status", file=out)
        print("  " + agent.rackctl("status").stdout.strip().replace("\n", "\n  "), file=out)
        if args.keep:
            lab.keep()
            print("\nThe lab stays up. Explore it with:", file=out)
            print(f"  ip netns exec {rack.netns} ip addr", file=out)
            print(f"  ip netns exec {client.netns} ip addr show eth0", file=out)
            print(f"  .venv/bin/rackctl status --socket {agent.socket}", file=out)
            print(f"  .venv/bin/rackctl configure --socket {agent.socket} "
                  f"{os.path.relpath(args.document, REPO)}", file=out)
            print(f"  less {agent.directory}/state/log/dhcpd.log", file=out)
            print("Remove it with: scripts/demo --clean", file=out)
        return 0
    finally:
        if not args.keep:
            lab.close()
            print("lab torn down: no namespace or process left", file=out)


def main(argv=None, out=sys.stdout):
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="leave the lab up to explore it")
    parser.add_argument("--clean", action="store_true", help="remove a lab left by --keep")
    parser.add_argument("--document", default=DEFAULT_DOCUMENT,
                        help="the DHCP document to serve (default examples/lab-v4.yaml)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("scripts/demo: needs root (it builds network namespaces)", file=sys.stderr)
        return 3
    if args.clean:
        cleanup_stale(PREFIX)
        print("removed any lab left by scripts/demo --keep", file=out)
        return 0
    return run(args, out)


if __name__ == "__main__":
    sys.exit(main())
