"""Carrying out a configure: document in, dhcpd serving it (or an error) out.

The steps, one family at a time (a lock per family serialises callers):

1. parse and check the document (`DocumentError` names every bad field);
2. choose interfaces and this rack's address on each subnet, and render;
3. plan against the applied state (`provisioningserver.dhcp.plan`): nothing
   to do, host changes that can go live over OMAPI, or a restart with reasons;
4. check the full rendered text with the real ``dhcpd -t`` (in a thread: it is
   a subprocess); a rejection changes nothing;
5. host changes: remove, update, add over OMAPI, then write the full config
   (so a later restart serves the same reservations); any OMAPI failure falls
   back to the restart path, and the outcome says so;
6. restart: write the config atomically, have the monitor restart dhcpd and
   verify that it serves; if it does not, put the previous config back and
   start it again; the error says whether that rollback worked;
7. persist the applied state (`provisioningserver.services.dhcpstate`), so
   that a restarted rackd adopts the same dhcpd and plans against it.

An empty document (no shared networks) stops the family's dhcpd.
"""

import hashlib
import os

import attrs
from twisted.internet import defer, threads
from twisted.logger import Logger

from provisioningserver.dhcpd.binary import find_dhcpd
from provisioningserver.dhcp.document import parse_document
from provisioningserver.omapi.client import AddHost, RemoveHost, UpdateHostIP
from provisioningserver.dhcp.plan import CostModel, HostChanges, NoChange, Restart, plan
from provisioningserver.dhcp.render import render
from provisioningserver.dhcp.sourcemap import source_map
from provisioningserver.dhcpd.check import check_config, locate
from provisioningserver.network.resolve import resolve_ntp
from provisioningserver.network.selection import select
from provisioningserver.services.dhcpstate import AppliedState, DHCPState
from provisioningserver.system.files import DhcpdPaths, atomic_write, read_text
from provisioningserver.dhcpd.monitor import DhcpdDidNotStart
from provisioningserver.dhcpd.process import DhcpdSpec

log = Logger()


class DhcpdMissing(Exception):
    """No dhcpd binary where rackd looks for one."""


# What serves after a rejection (ConfigRejected.before): a rejection changes nothing.
STILL_SERVES = "the previous config still serves"
UNKNOWN_SERVES = "dhcpd keeps serving the config it had (not one this rackd applied)"
NOTHING_SERVED = "nothing served before"


class ConfigRejected(Exception):
    """dhcpd -t refused the rendered config. ``result`` is the `CheckResult`
    (its errors located in the document); ``before`` says what serves."""

    def __init__(self, result, before=None):
        self.result, self.before = result, before
        tail = f"; {before}" if before else ""
        super().__init__(f"dhcpd rejected the rendered config{tail}")


class StartFailed(Exception):
    """dhcpd did not come up with the new config."""

    def __init__(self, reason, rolled_back, restored):
        self.reason, self.rolled_back, self.restored = reason, rolled_back, restored
        if not rolled_back:
            tail = "there was no previous config: dhcpd is stopped"
        elif restored:
            tail = "the previous config was restored and dhcpd serves it again"
        else:
            tail = "the previous config was restored but dhcpd did not come up with it either"
        super().__init__(f"dhcpd did not come up with the new config: {reason}; {tail}")


class ConfigureCancelled(Exception):
    """A configure cancelled part-way (its caller's deadline passed).
    ``rolled_back``: it had changed dhcpd and the applied state was put back;
    ``restored``: dhcpd serves the applied state (True too when nothing had
    changed yet)."""

    def __init__(self, rolled_back, restored):
        self.rolled_back, self.restored = rolled_back, restored
        if not rolled_back:
            text = "cancelled before anything changed"
        elif restored:
            text = "cancelled and rolled back: dhcpd serves the last applied config"
        else:
            text = "cancelled; the rollback failed: dhcpd did not come up with the last applied config"
        super().__init__(text)


@attrs.frozen
class Outcome:
    """What a configure did, and why. ``action`` is one of: unchanged,
    applied-live, started, restarted, stopped, failed, and with --dry-run
    would-apply-live, would-start, would-restart, would-stop."""

    ip_version: int
    action: str
    reason: str
    fingerprint: "str | None" = None
    warnings: tuple = ()
    interfaces: tuple = ()
    hosts: "dict | None" = None  # live changes: {"added": n, "removed": n, "updated": n}

    def to_dict(self):
        return attrs.asdict(self, value_serializer=lambda _, __, v: list(v) if isinstance(v, tuple) else v)


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def fingerprint(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16] if text is not None else None


class Configurator:
    """Applies documents for both families; see the module docstring."""

    def __init__(self, config, monitors, key_source, links, clock, omapi_factory=None,
                 checker=check_config, run_in_thread=threads.deferToThread, cost=CostModel(),
                 resolver=resolve_ntp, state=None, failover_status=None):
        self.config = config
        self.monitors = monitors  # {4: DhcpdMonitor, 6: DhcpdMonitor}
        self.key_source = key_source  # () -> the agent's OMAPI key
        self.links = links  # () -> the interface snapshot
        self.clock = clock
        self.omapi_factory = omapi_factory  # (ip_version, key) -> OmapiClient
        self.checker = checker
        self.run_in_thread = run_in_thread
        self.cost = cost
        self.resolver = resolver  # config -> {ntp host name: addresses}
        self.locks = {4: defer.DeferredLock(), 6: defer.DeferredLock()}
        self.last_outcome = {4: None, 6: None}
        self._omapi = {}
        # What is applied, in memory; the readers are handed the same object.
        self.state = state if state is not None else AppliedState(config.state_dir)
        # () -> the failover watch's reading, for the v4 status.
        self.failover_status = failover_status

    def applied(self, ip_version):
        return self.state.get(ip_version)

    def _omapi_client(self, ip_version, key):
        client = self._omapi.get(ip_version)
        if client is None or client[0] != key:
            if client is not None:
                client[1].disconnect()
            client = (key, self.omapi_factory(ip_version, key))
            self._omapi[ip_version] = client
        return client[1]

    # Configure.

    def configure(self, ip_version, document, dry_run=False):
        return self.locks[ip_version].run(self._configure, ip_version, document, dry_run)

    def stop(self, ip_version):
        return self.locks[ip_version].run(self._stop, ip_version, "stop requested", False)

    def resume(self):
        """At start: bring back (adopting where it runs) what was applied."""
        results = []
        for ip_version, monitor in self.monitors.items():
            spec = self.applied(ip_version).spec
            if spec is None:
                continue
            d = monitor.ensure_running(spec, restart=False)
            d.addErrback(lambda f, v=ip_version: log.failure(
                "Could not resume dhcpd for IPv{v}", f, v=v))
            results.append(d)
        return defer.gatherResults(results)

    def _decide(self, config, inputs, applied, status, spec, previous_text, rendered, paths):
        """The plan: NoChange, HostChanges or Restart (see provisioningserver.dhcp.plan)."""
        if status.state != "running":
            return Restart((f"dhcpd was {status.state}",))
        if status.spec != spec:
            changed = [name for name in ("interfaces", "dhcpd", "config_path", "leases_path")
                       if getattr(status.spec, name, None) != getattr(spec, name)]
            return Restart((f"dhcpd must run with other {', '.join(changed) or 'settings'}",))
        if applied.config is None:
            return Restart(("what dhcpd serves is not known to this rackd",))
        decision = plan(applied.config, config, leases_bytes=_size(paths.leases), cost=self.cost)
        if isinstance(decision, NoChange):
            same = rendered.text == previous_text
        elif isinstance(decision, HostChanges):
            # Only hosts differ in the document; anything else that renders differently
            # (this rack's addresses, agent settings, templates) still needs a restart.
            same = render(attrs.evolve(config, hosts=applied.config.hosts), inputs).text \
                == previous_text
        else:
            return decision
        if not same:
            return Restart(("the rendered config changed beyond the document's hosts "
                            "(rack addresses, agent settings or templates)",))
        return decision

    @defer.inlineCallbacks
    def _configure(self, ip_version, document, dry_run):
        """The steps, and what a cancellation (a caller's deadline) leaves:
        nothing changed yet, or a rollback to the applied state."""
        progress = {}
        try:
            return (yield self._configure_steps(ip_version, document, dry_run, progress))
        except defer.CancelledError:
            if not progress.get("touched"):
                raise ConfigureCancelled(rolled_back=False, restored=True)
            log.warn("IPv{v} configure cancelled after it changed dhcpd: rolling back",
                     v=ip_version)
            previous = progress["previous_text"], progress["previous_spec"]
            restored = yield self._roll_back(ip_version, progress["paths"], *previous)
            # With nothing applied before, "stopped" is the applied state.
            raise ConfigureCancelled(rolled_back=True, restored=restored or None in previous)

    @defer.inlineCallbacks
    def _configure_steps(self, ip_version, document, dry_run, progress):
        config = parse_document(document, ip_version)
        if config.is_empty:
            return (yield self._stop(ip_version, "the document has no shared networks", dry_run))
        dhcpd = find_dhcpd(self.config.dhcpd)
        if dhcpd is None:
            raise DhcpdMissing(f"dhcpd not found ({self.config.dhcpd or 'on PATH'})")
        selection = select(config, self.links())
        key = config.omapi_key or self.key_source()
        ntp_addresses = yield self.run_in_thread(self.resolver, config)
        inputs = self.config.render_inputs(ip_version, selection, key, ntp_addresses)
        rendered = render(config, inputs)
        paths = DhcpdPaths.for_family(self.config, ip_version)
        spec = DhcpdSpec(ip_version=ip_version, dhcpd=dhcpd, config_path=paths.config,
                         leases_path=paths.leases, pid_path=paths.pid, log_path=paths.log,
                         interfaces=selection.interfaces)
        monitor = self.monitors[ip_version]
        status = monitor.status()
        applied = self.applied(ip_version)
        previous_text = read_text(paths.config)
        previous_spec = status.spec if status.state == "running" else applied.spec
        progress.update(paths=paths, previous_text=previous_text, previous_spec=previous_spec)
        decision = self._decide(config, inputs, applied, status, spec, previous_text, rendered,
                                paths)
        warnings = tuple(rendered.warnings) + tuple(
            f"subnet {cidr} has no address on this rack: served as relayed, without boot options"
            for cidr in selection.relayed)

        def outcome(action, reason, hosts=None):
            result = Outcome(ip_version, action, reason, fingerprint(rendered.text), warnings,
                             selection.interfaces, hosts)
            if not dry_run:
                self.last_outcome[ip_version] = result
            return result

        if isinstance(decision, NoChange):
            return outcome("unchanged", "the rendered config is what dhcpd already serves")
        result = yield self.run_in_thread(self.checker, rendered.text, ip_version, dhcpd)
        if not result.ok:
            # Mapped back to the document only now: the map reads every line.
            before = (NOTHING_SERVED if status.state != "running" else
                      STILL_SERVES if applied.config is not None else UNKNOWN_SERVES)
            raise ConfigRejected(locate(result, source_map(config, rendered.text)), before=before)
        if isinstance(decision, HostChanges):
            counts = {"added": len(decision.add), "removed": len(decision.remove),
                      "updated": len(decision.update)}
            if dry_run:
                return outcome("would-apply-live", decision.reason, counts)
            progress["touched"] = True
            failure = yield self._apply_live(ip_version, key, decision)
            if failure is None:
                atomic_write(paths.config, rendered.text, mode=0o600)
                monitor.record_config(spec)
                self.state.save(ip_version, DHCPState(spec=spec, config=config))
                return outcome("applied-live", decision.reason, counts)
            log.warn("IPv{v} OMAPI failed ({f}): restarting dhcpd instead", v=ip_version, f=failure)
            decision = Restart((f"OMAPI failed ({failure}), so dhcpd is restarted instead",))
        action = "started" if status.state != "running" else "restarted"
        reason = decision.reason
        if dry_run:
            return outcome("would-start" if action == "started" else "would-restart", reason)
        progress["touched"] = True
        atomic_write(paths.config, rendered.text, mode=0o600)
        try:
            yield monitor.ensure_running(spec, restart=True)
        except DhcpdDidNotStart as error:
            restored = yield self._roll_back(ip_version, paths, previous_text, previous_spec)
            self.last_outcome[ip_version] = Outcome(
                ip_version, "failed", str(error), fingerprint(previous_text), warnings, ())
            raise StartFailed(str(error), previous_text is not None and previous_spec is not None,
                              restored)
        self.state.save(ip_version, DHCPState(spec=spec, config=config))
        return outcome(action, reason)  # logged by services.configurelog

    @defer.inlineCallbacks
    def _apply_live(self, ip_version, key, changes):
        """Remove, then update, then add over OMAPI; None, or what failed first."""
        if self.omapi_factory is None:
            return "no OMAPI client"
        client = self._omapi_client(ip_version, key)
        batches = (
            [RemoveHost(name=h.host) for h in changes.remove],
            [UpdateHostIP(ip=str(new.ip), name=new.host) for _, new in changes.update],
            [AddHost(name=h.host, mac=h.mac, ip=str(h.ip)) for h in changes.add],
        )
        for batch in batches:
            if not batch:
                continue
            try:
                results = yield client.apply(batch)
            except Exception as error:  # the connection itself failed
                return str(error)
            failed = [r for r in results if not r.ok]
            if failed:
                more = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
                return f"{failed[0].error}{more}"
        return None

    @defer.inlineCallbacks
    def _roll_back(self, ip_version, paths, previous_text, previous_spec):
        monitor = self.monitors[ip_version]
        if previous_text is None or previous_spec is None:
            if os.path.exists(paths.config):
                os.unlink(paths.config)
            yield monitor.ensure_stopped()
            self.state.save(ip_version, DHCPState())
            return False
        atomic_write(paths.config, previous_text, mode=0o600)
        try:
            yield monitor.ensure_running(previous_spec, restart=True)
        except DhcpdDidNotStart as error:
            log.error("Rollback of IPv{v} dhcpd failed: {e}", v=ip_version, e=error)
            return False
        return True

    @defer.inlineCallbacks
    def _stop(self, ip_version, reason, dry_run):
        monitor = self.monitors[ip_version]
        running = monitor.status().state != "off"
        action = ("would-stop" if dry_run else "stopped") if running else "unchanged"
        result = Outcome(ip_version, action, reason if running else "dhcpd is already off")
        if dry_run:
            return result
        yield monitor.ensure_stopped()
        self.state.save(ip_version, DHCPState())
        self.last_outcome[ip_version] = result
        return result

    def status(self):
        report = {}
        for ip_version, monitor in self.monitors.items():
            paths = DhcpdPaths.for_family(self.config, ip_version)
            state = monitor.status()
            try:
                leases_size = os.path.getsize(paths.leases)
            except OSError:
                leases_size = None
            last = self.last_outcome[ip_version]
            report[f"v{ip_version}"] = {
                "state": state.state,
                "pid": state.pid,
                "since": state.since,
                "reason": state.reason,
                "restarts": state.restarts,
                "config_fingerprint": fingerprint(read_text(paths.config)),
                "interfaces": list(state.spec.interfaces) if state.spec else [],
                "last_configure": last.to_dict() if last else None,
                "leases_file_bytes": leases_size,
            }
        if self.failover_status is not None and "v4" in report:
            report["v4"]["failover_state"] = self.failover_status()
        return report
