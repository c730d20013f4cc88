"""rackctl log: dhcpd's transaction log, and the requests it could not serve.

    rackctl log [--mac MAC] [--ip IP] [--since TIME] [--limit N] [--json]
    rackctl log --problems [--json]

TIME is ISO 8601 (``2026-11-28T14:00``, local time unless it says otherwise)
or relative to now (``90s``, ``10m``, ``2h``, ``7d``). Arguments are checked
here before the agent is asked; a bad one exits 2 naming the option, as the
agent's own InvalidDocument does.
"""

import datetime
import re
import time

from provisioningserver.cli.common import INVALID, add_status_arguments, fail, report, when

_RELATIVE = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class BadArgument(ValueError):
    """An option's value that cannot be used; the message names the option."""


def parse_since(text, now):
    """A Unix time from ISO 8601 or a relative ``10m``; BadArgument otherwise."""
    match = _RELATIVE.match(text.strip())
    if match:
        return now - int(match[1]) * _UNITS[match[2]]
    try:
        moment = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadArgument(f"--since: expected ISO 8601 (2026-11-28T14:00) or a relative "
                          f"time (10m, 2h, 7d), got {text!r}") from None
    return moment.timestamp()


def add_log_arguments(parser):
    add_status_arguments(parser)
    parser.add_argument("--mac", help="only this client's transactions")
    parser.add_argument("--ip", help="only transactions about this address")
    parser.add_argument("--since", help="only from TIME on: ISO 8601, or 10m, 2h, 7d ago")
    parser.add_argument("--limit", type=int, default=1000,
                        help="the newest N (default 1000)")
    parser.add_argument("--problems", action="store_true",
                        help="instead: no-free-leases and NAK counts per subnet and pool")


def _print_transactions(transactions, out):
    for t in transactions:
        client = t.get("mac") or t.get("duid") or t.get("peer") or "-"
        via = t.get("relay") and f"relay {t['relay']}" or t.get("interface") or ""
        reason = t.get("reason") or ""
        if t.get("network") and reason:
            reason = f"{t['network']}: {reason}"
        print(f"{when(t['time'])}  v{t['family']} {t['type']:<19} {t.get('ip') or '-':<39} "
              f"{client:<17} {via} {reason}".rstrip(), file=out)


def _print_problems(problems, out):
    print(f"{'family':<6} {'subnet':<40} {'pool':<32} {'kind':<15} {'count':>7} "
          f"{'last min':>8}", file=out)
    for p in problems:
        print(f"v{p['family']:<5} {p['subnet']:<40} {p['pool'] or '-':<32} {p['kind']:<15} "
              f"{p['count']:>7} {p['last_minute']:>8}", file=out)


def run_log(args, out, err, stdin=None, clock=time):

    if args.problems:
        return report(args, out, err, "GetProblems", "problems", _print_problems)
    arguments = {}
    try:
        if args.limit is not None and args.limit < 1:
            raise BadArgument(f"--limit: expected a positive number, got {args.limit}")
        if args.since is not None:
            arguments["since"] = parse_since(args.since, clock.time())
    except BadArgument as error:
        fail(args, out, err, "usage", str(error))
        return INVALID
    arguments["limit"] = args.limit
    for name in ("mac", "ip"):
        if getattr(args, name) is not None:
            arguments[name] = getattr(args, name)
    return report(args, out, err, "GetTransactions", "transactions",
                   _print_transactions, **arguments)
