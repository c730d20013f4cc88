"""The ``metrics`` key of rackd.yaml: on at 127.0.0.1:5249 by default, an
address:port, or false; anything else is an error naming the key."""

import pytest
from twisted.internet import task

from provisioningserver.config import RackdConfig, config_from_mapping
from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.tap import makeService


def test_metrics_are_on_at_localhost_by_default():
    """Without the key, the endpoint listens on 127.0.0.1:5249."""
    assert RackdConfig().metrics_address == ("127.0.0.1", 5249)
    assert config_from_mapping({}).metrics_address == ("127.0.0.1", 5249)


@pytest.mark.parametrize("text, address", [
    ("127.0.0.1:9100", ("127.0.0.1", 9100)),
    ("198.18.0.1:5249", ("198.18.0.1", 5249)),
    ("[::1]:5249", ("::1", 5249)),
    ("0.0.0.0:5249", ("0.0.0.0", 5249)),
])
def test_an_address_and_port_are_read(text, address):
    """IPv4 as address:port, IPv6 in brackets."""
    assert config_from_mapping({"metrics": text}).metrics_address == address


def test_false_turns_the_endpoint_off():
    """metrics: false means no endpoint."""
    config = config_from_mapping({"metrics": False})
    assert config.metrics is None and config.metrics_address is None


@pytest.mark.parametrize("value, message", [
    (True, "expected address:port or false, got True"),
    (None, "expected address:port or false, got None"),
    (5249, "expected address:port or false, got 5249"),
    ("localhost:5249", "expected an IP address to listen on, got 'localhost'"),
    ("127.0.0.1", "expected address:port with a TCP port, got '127.0.0.1'"),
    ("127.0.0.1:0", "expected address:port with a TCP port, got '127.0.0.1:0'"),
    ("127.0.0.1:70000", "expected address:port with a TCP port, got '127.0.0.1:70000'"),
    ("::1:5249", "an IPv6 address goes in brackets ([::1]:5249), got '::1:5249'"),
    ("[127.0.0.1]:5249", "expected an IPv6 address in brackets, got '[127.0.0.1]:5249'"),
])
def test_bad_values_are_errors_naming_the_key(value, message):
    """Every bad value is refused with the key and what was wrong."""
    with pytest.raises(DocumentError) as caught:
        config_from_mapping({"metrics": value})
    assert [(p.path, p.message) for p in caught.value.problems] == [("metrics", message)]


def test_make_service_adds_the_endpoint_unless_off(tmp_path):
    """makeService has a "metrics" service at the configured address, and none
    with metrics: false."""
    base = {"state_dir": str(tmp_path / "state"), "run_dir": str(tmp_path / "run"),
            "lease_events": False}
    top = makeService(config_from_mapping({**base, "metrics": "127.0.0.1:9100"}),
                      reactor=task.Clock())
    assert top.getServiceNamed("metrics").address == ("127.0.0.1", 9100)
    top = makeService(config_from_mapping({**base, "metrics": False}), reactor=task.Clock())
    assert "metrics" not in [s.name for s in top]


def test_make_service_wires_the_sources(tmp_path):
    """The endpoint makeService builds reads rackd's own services: both dhcpd
    monitors (off), the forwarder's backlog (no region: waiting) and, with
    nothing applied, no pools."""
    from prometheus_client.parser import text_string_to_metric_families

    config = config_from_mapping({"state_dir": str(tmp_path / "state"),
                                  "run_dir": str(tmp_path / "run")})
    top = makeService(config, reactor=task.Clock())
    try:
        body = top.getServiceNamed("metrics").factory.page().decode("utf-8")
    finally:
        top.getServiceNamed("lease-events").journal.close()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(body) for s in family.samples}
    assert samples[("rackd_dhcpd_state", (("family", "4"), ("state", "off")))] == 1
    assert samples[("rackd_dhcpd_state", (("family", "6"), ("state", "off")))] == 1
    # No region in this config: the forwarder is standalone, not idle waiting for one.
    assert samples[("rackd_forwarder_state", (("state", "standalone"),))] == 1
    assert samples[("rackd_journal_pending_events", ())] == 0
    assert not [name for name, _ in samples if name.startswith("rackd_pool_")]
