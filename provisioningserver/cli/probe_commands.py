"""rackctl probe: look for DHCP servers other than this rack's.

``rackctl probe [IFACE]`` asks the running agent to send DHCPDISCOVERs on
IFACE (default: every interface it serves, plus ``foreign_probe_interfaces``)
and prints, per interface, each foreign server that answered: its server
identifier, the sender's IP and MAC, and the address it offered. This rack's
own dhcpd and its failover peers are left out. Exit 0 when the probe ran
(whatever it found), 2 for an interface this node lacks, 3 when the agent is
unreachable. The latest probe also shows in ``rackctl status``.
"""

import json

from provisioningserver.cli.common import OK, add_socket_argument, call


def add_probe_arguments(parser):
    add_socket_argument(parser)
    parser.add_argument("interface", nargs="?", default=None, metavar="IFACE",
                        help="the interface to probe (default: those served, and "
                             "foreign_probe_interfaces)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def probe_lines(entries):
    """Per-interface text for a probe's (or status's) entries."""
    if not entries:
        yield "no interfaces to probe: dhcpd serves none and foreign_probe_interfaces is empty"
    for entry in entries:
        if entry.get("error"):
            yield f"{entry['interface']}: probe failed: {entry['error']}"
            continue
        servers = entry.get("servers") or []
        yield f"{entry['interface']}: {len(servers) or 'no'} foreign DHCP " \
              f"server{'' if len(servers) == 1 else 's'}"
        for s in servers:
            yield (f"  server {s['server_id'] or '(no identifier)'} from {s['address']} "
                   f"({s['mac'] or 'MAC unknown'}) offered {s['offered']}")


def run_probe(args, out, err, stdin=None):

    arguments = {} if args.interface is None else {"interface": args.interface}
    code, response = call(args, out, err, "ProbeForeignDHCP", **arguments)
    if response is None:
        return code
    if args.json:
        print(json.dumps(response["probe"], indent=1, sort_keys=True), file=out)
    else:
        for line in probe_lines(response["probe"]):
            print(line, file=out)
    return OK
