"""What a configure will do, decided in one pure function.

`plan_configure` takes two values and returns a `Plan`; it does no I/O and
needs no reactor, so every branch is a row in a table test
(tests/services/test_planning.py), and a dry run is the same plan,
returned instead of carried out (only its ``dhcpd -t`` check is run).

- `Observed` is how things are: the monitor's reading of dhcpd (its state,
  the spec it runs with), what this rackd applied last (the spec, whether
  the document it serves is known) and the config file on disk (its text,
  kept to put it back on a rollback, and its fingerprint).
- `Desired` is what the new document asks for: the spec dhcpd must run
  with, the rendered text and its fingerprint, the host diff from
  `dhcp.plan.plan` (None when it was not needed), and whether
  everything but the hosts renders as dhcpd serves it (``structure_same``,
  only read for host changes). The configurator works these out (the
  heavy parts in a thread); the planner only compares them. `needs_diff`
  tells it when the diff can be skipped: when dhcpd must start or restart
  whatever the document says.

The decision, in order, the first that holds:

1. the document is empty: stop dhcpd (`plan_stop`);
2. dhcpd is not running: start it;
3. it runs with another spec (interfaces, binary, files): restart, naming
   the fields that differ;
4. what it serves is not known (an old or damaged state file): restart;
5. the host diff says restart (anything but hosts changed, something OMAPI
   cannot carry, or the cost model prices a restart lower): restart;
6. nothing changed in the document: unchanged if the rendered text is what
   dhcpd serves, else restart (rack addresses, agent settings or templates
   moved);
7. only hosts changed: live over OMAPI if nothing else renders
   differently, else restart.

A plan's ``steps`` are `services.steps` values, ending with the applied
state saved. A live plan also carries its ``fallback``: the restart that
`after_live_failure` turns it into when dhcpd refuses an OMAPI change, so
that what a failure leads to is decided here too. Each step carries what
its undo goes back to (``restore``): the previous text and spec when both
are known, else nothing, so that a failed first start leaves dhcpd
stopped and no config behind.
"""

import attrs

from provisioningserver.dhcp.plan import HostChanges, NoChange
from provisioningserver.services.steps import (
    ApplyHosts, CheckConfig, EnsureRunning, RecordConfig, SaveState, StopDhcpd, WriteConfig)

# The spec's fields an operator would recognise, named in a restart's reason.
_SPEC_FIELDS = ("interfaces", "dhcpd", "config_path", "leases_path")

BEYOND_HOSTS = ("the rendered config changed beyond the document's hosts "
                "(rack addresses, agent settings or templates)")


@attrs.frozen
class Observed:
    """How one family's dhcpd is now; see the module docstring."""

    state: str = "off"  # the monitor's: running, off, dead
    running_spec: object = None  # the DhcpdSpec it runs (or last ran) with
    applied_spec: object = None  # what this rackd applied last; None: off
    config_known: bool = False  # whether the applied document is known
    config_text: "str | None" = attrs.field(default=None, repr=False)  # the file now
    fingerprint: "str | None" = None  # of config_text

    @property
    def previous_spec(self):
        """The spec to go back to: the running one, else the applied one."""
        return self.running_spec if self.state == "running" else self.applied_spec


@attrs.frozen
class Desired:
    """What the new document asks for; see the module docstring. An empty
    document (no shared networks) needs none of the other fields."""

    empty: bool = False
    spec: object = None
    config: object = attrs.field(default=None, repr=False)
    text: "str | None" = attrs.field(default=None, repr=False)
    # For a host change: the structure dhcpd serves with only the changed
    # hosts' declarations, what ``dhcpd -t`` must see (None: all of ``text``).
    check_text: "str | None" = attrs.field(default=None, repr=False)
    fingerprint: "str | None" = None
    changes: object = None  # NoChange, HostChanges or Restart; None when not known
    structure_same: "bool | None" = None  # all but hosts renders as served
    structure: "str | None" = None  # the rendered structure's digest, kept as applied
    dry_run: bool = False


@attrs.frozen
class Plan:
    """``action``: unchanged, applied-live, started, restarted, stopped, or
    with a dry run would-apply-live, would-start, would-restart, would-stop.
    ``hosts``: a live change's counts. ``fallback``: a live plan's restart."""

    action: str
    reason: str
    steps: tuple = ()
    hosts: "dict | None" = None
    fallback: "Plan | None" = None


def plan_stop(observed, reason, dry_run=False):
    """Stop dhcpd (and forget the applied state), for ``reason``."""
    running = observed.state != "off"
    if not running:
        action, reason = "unchanged", "dhcpd is already off"
    else:
        action = "would-stop" if dry_run else "stopped"
    return Plan(action, reason, (StopDhcpd(), SaveState()))


def plan_configure(observed, desired):
    """The `Plan` that takes ``observed`` to ``desired``; see the module docstring."""
    if desired.empty:
        return plan_stop(observed, "the document has no shared networks", desired.dry_run)
    reason = _restart_reason(observed, desired)
    if reason is not None:
        return _restart(observed, desired, reason)
    changes = desired.changes
    if isinstance(changes, NoChange):
        return Plan("unchanged", "the rendered config is what dhcpd already serves")
    return _live(observed, desired, changes)


def after_live_failure(plan, failure):
    """What a live ``plan`` becomes when its OMAPI changes fail with
    ``failure`` (a description): its fallback, a restart that says why.
    Its steps replace the live plan's remaining ones."""
    return attrs.evolve(plan.fallback,
                        reason=f"OMAPI failed ({failure}), so dhcpd is restarted instead")


def needs_diff(observed, spec):
    """Whether the plan for a document to run at ``spec`` reads its host
    diff at all: not when dhcpd must (re)start whatever the document says
    (rules 2 to 4), so the configurator can skip working it out."""
    return _before_diff(observed, spec) is None


def _before_diff(observed, spec):
    """Why dhcpd must read a new config whatever the diff (rules 2 to 4), or None."""
    if observed.state != "running":
        return f"dhcpd was {observed.state}"
    running = observed.running_spec
    if running != spec:
        changed = [name for name in _SPEC_FIELDS
                   if getattr(running, name, None) != getattr(spec, name)]
        return f"dhcpd must run with other {', '.join(changed) or 'settings'}"
    if not observed.config_known:
        return "what dhcpd serves is not known to this rackd"
    return None


def _restart_reason(observed, desired):
    """Why dhcpd must read a new config (rules 2 to 7), or None."""
    reason = _before_diff(observed, desired.spec)
    if reason is not None:
        return reason
    changes = desired.changes
    if isinstance(changes, NoChange):
        same = desired.fingerprint == observed.fingerprint
    elif isinstance(changes, HostChanges):
        same = bool(desired.structure_same)
    else:
        return changes.reason
    return None if same else BEYOND_HOSTS


def _restores(observed):
    """(text, spec) an undo goes back to: both, or neither when one is missing."""
    text, spec = observed.config_text, observed.previous_spec
    if text is None or spec is None:
        return None, None
    return text, spec


def _restart_steps(observed, desired):
    text, spec = _restores(observed)
    return (WriteConfig(desired.spec.config_path, desired.text, restore=text),
            EnsureRunning(desired.spec, restart=True, restore=spec),
            SaveState(desired.spec, desired.config, desired.structure))


def _restart(observed, desired, reason):
    started = observed.state != "running"
    if desired.dry_run:
        action = "would-start" if started else "would-restart"
    else:
        action = "started" if started else "restarted"
    check = CheckConfig(desired.text, desired.spec.dhcpd)
    return Plan(action, reason, (check,) + _restart_steps(observed, desired))


def _live(observed, desired, changes):
    text, spec = _restores(observed)
    counts = {"added": len(changes.add), "removed": len(changes.remove),
              "updated": len(changes.update), "renamed": len(changes.renamed)}
    steps = (CheckConfig(desired.check_text or desired.text, desired.spec.dhcpd),
             ApplyHosts(changes, restore=spec),
             WriteConfig(desired.spec.config_path, desired.text, restore=text),
             RecordConfig(desired.spec),
             SaveState(desired.spec, desired.config, desired.structure, changes.aliases))
    # Only reached with dhcpd running, so the fallback is a restart.
    fallback = Plan("restarted", "", _restart_steps(observed, desired))
    action = "would-apply-live" if desired.dry_run else "applied-live"
    return Plan(action, changes.reason, steps, counts, fallback)
