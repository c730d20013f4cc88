"""rackctl's lease reports: leases, history, pools, unknown.

Each asks the running agent (`provisioningserver.rpc.control`) and prints
either a table or, with ``--json``, the agent's reply as it came. Exit codes
are those of `provisioningserver.cli.common`.
"""

from provisioningserver.cli.common import add_status_arguments, report, when


def _client(event):
    return event.get("mac") or event.get("duid") or "-"


add_leases_arguments = add_status_arguments
add_pools_arguments = add_status_arguments
add_unknown_arguments = add_status_arguments


def add_history_arguments(parser):
    add_status_arguments(parser)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--ip", help="what happened to this address")
    which.add_argument("--mac", help="what happened to this machine")
    parser.add_argument("--limit", type=int, default=1000, help="at most this many events")


def _print_leases(subnets, out):
    for group in subnets:
        print(f"{group['subnet'] or 'outside served subnets'}: {len(group['leases'])} leases",
              file=out)
        for lease in group["leases"]:
            name = lease.get("hostname") or ""
            print(f"  {lease['ip']:<39} {_client(lease):<17} until {when(lease['ends'])}"
                  f"  {name}".rstrip(), file=out)


def _print_events(events, out):
    for event in events:
        flag = "  unknown" if event.get("unknown_client") else ""
        print(f"{when(event['timestamp'])}  {event['action']:<7} {event['ip']:<39} "
              f"{_client(event)}{flag}", file=out)


def _print_pools(pools, out):
    print(f"{'pool':<40} {'size':>7} {'active':>7} {'reserved':>8} {'free':>7} {'used':>6}",
          file=out)
    for pool in pools:
        print(f"{pool['range']:<40} {pool['size']:>7} {pool['active']:>7} "
              f"{pool['reserved']:>8} {pool['free']:>7} {pool['percent_used']:>5}%", file=out)


def run_leases(args, out, err, stdin=None):

    return report(args, out, err, "GetLeases", "leases", _print_leases)


def run_history(args, out, err, stdin=None):

    arguments = {"limit": args.limit}
    if args.ip:
        arguments["ip"] = args.ip
    if args.mac:
        arguments["mac"] = args.mac
    subject = f"IP {args.ip}" if args.ip else f"MAC {args.mac}"

    def print_history(events, out):
        if not events:
            print(f"no lease events for {subject}", file=out)
        _print_events(events, out)

    return report(args, out, err, "GetHistory", "events", print_history, **arguments)


def run_pools(args, out, err, stdin=None):

    return report(args, out, err, "GetPools", "pools", _print_pools)


def run_unknown(args, out, err, stdin=None):

    return report(args, out, err, "GetUnknown", "clients", _print_events)
