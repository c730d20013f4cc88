"""What a failover pair's state means, and whether this rack may declare its partner down.

dhcpd's failover-state object (read over OMAPI by
`provisioningserver.omapi.client.OmapiClient.failover_state`) gives this
server's state and the partner's as numbers, and when each was entered
(``local-stos``, ``partner-stos``); `provisioningserver.omapi.objects`
names the numbers. This module turns such a `FailoverState` into what an
operator needs (`describe`) and decides `rackctl failover partner-down`
(`partner_down`); both are pure: the time comes in as ``now``.

Why partner-down is guarded. In communications-interrupted each server
hands out only addresses it owns, so the pair is safe whatever happened to
the other side. In partner-down a server takes over the partner's free
addresses (after the MCLT) on the assumption that the partner is not
serving; if the partner is in fact alive and cut off, or also in
partner-down, both hand out the same addresses. The decision therefore:

- refuses while the pair is in normal state: the partner answers, so it is
  not down, and ``--force`` does not change that fact;
- does nothing when this server is already in partner-down;
- allows it when this server has been out of touch (communications-interrupted
  or resolution-interrupted) for longer than the safety time, measured from
  when dhcpd entered that state;
- otherwise refuses, saying how long is left, unless ``force`` is given: the
  operator then vouches that the partner is really down (powered off, say).
"""

import attrs

# States in which this server cannot reach its partner.
UNREACHABLE = frozenset({"communications-interrupted", "resolution-interrupted"})
# The default safety time: longer than a switch reboot or a short link flap.
SAFETY_TIME = 600

_SUMMARIES = {
    "normal": "both peers serve; the pair is healthy",
    "communications-interrupted": "the partner is unreachable; serving own addresses only",
    "partner-down": "serving alone, including the partner's addresses after the MCLT",
    "recover": "catching up with the partner after being out of touch",
    "recover-wait": "caught up; waiting out the MCLT before serving again",
    "recover-done": "recovery finished; returning to normal",
    "potential-conflict": "both may have served the same addresses; resolving with the partner",
    "resolution-interrupted": "lost the partner while resolving a conflict",
    "conflict-done": "conflict resolved; returning to normal",
    "startup": "starting up; not yet in touch with the partner",
    "paused": "failover paused",
    "shut-down": "failover shut down",
}


@attrs.frozen
class Allow:
    reason: str


@attrs.frozen
class AlreadyDone:
    reason: str


@attrs.frozen
class Deny:
    reason: str


def describe(state, now):
    """A status entry for one peer relationship: both states, how long this
    server has been in its state, and what that means."""
    since = state.local_since
    return {
        "peer": state.name,
        "local_state": state.local_state,
        "partner_state": state.partner_state,
        "local_since": since,
        "for_seconds": max(0, int(now - since)) if since else None,
        "summary": _SUMMARIES.get(state.local_state, "state not known to rackd"),
    }


def partner_down(state, now, safety_time=SAFETY_TIME, force=False):
    """`Allow`, `AlreadyDone` or `Deny` moving this server of ``state`` to partner-down."""
    name, local = state.name, state.local_state
    if local == "partner-down":
        return AlreadyDone(f"peer {name!r} is already in partner-down")
    if local == "normal":
        return Deny(f"peer {name!r} is in normal state: the partner answers, so it is not down")
    if local in UNREACHABLE:
        if state.local_since is None:
            waited = None
        else:
            waited = max(0, int(now - state.local_since))
        if waited is not None and waited >= safety_time:
            return Allow(f"the partner of {name!r} has been unreachable for {waited}s "
                         f"(safety time {safety_time}s)")
        if force:
            return Allow(f"forced: the partner of {name!r} unreachable for "
                         f"{_seconds(waited)}, less than the safety time {safety_time}s")
        left = f"; {safety_time - waited}s left" if waited is not None else ""
        return Deny(f"the partner of {name!r} has been unreachable for {_seconds(waited)}, "
                    f"less than the safety time {safety_time}s{left} (--force overrides)")
    if force:
        return Allow(f"forced: peer {name!r} is in {local} state")
    return Deny(f"peer {name!r} is in {local} state, not out of touch with its partner "
                "(--force overrides)")


def _seconds(waited):
    return f"{waited}s" if waited is not None else "an unknown time"


def drift(desired_hosts, found):
    """Reservations the peer lacks or holds differently (pure).

    ``found`` maps each desired host's name to the peer's `HostInfo`, or to
    None when the peer has no host object of that name. OMAPI cannot list
    hosts, so hosts that exist only on the peer are not seen: the result
    says so rather than claiming the peer holds nothing else.
    """
    missing, different = [], []
    for host in desired_hosts:
        info = found.get(host.host)
        if info is None:
            missing.append(host.host)
        elif (info.mac or "").lower() != host.mac or info.ip != str(host.ip):
            different.append({"host": host.host, "want": {"mac": host.mac, "ip": str(host.ip)},
                              "peer": {"mac": info.mac, "ip": info.ip}})
    return {"checked": len(desired_hosts), "missing": missing, "different": different,
            "in_sync": not missing and not different,
            "unseen": "hosts that exist only on the peer cannot be seen (OMAPI cannot list hosts)"}
