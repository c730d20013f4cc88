"""``rackctl``: the operator's tool.

Each subcommand is a pair of functions in `COMMANDS`: one adds its arguments
to an argparse subparser, one runs it and returns the exit code.
The agent commands are in `provisioningserver.cli.agent_commands`.

Exit codes, the same for every subcommand:

- 0: done, or dhcpd accepts the config;
- 1: dhcpd rejects the config;
- 2: invalid document or usage (every problem listed, each with its field path);
- 3: environment (dhcpd missing, agent unreachable).
"""

import argparse
import ipaddress
import os
import sys

from provisioningserver.config import RackdConfig
from provisioningserver.cli import (
    agent_commands, failover_commands, interfaces, lease_commands, output, probe_commands,
)
from provisioningserver.cli import log_commands
from provisioningserver.dhcp.document import document_from_file
from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.dhcp.render import RenderInputs, redact, render
from provisioningserver.dhcp.syntax import UnsafeString
from provisioningserver.dhcpd.check import DhcpdNotFound, check_config, check_directory
from provisioningserver.network.resolve import resolve_ntp

OK, REJECTED, INVALID, ENVIRONMENT = 0, 1, 2, 3

# Standalone rendering has no agent config: the ports rackd uses by default.
DHCPD_ENV = "RACKD_DHCPD"


class _Failure(Exception):
    """Stops a subcommand with an exit code; the message is already printed."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


def _fail(args, code, message):
    if args.json:
        print(output.message_json(message))
    print(f"rackctl: {message}", file=sys.stderr)
    raise _Failure(code)


# Shared steps.

def _document_arguments(parser):
    parser.add_argument("document", metavar="DOC", help="the DHCP config document (YAML or JSON)")
    parser.add_argument("--ipv6", action="store_true", help="the DHCPv6 config (default: DHCPv4)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--rack-address", action="append", default=[], metavar="CIDR=IP",
                        help="this rack's address on a subnet (next-server, boot URLs); "
                             "repeatable; default: the addresses of this machine's interfaces")


def _version(args):
    return 6 if args.ipv6 else 4


def _load(args):
    version = _version(args)
    try:
        return document_from_file(args.document, version)
    except OSError as error:
        _fail(args, INVALID, f"cannot read {args.document}: {error.strerror or error}")
    except DocumentError as error:
        if args.json:
            print(output.problems_json(error))
        print(output.problems_text(error, args.document), file=sys.stderr)
        raise _Failure(INVALID)


def _parse_rack_addresses(args):
    found = {}
    for item in args.rack_address:
        cidr, _, address = item.partition("=")
        try:
            network = ipaddress.ip_network(cidr.strip(), strict=True)
            found[network] = ipaddress.ip_address(address.strip())
        except ValueError as error:
            _fail(args, INVALID, f"--rack-address {item!r}: expected CIDR=IP ({error})")
        if found[network] not in network:
            _fail(args, INVALID, f"--rack-address {item!r}: {address} is outside {network}")
    return found


def _rack_addresses(args, config):
    if args.rack_address:
        return _parse_rack_addresses(args)
    from provisioningserver.network.addresses import local_addresses, rack_addresses

    return rack_addresses(config, local_addresses())


def _render(args, config):
    inputs = RenderInputs(
        rack_addresses=_rack_addresses(args, config),
        omapi_port=RackdConfig().omapi_port(config.ip_version),
        omapi_key=config.omapi_key,
        ntp_addresses=resolve_ntp(config),
    )
    try:
        return render(config, inputs)
    except UnsafeString as error:
        _fail(args, INVALID, str(error))


# Subcommands.

def render_arguments(parser):
    _document_arguments(parser)
    parser.add_argument("--show-secrets", action="store_true",
                        help="print the OMAPI secret instead of masking it")


def render_run(args):
    config = _load(args)
    rendered = _render(args, config)
    text = rendered.text if args.show_secrets else redact(rendered.text)
    if args.json:
        print(output.render_json(text, rendered.warnings))
    else:
        sys.stdout.write(text)
        for warning in rendered.warnings:
            print(f"rackctl: warning: {warning}", file=sys.stderr)
    return OK


def check_arguments(parser):
    _document_arguments(parser)
    parser.add_argument("--dhcpd", default=os.environ.get(DHCPD_ENV),
                        help=f"the dhcpd binary (default: ${DHCPD_ENV}, else dhcpd on PATH)")


def check_run(args):
    config = _load(args)
    rendered = _render(args, config)
    try:
        # Where the agent's dhcpd -t reads from, so that AppArmor lets dhcpd read it too.
        result = check_config(rendered.text, config.ip_version, dhcpd=args.dhcpd,
                              directory=check_directory(RackdConfig().run_dir))
    except DhcpdNotFound as error:
        _fail(args, ENVIRONMENT, str(error))
    if args.json:
        print(output.check_json(result, rendered.warnings))
    else:
        stream = sys.stdout if result.ok else sys.stderr
        print(output.check_text(result, config.ip_version), file=stream)
        for warning in rendered.warnings:
            print(f"rackctl: warning: {warning}", file=sys.stderr)
    return OK if result.ok else REJECTED


def _streams(run):
    return lambda args: run(args, sys.stdout, sys.stderr, sys.stdin)


COMMANDS = {
    "render": ("print the dhcpd config a document renders to", render_arguments, render_run),
    "check": ("render a document and check it with the real dhcpd -t", check_arguments, check_run),
    "configure": ("hand a document to the running agent", agent_commands.add_configure_arguments,
                  _streams(agent_commands.run_configure)),
    "status": ("show dhcpd and dhcpd6 as the agent supervises them",
               agent_commands.add_status_arguments, _streams(agent_commands.run_status)),
    "stop-dhcp": ("stop dhcpd (or dhcpd6 with --ipv6) and keep it stopped",
                  agent_commands.add_stop_arguments, _streams(agent_commands.run_stop)),
    "interfaces": ("show this node's interfaces and, given a document, where each subnet "
                   "would be served", interfaces.add_interfaces_arguments,
                   lambda args: interfaces.run_interfaces(args, sys.stdout, sys.stderr)),
    "leases": ("list current leases per subnet", lease_commands.add_leases_arguments,
               _streams(lease_commands.run_leases)),
    "history": ("what happened to an address (--ip) or a machine (--mac)",
                lease_commands.add_history_arguments, _streams(lease_commands.run_history)),
    "log": ("dhcpd's transaction log (--mac, --ip, --since, --limit), or --problems: "
            "no free leases and NAKs per pool", log_commands.add_log_arguments,
            _streams(log_commands.run_log)),
    "pools": ("per pool: size, active leases, reserved hosts, free, percent used",
              lease_commands.add_pools_arguments, _streams(lease_commands.run_pools)),
    "unknown": ("clients that got a lease with no host reservation naming their MAC",
                lease_commands.add_unknown_arguments, _streams(lease_commands.run_unknown)),
    "failover": ("failover partner-down PEER [--force]: serve alone once the partner is "
                 "down", failover_commands.add_failover_arguments,
                 _streams(failover_commands.run_failover)),
    "probe": ("look for DHCP servers other than this rack's (and its failover peer) on "
              "IFACE or every interface served", probe_commands.add_probe_arguments,
              _streams(probe_commands.run_probe)),
}


def build_parser():
    parser = argparse.ArgumentParser(prog="rackctl", description="control rackd's DHCP service")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help_text, add_arguments, run) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        add_arguments(sub)
        sub.set_defaults(run=run)
    return parser


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit:
        # argparse exits 2 on usage errors, 0 after --help.
        return exit.code if isinstance(exit.code, int) else INVALID
    try:
        return args.run(args)
    except _Failure as failure:
        return failure.code


if __name__ == "__main__":
    sys.exit(main())
