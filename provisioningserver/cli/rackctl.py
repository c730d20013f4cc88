"""``rackctl``: the operator's tool.

Each subcommand is a pair of functions in `COMMANDS`: one adds its arguments
to an argparse subparser, one runs it and returns the exit code.
The agent commands are in `provisioningserver.cli.agent_commands` and its
siblings; the exit codes, the same for every subcommand, and what the
commands share are in `provisioningserver.cli.common`.

``render`` and ``check`` print what the agent would write for the same
document: the inputs come from `RackdConfig.render_inputs`, the one function
the agent builds them with, fed with rackd.yaml (``--config``), the
interfaces and addresses `network.selection.select` chooses on this machine
(so relayed subnets and empty subnet declarations come out the same) and
the agent's OMAPI key when the document has none. ``--rack-address``
renders for another rack instead: its addresses as given, no selection.
"""

import argparse
import ipaddress
import os
import sys

import attrs

from provisioningserver.cli import (
    agent_commands, failover_commands, interfaces, lease_commands, log_commands, output,
    probe_commands,
)
from provisioningserver.cli.common import (
    DEFAULT_CONFIG_PATH, ENVIRONMENT, INVALID, OK, REJECTED, EmptyFile, add_global_arguments,
    add_status_arguments, merge_global_arguments, read_document_text,
)
from provisioningserver.dhcp.errors import DocumentError

# render and check import the renderer, the document reader and the network
# discovery inside their functions: the agent commands never need them, and
# rackctl's start-up time is most of a `rackctl status` (common.py says more).

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


def _invalid(args, error, source):
    """A `DocumentError` about ``source``: every problem with its field path."""
    if args.json:
        print(output.problems_json(error))
    print(output.problems_text(error, source), file=sys.stderr)
    raise _Failure(INVALID)


# Shared steps.

def _document_arguments(parser):
    parser.add_argument("document", metavar="DOC", help="the DHCP config document (YAML or JSON)")
    parser.add_argument("--ipv6", action="store_true", help="the DHCPv6 config (default: DHCPv4)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--config", default=DEFAULT_CONFIG_PATH, metavar="FILE",
                        help="rackd's config, for the settings the agent renders with (lease "
                             "times, boot server, OMAPI port, lease hooks, the OMAPI key in "
                             f"its state_dir); default {DEFAULT_CONFIG_PATH}, all defaults "
                             "when that is missing")
    parser.add_argument("--rack-address", action="append", default=[], metavar="CIDR=IP",
                        help="render as for a rack with this address on a subnet "
                             "(next-server, boot URLs), repeatable, instead of choosing "
                             "interfaces and addresses on this machine as the agent does "
                             "(then no empty subnet declarations either)")


def _version(args):
    return 6 if args.ipv6 else 4


def _load(args):
    from provisioningserver.dhcp.document import load_document, parse_document

    version = _version(args)
    try:
        text = read_document_text(args.document)
        return parse_document(load_document(text, source=str(args.document)), version)
    except OSError as error:
        _fail(args, INVALID, f"cannot read {args.document}: {error.strerror or error}")
    except EmptyFile as error:
        _fail(args, INVALID, str(error))
    except DocumentError as error:
        _invalid(args, error, args.document)


def _rackd_config(args):
    from provisioningserver.config import load_config

    try:
        return load_config(args.config)
    except OSError as error:
        _fail(args, INVALID, f"cannot read {args.config}: {error.strerror or error}")
    except DocumentError as error:
        _invalid(args, error, args.config)


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


def _selection(args, config):
    """The agent's choice of interfaces and addresses on this machine, or the
    operator's --rack-address values."""
    from provisioningserver.network.discovery import discover
    from provisioningserver.network.selection import Selection, select

    if args.rack_address:
        return Selection(rack_addresses=_parse_rack_addresses(args), interfaces=())
    try:
        return select(config, discover())
    except DocumentError as error:
        _invalid(args, error, args.document)


def _omapi_key(config, rackd):
    """(key, warnings): the document's key, else the one the agent keeps in its
    state_dir (read, never created: the agent creates it at its first configure)."""
    from provisioningserver.system.keys import KEY_FILE, read_key

    if config.omapi_key:
        return config.omapi_key, ()
    path = os.path.join(rackd.state_dir, KEY_FILE)
    try:
        key = read_key(rackd.state_dir)
    except OSError as error:
        return None, (f"cannot read the agent's OMAPI key {path} ({error.strerror or error}): "
                      "rendered without OMAPI",)
    if key is None:
        return None, (f"the document has no omapi_key and the agent has none yet ({path}): "
                      "rendered without OMAPI",)
    return key, ()


def _render(args, config):
    """(rackd's config, the rendered config) as the agent would render it."""
    from provisioningserver.dhcp.render import render
    from provisioningserver.dhcp.syntax import UnsafeString
    from provisioningserver.network.resolve import resolve_ntp

    rackd = _rackd_config(args)
    selection = _selection(args, config)
    key, warnings = _omapi_key(config, rackd)
    if config.is_empty:
        warnings += ("the document has no shared networks: configuring it would stop "
                     f"dhcpd{'6' if config.ip_version == 6 else ''} (rackctl configure "
                     "refuses it without --allow-stop)",)
    inputs = rackd.render_inputs(config.ip_version, selection, key, resolve_ntp(config))
    try:
        rendered = render(config, inputs)
    except UnsafeString as error:
        _fail(args, INVALID, str(error))
    return rackd, attrs.evolve(rendered, warnings=warnings + tuple(rendered.warnings))


# Subcommands.

def render_arguments(parser):
    _document_arguments(parser)
    parser.add_argument("--show-secrets", action="store_true",
                        help="print the OMAPI secret instead of masking it")


def render_run(args):
    from provisioningserver.dhcp.render import redact

    config = _load(args)
    _, rendered = _render(args, config)
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
                        help=f"the dhcpd binary (default: ${DHCPD_ENV}, else the config's "
                             "dhcpd, else dhcpd on PATH)")


def check_run(args):
    from provisioningserver.dhcp.sourcemap import source_map
    from provisioningserver.dhcpd.check import DhcpdNotFound, check_config, check_directory, locate

    config = _load(args)
    rackd, rendered = _render(args, config)
    try:
        # Where the agent's dhcpd -t reads from, so that AppArmor lets dhcpd read it too.
        result = check_config(rendered.text, config.ip_version, dhcpd=args.dhcpd or rackd.dhcpd,
                              directory=check_directory(rackd.run_dir))
    except DhcpdNotFound as error:
        _fail(args, ENVIRONMENT, str(error))
    if not result.ok:
        result = locate(result, source_map(config, rendered.text))
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
               add_status_arguments, _streams(agent_commands.run_status)),
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
    add_global_arguments(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help_text, add_arguments, run) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        add_arguments(sub)
        sub.set_defaults(run=run)
    return parser


def _run(argv):
    try:
        args = merge_global_arguments(build_parser().parse_args(argv))
    except SystemExit as exit:
        # argparse exits 2 on usage errors, 0 after --help.
        return exit.code if isinstance(exit.code, int) else INVALID
    try:
        return args.run(args)
    except _Failure as failure:
        return failure.code


def _quiet_stdout():
    """Point stdout at /dev/null, so that the interpreter's own flush at exit
    finds nothing to complain about (Python's advice on SIGPIPE)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        return  # not a real file (a test's capture): nothing is flushed at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def main(argv=None):
    """Run one rackctl command and return its exit code.

    A problem of the environment, not of the command, ends in one sentence
    and exit 3, never a traceback. A reader that went away (``rackctl status
    | head -1``) is told nothing: there is nobody to tell, so rackctl exits 3
    quietly."""
    try:
        code = _run(argv)
        sys.stdout.flush()  # inside the try: a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        _quiet_stdout()
        return ENVIRONMENT
    except OSError as error:
        where = f": {error.filename}" if error.filename else ""
        print(f"rackctl: {error.strerror or error}{where}", file=sys.stderr)
        return ENVIRONMENT


if __name__ == "__main__":
    sys.exit(main())
