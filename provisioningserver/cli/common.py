"""What every rackctl command shares: exit codes, the agent call, arguments.

The command modules (`agent_commands`, `lease_commands`, `log_commands`,
`failover_commands`, `probe_commands`, `interfaces`, `rackctl`) import from
here and never from each other's private names, so that cli/ has no import
circle: this module imports no other module of cli/.

Exit codes, the same for every subcommand:

- `OK` (0): done, or dhcpd accepts the config;
- `REJECTED` (1): dhcpd rejected the config or did not come up with it (the
  previous config serves again), or the agent refused (failover);
- `INVALID` (2): invalid document or usage (every problem listed, each with
  its field path);
- `ENVIRONMENT` (3): the agent is unreachable, dhcpd is missing.

rackctl is a one-shot program, so `call_agent` is one blocking AMP call
over the control socket, made without Twisted (`rpc.controlclient`). Declared
errors come back as `AgentError` with the code and the JSON
description the agent sent; a socket nobody answers on is `AgentUnreachable`.
`call` wraps it for a command: it prints what went wrong (as text, or JSON
with ``--json``) and returns the exit code with the response.

rackctl starts fast because it imports only what a command needs: no
command imports Twisted (the agent call is `rpc.controlclient`), ``rackctl
render`` never loads the socket client and ``rackctl status`` never loads
jinja2, netifaces or the document reader (tests/cli/test_imports.py holds
these).
"""

import errno
import json
import os
import re
import time

OK, REJECTED, INVALID, ENVIRONMENT = 0, 1, 2, 3

# The agent's declared error codes (provisioningserver.rpc.control) -> exit code;
# an undeclared one counts as the environment's.
EXIT_CODES = {"INVALID_DOCUMENT": INVALID, "CONFIG_REJECTED": REJECTED,
              "DHCPD_FAILED": REJECTED, "ENVIRONMENT": ENVIRONMENT,
              "CONFIGURE_TIMEOUT": ENVIRONMENT, "FAILOVER_REFUSED": REJECTED}

# RackdConfig's defaults, written here so that rackctl need not import the
# config module (and through it the renderer) to parse its arguments;
# tests/cli/test_imports.py checks they agree.
DEFAULT_SOCKET = "/run/rackd/control.sock"
DEFAULT_CONFIG_PATH = "/etc/rackd/rackd.yaml"
CONNECT_TIMEOUT = 5


class AgentUnreachable(Exception):
    pass


class AgentError(Exception):
    def __init__(self, code, description):
        self.code = code
        try:
            self.details = json.loads(description)
        except (TypeError, ValueError):
            self.details = {"error": description}
        super().__init__(self.details.get("error") or code)


def default_socket():
    """--socket's default: RACKD_SOCKET, else /run/rackd/control.sock."""
    return os.environ.get("RACKD_SOCKET", DEFAULT_SOCKET)


class EmptyFile(ValueError):
    """A document file with nothing in it; the message names the file."""


def read_document_text(path, stdin=None):
    """The text of the document at ``path`` (``-``: ``stdin``, when one is given).

    A file that is empty or only whitespace is refused with `EmptyFile`: it
    parses as a document with no shared networks, which stops DHCP, and from
    a command line that is nearly always a truncated file or the wrong one.
    Stopping is said with ``configure --allow-stop`` or ``stop-dhcp``.

    Bytes that are not UTF-8 are a `DocumentError` naming the file and the
    first bad byte's line and column (exit 2), not a traceback; so is a
    file over the document limit (`doctext.MAX_JSON_TEXT`, 256 MiB), read
    no further than that."""
    # Only the commands that read a document come here: status and the
    # other agent commands never load the document reader.
    from provisioningserver.dhcp.doctext import MAX_JSON_TEXT, decode, too_large

    if path == "-" and stdin is not None:
        data, name = getattr(stdin, "buffer", stdin).read(MAX_JSON_TEXT + 1), "stdin"
    else:
        with open(path, "rb") as stream:
            data, name = stream.read(MAX_JSON_TEXT + 1), path
    if len(data) > MAX_JSON_TEXT:
        raise too_large(name, f"over {MAX_JSON_TEXT:,}")
    text = data
    if isinstance(data, bytes):
        text = decode(data, name)
    if not text.strip():
        what = "empty (0 bytes)" if not text else "only whitespace"
        raise EmptyFile(f"{name} is {what}: not a document (to stop dhcpd, use "
                        "rackctl stop-dhcp, or configure --allow-stop with a document "
                        "that has no shared networks)")
    return text


# Arguments.

def add_socket_argument(parser):
    parser.add_argument("--socket", default=None,
                        help="the agent's control socket (default $RACKD_SOCKET or "
                             "/run/rackd/control.sock)")


def add_global_arguments(parser):
    """--socket and --json before the subcommand, as ip, systemctl and docker
    take them. They land under their own names so that the subcommand's own
    --socket and --json (given after it) are not overwritten; see
    `merge_global_arguments`."""
    parser.add_argument("--socket", dest="global_socket", default=None,
                        help="the agent's control socket (default $RACKD_SOCKET or "
                             "/run/rackd/control.sock); also accepted after COMMAND")
    parser.add_argument("--json", dest="global_json", action="store_true",
                        help="machine-readable output; also accepted after COMMAND")


def merge_global_arguments(args):
    """Fold the options given before the subcommand into those given after it.
    Given in both places, the one after the subcommand wins, as the later of
    two options does on any one command line. A subcommand that takes no
    --socket (render, check, interfaces) ignores one given before it."""
    before_socket = vars(args).pop("global_socket", None)
    before_json = vars(args).pop("global_json", False)
    if hasattr(args, "socket") and args.socket is None:
        args.socket = before_socket
    if hasattr(args, "json"):
        args.json = args.json or before_json
    return args


def add_status_arguments(parser):
    """--socket and --json: all a command that only asks the agent needs."""
    add_socket_argument(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def when(timestamp):
    """A Unix time as local ``YYYY-MM-DD HH:MM:SS``, or ``-`` for none."""
    if timestamp is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


# The agent call.

def unreachable_message(path, error):
    """Why the agent at ``path`` could not be reached (``error``: the
    connect's OSError), saying what to do."""
    number = getattr(error, "errno", None)
    if number == errno.ENOENT:
        return (f"no control socket at {path}: is rackd running? (systemctl status rackd); "
                "the socket is --socket, else $RACKD_SOCKET, else /run/rackd/control.sock")
    if number in (errno.EACCES, errno.EPERM):
        return (f"permission denied on {path}: the control socket is root's (mode 0600), "
                "so rackctl needs root (sudo rackctl ...)")
    if number == errno.ECONNREFUSED:
        return (f"nothing listens on {path}: rackd is not running or left the socket "
                "behind (systemctl status rackd)")
    return f"no rackd answers on {path}: {error}"


def call_agent(path, command, timeout=300, **arguments):
    """Call ``command`` (a name in `rpc.controlspec.COMMANDS`) on the agent
    at ``path`` and return its response fields."""
    from provisioningserver.rpc import controlclient

    try:
        return controlclient.call(path, command, timeout, CONNECT_TIMEOUT, **arguments)
    except controlclient.Unreachable as error:
        raise AgentUnreachable(unreachable_message(path, error.error))
    except controlclient.NoAnswer as error:
        raise AgentUnreachable(str(error))
    except controlclient.Refused as error:
        raise AgentError(error.code, error.description)


def fail(args, out, err, kind, message):
    """A problem that is not the agent's answer: JSON on ``out`` or text on ``err``."""
    if args.json:
        print(json.dumps({"kind": kind, "error": message}), file=out)
    else:
        print(f"rackctl: {message}", file=err)


_OTHER_FAMILY = re.compile(r" is an IPv([46]) (address|network) in an IPv([46]) document$")


def family_mismatch(problems, source):
    """One line for a document of the other family (``--ipv6`` on an IPv4
    document, or an IPv6 one without it), else None.

    ``problems`` are (field path, message) pairs. The document reader names
    every address of the wrong family; for a whole document read as the
    other family that is a dozen lines saying one thing. It counts as that
    only when every problem is such a mismatch and a network is among them:
    one IPv6 host address in an IPv4 document stays a problem of its own."""
    found = [(path, _OTHER_FAMILY.search(message)) for path, message in problems]
    if not found or not all(match for _, match in found):
        return None
    families = {(match[1], match[3]) for _, match in found}
    if len(families) != 1 or not any(match[2] == "network" for _, match in found):
        return None
    [(written, asked)] = families
    flag = "drop --ipv6" if asked == "6" else "add --ipv6"
    return (f"{source} is an IPv{written} document, read as IPv{asked} "
            f"({len(found)} addresses and networks of the other family): {flag}")


def _print_agent_error(details, err, source="the document"):
    from provisioningserver.dhcpd.check import error_text  # only for a rejection

    errors = details.get("errors", ())
    line = family_mismatch([(p["field"], p["error"]) for p in errors if "field" in p], source)
    if line and all("field" in p for p in errors):
        print(f"rackctl: {line}", file=err)
        return
    for problem in errors:
        if "field" in problem:
            print(f"rackctl: {problem['field'] or 'document'}: {problem['error']}", file=err)
        else:
            text = error_text(problem["error"], problem.get("line_num"), problem.get("where"))
            print(f"rackctl: dhcpd: {text}", file=err)
            if problem.get("line") is not None:
                print(f"    {problem['line']}", file=err)
                if problem.get("position") is not None:
                    print("    " + " " * problem["position"] + "^", file=err)
    if details.get("omitted"):
        print(f"rackctl: ... and {details['omitted']} more, not shown (an error reply "
              "holds at most 64 KiB): fix these and try again", file=err)
    if "error" in details:
        print(f"rackctl: {details['error']}", file=err)


def call(args, out, err, command, **arguments):
    """(exit code, response) for one agent call at ``args.socket``; on an error
    the response is None and the error is already printed."""
    socket = args.socket or default_socket()
    try:
        return OK, call_agent(socket, command, **arguments)
    except AgentUnreachable as error:
        fail(args, out, err, "environment", str(error))
        return ENVIRONMENT, None
    except AgentError as error:
        if args.json:
            print(json.dumps(error.details, indent=1), file=out)
        else:
            _print_agent_error(error.details, err, getattr(args, "document", None) or
                               "the document")
        return EXIT_CODES.get(error.code, ENVIRONMENT), None


def report(args, out, err, command, key, print_text, **arguments):
    """Ask the agent and print ``response[key]``: as JSON, or with ``print_text``."""
    code, response = call(args, out, err, command, **arguments)
    if response is None:
        return code
    if args.json:
        print(json.dumps(response[key], indent=1, sort_keys=True), file=out)
    else:
        print_text(response[key], out)
    return OK
