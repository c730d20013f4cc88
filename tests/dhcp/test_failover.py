"""The meaning of a failover pair's state and the partner-down decision (pure)."""

import pytest

from provisioningserver.dhcp.failover import (
    SAFETY_TIME, AlreadyDone, Allow, Deny, describe, partner_down,
)
from provisioningserver.omapi.objects import FAILOVER_STATES, FailoverState

NOW = 1_800_000_000


def state(local, partner="unknown-state", since=NOW - 30):
    return FailoverState("vlan-40", local, partner, local_since=since)


def test_describe_gives_states_duration_and_meaning():
    """The status entry names both states, how long the local one has lasted and what
    it means for clients."""
    assert describe(state("communications-interrupted", since=NOW - 75), NOW) == {
        "peer": "vlan-40", "local_state": "communications-interrupted",
        "partner_state": "unknown-state", "local_since": NOW - 75, "for_seconds": 75,
        "summary": "the partner is unreachable; serving own addresses only"}


def test_describe_knows_every_named_state():
    """Every state dhcpd can report has a summary; an unnamed number and a missing
    start time are still described."""
    for name in FAILOVER_STATES.values():
        if name != "unknown-state":
            assert describe(state(name), NOW)["summary"] != "state not known to rackd", name
    odd = describe(FailoverState("p", "unknown(99)", "normal"), NOW)
    assert odd["summary"] == "state not known to rackd" and odd["for_seconds"] is None


def test_allowed_after_the_safety_time():
    """Out of touch for at least the safety time: partner-down is allowed without force."""
    decision = partner_down(state("communications-interrupted", since=NOW - SAFETY_TIME), NOW)
    assert decision == Allow(f"the partner of 'vlan-40' has been unreachable for {SAFETY_TIME}s "
                             f"(safety time {SAFETY_TIME}s)")


def test_refused_before_the_safety_time_unless_forced():
    """Out of touch for less than the safety time: refused with the time left; --force
    allows it and says it was forced."""
    young = state("communications-interrupted", since=NOW - 100)
    assert partner_down(young, NOW, safety_time=300) == Deny(
        "the partner of 'vlan-40' has been unreachable for 100s, less than the safety time "
        "300s; 200s left (--force overrides)")
    forced = partner_down(young, NOW, safety_time=300, force=True)
    assert isinstance(forced, Allow) and forced.reason.startswith("forced:")


def test_unknown_duration_counts_as_too_short():
    """Without dhcpd's state time the wait cannot be shown to be long enough."""
    decision = partner_down(state("resolution-interrupted", since=None), NOW)
    assert isinstance(decision, Deny) and "an unknown time" in decision.reason


def test_normal_state_is_refused_even_when_forced():
    """In normal state the partner answers; no force makes it down."""
    for force in (False, True):
        decision = partner_down(state("normal", "normal"), NOW, force=force)
        assert isinstance(decision, Deny) and "normal state" in decision.reason


def test_already_in_partner_down_is_nothing_to_do():
    """A server already in partner-down needs no command."""
    assert isinstance(partner_down(state("partner-down"), NOW), AlreadyDone)


@pytest.mark.parametrize("local", ["startup", "recover", "recover-wait", "potential-conflict",
                                   "paused"])
def test_other_states_need_force(local):
    """States that do not show the partner out of touch are refused unless forced."""
    assert isinstance(partner_down(state(local), NOW), Deny)
    assert isinstance(partner_down(state(local), NOW, force=True), Allow)
