"""A refused config's errors placed in the document (`check.locate`), and how
they read: on recorded verdicts, and with the real ``dhcpd -t`` (marked ``dhcpd``)."""

import attrs
import pytest

from provisioningserver.dhcp import model
from provisioningserver.dhcp.render import render
from provisioningserver.dhcp.sourcemap import Origin, source_map
from provisioningserver.dhcpd.check import (
    CheckResult, DhcpdError, check_config, error_record, error_text, locate, located_text)
from tests.dhcp.samples import example, inputs_for

BAD = "log-facility local7;\nbogus-statement 1;\nping-check true;"


def _with_snippet(config, where, snippet):
    """``config`` with ``snippet`` added globally or to its first host."""
    if where == "global":
        return attrs.evolve(config, global_dhcp_snippets=config.global_dhcp_snippets + (snippet,))
    first = config.hosts[0]
    hosts = (attrs.evolve(first, dhcp_snippets=first.dhcp_snippets + (snippet,)),
             *config.hosts[1:])
    return attrs.evolve(config, hosts=hosts)


def test_locate_gives_each_lined_error_its_origin():
    """An error naming a line gets that line's origin; one without a line is kept as it was."""
    config = _with_snippet(example("pxe-v4.yaml"), "global",
                           model.Snippet(name="pxe-extra", value=BAD))
    text = render(config, inputs_for(config)).text
    line_num = text.split("\n").index("bogus-statement 1;") + 1
    result = CheckResult(ok=False, errors=(
        DhcpdError("semicolon expected.", line_num, "bogus-statement 1;", 17),
        DhcpdError("failover peer unknown")))
    located = locate(result, source_map(config, text))
    assert located.errors[0].origin == Origin(path="global_dhcp_snippets[1]",
                                              snippet="pxe-extra", line=2)
    assert located.errors[1] == result.errors[1]
    assert located_text(located.errors[0]) == (
        "in snippet 'pxe-extra' (global_dhcp_snippets[1]) line 2: semicolon expected. "
        f"(rendered line {line_num})")


def test_error_text_without_an_origin_is_the_rendered_line():
    """Not located: dhcpd's line number leads, as before; with no line, only the message."""
    assert error_text("expecting ;", 12) == "line 12: expecting ;"
    assert error_text("dhcpd rejected the config") == "dhcpd rejected the config"
    assert located_text(DhcpdError("expecting ;", 12)) == "line 12: expecting ;"


def test_error_record_carries_the_origin_in_words_and_parts():
    """The JSON record has dhcpd's keys and where, path, snippet and snippet_line."""
    error = DhcpdError("expecting ;", 12, "foo", 3,
                       origin=Origin(path="hosts[0].dhcp_snippets[0]", snippet="s", line=1))
    assert error_record(error) == {
        "error": "expecting ;", "line_num": 12, "line": "foo", "position": 3,
        "where": "in snippet 's' (hosts[0].dhcp_snippets[0]) line 1",
        "path": "hosts[0].dhcp_snippets[0]", "snippet": "s", "snippet_line": 1}
    assert error_record(DhcpdError("x"))["where"] is None


@pytest.mark.dhcpd
@pytest.mark.parametrize("name, where, path", [
    ("lab-v4.yaml", "global", "global_dhcp_snippets"),
    ("lab-v4.yaml", "host", "hosts[0].dhcp_snippets"),
    ("lab-v6.yaml", "global", "global_dhcp_snippets"),
])
def test_real_dhcpd_rejection_names_the_snippet_and_its_line(name, where, path):
    """dhcpd really ran on a config whose snippet is bad on its second line: the
    located error names that snippet, its path and line 2."""
    config = example(name)
    existing = len(config.global_dhcp_snippets) if where == "global" else len(
        config.hosts[0].dhcp_snippets)
    config = _with_snippet(config, where, model.Snippet(name="pxe-extra", value=BAD))
    text = render(config, inputs_for(config)).text
    result = check_config(text, config.ip_version)
    assert not result.ok, result.output
    located = locate(result, source_map(config, text))
    first = located.errors[0]
    assert first.origin == Origin(path=f"{path}[{existing}]", snippet="pxe-extra", line=2), (
        result.output)
    assert located_text(first).startswith(
        f"in snippet 'pxe-extra' ({path}[{existing}]) line 2: ")
