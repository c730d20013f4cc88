"""Carrying out a configure: document in, dhcpd serving it (or an error) out.

The Configurator is the executor of a plan it does not make. For each
configure (one at a time per family: a lock serialises callers) it:

1. gathers the inputs: parses and checks the document (`DocumentError`
   names every bad field), chooses interfaces and this rack's address on
   each subnet, resolves NTP names, renders, reads the config on disk and
   diffs the hosts against the applied state (`dhcp.plan`);
2. asks the planner (`services.planning`, pure) for the plan: an action,
   its reason and its steps (`services.steps`);
3. carries the steps out in order: ``dhcpd -t`` (a rejection changes
   nothing), live host changes over OMAPI (removes, updates, adds; any
   failure turns the plan into its fallback restart, and the outcome says
   so), writing the config atomically, having the monitor start or restart
   dhcpd and verify that it serves, and last, saving the applied state
   (`services.dhcpstate`) so that a restarted rackd adopts the same dhcpd;
   an intent file (`services.intent`) written before the first change and
   removed after the save tells a rackd started after a kill in between
   that it must mend, not adopt (`services.recovery`);
4. when the start fails, or a caller cancels after something changed (its
   deadline passed), runs the undo of the steps begun (`steps.undo`): the
   previous config back and dhcpd started with it, or dhcpd stopped when
   there was nothing before; the error says whether that worked.

A dry run is the plan returned with only the check run. An empty
document (no shared networks) stops the family's dhcpd.

Nothing whose cost grows with the site runs on the reactor: parsing (of
a document that arrives packed, `services.received`), rendering, diffing,
planning and file writes run through ``run_in_thread`` (the injected
``deferToThread``), with every value they read gathered on the reactor
first and no shared object touched from the thread.
"""

import os

import attrs
from twisted.internet import defer, threads
from twisted.logger import Logger

from provisioningserver.dhcpd.binary import find_dhcpd
from provisioningserver.dhcp.fragments import Fragments
from provisioningserver.dhcp.plan import CostModel
from provisioningserver.dhcp.sourcemap import source_map
from provisioningserver.dhcpd.check import check_config, locate
from provisioningserver.network.resolve import resolve_ntp
from provisioningserver.services.dhcpstate import AppliedState, DHCPState
from provisioningserver.services.gather import FileFingerprints, Run, gather
from provisioningserver.services.received import packed_digest, read_packed
from provisioningserver.services.planning import (
    Desired, Observed, after_live_failure, plan_configure, plan_stop)
from provisioningserver.services import steps
from provisioningserver.system.files import DhcpdPaths, atomic_write
from provisioningserver.dhcpd.monitor import DhcpdDidNotStart
from provisioningserver.services.configerrors import (  # noqa: F401 (their home for importers)
    NOTHING_SERVED, STILL_SERVES, UNKNOWN_SERVES, ConfigRejected, ConfigureCancelled,
    DhcpdMissing, StartFailed)
from provisioningserver.services.intent import begin_intent, clear_intent
from provisioningserver.services.recovery import resume_family
from provisioningserver.system import crashpoint

log = Logger()


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
    hosts: "dict | None" = None  # live changes: {"added": n, "removed", "updated", "renamed"}

    def to_dict(self):
        return attrs.asdict(self, value_serializer=lambda _, __, v: list(v) if isinstance(v, tuple) else v)


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
        # Per family: the applied document as read (`incremental.Parsed`; None
        # until a configure succeeds here), its bytes' digest when it came
        # packed, and the rendered host declarations.
        self._parsed, self._digests = {4: None, 6: None}, {4: None, 6: None}
        self._fragments = {4: Fragments(), 6: Fragments()}
        self._fingerprints = FileFingerprints()  # of the config files, for status

    def applied(self, ip_version):
        return self.state.get(ip_version)

    def serves(self, ip_version, document):
        """Whether ``document`` is, byte for byte, the one applied (packed)."""
        digest = self._digests[ip_version]
        return digest is not None and packed_digest(document) == digest

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
        return self.locks[ip_version].run(self._stop, ip_version)

    def resume(self):
        """At start: bring back (adopting where it runs) what was applied."""
        results = []
        for ip_version, monitor in self.monitors.items():
            # Under the family's lock: a configure that comes meanwhile waits.
            d = self.locks[ip_version].run(resume_family, self.state, monitor, ip_version)
            d.addErrback(lambda f, v=ip_version: log.failure(
                "Could not resume dhcpd for IPv{v}", f, v=v))
            results.append(d)
        return defer.gatherResults(results)

    # Gathering: the inputs of the plan.

    @defer.inlineCallbacks
    def _prepare(self, ip_version, document, dry_run):
        """The `Run` for ``document``: its plan and what its outcome reports."""
        # Only what changed since the applied document is read and checked again.
        parsed = yield self.run_in_thread(read_packed, document, ip_version,
                                          self._parsed[ip_version], self._digests[ip_version])
        config = parsed.config
        monitor = self.monitors[ip_version]
        if config.is_empty:
            observed = Observed(state=monitor.status().state)
            return Run(ip_version, plan_configure(observed, Desired(empty=True, dry_run=dry_run)),
                       dry_run=dry_run)
        dhcpd = find_dhcpd(self.config.dhcpd)
        if dhcpd is None:
            raise DhcpdMissing(f"dhcpd not found ({self.config.dhcpd or 'on PATH'})")
        # Read on the reactor: the thread sees only these values.
        snapshot = self.links()
        key = config.omapi_key or self.key_source()
        applied = self.applied(ip_version)
        ntp_addresses = yield self.run_in_thread(self.resolver, config)
        status = monitor.status()  # after the lookups, which may take seconds
        crashpoint.reached("before-render")
        run = yield self.run_in_thread(gather, self.config, self.cost, ip_version, config,
                                       snapshot, key, ntp_addresses, dhcpd, status, applied,
                                       dry_run, self._fragments[ip_version])
        return attrs.evolve(run, parsed=parsed, document=document)

    # Carrying out.

    @defer.inlineCallbacks
    def _configure(self, ip_version, document, dry_run):
        """Gather, plan, carry out; and what a cancellation (a caller's
        deadline) leaves: nothing changed yet, or the undo of what had."""
        begun = []
        try:
            run = yield self._prepare(ip_version, document, dry_run)
            return (yield self._carry_out(run, begun))
        except defer.CancelledError:
            undo = steps.undo(begun)
            if not undo:
                raise ConfigureCancelled(rolled_back=False, restored=True)
            log.warn("IPv{v} configure cancelled after it changed dhcpd: rolling back",
                     v=ip_version)
            restored = yield self._undo(ip_version, undo)
            clear_intent(self.config.state_dir, ip_version)
            # With nothing applied before, "stopped" is the applied state.
            raise ConfigureCancelled(rolled_back=True,
                                     restored=restored or not steps.restores(undo))

    def _stop(self, ip_version):
        observed = Observed(state=self.monitors[ip_version].status().state)
        return self._carry_out(Run(ip_version, plan_stop(observed, "stop requested")), [])

    @defer.inlineCallbacks
    def _carry_out(self, run, begun):
        """Run the plan's steps (only the safe ones in a dry run), noting
        each in ``begun`` as it starts; the outcome."""
        v, plan = run.ip_version, run.plan
        pending = list(plan.steps)
        intent = False  # services.intent: written before the first change
        while pending:
            step = pending.pop(0)
            if run.dry_run and not step.safe:
                continue
            if not step.safe and not intent:
                intent = yield self._begin(v, plan.steps)
            if isinstance(step, steps.SaveState):
                crashpoint.reached("before-save")
            begun.append(step)
            try:
                done = yield self._step(v, run, step)
            except DhcpdDidNotStart as error:
                restored, undo = yield self._undo_begun(v, begun)
                self.last_outcome[v] = Outcome(v, "failed", str(error), run.served,
                                               run.warnings, ())
                raise StartFailed(str(error), steps.restores(undo), restored)
            except OSError:  # a full disk, say: what had changed is put back
                if isinstance(step, steps.WriteConfig):
                    begun.pop()  # an atomic write that failed replaced nothing
                yield self._undo_begun(v, begun)
                raise
            if isinstance(step, steps.WriteConfig):
                crashpoint.reached("after-write")
            if isinstance(step, steps.ApplyHosts) and done is not None:
                # Live changes refused (``done`` says what failed): the fallback restart.
                failure = done
                log.warn("IPv{v} OMAPI failed ({f}): restarting dhcpd instead", v=v, f=failure)
                plan = after_live_failure(plan, failure)
                pending = list(plan.steps)
        if intent:
            yield self.run_in_thread(clear_intent, self.config.state_dir, v)
        result = Outcome(v, plan.action, plan.reason, run.fingerprint, run.warnings,
                         run.interfaces, plan.hosts)
        if not run.dry_run:
            self.last_outcome[v] = result
            if plan.action == "unchanged" and run.parsed is not None:
                self._adopt_read(v, run.parsed, run.document)
        return result  # logged by services.configurelog

    def _begin(self, ip_version, plan_steps):
        """Write the plan's intent (in a thread: it hashes the config and
        fsyncs); whether there was one to write."""
        status = self.monitors[ip_version].status()
        before = status.spec if status.state == "running" else self.applied(ip_version).spec
        return self.run_in_thread(begin_intent, self.config.state_dir, ip_version,
                                  plan_steps, before)

    @defer.inlineCallbacks
    def _undo_begun(self, ip_version, begun):
        """Undo ``begun`` and drop the intent: (whether dhcpd serves the
        previous config again, the undo run)."""
        undo = steps.undo(begun)
        restored = yield self._undo(ip_version, undo)
        clear_intent(self.config.state_dir, ip_version)
        return restored, undo

    def _adopt_read(self, ip_version, parsed, document):
        """An unchanged document: its read is what the next one compares
        against (after a rackd restart the state came from the file, with no
        read to start from), and its objects, equal to the applied ones,
        are held instead, so the next plan finds the unchanged hosts by
        identity."""
        applied = self.state.get(ip_version)
        if applied.config == parsed.config:
            self._parsed[ip_version], self._digests[ip_version] = parsed, packed_digest(document)
            self.state.hold(ip_version, attrs.evolve(applied, config=parsed.config))

    def _step(self, ip_version, run, step):
        """Carry out one step: a Deferred or a value; for ApplyHosts, what
        failed (None when every change went live)."""
        monitor = self.monitors[ip_version]
        if isinstance(step, steps.CheckConfig):
            return self._check(ip_version, run, step)
        if isinstance(step, steps.ApplyHosts):
            return self._apply_live(ip_version, run.key, step.changes)
        if isinstance(step, steps.WriteConfig):  # megabytes and an fsync: in a thread
            return self.run_in_thread(atomic_write, step.path, step.text, mode=0o600)
        if isinstance(step, steps.RemoveConfig):
            if os.path.exists(step.path):
                os.unlink(step.path)
        elif isinstance(step, steps.EnsureRunning):
            return monitor.ensure_running(step.spec, restart=step.restart)
        elif isinstance(step, steps.RecordConfig):  # hashes the config file
            return self.run_in_thread(monitor.record_config, step.spec)
        elif isinstance(step, steps.StopDhcpd):
            return monitor.ensure_stopped()
        elif isinstance(step, steps.SaveState):
            return self._save(ip_version, run, step)
        else:
            raise TypeError(f"not a configure step: {step!r}")
        return None

    @defer.inlineCallbacks
    def _save(self, ip_version, run, step):
        """Persist the applied state (serialised and written in a thread),
        then hold it, with the document as read for the next read."""
        # Aliases hold for the dhcpd process the live changes went to.
        pid = self.monitors[ip_version].status().pid if step.aliases else None
        state = DHCPState(step.spec, step.config, step.structure, step.aliases, pid)
        serving = run is not None and step.config is not None  # not a stop
        document = run.document if serving else None
        yield self.run_in_thread(self.state.write, ip_version, state, document)
        self.state.hold(ip_version, state)
        # What the next read of a document compares against (None: stopped).
        self._parsed[ip_version] = run.parsed if serving else None
        self._digests[ip_version] = packed_digest(document) if serving else None

    @defer.inlineCallbacks
    def _check(self, ip_version, run, step):
        result = yield self.run_in_thread(self.checker, step.text, ip_version, step.dhcpd)
        if not result.ok:
            # Mapped back to the document only now: the map reads every line.
            if run is not None and run.parsed is not None:
                result = locate(result, source_map(run.parsed.config, step.text))
            raise ConfigRejected(result, before=self._serving(ip_version))

    def _serving(self, ip_version):
        """What serves while a rejected config changes nothing."""
        if self.monitors[ip_version].status().state != "running":
            return NOTHING_SERVED
        return STILL_SERVES if self.applied(ip_version).config is not None else UNKNOWN_SERVES

    @defer.inlineCallbacks
    def _undo(self, ip_version, undo):
        """Run an undo; whether the previous dhcpd came back (False too if none was)."""
        for step in undo:
            try:
                yield self._step(ip_version, None, step)
            except DhcpdDidNotStart as error:
                log.error("Rollback of IPv{v} dhcpd failed: {e}", v=ip_version, e=error)
                return False
            except OSError as error:  # the old config not put back (a full disk)
                log.error("Rollback of IPv{v}: {e}; dhcpd serves the config file as it "
                          "is, and the next configure restarts it", v=ip_version, e=error)
                self.state.hold(ip_version, attrs.evolve(self.applied(ip_version), config=None))
        return steps.restores(undo)

    @defer.inlineCallbacks
    def _apply_live(self, ip_version, key, changes):
        """Remove, then update, then add over OMAPI; None, or what failed first."""
        if not changes.count:  # renames only: nothing to send
            return None
        if self.omapi_factory is None:
            return "no OMAPI client"
        client = self._omapi_client(ip_version, key)
        for batch in (yield self.run_in_thread(steps.omapi_batches, changes)):
            if not batch:
                continue
            try:
                results = yield client.apply(crashpoint.counted(batch, "omapi-change"))
            except Exception as error:  # the connection itself failed
                return str(error)
            failed = [r for r in results if not r.ok]
            if failed:
                more = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
                return f"{failed[0].error}{more}"
        return None

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
                "config_fingerprint": self._fingerprints.of(paths.config),
                "interfaces": list(state.spec.interfaces) if state.spec else [],
                "last_configure": last.to_dict() if last else None,
                "leases_file_bytes": leases_size,
            }
        if self.failover_status is not None and "v4" in report:
            report["v4"]["failover_state"] = self.failover_status()
        return report

