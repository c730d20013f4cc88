"""One log line per configure run (services.configurelog)."""

from twisted.logger import Logger
from twisted.python.failure import Failure

from provisioningserver.dhcp.errors import DocumentError, Problem
from provisioningserver.dhcp.sourcemap import Origin
from provisioningserver.dhcpd.check import CheckResult, DhcpdError
from provisioningserver.services.configure import ConfigRejected, Outcome, StartFailed
from provisioningserver.services.configurelog import ConfigureLog, describe


def failure(error):
    try:
        raise error
    except Exception:
        return Failure()


def test_an_outcome_names_family_action_duration_and_reason():
    """A successful run: info, with the action, the duration and the reason."""
    level, text = describe(4, Outcome(4, "restarted", "dns_servers changed"), 0.61)
    assert level == "info"
    assert text == "IPv4 configure: restarted in 0.61 s: dns_servers changed"


def test_a_live_change_carries_its_host_counts():
    """Hosts applied live: the added, removed and updated counts."""
    outcome = Outcome(6, "applied-live", "2 hosts changed",
                      hosts={"added": 1, "removed": 0, "updated": 1})
    assert describe(6, outcome, 0.042)[1] == (
        "IPv6 configure: applied-live in 0.042 s: 2 hosts changed (hosts +1 -0 ~1)")


def test_an_invalid_document_names_its_first_problems_and_counts_the_rest():
    """A warning with the first three problems and how many more."""
    problems = [Problem(f"hosts[{i}].mac", "not a MAC address") for i in range(5)]
    level, text = describe(4, failure(DocumentError(problems)), 0.003)
    assert level == "warn"
    assert "invalid document in 0.003 s: 5 problems: hosts[0].mac" in text
    assert "hosts[2].mac" in text and "hosts[3].mac" not in text and "and 2 more" in text


def test_a_rejected_config_names_dhcpds_line_and_says_nothing_changed():
    """dhcpd -t said no: its message and line, and that the running config stays."""
    result = CheckResult(ok=False, errors=(DhcpdError("expecting a parameter", line_num=40),))
    level, text = describe(4, failure(ConfigRejected(result)), 0.2)
    assert level == "warn"
    assert "rejected by dhcpd in 0.2 s: line 40: expecting a parameter; nothing was changed" in text


def test_a_located_rejection_names_the_snippet_and_what_still_serves():
    """A rejection located in the document leads with the snippet and its line, and
    says what serves meanwhile."""
    error = DhcpdError("semicolon expected.", line_num=47,
                       origin=Origin(path="global_dhcp_snippets[0]", snippet="pxe-extra", line=2))
    rejected = ConfigRejected(CheckResult(ok=False, errors=(error,)),
                              before="the previous config still serves")
    level, text = describe(4, failure(rejected), 0.2)
    assert level == "warn"
    assert text == (
        "IPv4 configure: rejected by dhcpd in 0.2 s: in snippet 'pxe-extra' "
        "(global_dhcp_snippets[0]) line 2: semicolon expected. (rendered line 47); "
        "nothing was changed: the previous config still serves")


def test_a_failed_start_is_an_error_with_its_rollback():
    """dhcpd did not come up: an error line saying what was restored."""
    level, text = describe(4, failure(StartFailed("exited 1", True, True)), 1.5)
    assert level == "error" and "failed in 1.5 s" in text and "previous config was restored" in text


def test_the_listener_logs_one_line_per_run():
    """ConfigureLog, as an on_outcome listener, emits exactly one event."""
    seen = []
    logger = Logger(observer=seen.append)
    ConfigureLog(logger)(4, Outcome(4, "unchanged", "no change"), 0.01)
    assert len(seen) == 1 and seen[0]["text"] == "IPv4 configure: unchanged in 0.01 s: no change"
