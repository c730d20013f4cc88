"""From what is applied to what is desired: the plan (pure).

dhcpd can change host reservations live over OMAPI but nothing else, so the
plan is one of three values:

- `NoChange`: the desired document is what dhcpd serves;
- `HostChanges`: only reservations differ, and they can go live: hosts to
  remove, update and add, in that order (keyed by MAC and subnet, as dhcpd's
  host objects are found by MAC). OMAPI cannot rename a host object, so a
  host whose name alone changed is left as it is in dhcpd, under its old
  name: an *alias* (``HostChanges.aliases``, kept in the applied state until
  a restart writes the names anew), and later changes to it address dhcpd's
  name. A rename with any other change is a remove and an add, and a new
  host whose name dhcpd still holds for a renamed one needs a restart;
- `Restart`: dhcpd must read a new config, with every reason why.

A restart is needed when anything but the hosts changed (each top-level part
is named), when a host's snippets or option overrides changed (OMAPI host
objects carry neither), when a host's change cannot be expressed over OMAPI
(IPv6 reservations unless the caller says OMAPI handles them), when the OMAPI
key changed (the old key no longer reaches dhcpd), or when the batch is large
enough that the cost model prefers a restart.

The cost model prices both paths in seconds. Live changes cost their count
divided by the measured OMAPI rate, and no outage. A restart costs its
measured time (check plus start, growing with the hosts declared and the
leases file that dhcpd must read) plus a fixed *outage penalty*: the price
put on the exchanges a restart drops and on the disturbance of a failover
partner (doubled when pools have a partner). The penalty is the threshold an
operator tunes: with the defaults, a restart wins only when live changes
would take about 20 s longer than the restart's own work (some 68,000
changes at 2,500/s).

The defaults come from bench/omapi_live.py (BENCHMARKS.md, "Live host
reservations") on a 2-core machine: 10,000 new hosts went live through rackd
at 2,700-3,000/s, where dhcpd's fsync of its leases file for every change is
the ceiling of any OMAPI client (about 4,000/s there), so 2,500/s leaves room
for a slower disk; a restart through rackd cost about 0.5-0.8 s plus
0.1-0.2 ms per host declared. By time alone a restart is cheaper from about
2,000 changes; the penalty keeps them live far beyond that, because live
changes dropped no DHCP request in those runs while every restart dropped
50-170 ms of them (and a client whose DISCOVER is dropped waits out its
retransmission backoff, seconds, not milliseconds).

The choice is made here, before the first change is sent (`CostModel.price`
gives both prices and the winner), never by an OMAPI failure halfway: the
client times out only a dhcpd that has stopped answering, not one busy with
its fsyncs, and it paces a batch of any size by its window. Growing a site
from 10,000 to 50,000 hosts (40,000 adds, about 16 s at 2,500/s) stays live
against a restart priced at 25.5 s; bench/omapi_rate.py measured rackd's
client at medians of 2,030-3,160/s for 10,000 adds on a shared 2-core
machine, under best raw pipelined medians of 3,060-3,780/s, so 2,500/s is
the rate to keep
(BENCHMARKS.md, "OMAPI at its limit").
"""

import attrs

from provisioningserver.dhcp.hosttable import HostTable
from provisioningserver.dhcp.subnetindex import SubnetIndex


@attrs.frozen
class CostModel:
    live_changes_per_second: float = 2500.0
    restart_base_seconds: float = 0.5
    restart_seconds_per_host: float = 0.0001
    restart_seconds_per_leases_mb: float = 0.05
    outage_penalty_seconds: float = 20.0
    failover_penalty_seconds: float = 20.0

    def live_cost(self, changes):
        return changes / self.live_changes_per_second

    def restart_cost(self, hosts, leases_bytes=0, failover=False):
        return (self.restart_base_seconds
                + hosts * self.restart_seconds_per_host
                + leases_bytes / 1e6 * self.restart_seconds_per_leases_mb
                + self.outage_penalty_seconds
                + (self.failover_penalty_seconds if failover else 0.0))

    def price(self, changes, hosts, leases_bytes=0, failover=False):
        """Both paths priced for ``changes`` host changes to a site of
        ``hosts``, decided before any change is sent."""
        return Pricing(self.live_cost(changes),
                       self.restart_cost(hosts, leases_bytes, failover))


@attrs.frozen
class Pricing:
    """The seconds each path is priced at, and which one wins."""

    live_seconds: float
    restart_seconds: float

    @property
    def restart(self):
        return self.restart_seconds < self.live_seconds


@attrs.frozen
class NoChange:
    reason: str = "the document is what dhcpd serves"


@attrs.frozen
class HostChanges:
    remove: tuple = ()
    add: tuple = ()
    update: tuple = ()  # (applied Host, desired Host) pairs: same MAC and subnet, new IP
    reason: str = ""
    # (applied Host, desired Host) pairs that differ in their name alone:
    # nothing to send, dhcpd keeps the object under the name it has.
    renamed: tuple = ()
    # Document name -> the name dhcpd knows that host by, where they differ:
    # before these changes (for the removes and updates) and after them.
    dhcpd_names: dict = attrs.field(factory=dict, hash=False)
    aliases: dict = attrs.field(factory=dict, hash=False)

    @property
    def count(self):
        """The changes sent over OMAPI."""
        return len(self.remove) + len(self.add) + len(self.update)

    def dhcpd_name(self, name):
        """The name dhcpd holds the applied host ``name`` under."""
        return self.dhcpd_names.get(name, name)


@attrs.frozen
class Restart:
    reasons: tuple

    @property
    def reason(self):
        return "; ".join(self.reasons)


_STRUCTURE = ("shared_networks", "failover_peers", "interfaces", "global_dhcp_snippets",
              "ipxe_machine_script", "ipxe_enlist_script")


def host_key(config, host, subnets=None):
    """(MAC, subnet) of a host: dhcpd finds host objects by MAC, and the same
    MAC may be reserved once in each subnet. ``subnets``, the config's
    `SubnetIndex`, saves building one per call: `plan` builds one per config."""
    home = (subnets if subnets is not None else SubnetIndex.of(config)).home(host.ip)
    return host.mac, home.subnet_cidr if home is not None else None


def plan(applied, desired, *, leases_bytes=0, cost=CostModel(), omapi_v6=False, aliases=None):
    """The `NoChange`, `HostChanges` or `Restart` that turns ``applied``
    (a `DHCPConfig`, or None when nothing runs) into ``desired``;
    ``aliases``: the applied hosts dhcpd knows by another name (document
    name -> dhcpd's), left by earlier live renames."""
    if applied is None:
        return Restart(("dhcpd is not running a config of rackd's yet",))
    if applied == desired:
        return NoChange()
    reasons = [f"{name} changed" for name in _STRUCTURE
               if getattr(applied, name) != getattr(desired, name)]
    if applied.omapi_key != desired.omapi_key:
        reasons.append("the OMAPI key changed")
    # Every step is linear in the hosts: one subnet index per config, dict
    # lookups by key, and the renames split off in the same pass (a test of
    # each pair against a tuple of renames took 8 s for 10,000 renames).
    # A host an incremental read copied from the applied ones, or that is
    # the very object applied, is unchanged: only the others are keyed and compared.
    before, after = _not_kept(applied.hosts, desired.hosts)
    applied_subnets, desired_subnets = SubnetIndex.of(applied), SubnetIndex.of(desired)
    old = {host_key(applied, h, applied_subnets): h for h in before}
    new = {host_key(desired, h, desired_subnets): h for h in after}
    remove = tuple(old[k] for k in old if k not in new)
    add = tuple(new[k] for k in new if k not in old)
    changed = [(old[k], new[k]) for k in new if k in old and old[k] != new[k]]
    # OMAPI cannot rename a host object. A host that differs in its name
    # alone needs nothing sent: dhcpd's object serves the same client, and
    # keeps its name (an alias) until the next restart. A rename with other
    # changes is a remove and an add.
    pure, renamed, update = [], [], []
    for pair in changed:
        before, after = pair
        if before.host == after.host or _declared(before) != _declared(after):
            update.append(pair)
        elif attrs.evolve(before, host=after.host) == after:
            pure.append(pair)
        else:
            renamed.append(pair)
    update = tuple(update)
    remove += tuple(before for before, _ in renamed)
    add += tuple(after for _, after in renamed)
    dhcpd_names = dict(aliases or {})
    names = _after(dhcpd_names, remove, pure)
    held = set(names.values())
    for host in add:
        if host.host in held:
            reasons.append(f"host {host.host} takes the name dhcpd still holds for a "
                           f"renamed host ({_holder(names, host.host)})")
    for host in remove + add:
        if host.dhcp_snippets:
            reasons.append(f"host {host.host} has snippets, which OMAPI cannot carry")
        if host.options:
            reasons.append(f"host {host.host} has option overrides, which OMAPI cannot carry")
    for before, after in update:
        if before.dhcp_snippets != after.dhcp_snippets:
            reasons.append(f"the snippets of host {after.host} changed")
        if before.options != after.options:
            reasons.append(f"the option overrides of host {after.host} changed")
    if desired.ip_version == 6 and not omapi_v6 and (remove or add or update):
        reasons.append("IPv6 reservations are not changed over OMAPI")
    if reasons:
        return Restart(tuple(reasons))
    changes = HostChanges(remove=remove, add=add, update=update, renamed=tuple(pure),
                          dhcpd_names=dhcpd_names, aliases=names)
    failover = any(p.failover_peer for net in desired.shared_networks
                   for s in net.subnets for p in s.pools)
    priced = cost.price(changes.count, len(desired.hosts), leases_bytes, failover)
    live, restart = priced.live_seconds, priced.restart_seconds
    if priced.restart:
        return Restart((f"{changes.count} host changes would take about {live:.1f} s live; "
                        f"a restart is priced at {restart:.1f} s including its outage",))
    renames = f", {len(pure)} renamed" if pure else ""
    return attrs.evolve(changes, reason=(
        f"{len(add)} added, {len(remove)} removed, {len(update)} updated{renames} live "
        f"(about {live:.2f} s; a restart is priced at {restart:.1f} s)"))


def _not_kept(applied, desired):
    """The applied hosts and the desired ones that are not the same hosts:
    by the desired table's lineage when it was read against the applied one
    (`hosttable`), else by identity."""
    if isinstance(desired, HostTable) and desired.derived_from(applied):
        return [applied[k] for k in desired.gone], [desired[i] for i in desired.fresh]
    if desired is applied:
        return [], []
    # A table makes a new Host at each access: held in tuples, so that no
    # identity is a freed one's reused.
    applied, desired = tuple(applied), tuple(desired)
    kept = {id(h) for h in applied}.intersection(map(id, desired))
    return ([h for h in applied if id(h) not in kept], [h for h in desired if id(h) not in kept])


def _after(aliases, removed, renamed):
    """The aliases once ``removed`` hosts are gone (an alias goes with its
    host; a rename with other changes is removed and added under its own
    name) and ``renamed`` (pairs) keep their dhcpd objects."""
    names = dict(aliases)
    for host in removed:
        names.pop(host.host, None)
    # All at once: two hosts may swap names.
    held = [(after.host, names.pop(before.host, before.host)) for before, after in renamed]
    names.update(held)
    return {name: held for name, held in names.items() if name != held}


def _holder(names, held):
    return next(name for name, dhcpd in names.items() if dhcpd == held)


def _declared(host):
    """What only the config file can give a host (OMAPI host objects carry neither)."""
    return (host.dhcp_snippets, host.options)
