"""No free leases and NAKs counted per subnet and pool (leases.problems)."""

from twisted.internet.task import Clock

from provisioningserver.dhcp.document import parse_document
from provisioningserver.leases.txlog import parse_transaction
from provisioningserver.leases.problems import UNKNOWN, ProblemCounts

V4 = parse_document({"shared_networks": [{
    "name": "lab", "interface": "r0", "subnets": [
        {"subnet_cidr": "198.18.0.0/24",
         "pools": [{"ip_range_low": "198.18.0.50", "ip_range_high": "198.18.0.51"}]},
        {"subnet_cidr": "198.18.2.0/24",
         "pools": [{"ip_range_low": "198.18.2.10", "ip_range_high": "198.18.2.10"},
                   {"ip_range_low": "198.18.2.20", "ip_range_high": "198.18.2.29"}]},
    ]}]}, 4)
V6 = parse_document({"shared_networks": [{
    "name": "v6", "subnets": [{"subnet_cidr": "2001:db8:2::/64", "pools": [
        {"ip_range_low": "2001:db8:2::100", "ip_range_high": "2001:db8:2::100"}]}]}]}, 6)

# Recorded lines (tests/leases/data/dhcpd_transactions.log).
NO_FREE = "DHCPDISCOVER from 52:54:00:00:00:0c via r0: network 198.18.0.0/24: no free leases"
NO_FREE_RELAYED = ("DHCPDISCOVER from 52:54:00:00:01:0b via 198.18.2.1: network "
                   "198.18.2.0/24: no free leases")
NAK_WRONG_NET = "DHCPNAK on 198.18.9.9 to 52:54:00:00:00:0d via r0"
NAK_IN_POOL = "DHCPNAK on 198.18.0.50 to 52:54:00:00:00:0e via r0"
NAK_RELAYED = "DHCPNAK on 198.18.0.77 to 52:54:00:00:01:0c via 198.18.2.1"
NOADDRS = ("Unable to pick client address: no addresses available  - shared network "
           "2001:db8:2::/64: 1 total, 1 active,  0 abandoned")


def _counts(now=1000.0, configs=None):
    clock = Clock()
    clock.advance(now)
    configs = configs if configs is not None else {4: V4, 6: V6}
    return ProblemCounts(configs.get, clock), clock


def _feed(counts, clock, *lines):
    counts([parse_transaction(line, clock.seconds()) for line in lines])


def test_each_problem_is_charged_to_its_subnet_and_pool():
    """no free leases go to the named network (its pool when it has one); a
    NAK to the pool of its address, else the relay's subnet, else the
    interface's; v6 no-addresses to its subnet; other transactions not at all."""
    counts, clock = _counts()
    _feed(counts, clock, NO_FREE, NO_FREE, NO_FREE_RELAYED, NAK_WRONG_NET, NAK_IN_POOL,
          NAK_RELAYED, NOADDRS, "DHCPACK on 198.18.0.50 to 52:54:00:00:00:0a via r0")
    assert counts.problem_counts() == [
        (4, "198.18.0.0/24", None, "nak", 1),
        (4, "198.18.0.0/24", "198.18.0.50-198.18.0.51", "nak", 1),
        (4, "198.18.0.0/24", "198.18.0.50-198.18.0.51", "no_free_leases", 2),
        (4, "198.18.2.0/24", None, "nak", 1),
        (4, "198.18.2.0/24", None, "no_free_leases", 1),
        (6, "2001:db8:2::/64", "2001:db8:2::100-2001:db8:2::100", "no_free_leases", 1),
    ]


def test_without_an_applied_config_problems_still_count():
    """Nothing applied (or no subnet matches): dhcpd's network, else unknown."""
    counts, clock = _counts(configs={})
    _feed(counts, clock, NO_FREE, NAK_WRONG_NET)
    assert counts.problem_counts() == [(4, "198.18.0.0/24", None, "no_free_leases", 1),
                                       (4, UNKNOWN, None, "nak", 1)]


def test_last_minute_shows_a_storm_and_forgets_it():
    """last_minute counts the window only; the totals keep counting."""
    counts, clock = _counts()
    _feed(counts, clock, *[NAK_IN_POOL] * 50)
    clock.advance(30)
    _feed(counts, clock, NAK_IN_POOL)
    [row] = counts.problems()
    assert (row["count"], row["last_minute"]) == (51, 51)
    clock.advance(45)
    [row] = counts.problems()
    assert (row["count"], row["last_minute"]) == (51, 1)
    clock.advance(60)
    assert counts.problems()[0]["last_minute"] == 0
    assert len(counts._recent) == 0  # per-second buckets, all gone
