"""The lease report commands of the control socket, in memory."""

import json

from twisted.internet import task
from twisted.protocols import amp
from twisted.test import iosim

from provisioningserver.dhcp.leaserecord import LeaseEvent
from provisioningserver.dhcp.document import parse_document
from provisioningserver.rpc import control
from provisioningserver.rpc.local import ControlLocator, LeaseViews
from provisioningserver.leases.journal import Journal
from tests.rpc.test_local import FakeConfigurator

DOC = {"shared_networks": [{"name": "lab", "subnets": [{
    "subnet_cidr": "198.18.0.0/24",
    "pools": [{"ip_range_low": "198.18.0.100", "ip_range_high": "198.18.0.103"}]}]}]}


class FakeForwarder:
    def status(self):
        return {"state": "waiting", "pending": 1}


def call(leases, command, **arguments):
    server = amp.AMP(locator=ControlLocator(FakeConfigurator(), leases))
    client = amp.AMP()
    _, _, pump = iosim.connectedServerAndClient(lambda: server, lambda: client)
    results = []
    client.callRemote(command, **arguments).addBoth(results.append)
    pump.flush()
    return results[0]


def views(tmp_path):
    journal = Journal(str(tmp_path / "j.db"))
    journal.record([
        LeaseEvent(action="commit", ip_family=4, ip="198.18.0.100", mac="02:00:00:00:00:01",
                   lease_time=600, timestamp=1000.0, unknown_client=True),
        LeaseEvent(action="commit", ip_family=4, ip="198.18.0.101", mac="02:00:00:00:00:02",
                   lease_time=600, timestamp=1001.0, unknown_client=False),
    ], "test")
    config = parse_document(DOC, 4)
    clock = task.Clock()
    clock.advance(1100)
    return LeaseViews(journal, lambda v: config if v == 4 else None, clock, FakeForwarder())


def test_leases_pools_and_unknown_come_from_the_journal(tmp_path):
    """GetLeases, GetPools and GetUnknown answer from the journal and the
    applied config."""
    leases = views(tmp_path)
    (group,) = call(leases, control.GetLeases)["leases"]
    assert [x["ip"] for x in group["leases"]] == ["198.18.0.100", "198.18.0.101"]
    (pool,) = call(leases, control.GetPools)["pools"]
    assert (pool["size"], pool["active"], pool["free"], pool["percent_used"]) == (4, 2, 2, 50.0)
    assert [c["mac"] for c in call(leases, control.GetUnknown)["clients"]] == [
        "02:00:00:00:00:01"]


def test_history_by_ip_or_mac_normalises_the_mac(tmp_path):
    """GetHistory filters by ip or by mac; an upper-case, unpadded MAC matches."""
    leases = views(tmp_path)
    by_ip = call(leases, control.GetHistory, ip="198.18.0.101")["events"]
    assert [e["mac"] for e in by_ip] == ["02:00:00:00:00:02"]
    by_mac = call(leases, control.GetHistory, mac="2:0:0:0:0:1")["events"]
    assert [e["ip"] for e in by_mac] == ["198.18.0.100"]


def test_history_refuses_bad_filters_naming_the_field(tmp_path):
    """Neither or both filters, or a malformed one, is a declared
    InvalidDocument naming the field; the connection stays usable."""
    leases = views(tmp_path)
    for arguments, field in [({}, "ip"), ({"ip": "nope"}, "ip"), ({"mac": "zz:1"}, "mac"),
                             ({"mac": "gg:00:00:00:00:01"}, "mac")]:
        failure = call(leases, control.GetHistory, **arguments)
        assert failure.check(control.InvalidDocument), arguments
        assert json.loads(failure.value.args[0])["errors"][0]["field"] == field


def test_reports_without_lease_events_are_an_environment_problem():
    """With lease events off, the reports fail with a declared error."""
    failure = call(None, control.GetLeases)
    assert failure.check(control.EnvironmentProblem)
    assert "lease_events" in json.loads(failure.value.args[0])["error"]


def test_status_includes_the_forwarder(tmp_path):
    """GetStatus carries the lease events' status next to dhcpd's."""
    status = call(views(tmp_path), control.GetStatus)["status"]
    assert status["lease_events"] == {"state": "waiting", "pending": 1}
    assert status["v4"]["state"] == "running"
