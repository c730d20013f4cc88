"""Responders of the local control socket, and its factory.

This is the one place where the agent's internal errors become the declared
wire errors of `provisioningserver.rpc.control`: each carries a JSON
description that rackctl prints (field paths, dhcpd's lines, rollback result).
Anything undeclared would close the connection, so unexpected failures are
logged here and reported as `EnvironmentProblem` instead.
"""

import json

from twisted.internet import defer
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.protocols import amp

from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.rpc import control
from provisioningserver.services.coalesce import ConfigureTimeout
from provisioningserver.services.configure import ConfigRejected, DhcpdMissing, StartFailed

log = Logger()


def _describe(kind, **fields):
    return json.dumps({"kind": kind, **fields})


def translate(failure):
    """Internal error -> declared control error (raised)."""
    error = failure.value
    if isinstance(error, DocumentError):
        raise control.InvalidDocument(_describe("invalid-document", errors=[
            {"field": p.path, "error": p.message} for p in error.problems]))
    if isinstance(error, ConfigRejected):
        raise control.ConfigRejected(_describe("config-rejected", errors=[
            {"error": e.error, "line_num": e.line_num, "line": e.line, "position": e.position}
            for e in error.result.errors], output=error.result.output))
    if isinstance(error, StartFailed):
        raise control.DhcpdFailed(_describe("dhcpd-failed", error=str(error),
                                             rolled_back=error.rolled_back,
                                             restored=error.restored))
    if isinstance(error, ConfigureTimeout):
        raise control.ConfigureTimeout(_describe("configure-timeout", error=str(error),
                                                 **error.to_dict()))
    if isinstance(error, DhcpdMissing):
        raise control.EnvironmentProblem(_describe("environment", error=str(error)))
    if isinstance(error, control.InvalidDocument):
        raise error
    log.failure("Unexpected error in a control command", failure)
    raise control.EnvironmentProblem(_describe(
        "environment", error=f"internal error: {type(error).__name__}: {error}"))


def _ip_version(value):
    if value not in (4, 6):
        raise control.InvalidDocument(_describe("invalid-document", errors=[
            {"field": "ip_version", "error": f"expected 4 or 6, got {value!r}"}]))
    return value


class ControlLocator(amp.CommandLocator):
    def __init__(self, configurator):
        super().__init__()
        self.configurator = configurator

    @control.Configure.responder
    def configure(self, ip_version, document, dry_run=False):
        d = defer.maybeDeferred(
            lambda: self.configurator.configure(_ip_version(ip_version), document, bool(dry_run)))
        d.addCallback(lambda outcome: {"outcome": outcome.to_dict()})
        return d.addErrback(translate)

    @control.StopDHCP.responder
    def stop_dhcp(self, ip_version):
        d = defer.maybeDeferred(lambda: self.configurator.stop(_ip_version(ip_version)))
        d.addCallback(lambda outcome: {"outcome": outcome.to_dict()})
        return d.addErrback(translate)

    @control.GetStatus.responder
    def get_status(self):
        return {"status": self.configurator.status()}


class ControlFactory(Factory):
    def __init__(self, configurator):
        self.configurator = configurator

    def buildProtocol(self, addr):
        return amp.AMP(locator=ControlLocator(self.configurator))
