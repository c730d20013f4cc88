"""rackctl's commands that talk to a running agent: configure, status, stop-dhcp.

Each ``run_*`` takes the parsed arguments and the output streams and returns
the exit code: 0 done; 1 dhcpd rejected the config or did not come up with it
(the previous config serves again, as the message says); 2 invalid document
or usage; 3 environment (agent unreachable, dhcpd missing).
"""

import json
import time

from provisioningserver.cli.agent import AgentError, AgentUnreachable, call_agent, default_socket
from provisioningserver.dhcp.document import load_document
from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.rpc import control

EXIT_CODES = {"INVALID_DOCUMENT": 2, "CONFIG_REJECTED": 1, "DHCPD_FAILED": 1, "ENVIRONMENT": 3,
              "CONFIGURE_TIMEOUT": 3, "FAILOVER_REFUSED": 1}


def add_socket_argument(parser):
    parser.add_argument("--socket", default=None,
                        help="the agent's control socket (default $RACKD_SOCKET or "
                             "/run/rackd/control.sock)")


def add_configure_arguments(parser):
    add_socket_argument(parser)
    parser.add_argument("--ipv6", action="store_true", help="configure dhcpd6 (default: dhcpd, IPv4)")
    parser.add_argument("--dry-run", action="store_true",
                        help="validate, render and check, and say what would be done")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("document", help="the DHCP config document (YAML or JSON; - for stdin)")


def add_status_arguments(parser):
    add_socket_argument(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def add_stop_arguments(parser):
    add_socket_argument(parser)
    parser.add_argument("--ipv6", action="store_true", help="stop dhcpd6 (default: dhcpd, IPv4)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _read(path, stdin):
    if path == "-":
        return stdin.read()
    with open(path, encoding="utf-8") as stream:
        return stream.read()


def _call(args, out, err, command, **arguments):
    """(exit code, response) for one agent call, errors already printed."""
    socket = args.socket or default_socket()
    try:
        return 0, call_agent(socket, command, **arguments)
    except AgentUnreachable as error:
        _fail(args, out, err, "environment", str(error))
        return 3, None
    except AgentError as error:
        details = error.details
        if args.json:
            print(json.dumps(details, indent=1), file=out)
        else:
            for problem in details.get("errors", ()):
                if "field" in problem:
                    print(f"rackctl: {problem['field'] or 'document'}: {problem['error']}", file=err)
                else:
                    print(f"rackctl: dhcpd: line {problem.get('line_num')}: {problem['error']}",
                          file=err)
                    if problem.get("line") is not None:
                        print(f"    {problem['line']}", file=err)
                        if problem.get("position") is not None:
                            print("    " + " " * problem["position"] + "^", file=err)
            if "error" in details:
                print(f"rackctl: {details['error']}", file=err)
        return EXIT_CODES.get(error.code, 3), None


def _fail(args, out, err, kind, message):
    if args.json:
        print(json.dumps({"kind": kind, "error": message}), file=out)
    else:
        print(f"rackctl: {message}", file=err)


def _show_outcome(args, out, code, response):
    if response is not None:
        if args.json:
            print(json.dumps(response["outcome"], indent=1), file=out)
        else:
            _print_outcome(response["outcome"], out)
    return code


def _print_outcome(outcome, out):
    family = f"IPv{outcome['ip_version']}"
    line = f"{family}: {outcome['action']}: {outcome['reason']}"
    if outcome.get("interfaces"):
        line += f" (on {', '.join(outcome['interfaces'])})"
    print(line, file=out)
    for warning in outcome.get("warnings") or ():
        print(f"{family}: warning: {warning}", file=out)


def run_configure(args, out, err, stdin):
    try:
        document = load_document(_read(args.document, stdin), source=args.document)
    except OSError as error:
        _fail(args, out, err, "usage", f"cannot read {args.document}: {error.strerror}")
        return 2
    except DocumentError as error:
        _fail(args, out, err, "invalid-document", str(error))
        return 2
    code, response = _call(args, out, err, control.Configure, ip_version=6 if args.ipv6 else 4,
                           document=document, dry_run=args.dry_run)
    return _show_outcome(args, out, code, response)


def run_stop(args, out, err, stdin=None):
    code, response = _call(args, out, err, control.StopDHCP, ip_version=6 if args.ipv6 else 4)
    return _show_outcome(args, out, code, response)


def _when(timestamp):
    if timestamp is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def run_status(args, out, err, stdin=None):
    code, response = _call(args, out, err, control.GetStatus)
    if response is None:
        return code
    status = response["status"]
    if args.json:
        print(json.dumps(status, indent=1, sort_keys=True), file=out)
        return 0
    for family in ("v4", "v6"):
        s = status.get(family)
        if s is None:
            continue
        name = "dhcpd" if family == "v4" else "dhcpd6"
        head = f"{name}: {s['state']}"
        if s["state"] == "running":
            head += f"  pid {s['pid']}  since {_when(s['since'])}"
            if s.get("interfaces"):
                head += f"  on {', '.join(s['interfaces'])}"
        elif s.get("reason"):
            head += f" ({s['reason']})"
        print(head, file=out)
        if s.get("config_fingerprint"):
            print(f"  config {s['config_fingerprint']}", file=out)
        if s.get("leases_file_bytes") is not None:
            print(f"  leases file {s['leases_file_bytes']} bytes", file=out)
        if s.get("restarts"):
            print(f"  restarts after crashes: {s['restarts']}", file=out)
        last = s.get("last_configure")
        if last:
            print(f"  last configure: {last['action']}: {last['reason']}", file=out)
    for peer in ((status.get("v4") or {}).get("failover_state") or {}).get("peers", ()):
        if "error" in peer:
            print(f"failover {peer['peer']}: unknown ({peer['error']})", file=out)
        else:
            print(f"failover {peer['peer']}: {peer['local_state']}, partner "
                  f"{peer['partner_state']}, for {peer['for_seconds']}s: {peer['summary']}",
                  file=out)
    events = status.get("lease_events")
    if events:
        line = (f"lease events: {events['state']}, {events['pending']} waiting for the region, "
                f"{events['sent']} sent; journal {events['journal_bytes']} bytes")
        print(line, file=out)
        if events.get("journal_over_limit"):
            print(f"  ALARM: undelivered lease events alone fill journal_max_bytes "
                  f"({events['journal_max_bytes']} bytes); they stay until the region "
                  f"takes them", file=out)
        if events.get("last_error"):
            print(f"  last error: {events['last_error']}", file=out)
    foreign = status.get("foreign_dhcp")
    if foreign and foreign.get("interfaces"):
        from provisioningserver.cli.probe_commands import probe_lines  # it imports us

        print("foreign DHCP servers (latest probe):", file=out)
        for line in probe_lines(foreign["interfaces"]):
            print(f"  {line}", file=out)
    return 0
