"""The configure plan, one row per branch: what dhcpd and the applied state
look like, what the document asks for, and the action, reason and steps
that must come out. No reactor, no files: the planner is a pure function.
"""

import attrs
import pytest

from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.plan import CostModel, HostChanges, NoChange, Restart, plan
from provisioningserver.dhcpd.process import DhcpdSpec
from provisioningserver.services.planning import (
    BEYOND_HOSTS, Desired, Observed, after_live_failure, needs_diff, plan_configure,
    plan_stop)
from provisioningserver.services.steps import (
    ApplyHosts, CheckConfig, EnsureRunning, RecordConfig, SaveState, StopDhcpd, WriteConfig)

SPEC = DhcpdSpec(ip_version=4, dhcpd="/usr/sbin/dhcpd", config_path="/s/dhcpd.conf",
                 leases_path="/s/dhcpd.leases", pid_path="/r/dhcpd.pid",
                 log_path="/s/log/dhcpd.log", interfaces=("eth0",))
CONFIG = object()  # the planner only hands the desired config to SaveState
HOST = parse_document({
    "shared_networks": [{"name": "n", "subnets": [{"subnet_cidr": "198.18.0.0/24"}]}],
    "hosts": [{"host": "node-1", "mac": "52:54:00:00:00:01", "ip": "198.18.0.10"}]}, 4).hosts[0]
ADD_ONE = HostChanges(add=(HOST,), reason="1 added, 0 removed, 0 updated live")

SERVING = Observed(state="running", running_spec=SPEC, applied_spec=SPEC, config_known=True,
                   config_text="old text", fingerprint="old")
WANTED = Desired(spec=SPEC, config=CONFIG, text="new text", fingerprint="new",
                 changes=ADD_ONE, structure_same=True)

RESTART = (CheckConfig, WriteConfig, EnsureRunning, SaveState)
LIVE = (CheckConfig, ApplyHosts, WriteConfig, RecordConfig, SaveState)


def kinds(plan):
    return tuple(type(step) for step in plan.steps)


@pytest.mark.parametrize("observed, desired, action, reason, steps", [
    # dhcpd not running: started, whatever the document.
    (Observed(), WANTED, "started", "dhcpd was off", RESTART),
    (attrs.evolve(SERVING, state="dead"), WANTED, "started", "dhcpd was dead", RESTART),
    # It runs with another spec: the fields that differ are named.
    (SERVING, attrs.evolve(WANTED, spec=attrs.evolve(SPEC, interfaces=("eth1",))),
     "restarted", "dhcpd must run with other interfaces", RESTART),
    (SERVING, attrs.evolve(WANTED, spec=attrs.evolve(SPEC, dhcpd="/opt/dhcpd",
                                                     leases_path="/x")),
     "restarted", "dhcpd must run with other dhcpd, leases_path", RESTART),
    (SERVING, attrs.evolve(WANTED, spec=attrs.evolve(SPEC, pid_path="/elsewhere")),
     "restarted", "dhcpd must run with other settings", RESTART),
    (attrs.evolve(SERVING, running_spec=None), WANTED,
     "restarted", "dhcpd must run with other interfaces, dhcpd, config_path, leases_path",
     RESTART),
    # What it serves is not known (an old state file): restart once.
    (attrs.evolve(SERVING, config_known=False), attrs.evolve(WANTED, changes=None),
     "restarted", "what dhcpd serves is not known to this rackd", RESTART),
    # The document did not change: unchanged only if the rendered text did not either.
    (SERVING, attrs.evolve(WANTED, changes=NoChange(), fingerprint="old"),
     "unchanged", "the rendered config is what dhcpd already serves", ()),
    (SERVING, attrs.evolve(WANTED, changes=NoChange()), "restarted", BEYOND_HOSTS, RESTART),
    (attrs.evolve(SERVING, config_text=None, fingerprint=None),
     attrs.evolve(WANTED, changes=NoChange()), "restarted", BEYOND_HOSTS, RESTART),
    # Only hosts changed: live if nothing else renders differently.
    (SERVING, WANTED, "applied-live", ADD_ONE.reason, LIVE),
    (SERVING, attrs.evolve(WANTED, structure_same=False), "restarted", BEYOND_HOSTS, RESTART),
    # The host diff itself says restart.
    (SERVING, attrs.evolve(WANTED, changes=Restart(("dns_servers changed",))),
     "restarted", "dns_servers changed", RESTART),
    # Dry runs: the same decision, named would-*; unchanged stays unchanged.
    (Observed(), attrs.evolve(WANTED, dry_run=True), "would-start", "dhcpd was off", RESTART),
    (SERVING, attrs.evolve(WANTED, changes=Restart(("x changed",)), dry_run=True),
     "would-restart", "x changed", RESTART),
    (SERVING, attrs.evolve(WANTED, dry_run=True), "would-apply-live", ADD_ONE.reason, LIVE),
    (SERVING, attrs.evolve(WANTED, changes=NoChange(), fingerprint="old", dry_run=True),
     "unchanged", "the rendered config is what dhcpd already serves", ()),
    # An empty document stops dhcpd, or finds it off.
    (SERVING, Desired(empty=True), "stopped", "the document has no shared networks",
     (StopDhcpd, SaveState)),
    (SERVING, Desired(empty=True, dry_run=True), "would-stop",
     "the document has no shared networks", (StopDhcpd, SaveState)),
    (Observed(), Desired(empty=True), "unchanged", "dhcpd is already off",
     (StopDhcpd, SaveState)),
])
def test_each_branch_of_the_plan(observed, desired, action, reason, steps):
    """Each row: the action, the reason and the kinds of steps, in order."""
    result = plan_configure(observed, desired)
    assert (result.action, result.reason, kinds(result)) == (action, reason, steps)


def test_the_cost_model_saying_restart_is_a_restart():
    """When the cost model prices a restart below the live changes, the
    host diff is a Restart and the plan restarts with its reason."""
    base = {"shared_networks": [{"name": "n", "subnets": [{"subnet_cidr": "198.18.0.0/24"}]}]}
    hosts = [{"host": f"h{n}", "mac": f"52:54:00:00:01:{n:02x}", "ip": f"198.18.0.{n + 10}"}
             for n in range(3)]
    cheap = CostModel(outage_penalty_seconds=0.0, live_changes_per_second=1.0)
    changes = plan(parse_document(base, 4), parse_document({**base, "hosts": hosts}, 4),
                   cost=cheap)
    result = plan_configure(SERVING, attrs.evolve(WANTED, changes=changes))
    assert result.action == "restarted"
    assert "3 host changes would take about 3.0 s live" in result.reason


def test_a_restart_carries_the_text_spec_and_state_and_what_to_go_back_to():
    """The restart's steps name the rendered text, the desired spec and
    config, and restore the previous text and the running spec."""
    running = attrs.evolve(SPEC, interfaces=("eth1",))
    observed = attrs.evolve(SERVING, running_spec=running)
    result = plan_configure(observed, attrs.evolve(WANTED, changes=Restart(("x",))))
    assert result.steps == (
        CheckConfig("new text", SPEC.dhcpd),
        WriteConfig(SPEC.config_path, "new text", restore="old text"),
        EnsureRunning(SPEC, restart=True, restore=running),
        SaveState(SPEC, CONFIG))


@pytest.mark.parametrize("observed", [
    Observed(),  # nothing before
    Observed(state="off", config_text="left from a stop"),  # a file, but dhcpd was off
    Observed(state="running", running_spec=SPEC),  # dhcpd runs, but its file is gone
])
def test_without_both_a_previous_text_and_spec_nothing_is_restored(observed):
    """A start that has no previous text or no previous spec restores
    neither: its undo removes the file and stops dhcpd."""
    result = plan_configure(observed, attrs.evolve(WANTED, changes=Restart(("x",))))
    write, run = result.steps[1:3]
    assert write.restore is None and run.restore is None


def test_when_dhcpd_is_off_the_applied_spec_is_what_to_go_back_to():
    """A dead dhcpd's undo starts the spec last applied, not the dead one's."""
    applied = attrs.evolve(SPEC, interfaces=("eth2",))
    observed = Observed(state="dead", running_spec=SPEC, applied_spec=applied,
                        config_known=True, config_text="old text", fingerprint="old")
    run = plan_configure(observed, WANTED).steps[2]
    assert run.restore == applied


def test_a_live_plan_counts_its_hosts_and_carries_its_steps():
    """A live plan's steps apply the changes, write the file, record it for
    adoption and save the state; its counts come from the diff."""
    result = plan_configure(SERVING, WANTED)
    assert result.hosts == {"added": 1, "removed": 0, "updated": 0, "renamed": 0}
    assert result.steps == (
        CheckConfig("new text", SPEC.dhcpd),
        ApplyHosts(ADD_ONE, restore=SPEC),
        WriteConfig(SPEC.config_path, "new text", restore="old text"),
        RecordConfig(SPEC),
        SaveState(SPEC, CONFIG))


def test_after_a_live_failure_the_plan_is_a_restart_that_says_why():
    """OMAPI refusing a change turns the live plan into a restart (without a
    second check: the text was checked already), with the failure named."""
    result = after_live_failure(plan_configure(SERVING, WANTED), "not authorized")
    assert result.action == "restarted"
    assert result.reason == "OMAPI failed (not authorized), so dhcpd is restarted instead"
    assert kinds(result) == (WriteConfig, EnsureRunning, SaveState)
    assert result.hosts is None


def test_a_stop_requested_names_its_reason():
    """plan_stop carries the caller's reason while dhcpd runs, and says it is
    already off otherwise; both stop and forget the applied state."""
    assert plan_stop(SERVING, "stop requested").reason == "stop requested"
    assert plan_stop(Observed(), "stop requested").reason == "dhcpd is already off"
    assert plan_stop(SERVING, "stop requested").steps == (StopDhcpd(), SaveState())


@pytest.mark.parametrize("observed, spec, needed", [
    (SERVING, SPEC, True),
    (Observed(), SPEC, False),  # not running: started whatever the diff
    (SERVING, attrs.evolve(SPEC, interfaces=("eth1",)), False),  # another spec
    (attrs.evolve(SERVING, config_known=False), SPEC, False),  # nothing to diff against
])
def test_the_diff_is_needed_only_when_dhcpd_may_be_left_running(observed, spec, needed):
    """needs_diff: the host diff is read only when dhcpd runs the desired
    spec and what it serves is known; otherwise the plan restarts anyway."""
    assert needs_diff(observed, spec) is needed
