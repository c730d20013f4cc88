"""The control socket's commands, in memory: arguments, replies, declared errors."""

import json

import pytest
from twisted.internet import defer
from twisted.protocols import amp
from twisted.test import iosim

from provisioningserver.dhcp.errors import DocumentError, Problem
from provisioningserver.dhcp.sourcemap import Origin
from provisioningserver.dhcpd.check import CheckResult, DhcpdError
from provisioningserver.rpc import control
from provisioningserver.rpc.local import ControlLocator
from provisioningserver.services.configure import (
    ConfigRejected, DhcpdMissing, Outcome, StartFailed)
from provisioningserver.system.packed import PackedJSON, unpack
from tests.rpc.test_arguments import big_document


# Any document the guard against stopping lets through: the fake reads none.
SOME_NETWORK = {"shared_networks": [{"name": "lan"}]}


class FakeConfigurator:
    def __init__(self, raises=None):
        self.raises = raises
        self.received = []

    def configure(self, ip_version, document, dry_run):
        self.received.append((ip_version, unpack(document), dry_run))  # as it came: packed
        if self.raises is not None:
            return defer.fail(self.raises)
        return defer.succeed(Outcome(ip_version, "restarted", "the config changed", "abcd"))

    def stop(self, ip_version):
        return defer.succeed(Outcome(ip_version, "stopped", "stop requested"))

    failover_status = None  # set as makeService sets the Configurator's

    def status(self):
        status = {"v4": {"state": "running", "pid": 7}, "v6": {"state": "off", "pid": None}}
        if self.failover_status is not None:
            status["v4"]["failover_state"] = self.failover_status()
        return status


def pair(configurator):
    server = amp.AMP(locator=ControlLocator(configurator, run_in_thread=defer.maybeDeferred))
    client = amp.AMP()
    _, _, pump = iosim.connectedServerAndClient(lambda: server, lambda: client)
    return client, pump


def call(configurator, command, connection=None, **arguments):
    client, pump = connection or pair(configurator)
    results = []
    client.callRemote(command, **arguments).addBoth(results.append)
    pump.flush()
    assert results, "no reply"
    return results[0]


def test_configure_carries_a_fifty_thousand_host_document():
    """A 50,000-host document reaches the configurator whole; the outcome comes back."""
    configurator = FakeConfigurator()
    document = big_document()
    reply = call(configurator, control.Configure, ip_version=4, document=document)
    assert configurator.received == [(4, document, False)]
    assert reply["outcome"]["action"] == "restarted"
    assert reply["outcome"]["fingerprint"] == "abcd"


@pytest.mark.parametrize("error, code, check", [
    (DocumentError([Problem("hosts[0].ip", "198.19.0.1 is not in any subnet")]),
     b"INVALID_DOCUMENT",
     lambda d: d["errors"] == [{"field": "hosts[0].ip", "error": "198.19.0.1 is not in any subnet"}]),
    (ConfigRejected(CheckResult(ok=False, errors=(DhcpdError("expecting ;", 12, "foo bar", 4),),
                                output="...")),
     b"CONFIG_REJECTED",
     lambda d: d["errors"][0].items() >= {"error": "expecting ;", "line_num": 12,
                                          "line": "foo bar", "position": 4,
                                          "where": None}.items()),
    (StartFailed("dhcpd exited", True, True), b"DHCPD_FAILED",
     lambda d: d["rolled_back"] and d["restored"] and "restored" in d["error"]),
    (DhcpdMissing("dhcpd not found"), b"ENVIRONMENT", lambda d: d["error"] == "dhcpd not found"),
    (RuntimeError("boom"), b"ENVIRONMENT", lambda d: "internal error: RuntimeError" in d["error"]),
    (OSError(28, "No space left on device", "/var/lib/rackd/dhcpd.conf"), b"ENVIRONMENT",
     lambda d: d["error"].startswith("cannot write /var/lib/rackd/dhcpd.conf: No space left")
     and "internal" not in d["error"]),
], ids=["invalid-document", "config-rejected", "dhcpd-failed", "dhcpd-missing", "unexpected",
        "disk-full"])
def test_internal_errors_become_declared_errors(error, code, check):
    """Each failure reaches the caller as its declared error with a JSON description;
    the connection stays usable (nothing undeclared closes it)."""
    configurator = FakeConfigurator(raises=error)
    connection = pair(configurator)
    failure = call(configurator, control.Configure, connection, ip_version=4,
                   document=SOME_NETWORK)
    declared = {v: k for k, v in control.ERRORS.items()}[code]
    failure.trap(declared)
    assert check(json.loads(str(failure.value)))
    assert call(configurator, control.GetStatus, connection)["status"]["v4"]["pid"] == 7


@pytest.mark.parametrize("before", ["the previous config still serves", "nothing served before"])
def test_config_rejected_says_where_and_what_serves(before):
    """A rejection reaches the caller with each error's place in the document and what
    serves meanwhile, in its own key and in the sentence of ``error``."""
    origin = Origin(path="global_dhcp_snippets[0]", snippet="pxe-extra", line=2)
    rejected = ConfigRejected(CheckResult(ok=False, errors=(
        DhcpdError("semicolon expected.", 47, "bogus 1;", 6, origin=origin),)), before=before)
    failure = call(FakeConfigurator(raises=rejected), control.Configure, ip_version=4,
                   document={}, allow_stop=True)  # {}: past the empty-document guard
    failure.trap(control.ConfigRejected)
    details = json.loads(str(failure.value))
    assert details["before"] == before
    assert details["error"] == f"dhcpd rejected the rendered config; {before}"
    assert details["errors"][0]["where"] == (
        "in snippet 'pxe-extra' (global_dhcp_snippets[0]) line 2")
    assert (details["errors"][0]["snippet"], details["errors"][0]["snippet_line"]) == (
        "pxe-extra", 2)


def test_bad_ip_version_is_an_invalid_document_naming_the_field():
    """ip_version other than 4 or 6 is refused, naming ip_version."""
    failure = call(FakeConfigurator(), control.Configure, ip_version=5, document={})
    failure.trap(control.InvalidDocument)
    assert json.loads(str(failure.value))["errors"][0]["field"] == "ip_version"


def test_status_and_stop_replies():
    """GetStatus returns the configurator's report; StopDHCP its outcome."""
    assert call(FakeConfigurator(), control.GetStatus)["status"]["v4"]["pid"] == 7
    assert call(FakeConfigurator(), control.StopDHCP, ip_version=6)["outcome"]["action"] == "stopped"


@pytest.mark.parametrize("document", [{}, {"shared_networks": []}, {"shared_networks": None},
                                      {"hosts": []}])
def test_a_document_without_shared_networks_needs_allow_stop(document):
    """Without allow_stop, a document with no shared networks is refused as an
    invalid document naming shared_networks and the flag; dhcpd is not stopped
    (the configurator never sees it). A dry run is refused the same way."""
    for dry_run in (False, True):
        configurator = FakeConfigurator()
        failure = call(configurator, control.Configure, ip_version=4, document=document,
                       dry_run=dry_run)
        failure.trap(control.InvalidDocument)
        [problem] = json.loads(str(failure.value))["errors"]
        assert problem["field"] == "shared_networks" and "--allow-stop" in problem["error"]
        assert configurator.received == []


def test_allow_stop_hands_an_empty_document_to_the_configurator():
    """With allow_stop, a document with no shared networks goes to the
    configurator, which stops that family's dhcpd as before."""
    configurator = FakeConfigurator()
    call(configurator, control.Configure, ip_version=6, document={"shared_networks": []},
         allow_stop=True)
    assert configurator.received == [(6, {"shared_networks": []}, False)]


def test_a_document_that_is_not_a_mapping_is_left_to_the_validation():
    """The guard reads only mappings; anything else reaches the configurator,
    whose validation names what is wrong."""
    configurator = FakeConfigurator()
    call(configurator, control.Configure, ip_version=4, document=["not", "a", "mapping"])
    assert configurator.received == [(4, ["not", "a", "mapping"], False)]


def test_the_applied_document_again_is_not_parsed_for_the_stop_guard():
    """A configurator that serves these very bytes already needs no look at
    their shared networks: nothing is parsed on the way in."""
    configurator = FakeConfigurator()
    configurator.serves = lambda ip_version, document: True
    parsed = []
    server = amp.AMP(locator=ControlLocator(
        configurator, run_in_thread=lambda f, *a: parsed.append(f) or defer.maybeDeferred(f, *a)))
    client = amp.AMP()
    _, _, pump = iosim.connectedServerAndClient(lambda: server, lambda: client)
    results = []
    client.callRemote(control.Configure, ip_version=4, document=SOME_NETWORK).addBoth(
        results.append)
    pump.flush()
    assert results[0]["outcome"]["action"] == "restarted" and parsed == []
    configurator.serves = lambda ip_version, document: False
    client.callRemote(control.Configure, ip_version=4, document=SOME_NETWORK).addBoth(
        results.append)
    pump.flush()
    assert len(parsed) == 1


def test_a_document_nested_past_the_parser_is_an_invalid_document():
    """JSON nested 100,000 deep over the control socket is the declared
    InvalidDocument naming the document's depth limit (the connection stays),
    not an undeclared RecursionError; the configurator never sees it."""
    configurator = FakeConfigurator()
    client, pump = pair(configurator)
    deep = PackedJSON(b'{"hosts": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    failure = call(configurator, control.Configure, (client, pump), ip_version=4, document=deep)
    failure.trap(control.InvalidDocument)
    [problem] = json.loads(str(failure.value))["errors"]
    assert problem["error"].startswith("document nests lists and mappings more than 64 levels")
    assert configurator.received == []
    assert call(configurator, control.GetStatus, (client, pump))["status"]["v4"]["pid"] == 7
