"""The configure executor's decisions, with a fake monitor and dhcpd -t.

The real dhcpd and processes are exercised by the lab tests; here the
monitor and the checker are small fakes, so each step's effect on files,
state and dhcpd (start, restart, leave alone, roll back) is checked exactly.
"""

import ipaddress
import json
import os

import attrs
import pytest
from twisted.internet import defer, task

from provisioningserver.config import RackdConfig
from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.omapi.client import AddHost, ChangeResult, RemoveHost, UpdateHostIP
from provisioningserver.omapi.errors import OmapiError
from provisioningserver.dhcpd.check import CheckResult, DhcpdError
from provisioningserver.network.links import Snapshot
from provisioningserver.services.coalesce import Coalescer, ConfigureTimeout
from provisioningserver.services.configure import ConfigRejected, Configurator, StartFailed
from provisioningserver.dhcp.incremental import read_document
from provisioningserver.services.gather import gather
from provisioningserver.dhcpd.monitor import DhcpdDidNotStart, Outcome as MonitorOutcome

IF = ipaddress.ip_interface


@attrs.define
class FakeStatus:
    state: str = "off"
    pid: "int | None" = None
    since: "float | None" = None
    reason: "str | None" = None
    restarts: int = 0
    spec: object = None


class FakeMonitor:
    """Records calls; fails the next N starts when told to."""

    def __init__(self):
        self.current = FakeStatus()
        self.calls = []
        self.failures = 0
        self.hangs = 0

    def ensure_running(self, spec, restart=False):
        self.calls.append(("run", spec, restart))
        if self.hangs:
            self.hangs -= 1
            return defer.Deferred()  # a start that never ends
        if self.failures:
            self.failures -= 1
            self.current = FakeStatus(state="dead", reason="exited")
            return defer.fail(DhcpdDidNotStart("dhcpd exited: Not configured to listen"))
        self.current = FakeStatus(state="running", pid=100 + len(self.calls), spec=spec)
        # As the real monitor: what it did, which the configure must not mistake for a failure.
        return defer.succeed(MonitorOutcome("started", self.current.pid, "started"))

    def record_config(self, spec):
        self.calls.append(("record", spec))

    def ensure_stopped(self, spec=None):
        self.calls.append(("stop",))
        self.current = FakeStatus()
        return defer.succeed(None)

    def status(self):
        return self.current


class FakeOmapi:
    """Records each batch; fails the changes whose host name is in ``failing``."""

    def __init__(self):
        self.batches = []
        self.failing = set()

    def apply(self, changes):
        changes = list(changes)  # the real client takes a generator as well as a list
        self.batches.append(changes)
        return defer.succeed([
            ChangeResult(c, error=OmapiError("not authorized") if c.name in self.failing else None)
            for c in changes])

    def disconnect(self):
        return defer.succeed(None)


def host(n, ip=None):
    return {"host": f"node-{n}", "mac": f"52:54:00:00:00:{n:02x}", "ip": ip or f"198.18.0.{n}"}


def document(dns="198.18.0.2", hosts=()):
    return {
        "omapi_key": "dGhpcy1pcy1hLWRlbW8ta2V5LW5vdC1zZWNyZXQ=",
        "shared_networks": [{"name": "net", "subnets": [{
            "subnet_cidr": "198.18.0.0/24", "router_ip": "198.18.0.1", "dns_servers": [dns],
            "pools": [{"ip_range_low": "198.18.0.100", "ip_range_high": "198.18.0.150"}]}]}],
        "hosts": list(hosts),
    }


@pytest.fixture
def rig(tmp_path):
    config = RackdConfig(state_dir=str(tmp_path / "state"), run_dir=str(tmp_path / "run"),
                         dhcpd="/bin/true")
    for d in (config.state_dir, config.run_dir, os.path.join(config.state_dir, "log")):
        os.makedirs(d)
    monitors = {4: FakeMonitor(), 6: FakeMonitor()}
    verdicts = []
    omapi = FakeOmapi()

    def checker(text, ip_version, dhcpd):
        # A verdict may be a function of the rendered text (to name one of its lines).
        verdict = verdicts.pop(0) if verdicts else CheckResult(ok=True)
        return verdict(text) if callable(verdict) else verdict

    links = {"lo": [IF("127.0.0.1/8")], "eth0": [IF("198.18.0.5/24")]}

    def make():
        return Configurator(
            config, monitors, key_source=lambda: "agent-key",
            links=lambda: Snapshot.from_addresses(links),
            clock=task.Clock(), checker=checker, omapi_factory=lambda v, key: omapi,
            resolver=lambda config: {"ntp.lab.example": (ipaddress.ip_address("198.18.0.7"),)},
            run_in_thread=lambda f, *a, **k: defer.maybeDeferred(f, *a, **k))

    rig = attrs.make_class("Rig", ["configurator", "monitor", "verdicts", "config", "omapi",
                                   "links", "make"])
    return rig(make(), monitors[4], verdicts, config, omapi, links, make)


def result_of(d):
    results = []
    d.addBoth(results.append)
    assert results, "the deferred did not fire"
    if hasattr(results[0], "raiseException"):
        results[0].raiseException()
    return results[0]


def config_text(rig):
    with open(os.path.join(rig.config.state_dir, "dhcpd.conf")) as f:
        return f.read()


def test_first_document_starts_dhcpd_on_the_chosen_interface(rig):
    """A first document is written (mode 0600) and dhcpd started on eth0."""
    outcome = result_of(rig.configurator.configure(4, document()))
    assert outcome.action == "started"
    assert outcome.interfaces == ("eth0",)
    (call,) = rig.monitor.calls
    assert call[0] == "run" and call[1].interfaces == ("eth0",) and call[2] is True
    path = os.path.join(rig.config.state_dir, "dhcpd.conf")
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert "198.18.0.2" in config_text(rig)
    assert rig.configurator.applied(4).spec == call[1]


def test_same_document_again_leaves_dhcpd_alone(rig):
    """Configuring the same document twice does not restart dhcpd."""
    result_of(rig.configurator.configure(4, document()))
    outcome = result_of(rig.configurator.configure(4, document()))
    assert outcome.action == "unchanged"
    assert len(rig.monitor.calls) == 1


def test_changed_document_restarts(rig):
    """A new DNS server changes the config and restarts dhcpd."""
    result_of(rig.configurator.configure(4, document()))
    outcome = result_of(rig.configurator.configure(4, document(dns="198.18.0.3")))
    assert outcome.action == "restarted"
    assert "198.18.0.3" in config_text(rig)


def test_rejected_config_changes_nothing(rig):
    """dhcpd -t's rejection is returned; file and dhcpd stay as they were."""
    result_of(rig.configurator.configure(4, document()))
    before = config_text(rig)
    rig.verdicts.append(CheckResult(ok=False, errors=(DhcpdError("bad", 3, "x;", 1),)))
    with pytest.raises(ConfigRejected) as caught:
        result_of(rig.configurator.configure(4, document(dns="198.18.0.3")))
    assert caught.value.result.errors[0].line_num == 3
    assert config_text(rig) == before
    assert len(rig.monitor.calls) == 1


def _bad_snippet_document(**fields):
    bad = document(**fields)
    bad["global_dhcp_snippets"] = [{"name": "pxe-extra", "value": "ping-check true;\nbogus 1;"}]
    return bad


def _refuse_line(wanted):
    """A verdict refusing the rendered line equal to ``wanted``, as dhcpd would."""
    def verdict(text):
        line_num = text.split("\n").index(wanted) + 1
        return CheckResult(ok=False, errors=(DhcpdError("semicolon expected.", line_num,
                                                        wanted, 6),))
    return verdict


def test_rejection_while_serving_says_the_previous_config_still_serves(rig):
    """A rejection with dhcpd running an applied config says that config still serves,
    and its error names the snippet and the snippet's own line."""
    result_of(rig.configurator.configure(4, document()))
    rig.verdicts.append(_refuse_line("bogus 1;"))
    with pytest.raises(ConfigRejected) as caught:
        result_of(rig.configurator.configure(4, _bad_snippet_document()))
    assert caught.value.before == "the previous config still serves"
    assert str(caught.value) == (
        "dhcpd rejected the rendered config; the previous config still serves")
    origin = caught.value.result.errors[0].origin
    assert (origin.path, origin.snippet, origin.line) == ("global_dhcp_snippets[0]",
                                                          "pxe-extra", 2)


def test_rejection_of_the_first_config_says_nothing_served_before(rig):
    """A rejection with no dhcpd running says nothing served before."""
    rig.verdicts.append(_refuse_line("bogus 1;"))
    with pytest.raises(ConfigRejected) as caught:
        result_of(rig.configurator.configure(4, _bad_snippet_document()))
    assert caught.value.before == "nothing served before"
    assert "nothing served before" in str(caught.value)
    assert rig.monitor.calls == []


def test_failed_start_rolls_back_to_the_previous_config(rig):
    """dhcpd not coming up restores the previous file and starts it again."""
    result_of(rig.configurator.configure(4, document()))
    before = config_text(rig)
    first_spec = rig.monitor.calls[0][1]
    rig.monitor.failures = 1
    with pytest.raises(StartFailed) as caught:
        result_of(rig.configurator.configure(4, document(dns="198.18.0.3")))
    assert caught.value.rolled_back and caught.value.restored
    assert "previous config was restored" in str(caught.value)
    assert config_text(rig) == before
    assert rig.monitor.calls[-1] == ("run", first_spec, True)
    assert rig.configurator.status()["v4"]["last_configure"]["action"] == "failed"


def test_failed_first_start_leaves_dhcpd_stopped(rig):
    """With no previous config, a failed start removes the file and stops dhcpd."""
    rig.monitor.failures = 1
    with pytest.raises(StartFailed) as caught:
        result_of(rig.configurator.configure(4, document()))
    assert not caught.value.rolled_back
    assert not os.path.exists(os.path.join(rig.config.state_dir, "dhcpd.conf"))
    assert rig.monitor.calls[-1] == ("stop",)
    assert rig.configurator.applied(4).spec is None


def test_empty_document_stops_dhcpd(rig):
    """A document without shared networks stops that family's dhcpd."""
    result_of(rig.configurator.configure(4, document()))
    outcome = result_of(rig.configurator.configure(4, {"shared_networks": []}))
    assert outcome.action == "stopped"
    assert rig.monitor.calls[-1] == ("stop",)
    assert rig.configurator.applied(4).spec is None


def test_invalid_document_changes_nothing(rig):
    """A document error is raised before anything is written or started."""
    with pytest.raises(DocumentError) as caught:
        result_of(rig.configurator.configure(4, {"shared_networks": [{"name": "x;y"}]}))
    assert caught.value.paths == ["shared_networks[0].name"]
    assert rig.monitor.calls == []
    assert not os.path.exists(os.path.join(rig.config.state_dir, "dhcpd.conf"))


def test_dry_run_says_what_would_happen_and_does_nothing(rig):
    """--dry-run reports would-start without writing or starting."""
    outcome = result_of(rig.configurator.configure(4, document(), dry_run=True))
    assert outcome.action == "would-start"
    assert rig.monitor.calls == []
    assert rig.configurator.status()["v4"]["last_configure"] is None


def test_resume_adopts_what_was_applied(rig):
    """At start, the applied spec is handed to the monitor without a forced restart."""
    result_of(rig.configurator.configure(4, document()))
    spec = rig.monitor.calls[0][1]
    rig.monitor.calls.clear()
    result_of(rig.configurator.resume())
    assert rig.monitor.calls == [("run", spec, False)]


def test_agent_key_is_used_when_the_document_has_none(rig):
    """Without omapi_key the agent's own key goes into the OMAPI stanza."""
    doc = document()
    del doc["omapi_key"]
    result_of(rig.configurator.configure(4, doc))
    assert '"agent-key"' in config_text(rig)


def test_new_reservation_goes_live_without_restart(rig):
    """Adding a host is applied over OMAPI; dhcpd is not restarted; the file
    on disk gets the host so a later restart serves it too."""
    result_of(rig.configurator.configure(4, document(hosts=[host(10)])))
    outcome = result_of(rig.configurator.configure(4, document(hosts=[host(10), host(11)])))
    assert outcome.action == "applied-live"
    assert outcome.hosts == {"added": 1, "removed": 0, "updated": 0, "renamed": 0}
    # One start, then no restart: only the new config's digest is recorded for adoption.
    assert [call[0] for call in rig.monitor.calls] == ["run", "record"]
    assert rig.omapi.batches == [[AddHost(name="node-11", mac="52:54:00:00:00:0b",
                                          ip="198.18.0.11")]]
    assert "node-11" in config_text(rig)
    assert [h.host for h in rig.configurator.applied(4).config.hosts] == ["node-10", "node-11"]


def test_live_changes_run_removes_then_updates_then_adds(rig):
    """Removes, updates and adds go as three batches, in that order."""
    result_of(rig.configurator.configure(4, document(hosts=[host(10), host(11)])))
    result_of(rig.configurator.configure(
        4, document(hosts=[host(11, ip="198.18.0.31"), host(12)])))
    assert rig.omapi.batches == [
        [RemoveHost(name="node-10")],
        [UpdateHostIP(ip="198.18.0.31", name="node-11")],
        [AddHost(name="node-12", mac="52:54:00:00:00:0c", ip="198.18.0.12")],
    ]


def test_omapi_failure_falls_back_to_a_restart(rig):
    """When dhcpd refuses an OMAPI change, rackd restarts it with the full config
    and says why."""
    result_of(rig.configurator.configure(4, document()))
    rig.omapi.failing.add("node-11")
    outcome = result_of(rig.configurator.configure(4, document(hosts=[host(11)])))
    assert outcome.action == "restarted"
    assert "OMAPI failed (not authorized)" in outcome.reason
    assert len(rig.monitor.calls) == 2
    assert "node-11" in config_text(rig)


def test_restarted_rackd_with_the_same_document_changes_nothing(rig):
    """A new Configurator (rackd restarted) finds the applied state and leaves
    the running dhcpd alone."""
    result_of(rig.configurator.configure(4, document(hosts=[host(10)])))
    again = rig.make()
    outcome = result_of(again.configure(4, document(hosts=[host(10)])))
    assert outcome.action == "unchanged"
    assert len(rig.monitor.calls) == 1


def test_rack_address_change_restarts_even_for_host_only_edits(rig):
    """If this rack's address on the subnet moved, host edits cannot go live alone."""
    result_of(rig.configurator.configure(4, document()))
    rig.links["eth0"] = [IF("198.18.0.6/24")]
    outcome = result_of(rig.configurator.configure(4, document(hosts=[host(10)])))
    assert outcome.action == "restarted"
    assert "rack addresses" in outcome.reason


def test_old_state_format_is_migrated_not_misread(rig):
    """A version-1 state file found at start (no document) keeps the spec and
    forces one restart."""
    result_of(rig.configurator.configure(4, document()))
    spec = rig.configurator.applied(4).spec
    path = os.path.join(rig.config.state_dir, "applied-v4.json")
    with open(path, "w") as f:
        json.dump({"version": 1, "running": True, "spec": attrs.asdict(spec)}, f)
    again = rig.make()  # the state file is read when rackd starts
    state = again.applied(4)
    assert state.spec == spec and state.config is None
    outcome = result_of(again.configure(4, document()))
    assert outcome.action == "restarted"
    assert "not known" in outcome.reason


def test_dry_run_of_host_changes_prints_the_plan(rig):
    """--dry-run says the hosts would go live, and changes nothing."""
    result_of(rig.configurator.configure(4, document()))
    outcome = result_of(rig.configurator.configure(4, document(hosts=[host(10)]), dry_run=True))
    assert outcome.action == "would-apply-live"
    assert outcome.hosts["added"] == 1
    assert rig.omapi.batches == []


def test_ntp_names_are_resolved_and_the_unresolvable_reported(rig):
    """A resolvable NTP name is rendered as its address; one that does not resolve
    is left out and reported in the outcome's warnings."""
    doc = document()
    doc["shared_networks"][0]["subnets"][0]["ntp_servers"] = ["ntp.lab.example", "gone.example"]
    outcome = result_of(rig.configurator.configure(4, doc))
    assert "option ntp-servers 198.18.0.7;" in config_text(rig)
    assert any("gone.example" in w for w in outcome.warnings)


def test_configure_past_its_deadline_is_cancelled_and_rolled_back(rig):
    """Through the coalescer: a restart that hangs past the deadline is cancelled,
    the previous config is written back and started, and the caller's
    ConfigureTimeout says dhcpd serves the last applied config."""
    clock = task.Clock()
    coalescer = Coalescer(rig.configurator, clock, timeout=10)
    result_of(coalescer.configure(4, document()))
    before = config_text(rig)
    first_spec = rig.monitor.calls[0][1]
    rig.monitor.hangs = 1
    results = []
    coalescer.configure(4, document(dns="198.18.0.3")).addBoth(results.append)
    assert results == []
    clock.advance(10)
    error = results[0].value
    assert isinstance(error, ConfigureTimeout)
    assert error.state_known and "rolled back" in str(error)
    assert config_text(rig) == before
    assert rig.monitor.calls[-1] == ("run", first_spec, True)
    assert clock.getDelayedCalls() == []


def test_configure_cancelled_before_changing_anything_needs_no_rollback(rig):
    """Cancelled while dhcpd -t runs (nothing written yet): no restart, state known."""
    clock = task.Clock()
    coalescer = Coalescer(rig.configurator, clock, timeout=10)
    result_of(coalescer.configure(4, document()))
    rig.configurator.run_in_thread = lambda f, *a: (
        defer.Deferred() if f is rig.configurator.checker else defer.maybeDeferred(f, *a))
    results = []
    coalescer.configure(4, document(dns="198.18.0.3")).addBoth(results.append)
    clock.advance(10)
    assert results[0].value.state_known
    assert "before anything changed" in str(results[0].value)
    assert len(rig.monitor.calls) == 1


def test_failover_reading_goes_into_the_v4_status(rig):
    """The failover watch's reading is the v4 status's failover_state, which the
    rack sends the region with UpdateServices."""
    from provisioningserver.rpc.rack_responders import services_report

    rig.configurator.failover_status = lambda: {"peers": [{"peer": "p", "local_state": "normal"}]}
    status = rig.configurator.status()
    assert status["v4"]["failover_state"]["peers"][0]["local_state"] == "normal"
    assert services_report(status)[0]["failover_state"] == status["v4"]["failover_state"]


def test_the_applied_state_is_read_once_and_then_held_in_memory(rig):
    """Readers of the applied state do not go back to the file: after a
    configure, what is held is what was saved, even if the file goes away."""
    result_of(rig.configurator.configure(4, document(hosts=[host(10)])))
    generation = rig.configurator.state.generation
    os.unlink(os.path.join(rig.config.state_dir, "applied-v4.json"))
    assert [h.host for h in rig.configurator.state.config(4).hosts] == ["node-10"]
    result_of(rig.configurator.configure(4, document(hosts=[host(10), host(11)])))
    assert rig.configurator.state.generation == generation + 1
    assert os.path.exists(os.path.join(rig.config.state_dir, "applied-v4.json"))


def test_parsing_rendering_and_planning_run_off_the_reactor(rig):
    """What grows with the site (reading the document; selecting, rendering,
    diffing and planning; writing the config file, hashing it for the
    monitor's record of a live change) goes through run_in_thread, not the
    reactor."""
    threaded = []

    def run_in_thread(f, *args, **kwargs):
        threaded.append(getattr(f, "__name__", f))
        return defer.maybeDeferred(f, *args, **kwargs)

    rig.configurator.run_in_thread = run_in_thread
    result_of(rig.configurator.configure(4, document(hosts=[host(10)])))
    assert {"read_packed", "gather", "atomic_write"} <= set(threaded)
    assert rig.configurator.checker.__name__ in threaded
    result_of(rig.configurator.configure(4, document(hosts=[host(10), host(11)])))
    assert "record_config" in threaded


def test_a_hosts_only_change_is_judged_by_the_structure_digest_not_a_second_render(rig):
    """After a configure the applied state keeps the rendered structure's
    digest; a later host change compares digests (no second render), and a
    change elsewhere that renders differently still restarts."""
    result_of(rig.configurator.configure(4, document(hosts=[host(10)])))
    assert rig.configurator.applied(4).structure
    outcome = result_of(rig.configurator.configure(4, document(hosts=[host(10), host(11)])))
    assert outcome.action == "applied-live"
    outcome = result_of(rig.configurator.configure(4, document(hosts=[host(10)],
                                                               dns="198.18.0.3")))
    assert outcome.action == "restarted"


def test_the_next_read_reuses_the_applied_document(rig):
    """A successful configure keeps the document as read; the next read
    starts from it (an unchanged host is copied from the table applied)."""
    result_of(rig.configurator.configure(4, document(hosts=[host(10)])))
    first = rig.configurator.applied(4).config.hosts
    result_of(rig.configurator.configure(4, document(hosts=[host(10), host(11)])))
    hosts = rig.configurator.applied(4).config.hosts
    assert hosts.derived_from(first) and list(hosts.runs()) == [(0, 0, 1)]


def test_the_state_file_holds_the_document_as_it_came_and_reads_back_the_same(rig):
    """The applied state is saved from the document as given (not written
    out again from the model), and a new rackd reads back the same config."""
    doc = document(hosts=[host(10)])
    result_of(rig.configurator.configure(4, doc))
    with open(os.path.join(rig.config.state_dir, "applied-v4.json")) as f:
        saved = json.load(f)
    assert saved["document"] == doc
    assert rig.make().applied(4).config == rig.configurator.applied(4).config


def test_an_unchanged_document_after_a_restart_of_rackd_seeds_the_incremental_read(rig):
    """A new rackd (state read from the file) given the same document again
    answers unchanged, and from then on reads only what changes: an
    unchanged host of the next document is copied from that read."""
    result_of(rig.configurator.configure(4, document(hosts=[host(10)])))
    again = rig.make()
    assert result_of(again.configure(4, document(hosts=[host(10)]))).action == "unchanged"
    held = again.applied(4).config.hosts
    result_of(again.configure(4, document(hosts=[host(10), host(11)])))
    hosts = again.applied(4).config.hosts
    assert hosts.derived_from(held) and list(hosts.runs()) == [(0, 0, 1)]


def test_status_fingerprints_the_config_file_and_follows_its_changes(rig):
    """status names the served file's fingerprint, the same as the outcome's,
    and a new one once the file is written again (it is hashed only when it
    changed, not on every ask)."""
    outcome = result_of(rig.configurator.configure(4, document()))
    assert rig.configurator.status()["v4"]["config_fingerprint"] == outcome.fingerprint
    assert rig.configurator.status()["v4"]["config_fingerprint"] == outcome.fingerprint
    changed = result_of(rig.configurator.configure(4, document(dns="198.18.0.3")))
    assert changed.fingerprint != outcome.fingerprint
    assert rig.configurator.status()["v4"]["config_fingerprint"] == changed.fingerprint
    assert rig.configurator.status()["v6"]["config_fingerprint"] is None
