"""The plan from applied to desired: nothing, live host changes, or a restart.

Written as tables: each row is an edit of a base document and the plan it
must produce.
"""

import copy

import attrs
import pytest

from provisioningserver.dhcp import incremental
from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.hosttable import HostTable
from provisioningserver.dhcp.plan import CostModel, HostChanges, NoChange, Restart, plan

KEY = "dGhpcy1pcy1hLWRlbW8ta2V5LW5vdC1zZWNyZXQ="
OTHER_KEY = "b3RoZXIta2V5LWZvci10aGUtdGVzdHMtLS0tLS0t"


def host(n, ip=None, name=None, snippets=()):
    return {"host": name or f"node-{n}", "mac": f"52:54:00:00:00:{n:02x}",
            "ip": ip or f"198.18.0.{n}", "dhcp_snippets": list(snippets)}


BASE = {
    "omapi_key": KEY,
    "shared_networks": [{"name": "net", "subnets": [
        {"subnet_cidr": "198.18.0.0/24", "router_ip": "198.18.0.1",
         "pools": [{"ip_range_low": "198.18.0.100", "ip_range_high": "198.18.0.200"}]},
        {"subnet_cidr": "198.18.1.0/24"}]}],
    "hosts": [host(10), host(11)],
}
SNIPPET = {"name": "s", "value": "option host-name \"x\";"}


def edit(**changes):
    doc = copy.deepcopy(BASE)
    for path, value in changes.items():
        target = doc
        *parents, last = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value
    return doc


def cfg(doc, version=4):
    return parse_document(doc, version)


PLAN_ROWS = [
    (BASE, NoChange, None),
    (edit(hosts=[host(10), host(11), host(12)]), HostChanges, dict(add=["node-12"])),
    (edit(hosts=[host(10)]), HostChanges, dict(remove=["node-11"])),
    (edit(hosts=[host(10), host(11, ip="198.18.0.31")]), HostChanges, dict(update=["node-11"])),
    (edit(hosts=[host(10), host(11, name="renamed")]), HostChanges, dict(renamed=["renamed"])),
    (edit(hosts=[host(10), host(11, name="renamed", ip="198.18.0.31")]), HostChanges,
     dict(remove=["node-11"], add=["renamed"])),
    (edit(hosts=[host(10), host(11, ip="198.18.1.11")]), HostChanges,
     dict(remove=["node-11"], add=["node-11"])),
    (edit(hosts=[host(10), host(11), host(12, snippets=[SNIPPET])]), Restart,
     "host node-12 has snippets"),
    (edit(hosts=[host(10), host(11, snippets=[SNIPPET])]), Restart,
     "the snippets of host node-11 changed"),
    (edit(omapi_key=OTHER_KEY), Restart, "the OMAPI key changed"),
    (edit(shared_networks__0__subnets__0__dns_servers=["198.18.0.2"]), Restart,
     "shared_networks changed"),
    (edit(global_dhcp_snippets=[SNIPPET]), Restart, "global_dhcp_snippets changed"),
    (edit(interfaces=["eth0"]), Restart, "interfaces changed"),
    (edit(failover_peers=[{"name": "p", "mode": "primary", "address": "198.18.0.2",
                           "peer_address": "198.18.0.3"}],
          shared_networks__0__subnets__0__pools__0__failover_peer="p"),
     Restart, "failover_peers changed"),
]


@pytest.mark.parametrize("desired, kind, expect", PLAN_ROWS, ids=["same", "add", "remove", "update-ip", "rename", "rename-and-move", "move-subnet", "new-host-snippet",
        "changed-host-snippet", "omapi-key", "subnet-option", "global-snippet", "interfaces",
        "failover"])
def test_plan_table(desired, kind, expect):
    """Each edit of the applied document yields the expected kind of plan."""
    result = plan(cfg(BASE), cfg(desired))
    assert type(result) is kind
    if kind is HostChanges:
        got = {"add": [h.host for h in result.add], "remove": [h.host for h in result.remove],
               "update": [new.host for _, new in result.update],
               "renamed": [new.host for _, new in result.renamed]}
        assert {k: v for k, v in got.items() if v} == expect
        assert "live" in result.reason
    elif kind is Restart:
        assert expect in result.reason


def _summary(result):
    if isinstance(result, HostChanges):
        return ("live", sorted(h.host for h in result.add), sorted(h.host for h in result.remove),
                sorted(new.host for _, new in result.update),
                sorted(new.host for _, new in result.renamed))
    return type(result).__name__, getattr(result, "reason", None)


@pytest.mark.parametrize("plain", [False, True], ids=["with-snippet-lists", "plain-hosts"])
def test_plan_of_tables_read_one_against_the_other_is_the_plan_of_tuples(plain):
    """Every row of the plan table, with the configs read as rackd reads them (the
    desired hosts a table read against the applied one: its lineage says which are
    unchanged): the same plan as from full reads."""
    strip = (lambda d: {**d, "hosts": [{k: v for k, v in h.items() if k != "dhcp_snippets"
                                        or v} for h in d["hosts"]]}) if plain else (lambda d: d)
    for desired, _, _ in PLAN_ROWS:
        applied = incremental.read_document(strip(BASE), 4)
        read = incremental.read_document(strip(desired), 4, applied)
        assert read.config.hosts.derived_from(applied.config.hosts)
        assert _summary(plan(applied.config, read.config)) == \
            _summary(plan(cfg(strip(BASE)), cfg(strip(desired))))


def test_nothing_applied_means_restart():
    """With no config of rackd's running, the only way is to start dhcpd."""
    assert isinstance(plan(None, cfg(BASE)), Restart)


def test_ipv6_host_changes_restart_unless_omapi_handles_them():
    """IPv6 reservations restart dhcpd, unless the caller says OMAPI handles v6."""
    doc6 = {"shared_networks": [{"name": "n", "subnets": [{"subnet_cidr": "2001:db8::/64"}]}],
            "hosts": [{"host": "a", "mac": "52:54:00:00:00:01", "ip": "2001:db8::a"}]}
    more = copy.deepcopy(doc6)
    more["hosts"].append({"host": "b", "mac": "52:54:00:00:00:02", "ip": "2001:db8::b"})
    assert "IPv6 reservations" in plan(cfg(doc6, 6), cfg(more, 6)).reason
    assert isinstance(plan(cfg(doc6, 6), cfg(more, 6), omapi_v6=True), HostChanges)


@pytest.mark.parametrize("changes, leases_mb, failover, expect", [
    (1, 0, False, HostChanges),
    (10_000, 0, False, HostChanges),
    (65_000, 0, False, HostChanges),
    (72_000, 0, False, Restart),
    (72_000, 0, True, HostChanges),
    (72_000, 100, False, HostChanges),
], ids=["one", "ten-thousand", "just-below", "just-above", "failover-raises-the-bar",
        "big-leases-file-raises-the-bar"])
def test_cost_model_crossover(changes, leases_mb, failover, expect):
    """The cost model picks live below ~68,000 changes (as many hosts declared) at the defaults; a failover
    partner and a large leases file make a restart dearer."""
    cost = CostModel()
    live = cost.live_cost(changes)
    restart = cost.restart_cost(changes, leases_mb * 1_000_000, failover)
    assert (Restart if restart < live else HostChanges) is expect


@pytest.mark.parametrize("applied, desired, failover, penalty, expect", [
    (0, 10_000, False, 20.0, "live"),
    (10_000, 11_000, False, 20.0, "live"),
    (10_000, 50_000, False, 20.0, "live"),
    (50_000, 10_000, False, 20.0, "live"),
    (10_000, 100_000, False, 20.0, "restart"),
    (10_000, 100_000, True, 20.0, "live"),
    (10_000, 50_000, False, 0.0, "restart"),
    (10_000, 11_000, False, 0.0, "live"),
], ids=["first-ten-thousand", "a-thousand-more", "grow-10k-to-50k", "shrink-50k-to-10k",
        "grow-10k-to-100k", "grow-10k-to-100k-with-failover", "grow-10k-to-50k-no-penalty",
        "a-thousand-more-no-penalty"])
def test_growing_a_site_is_decided_before_any_change(applied, desired, failover, penalty,
                                                     expect):
    """A hosts-only change is priced against a restart up front, from the
    count of changes and the hosts the new config declares: 40,000 adds
    (10k -> 50k hosts, about 16 s at 2,500/s) stay live against a restart
    priced at 25.5 s; 90,000 do not, unless a failover partner makes the
    restart dearer; an operator who puts no price on the outage gets a
    restart as soon as it is quicker."""
    cost = CostModel(outage_penalty_seconds=penalty)
    priced = cost.price(abs(desired - applied), desired, failover=failover)
    assert ("restart" if priced.restart else "live") == expect
    assert priced.live_seconds == abs(desired - applied) / cost.live_changes_per_second


def test_plan_of_growing_10k_to_50k_hosts_is_live_with_both_prices():
    """Through plan itself: an applied config of 10,000 hosts and a desired
    one of 50,000 give 40,000 live adds, the reason naming both prices."""
    def site(count):
        doc = copy.deepcopy(BASE)
        doc["shared_networks"][0]["subnets"].append({"subnet_cidr": "10.0.0.0/8"})
        doc["hosts"] = [{"host": f"n{i}", "mac": "52:54:%02x:%02x:%02x:01" % (
            i >> 16, (i >> 8) & 255, i & 255),
            "ip": f"10.{(i + 1) >> 16}.{((i + 1) >> 8) & 255}.{(i + 1) & 255}"}
            for i in range(count)]
        return cfg(doc)

    result = plan(site(10_000), site(50_000))
    assert isinstance(result, HostChanges) and len(result.add) == 40_000
    assert "about 16.00 s; a restart is priced at 25.5 s" in result.reason


def test_large_batch_is_planned_as_restart_with_both_prices():
    """When the model prefers a restart, the reason gives both prices."""
    cheap_outage = CostModel(outage_penalty_seconds=0.0, live_changes_per_second=1.0)
    result = plan(cfg(BASE), cfg(edit(hosts=[host(n) for n in range(10, 40)])), cost=cheap_outage)
    assert isinstance(result, Restart)
    assert "host changes would take about" in result.reason


def test_plans_are_values():
    """Plans compare by value, so tests and callers can enumerate them."""
    assert plan(cfg(BASE), cfg(BASE)) == NoChange()
    assert attrs.evolve(Restart(("a",)), reasons=("b",)) == Restart(("b",))


def test_many_renames_mixed_with_updates():
    """Renames among other changes: every host renamed and nothing else is
    left to dhcpd under its old name (nothing sent), in document order, and
    the address changes stay updates (correctness only; the plan is linear,
    bench/parse_scale.py times it)."""
    many = [host(n, ip=f"198.18.1.{n}") for n in range(2, 202)]
    applied = cfg(edit(hosts=many))
    desired_hosts = [host(n, ip=f"198.18.1.{n}", name=f"new-{n}") if n % 2 else
                     host(n, ip=f"198.18.1.{n + 200}" if n < 50 else f"198.18.1.{n}")
                     for n in range(2, 202)]
    result = plan(applied, cfg(edit(hosts=desired_hosts)))
    odd = range(3, 202, 2)
    assert isinstance(result, HostChanges)
    assert result.remove == result.add == ()
    assert [(a.host, b.host) for a, b in result.renamed] == [
        (f"node-{n}", f"new-{n}") for n in odd]
    assert result.aliases == {f"new-{n}": f"node-{n}" for n in odd}
    assert result.count == len(result.update)
    assert [(a.host, str(b.ip)) for a, b in result.update] == [
        (f"node-{n}", f"198.18.1.{n + 200}") for n in range(2, 50, 2)]


def test_host_key_with_and_without_an_index():
    """host_key gives the (MAC, subnet) pair whether or not the caller hands in an index."""
    from provisioningserver.dhcp.plan import host_key
    from provisioningserver.dhcp.subnetindex import SubnetIndex
    config = cfg(BASE)
    index = SubnetIndex.of(config)
    for h in config.hosts:
        home = config.subnets[0].subnet_cidr
        assert host_key(config, h) == host_key(config, h, index) == (h.mac, home)


def test_hosts_shared_by_identity_are_unchanged_and_the_rest_are_diffed():
    """An incremental read hands back the applied Host objects for unchanged
    hosts: those count as unchanged without being keyed, and an added,
    moved or removed host among them is still found."""
    applied = cfg(edit(hosts=[host(10), host(11), host(12)]))
    added = cfg(edit(hosts=[host(13)])).hosts[0]
    moved = attrs.evolve(applied.hosts[1], ip=added.ip.__class__("198.18.0.61"))
    desired = attrs.evolve(applied, hosts=(applied.hosts[0], moved, added))
    result = plan(applied, desired)
    assert isinstance(result, HostChanges)
    assert result.add == (added,) and result.remove == (applied.hosts[2],)
    assert result.update == ((applied.hosts[1], moved),)


def test_an_alias_follows_its_host_through_later_changes():
    """Renamed twice, dhcpd still holds the first name; an address change or
    a removal of that host is sent under dhcpd's name, and the alias goes
    with a removal."""
    applied = cfg(BASE)
    once = cfg(edit(hosts=[host(10), host(11, name="a")]))
    first = plan(applied, once)
    assert first.aliases == {"a": "node-11"} and first.count == 0
    twice = cfg(edit(hosts=[host(10), host(11, name="b")]))
    second = plan(once, twice, aliases=first.aliases)
    assert second.aliases == {"b": "node-11"}
    moved = cfg(edit(hosts=[host(10), host(11, name="b", ip="198.18.0.31")]))
    third = plan(twice, moved, aliases=second.aliases)
    [(old, new)] = third.update
    assert third.dhcpd_name(old.host) == "node-11" and third.aliases == {"b": "node-11"}
    gone = plan(twice, cfg(edit(hosts=[host(10)])), aliases=second.aliases)
    [removed] = gone.remove
    assert gone.dhcpd_name(removed.host) == "node-11" and gone.aliases == {}


def test_a_rename_back_drops_the_alias_and_a_swap_sends_nothing():
    """Renamed back to dhcpd's name, no alias is left; two hosts swapping
    names send nothing and alias each other."""
    renamed = cfg(edit(hosts=[host(10), host(11, name="a")]))
    back = plan(renamed, cfg(BASE), aliases={"a": "node-11"})
    assert back.aliases == {} and back.count == 0
    swapped = cfg(edit(hosts=[host(10, name="node-11"), host(11, name="node-10")]))
    swap = plan(cfg(BASE), swapped)
    assert swap.count == 0 and swap.aliases == {"node-11": "node-10", "node-10": "node-11"}


def test_a_new_host_with_a_name_dhcpd_holds_for_another_restarts():
    """dhcpd holds node-11 for the host now called a: a new host named node-11
    cannot be added beside it, so the plan restarts (which writes every
    name anew)."""
    renamed = cfg(edit(hosts=[host(10), host(11, name="a")]))
    taken = cfg(edit(hosts=[host(10), host(11, name="a"), host(12, name="node-11")]))
    result = plan(renamed, taken, aliases={"a": "node-11"})
    assert isinstance(result, Restart)
    assert "host node-11 takes the name dhcpd still holds for a renamed host (a)" in result.reason


def test_tables_not_read_one_against_the_other_are_compared_host_by_host():
    """The applied table read from the state file and a desired one read whole
    (a rackd just restarted): no lineage, so every host is compared, and a
    changed one is found however the hosts made for the comparison are laid
    out in memory."""
    applied = cfg(edit(hosts=[host(n) for n in range(10, 40)]))
    desired = cfg(edit(hosts=[host(n, ip="198.18.0.99" if n == 20 else None)
                             for n in range(10, 40)]))
    for _ in range(20):
        result = plan(attrs.evolve(applied, hosts=HostTable.of(applied.hosts)),
                      attrs.evolve(desired, hosts=HostTable.of(desired.hosts)))
        assert [new.host for _, new in result.update] == ["node-20"]
