"""rackctl failover: act on this rack's DHCPv4 failover relationship.

``rackctl failover partner-down PEER [--force]`` asks the running agent to
move its dhcpd to partner-down for PEER. The agent refuses unless the partner
has been unreachable for longer than the safety time (see
`provisioningserver.dhcp.failover`); ``--force`` skips that time check, for
an operator who knows the partner is really down. Refused: exit 1. The pair's
state itself shows in ``rackctl status``.
"""

import json

from provisioningserver.cli.common import OK, add_socket_argument, call


def add_failover_arguments(parser):
    add_socket_argument(parser)
    parser.add_argument("action", choices=["partner-down"],
                        help="partner-down: serve alone, taking over the partner's addresses")
    parser.add_argument("peer", help="the failover peer's name, as in the document")
    parser.add_argument("--force", action="store_true",
                        help="do it even if the partner has not been unreachable for the "
                             "safety time (two racks in partner-down can hand out one "
                             "address twice)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run_failover(args, out, err, stdin=None):

    code, response = call(args, out, err, "FailoverPartnerDown", peer=args.peer,
                          force=args.force)
    if response is None:
        return code  # refused: REJECTED (common.EXIT_CODES)
    outcome = response["outcome"]
    if args.json:
        print(json.dumps(outcome, indent=1), file=out)
    else:
        print(f"failover {args.peer}: {outcome['action']}: {outcome['reason']}", file=out)
    return OK
