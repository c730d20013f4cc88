"""rackctl's commands that talk to a running agent: configure, status, stop-dhcp.

Each ``run_*`` takes the parsed arguments and the output streams and returns
the exit code (`provisioningserver.cli.common`): OK done; REJECTED dhcpd
rejected the config or did not come up with it (the previous config serves
again, as the message says); INVALID document or usage; ENVIRONMENT (agent
unreachable, dhcpd missing). Status shows the latest foreign DHCP probe the
way ``rackctl probe`` does, with its `probe_lines`.
"""

import json

from provisioningserver.cli.common import (
    INVALID, OK, EmptyFile, add_socket_argument, call, fail, read_document_text, when,
)
from provisioningserver.cli.probe_commands import probe_lines
from provisioningserver.dhcp.errors import DocumentError


def add_configure_arguments(parser):
    add_socket_argument(parser)
    parser.add_argument("--ipv6", action="store_true", help="configure dhcpd6 (default: dhcpd, IPv4)")
    parser.add_argument("--dry-run", action="store_true",
                        help="validate, render and check, and say what would be done")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--allow-stop", action="store_true",
                        help="a document with no shared networks stops dhcpd; without "
                             "this flag such a document is refused (exit 2)")
    parser.add_argument("document", help="the DHCP config document (YAML or JSON; - for stdin)")


def add_stop_arguments(parser):
    add_socket_argument(parser)
    parser.add_argument("--ipv6", action="store_true", help="stop dhcpd6 (default: dhcpd, IPv4)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


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


def _as_sent(text, source):
    """The document to send: JSON text as it is (packed, checked to parse,
    not serialised again; most documents at scale are JSON), anything else
    read as YAML by the document reader."""
    if text.lstrip()[:1] == "{":
        try:
            json.loads(text)
        except (ValueError, RecursionError):
            pass  # perhaps YAML's flow style, or nested too deeply: the reader decides
        else:
            from provisioningserver.system.packed import PackedJSON

            return PackedJSON(text.encode("utf-8"))
    from provisioningserver.dhcp.document import load_document

    return load_document(text, source=source)


def run_configure(args, out, err, stdin):
    try:
        document = _as_sent(read_document_text(args.document, stdin), args.document)
    except OSError as error:
        fail(args, out, err, "usage", f"cannot read {args.document}: {error.strerror}")
        return INVALID
    except EmptyFile as error:
        fail(args, out, err, "usage", str(error))
        return INVALID
    except DocumentError as error:
        fail(args, out, err, "invalid-document", str(error))
        return INVALID
    code, response = call(args, out, err, "Configure", ip_version=6 if args.ipv6 else 4,
                           document=document, dry_run=args.dry_run,
                           allow_stop=args.allow_stop)
    return _show_outcome(args, out, code, response)


def run_stop(args, out, err, stdin=None):

    code, response = call(args, out, err, "StopDHCP", ip_version=6 if args.ipv6 else 4)
    return _show_outcome(args, out, code, response)


def run_status(args, out, err, stdin=None):

    code, response = call(args, out, err, "GetStatus")
    if response is None:
        return code
    status = response["status"]
    if args.json:
        print(json.dumps(status, indent=1, sort_keys=True), file=out)
        return OK
    for family in ("v4", "v6"):
        s = status.get(family)
        if s is None:
            continue
        name = "dhcpd" if family == "v4" else "dhcpd6"
        head = f"{name}: {s['state']}"
        if s["state"] == "running":
            head += f"  pid {s['pid']}  since {when(s['since'])}"
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
    if events and events["state"] == "standalone":
        print(f"lease events: standalone (no region: kept for the reports); journal "
              f"{events['journal_bytes']} bytes", file=out)
    elif events:
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
        print("foreign DHCP servers (latest probe):", file=out)
        for line in probe_lines(foreign["interfaces"]):
            print(f"  {line}", file=out)
    return OK
