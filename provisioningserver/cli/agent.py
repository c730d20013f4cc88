"""rackctl's side of the control socket: one blocking call to the agent.

rackctl is a one-shot program, so each call runs the reactor until the reply
(or the error) is in. Declared errors come back as `AgentError` with the code
and the JSON description the agent sent; a socket nobody answers on is
`AgentUnreachable`.
"""

import json
import os

from twisted.internet import defer
from twisted.internet.endpoints import UNIXClientEndpoint, connectProtocol
from twisted.protocols import amp

from provisioningserver.config import RackdConfig
from provisioningserver.rpc import control

DEFAULT_SOCKET = RackdConfig().control_socket_path


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


@defer.inlineCallbacks
def _call(reactor, path, command, arguments, timeout):
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
        d = _call(reactor, path, command, arguments, 5)
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


