"""Moving the real dhcpd 4.4 to partner-down over OMAPI (its own dhcpd, in a
network namespace, with a failover peer whose partner never answers)."""

import pytest

from tests.omapi.test_dhcpd import PEER, Lab

pytestmark = pytest.mark.lab


@pytest.fixture
def dhcpd(tmp_path):
    lab = Lab(tmp_path)
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()


def test_set_partner_down_over_omapi(dhcpd):
    """A peer out of touch with its partner moves to partner-down when told over OMAPI,
    and the failover-state object then says so, with a new state time."""
    before, = dhcpd.drive([{"op": "failover_state", "name": PEER}])["results"]
    assert before["ok"]["local_state"] != "partner-down"
    moved, after = dhcpd.drive([
        {"op": "set_failover_local_state", "name": PEER, "state_name": "partner-down"},
        {"op": "failover_state", "name": PEER},
    ])["results"]
    assert "ok" in moved, moved
    assert after["ok"]["local_state"] == "partner-down"
    assert after["ok"]["local_since"] >= before["ok"]["local_since"]
    dhcpd.assert_alive()
