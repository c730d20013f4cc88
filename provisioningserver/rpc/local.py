"""Responders of the local control socket, and its factory.

This is the one place where the agent's internal errors become the declared
wire errors of `provisioningserver.rpc.control`: each carries a JSON
description that rackctl prints (field paths, dhcpd's lines, rollback result).
Anything undeclared would close the connection, so unexpected failures are
logged here and reported as `EnvironmentProblem` instead. Arguments that
cannot be read never reach a responder: `rpc.guarded` answers them.
"""

import ipaddress

from twisted.internet import defer, threads
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.protocols import amp

from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.dhcpd.check import error_record
from provisioningserver.rpc import control
from provisioningserver.rpc.control import describe as _describe
from provisioningserver.rpc.guarded import GuardedAMP
from provisioningserver.services.coalesce import ConfigureTimeout
from provisioningserver.leases import reports
from provisioningserver.services.configure import ConfigRejected, DhcpdMissing, StartFailed
from provisioningserver.services.failoverwatch import PartnerDownRefused
from provisioningserver.services.foreign import UnknownInterface
from provisioningserver.services.received import document_value

log = Logger()


def translate(failure):
    """Internal error -> declared control error (raised)."""
    error = failure.value
    if isinstance(error, DocumentError):
        raise control.InvalidDocument(_describe("invalid-document", errors=[
            {"field": p.path, "error": p.message} for p in error.problems]))
    if isinstance(error, ConfigRejected):
        raise control.ConfigRejected(_describe(
            "config-rejected", errors=[error_record(e) for e in error.result.errors],
            output=error.result.output, before=error.before, error=str(error)))
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
    if isinstance(error, OSError):  # a full disk, say: the configure was undone
        where = f" {error.filename}" if error.filename else ""
        raise control.EnvironmentProblem(_describe(
            "environment", error=f"cannot write{where}: {error.strerror or error}; the "
            "configure was undone: dhcpd serves the config it had"))
    log.failure("Unexpected error in a control command", failure)
    raise control.EnvironmentProblem(_describe(
        "environment", error=f"internal error: {type(error).__name__}: {error}"))


def _ip_version(value):
    if value not in (4, 6):
        raise control.InvalidDocument(_describe("invalid-document", errors=[
            {"field": "ip_version", "error": f"expected 4 or 6, got {value!r}"}]))
    return value


def _bad_field(field, message):
    return control.InvalidDocument(_describe("invalid-document", errors=[
        {"field": field, "error": message}]))


def _history_filter(ip, mac):
    if (ip is None) == (mac is None):
        raise _bad_field("ip", "give exactly one of ip and mac")
    if ip is not None:
        try:
            return {"ip": str(ipaddress.ip_address(ip))}
        except ValueError:
            raise _bad_field("ip", f"expected an IP address, got {ip!r}") from None
    parts = mac.split(":")
    if len(parts) != 6 or not all(1 <= len(p) <= 2 for p in parts):
        raise _bad_field("mac", f"expected a MAC address, got {mac!r}")
    try:
        return {"mac": ":".join("%02x" % int(p, 16) for p in parts)}
    except ValueError:
        raise _bad_field("mac", f"expected a MAC address, got {mac!r}") from None


def _transaction_filter(mac, ip, since, limit):
    where = {"limit": 1000 if limit is None else limit}
    if limit is not None and not 1 <= limit <= 100_000:
        raise _bad_field("limit", f"expected 1..100000, got {limit!r}")
    if since is not None and not since == since:  # NaN
        raise _bad_field("since", f"expected a time, got {since!r}")
    where["since"] = since
    if ip is not None:
        where.update(_history_filter(ip, None))
    if mac is not None:
        where.update(_history_filter(None, mac))
    return where


def _guard_stop(document, allow_stop):
    """Refuse a document with no shared networks unless stopping is what the
    caller asked for. The raw mapping is read, not the parsed model: this runs
    before the configurator validates, and costs nothing on a large document.
    Anything that is not a mapping is left for the validation to name."""
    if allow_stop or not isinstance(document, dict) or document.get("shared_networks"):
        return
    raise _bad_field("shared_networks",
                     "the document has no shared networks: configuring it would stop "
                     "dhcpd; to stop it, say so with --allow-stop (rackctl configure "
                     "--allow-stop, or rackctl stop-dhcp)")


class LeaseViews:
    """What the lease reports read: the journal, the applied configs, the
    forwarder's status, and the clock."""

    def __init__(self, journal, applied, clock, forwarder=None, problems=None):
        self.journal = journal
        self.applied = applied  # ip_version -> DHCPConfig or None
        self.clock = clock
        self.forwarder = forwarder
        self.problems = problems  # provisioningserver.leases.problems.ProblemCounts

    def configs(self):
        return [self.applied(4), self.applied(6)]


class ControlLocator(amp.CommandLocator):
    def __init__(self, configurator, leases=None, failover=None, foreign=None,
                 run_in_thread=threads.deferToThread):
        super().__init__()
        self.run_in_thread = run_in_thread
        self.configurator = configurator
        self.leases = leases
        self.failover = failover  # provisioningserver.services.failoverwatch.FailoverWatch
        self.foreign = foreign  # provisioningserver.services.foreign.ForeignProbe

    @control.Configure.responder
    def configure(self, ip_version, document, dry_run=False, allow_stop=False):
        @defer.inlineCallbacks
        def run():
            version = _ip_version(ip_version)
            serves = getattr(self.configurator, "serves", None)
            if not allow_stop and not (serves and serves(version, document)):
                # Parsed in a thread (and once: the configurator reads the same value);
                # not at all when it is the applied document again.
                _guard_stop((yield self.run_in_thread(document_value, document)), allow_stop)
            return (yield self.configurator.configure(version, document, bool(dry_run)))

        d = defer.maybeDeferred(run)
        d.addCallback(lambda outcome: {"outcome": outcome.to_dict()})
        return d.addErrback(translate)

    @control.StopDHCP.responder
    def stop_dhcp(self, ip_version):
        d = defer.maybeDeferred(lambda: self.configurator.stop(_ip_version(ip_version)))
        d.addCallback(lambda outcome: {"outcome": outcome.to_dict()})
        return d.addErrback(translate)

    @control.GetStatus.responder
    def get_status(self):
        status = self.configurator.status()
        if self.leases is not None and self.leases.forwarder is not None:
            status = {**status, "lease_events": self.leases.forwarder.status()}
        if self.foreign is not None:
            status = {**status, "foreign_dhcp": self.foreign.status()}
        return {"status": status}

    @control.ProbeForeignDHCP.responder
    def probe_foreign_dhcp(self, interface=None):
        def run():
            if self.foreign is None:
                raise control.EnvironmentProblem(_describe(
                    "environment", error="this agent has no foreign DHCP probe"))
            return self.foreign.probe(interface)

        def failed(failure):
            if failure.check(UnknownInterface):
                raise _bad_field("interface", str(failure.value))
            if failure.check(control.EnvironmentProblem):
                return failure
            return translate(failure)

        d = defer.maybeDeferred(run)
        d.addCallback(lambda entries: {"probe": entries})
        return d.addErrback(failed)

    @control.FailoverPartnerDown.responder
    def failover_partner_down(self, peer, force=False):
        def run():
            if self.failover is None:
                raise control.FailoverRefused(_describe(
                    "failover-refused", error="this agent does not watch failover"))
            return self.failover.partner_down(peer, bool(force))

        def failed(failure):
            if failure.check(PartnerDownRefused):
                raise control.FailoverRefused(_describe("failover-refused",
                                                        error=str(failure.value)))
            if failure.check(control.FailoverRefused):
                return failure
            return translate(failure)  # dhcpd unreachable over OMAPI, say

        d = defer.maybeDeferred(run)
        d.addCallback(lambda outcome: {"outcome": outcome})
        return d.addErrback(failed)

    def _report(self, key, build):
        def run():
            if self.leases is None:
                raise control.EnvironmentProblem(_describe(
                    "environment", error="lease events are off (lease_events: false)"))
            return {key: build(self.leases)}
        return defer.maybeDeferred(run).addErrback(translate)

    @control.GetLeases.responder
    def get_leases(self):
        return self._report("leases", lambda v: reports.current_leases(
            v.journal.latest(), v.configs(), v.clock.seconds()))

    @control.GetHistory.responder
    def get_history(self, ip=None, mac=None, limit=None):
        def build(views):
            where = _history_filter(ip, mac)
            return reports.history_view(views.journal.history(limit=limit or 1000, **where))
        return self._report("events", build)

    @control.GetPools.responder
    def get_pools(self):
        return self._report("pools", lambda v: reports.pool_usage(
            v.journal.latest(), v.configs(), v.clock.seconds()))

    @control.GetTransactions.responder
    def get_transactions(self, mac=None, ip=None, since=None, limit=None):
        def build(views):
            where = _transaction_filter(mac, ip, since, limit)
            return [t.record() for t in views.journal.transactions(**where)]
        return self._report("transactions", build)

    @control.GetProblems.responder
    def get_problems(self):
        return self._report("problems", lambda v: [] if v.problems is None
                            else v.problems.problems())

    @control.GetUnknown.responder
    def get_unknown(self):
        return self._report("clients", lambda v: reports.unknown_clients(
            v.journal.latest(), v.configs()))


class ControlFactory(Factory):
    def __init__(self, configurator, leases=None, failover=None, foreign=None):
        self.configurator = configurator
        self.leases = leases
        self.failover = failover
        self.foreign = foreign

    def buildProtocol(self, addr):
        return GuardedAMP(locator=ControlLocator(self.configurator, self.leases,
                                                 self.failover, self.foreign))
