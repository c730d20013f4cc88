"""Lease reports from the latest events and the applied configs (pure)."""

import attrs

from provisioningserver.dhcp.leaserecord import LeaseEvent
from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.model import Host
from provisioningserver.leases import reports

DOC = {
    "shared_networks": [{"name": "lab", "subnets": [{
        "subnet_cidr": "198.18.0.0/24",
        "pools": [{"ip_range_low": "198.18.0.100", "ip_range_high": "198.18.0.109"}],
    }]}],
    "hosts": [{"host": "known", "mac": "02:00:00:00:00:aa", "ip": "198.18.0.5"}],
}


def config(doc=DOC):
    """The document's config, with a reservation inside the pool: the
    document checks refuse that, but dhcpd serves such a config when it
    comes another way (an OMAPI host, an older state file), and the report
    must count it right."""
    config = parse_document(doc, 4)
    inside = Host(host="inside", mac="02:00:00:00:00:bb", ip="198.18.0.105")
    return attrs.evolve(config, hosts=config.hosts + (inside,))


def event(action, ip, mac, when=1000.0, lease_time=600, unknown=None):
    return LeaseEvent(action=action, ip_family=4, ip=ip, mac=mac, lease_time=lease_time,
                      timestamp=when, unknown_client=unknown)


LATEST = [
    event("commit", "198.18.0.100", "02:00:00:00:00:01", unknown=True),
    event("commit", "198.18.0.101", "02:00:00:00:00:02", when=100.0),  # ran out
    event("release", "198.18.0.102", "02:00:00:00:00:03"),
    event("commit", "198.18.0.105", "02:00:00:00:00:bb", unknown=False),
    event("commit", "198.18.5.1", "02:00:00:00:00:04", unknown=True),
]


def test_current_leases_are_unexpired_commits_grouped_by_subnet():
    """Only commits whose lease has not run out are current; those outside
    every served subnet are listed apart."""
    report = reports.current_leases(LATEST, [config(), None], now=1100.0)
    assert [g["subnet"] for g in report] == ["198.18.0.0/24", None]
    assert [x["ip"] for x in report[0]["leases"]] == ["198.18.0.100", "198.18.0.105"]
    assert report[0]["leases"][0]["ends"] == 1600.0
    assert [x["ip"] for x in report[1]["leases"]] == ["198.18.5.1"]


def test_pool_usage_counts_leases_and_reservations_once():
    """A leased reserved address counts once: size 10, 2 active, 1 reserved,
    2 used, 8 free, 20%."""
    (pool,) = reports.pool_usage(LATEST, [config()], now=1100.0)
    assert pool == {"subnet": "198.18.0.0/24", "range": "198.18.0.100-198.18.0.109",
                    "size": 10, "active": 2, "reserved": 1, "free": 8, "percent_used": 20.0}


def test_unknown_clients_are_flagged_commits_without_reservation():
    """Commits dhcpd flagged unknown are listed per MAC, unless a reservation
    now names the MAC."""
    macs = [c["mac"] for c in reports.unknown_clients(LATEST, [config()])]
    assert macs == ["02:00:00:00:00:01", "02:00:00:00:00:04"]
    doc = dict(DOC, hosts=DOC["hosts"] + [
        {"host": "enrolled", "mac": "02:00:00:00:00:01", "ip": "198.18.0.50"}])
    enrolled = config(doc)
    assert [c["mac"] for c in reports.unknown_clients(LATEST, [enrolled])] == [
        "02:00:00:00:00:04"]


def test_a_reservation_enrols_a_mac_however_the_event_spelled_it():
    """An event whose MAC is written unpadded or in capitals (as older journals
    and dhcpd's log may hold it) is left out once a reservation names it."""
    latest = [event("commit", "198.18.0.100", "2:0:0:0:0:A1", unknown=True),
              event("commit", "198.18.0.101", "not-a-mac", unknown=True)]
    doc = dict(DOC, hosts=DOC["hosts"] + [
        {"host": "enrolled", "mac": "02:00:00:00:00:a1", "ip": "198.18.0.50"}])
    assert [c["mac"] for c in reports.unknown_clients(latest, [config(doc)])] == ["not-a-mac"]


def test_no_config_means_no_pools_and_one_group():
    """With nothing applied, pools is empty and every lease is 'outside'."""
    assert reports.pool_usage(LATEST, [None, None], now=1100.0) == []
    (group,) = reports.current_leases(LATEST, [None, None], now=1100.0)
    assert group["subnet"] is None


def test_pool_usage_with_leases_of_both_families():
    """IPv4 and IPv6 leases together: each pool counts only its own family's
    (addresses of different families do not even compare)."""
    doc6 = {"shared_networks": [{"name": "lab", "subnets": [{
        "subnet_cidr": "2001:db8::/64",
        "pools": [{"ip_range_low": "2001:db8::100", "ip_range_high": "2001:db8::1ff"}],
    }]}]}
    config6 = parse_document(doc6, 6)
    latest = LATEST + [LeaseEvent(action="commit", ip_family=6, ip="2001:db8::100",
                                  lease_time=600, timestamp=1000.0)]
    pool4, pool6 = reports.pool_usage(latest, [config(), config6], now=1100.0)
    assert (pool4["active"], pool6["active"], pool6["size"]) == (2, 1, 256)


def test_pool_usage_follows_a_new_config_and_counts_by_range():
    """The reservations are indexed per config: a new config (more hosts in
    the pool, at both ends of its range and just outside it) is counted
    afresh, each address once."""
    first = config()
    assert reports.pool_usage(LATEST, [first], now=1100.0)[0]["reserved"] == 1
    edges = [Host(host=f"e{i}", mac=f"02:00:00:00:01:{i:02x}", ip=ip) for i, ip in enumerate(
        ("198.18.0.99", "198.18.0.100", "198.18.0.109", "198.18.0.110"))]
    second = attrs.evolve(first, hosts=first.hosts + tuple(edges))
    (pool,) = reports.pool_usage(LATEST, [second], now=1100.0)
    # Reserved: .100, .105, .109; leased: .100 (also reserved) and .105 (also reserved).
    assert (pool["reserved"], pool["active"], pool["free"]) == (3, 2, 7)
    assert reports.pool_usage(LATEST, [first], now=1100.0)[0]["reserved"] == 1
