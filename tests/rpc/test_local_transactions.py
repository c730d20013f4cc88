"""The transaction log commands of the control socket (GetTransactions,
GetProblems), in memory."""

import json

import pytest
from twisted.internet import task

from provisioningserver.leases.txlog import parse_transaction
from provisioningserver.rpc import control
from provisioningserver.rpc.local import LeaseViews
from provisioningserver.leases.journal import Journal
from provisioningserver.leases.problems import ProblemCounts
from tests.rpc.test_local_leases import call

LINES = [
    "DHCPDISCOVER from 52:54:00:00:00:0a via r0",
    "DHCPOFFER on 198.18.0.50 to 52:54:00:00:00:0a (host-0a) via r0",
    "DHCPREQUEST for 198.18.0.50 (198.18.0.1) from 52:54:00:00:00:0a (host-0a) via r0",
    "DHCPACK on 198.18.0.50 to 52:54:00:00:00:0a via r0",
    "DHCPDISCOVER from 52:54:00:00:00:0c via r0: network 198.18.0.0/24: no free leases",
]


def views(tmp_path):
    clock = task.Clock()
    clock.advance(1000)
    clock.time = clock.seconds
    journal = Journal(str(tmp_path / "j.db"), clock=clock)
    problems = ProblemCounts(lambda v: None, clock)
    journal.transaction_observers.append(problems)
    journal.record([], "dhcpd4", (1, 1), [parse_transaction(line) for line in LINES[:2]])
    clock.advance(100)
    journal.record([], "dhcpd4", (1, 2), [parse_transaction(line) for line in LINES[2:]])
    return LeaseViews(journal, lambda v: None, clock, problems=problems)


def test_transactions_by_mac_ip_since_and_limit(tmp_path):
    """GetTransactions filters like the journal, normalising the MAC, and
    sends every field."""
    leases = views(tmp_path)
    got = call(leases, control.GetTransactions, mac="52:54:0:0:0:A")["transactions"]
    assert [t["type"] for t in got] == ["DISCOVER", "OFFER", "REQUEST", "ACK"]
    assert got[1] == {"family": 4, "type": "OFFER", "time": 1000.0, "mac": "52:54:00:00:00:0a",
                      "duid": None, "ip": "198.18.0.50", "interface": "r0", "relay": None,
                      "server": None, "hostname": "host-0a", "peer": None, "xid": None,
                      "network": None, "reason": None}
    got = call(leases, control.GetTransactions, ip="198.18.0.50", since=1050.0)["transactions"]
    assert [t["type"] for t in got] == ["REQUEST", "ACK"]
    got = call(leases, control.GetTransactions, limit=1)["transactions"]
    assert [t["mac"] for t in got] == ["52:54:00:00:00:0c"]


@pytest.mark.parametrize("arguments, field", [
    ({"mac": "52:54:00"}, "mac"), ({"ip": "198.18.0.500"}, "ip"), ({"limit": 0}, "limit"),
    ({"since": float("nan")}, "since"),
])
def test_bad_filters_are_refused_naming_the_field(tmp_path, arguments, field):
    """A bad filter fails InvalidDocument naming the field."""
    failure = call(views(tmp_path), control.GetTransactions, **arguments)
    failure.trap(control.InvalidDocument)
    assert json.loads(failure.value.args[0])["errors"][0]["field"] == field


def test_problems_are_reported_with_the_last_minute(tmp_path):
    """GetProblems lists the per-pool counts."""
    assert call(views(tmp_path), control.GetProblems)["problems"] == [
        {"family": 4, "subnet": "198.18.0.0/24", "pool": None, "kind": "no_free_leases",
         "count": 1, "last_minute": 1}]
