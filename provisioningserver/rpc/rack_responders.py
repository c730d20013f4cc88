"""The rack's answers to the region's DHCP commands.

Configures go through the `Coalescer` (shared with the control socket), so
the region and rackctl are serialised together. Errors are translated to the
declared wire errors by the control socket's `translate`, whose errors the
region commands declare too, so both entry points report a failure the same way.
"""


from twisted.internet import defer
from twisted.protocols import amp

from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.rpc import commands
from provisioningserver.rpc.local import translate
from provisioningserver.services.configure import ConfigRejected


def validation_errors(failure):
    """A dry run's failure as the list ValidateDHCPv*Config returns, when it
    is the document's fault; anything else is raised as a declared error."""
    error = failure.value
    if isinstance(error, DocumentError):
        return [{"error": p.message, "field": p.path, "line_num": None, "line": None,
                 "position": None} for p in error.problems]
    if isinstance(error, ConfigRejected):
        return [{"error": e.error, "field": None, "line_num": e.line_num, "line": e.line,
                 "position": e.position} for e in error.result.errors]
    return translate(failure)


class RackResponders(amp.CommandLocator):
    """Region -> rack DHCP commands, answered by a coalescer-like object
    (``configure(ip_version, document, dry_run)``, ``status()``)."""

    def __init__(self, coalescer):
        super().__init__()
        self.coalescer = coalescer

    def _configure(self, ip_version, document):
        d = defer.maybeDeferred(self.coalescer.configure, ip_version, document, False)
        d.addCallback(lambda outcome: {"outcome": outcome.to_dict()})
        return d.addErrback(translate)

    def _validate(self, ip_version, document):
        d = defer.maybeDeferred(self.coalescer.configure, ip_version, document, True)
        d.addCallbacks(lambda _: {"errors": []},
                       lambda failure: {"errors": validation_errors(failure)})
        return d

    @commands.ConfigureDHCPv4.responder
    def configure_v4(self, document):
        return self._configure(4, document)

    @commands.ConfigureDHCPv6.responder
    def configure_v6(self, document):
        return self._configure(6, document)

    @commands.ValidateDHCPv4Config.responder
    def validate_v4(self, document):
        return self._validate(4, document)

    @commands.ValidateDHCPv6Config.responder
    def validate_v6(self, document):
        return self._validate(6, document)

    @commands.GetDHCPStatus.responder
    def get_status(self):
        return {"status": self.coalescer.status()}


def services_report(status):
    """The configurator's status -> UpdateServices' ``services`` list."""
    services = []
    for family, name in (("v4", "dhcpd"), ("v6", "dhcpd6")):
        entry = status.get(family) or {}
        state = entry.get("state", "unknown")
        services.append({
            "service": name,
            "status": state,
            "status_info": entry.get("reason") or "",
            "failover_state": entry.get("failover_state"),
        })
    return services
