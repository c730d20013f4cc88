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

rackctl is a one-shot program, so `call_agent` runs the reactor until the
reply (or the error) is in: one blocking AMP call over the control socket.
Declared errors come back as `AgentError` with the code and the JSON
description the agent sent; a socket nobody answers on is `AgentUnreachable`.
`call` wraps it for a command: it prints what went wrong (as text, or JSON
with ``--json``) and returns the exit code with the response.
"""

import json
import os
import time

from twisted.internet import defer
from twisted.internet.endpoints import UNIXClientEndpoint, connectProtocol
from twisted.protocols import amp

from provisioningserver.config import RackdConfig
from provisioningserver.dhcpd.check import error_text
from provisioningserver.rpc import control

OK, REJECTED, INVALID, ENVIRONMENT = 0, 1, 2, 3

# The agent's declared error codes (provisioningserver.rpc.control) -> exit code;
# an undeclared one counts as the environment's.
EXIT_CODES = {"INVALID_DOCUMENT": INVALID, "CONFIG_REJECTED": REJECTED,
              "DHCPD_FAILED": REJECTED, "ENVIRONMENT": ENVIRONMENT,
              "CONFIGURE_TIMEOUT": ENVIRONMENT, "FAILOVER_REFUSED": REJECTED}

DEFAULT_SOCKET = RackdConfig().control_socket_path
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


# Arguments.

def add_socket_argument(parser):
    parser.add_argument("--socket", default=None,
                        help="the agent's control socket (default $RACKD_SOCKET or "
                             "/run/rackd/control.sock)")


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

@defer.inlineCallbacks
def _call_once(reactor, path, command, arguments, timeout):
    endpoint = UNIXClientEndpoint(reactor, path, timeout=timeout)
    try:
        protocol = yield connectProtocol(endpoint, amp.AMP())
    except Exception as error:
        raise AgentUnreachable(f"no rackd answers on {path}: {error}")
    try:
        d = protocol.callRemote(command, **arguments)
        result = yield d
    except tuple(control.ERRORS) as error:
        raise AgentError(control.ERRORS[type(error)].decode("ascii"), str(error))
    except amp.RemoteAmpError as error:
        raise AgentError(error.errorCode.decode("ascii", "replace"), error.description)
    finally:
        protocol.transport.loseConnection()
    return result


def call_agent(path, command, timeout=300, **arguments):
    """Call ``command`` on the agent at ``path`` and return its response."""
    from twisted.internet import reactor

    box = {}

    def run():
        d = _call_once(reactor, path, command, arguments, CONNECT_TIMEOUT)
        timer = reactor.callLater(timeout, d.cancel)

        def done(result):
            if timer.active():
                timer.cancel()
            box["result"] = result
            reactor.stop()

        d.addBoth(done)

    reactor.callWhenRunning(run)
    reactor.run(installSignalHandlers=False)
    result = box.get("result")
    if isinstance(result, Exception):
        raise result
    if hasattr(result, "raiseException"):
        if result.check(defer.CancelledError):
            raise AgentUnreachable(f"rackd at {path} did not answer within {timeout} s")
        result.raiseException()
    return result


def fail(args, out, err, kind, message):
    """A problem that is not the agent's answer: JSON on ``out`` or text on ``err``."""
    if args.json:
        print(json.dumps({"kind": kind, "error": message}), file=out)
    else:
        print(f"rackctl: {message}", file=err)


def _print_agent_error(details, err):
    for problem in details.get("errors", ()):
        if "field" in problem:
            print(f"rackctl: {problem['field'] or 'document'}: {problem['error']}", file=err)
        else:
            text = error_text(problem["error"], problem.get("line_num"), problem.get("where"))
            print(f"rackctl: dhcpd: {text}", file=err)
            if problem.get("line") is not None:
                print(f"    {problem['line']}", file=err)
                if problem.get("position") is not None:
                    print("    " + " " * problem["position"] + "^", file=err)
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
            _print_agent_error(error.details, err)
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
