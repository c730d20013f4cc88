"""Carrying out a configure: document in, dhcpd serving it (or an error) out.

The steps, one family at a time (a lock per family serialises callers):

1. parse and check the document (`DocumentError` names every bad field);
2. choose interfaces and this rack's address on each subnet;
3. render, and compare with what is on disk and running: identical means
   nothing to do, and dhcpd is left alone;
4. check the rendered text with the real ``dhcpd -t`` (in a thread: it is a
   subprocess); a rejection changes nothing;
5. write the config atomically, keeping the previous text and spec, and have
   the monitor restart dhcpd and verify that it serves;
6. if dhcpd does not come up, put the previous config back and start it
   again; the error says whether that rollback worked;
7. persist what is now applied, so that a restarted rackd starts (or adopts)
   the same dhcpd without the region having to say it again.

An empty document (no shared networks) stops the family's dhcpd.
"""

import hashlib
import json
import os

import attrs
from twisted.internet import defer, threads
from twisted.logger import Logger

from provisioningserver.dhcp.dhcpd import find_dhcpd
from provisioningserver.dhcp.model import DHCPConfig
from provisioningserver.dhcp.render import RenderInputs, render
from provisioningserver.dhcp.validate import check_config
from provisioningserver.network.selection import select
from provisioningserver.services.files import DhcpdPaths, atomic_write, read_text
from provisioningserver.services.monitor import DhcpdDidNotStart
from provisioningserver.services.process import DhcpdSpec

log = Logger()

STATE_VERSION = 1


class DhcpdMissing(Exception):
    """No dhcpd binary where rackd looks for one."""


class ConfigRejected(Exception):
    def __init__(self, result):
        self.result = result
        super().__init__("dhcpd rejected the rendered config")


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


@attrs.frozen
class Outcome:
    """What a configure did, and why. ``action`` is one of: unchanged,
    started, restarted, stopped, would-start, would-restart, would-stop."""

    ip_version: int
    action: str
    reason: str
    fingerprint: "str | None" = None
    warnings: tuple = ()
    interfaces: tuple = ()

    def to_dict(self):
        return attrs.asdict(self, value_serializer=lambda _, __, v: list(v) if isinstance(v, tuple) else v)


def fingerprint(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16] if text is not None else None


class Configurator:
    """Applies documents for both families; see the module docstring."""

    def __init__(self, config, monitors, key_source, links, clock,
                 checker=check_config, run_in_thread=threads.deferToThread):
        self.config = config
        self.monitors = monitors  # {4: DhcpdMonitor, 6: DhcpdMonitor}
        self.key_source = key_source  # () -> the agent's OMAPI key
        self.links = links  # () -> {ifname: [ip_interface]}
        self.clock = clock
        self.checker = checker
        self.run_in_thread = run_in_thread
        self.locks = {4: defer.DeferredLock(), 6: defer.DeferredLock()}
        self.last_outcome = {4: None, 6: None}

    # Persisted applied state.

    def _state_path(self, ip_version):
        return os.path.join(self.config.state_dir, f"applied-v{ip_version}.json")

    def load_applied(self, ip_version):
        """The spec that was last applied and should run, or None."""
        text = read_text(self._state_path(ip_version))
        if not text:
            return None
        try:
            data = json.loads(text)
            if data.get("version") != STATE_VERSION or not data.get("running"):
                return None
            spec = data["spec"]
            return DhcpdSpec(**{**spec, "interfaces": tuple(spec["interfaces"])})
        except (ValueError, KeyError, TypeError) as error:
            log.warn("Ignoring unreadable applied state for IPv{v}: {e}", v=ip_version, e=error)
            return None

    def _save_applied(self, ip_version, spec):
        data = {"version": STATE_VERSION, "running": spec is not None,
                "spec": attrs.asdict(spec) if spec is not None else None}
        atomic_write(self._state_path(ip_version), json.dumps(data, indent=1), mode=0o600)

    # Configure.

    def configure(self, ip_version, document, dry_run=False):
        return self.locks[ip_version].run(self._configure, ip_version, document, dry_run)

    def stop(self, ip_version):
        return self.locks[ip_version].run(self._stop, ip_version, "stop requested", False)

    def resume(self):
        """At start: bring back (adopting where it runs) what was applied."""
        results = []
        for ip_version, monitor in self.monitors.items():
            spec = self.load_applied(ip_version)
            if spec is None:
                continue
            d = monitor.ensure_running(spec, restart=False)
            d.addErrback(lambda f, v=ip_version: log.failure(
                "Could not resume dhcpd for IPv{v}", f, v=v))
            results.append(d)
        return defer.gatherResults(results)

    @defer.inlineCallbacks
    def _configure(self, ip_version, document, dry_run):
        config = DHCPConfig.from_document(document, ip_version)
        if config.is_empty:
            return (yield self._stop(ip_version, "the document has no shared networks", dry_run))
        dhcpd = find_dhcpd(self.config.dhcpd)
        if dhcpd is None:
            raise DhcpdMissing(f"dhcpd not found ({self.config.dhcpd or 'on PATH'})")
        selection = select(config, self.links())
        rendered = render(config, RenderInputs(
            rack_addresses=selection.rack_addresses,
            omapi_port=self.config.omapi_port(ip_version),
            omapi_key=config.omapi_key or self.key_source(),
            boot=self.config.boot,
            lease_time=self.config.lease_time,
            pxe_lease_time=self.config.pxe_lease_time,
        ))
        paths = DhcpdPaths.for_family(self.config, ip_version)
        spec = DhcpdSpec(ip_version=ip_version, dhcpd=dhcpd, config_path=paths.config,
                         leases_path=paths.leases, pid_path=paths.pid, log_path=paths.log,
                         interfaces=selection.interfaces)
        monitor = self.monitors[ip_version]
        previous_text = read_text(paths.config)
        status = monitor.status()
        new_print = fingerprint(rendered.text)
        warnings = tuple(rendered.warnings) + tuple(
            f"subnet {cidr} has no address on this rack: served as relayed, without boot options"
            for cidr in selection.relayed)

        def outcome(action, reason):
            result = Outcome(ip_version, action, reason, new_print, warnings, selection.interfaces)
            if not dry_run:
                self.last_outcome[ip_version] = result
            return result

        if previous_text == rendered.text and status.state == "running" and status.spec == spec:
            return outcome("unchanged", "the rendered config is what dhcpd already serves")
        result = yield self.run_in_thread(self.checker, rendered.text, ip_version, dhcpd)
        if not result.ok:
            raise ConfigRejected(result)
        if status.state != "running":
            action, reason = "started", f"dhcpd was {status.state}"
        elif status.spec != spec:
            action, reason = "restarted", "the interfaces or files dhcpd runs with changed"
        else:
            action, reason = "restarted", "the config changed"
        if dry_run:
            return outcome({"started": "would-start", "restarted": "would-restart"}[action], reason)
        previous_spec = status.spec if status.state == "running" else self.load_applied(ip_version)
        atomic_write(paths.config, rendered.text, mode=0o600)
        try:
            yield monitor.ensure_running(spec, restart=True)
        except DhcpdDidNotStart as error:
            restored = yield self._roll_back(ip_version, paths, previous_text, previous_spec)
            self.last_outcome[ip_version] = Outcome(
                ip_version, "failed", str(error), fingerprint(previous_text), warnings, ())
            raise StartFailed(str(error), previous_text is not None and previous_spec is not None,
                              restored)
        self._save_applied(ip_version, spec)
        log.info("IPv{v} dhcpd {action}: {reason}", v=ip_version, action=action, reason=reason)
        return outcome(action, reason)

    @defer.inlineCallbacks
    def _roll_back(self, ip_version, paths, previous_text, previous_spec):
        monitor = self.monitors[ip_version]
        if previous_text is None or previous_spec is None:
            if os.path.exists(paths.config):
                os.unlink(paths.config)
            yield monitor.ensure_stopped()
            self._save_applied(ip_version, None)
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
        self._save_applied(ip_version, None)
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
        return report
