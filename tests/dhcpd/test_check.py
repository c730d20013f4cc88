"""Checking configs with ``dhcpd -t``: parsing its verdict (pure, on recorded
output), calling it (with a fake process runner), and the real dhcpd on every
golden and example (marked ``dhcpd``)."""

import os
import stat
import subprocess

import attrs
import pytest

from provisioningserver.dhcp import model
from provisioningserver.dhcp.render import render
from provisioningserver.dhcpd.check import (
    CHECK_PREFIX, CHECK_SUFFIX, DhcpdError, DhcpdNotFound, check_config, check_directory,
    parse_errors)
from tests.dhcp.samples import GOLDEN, GOLDENS, KEY, example, example_version, examples, inputs_for

RECORDED = """\
Internet Systems Consortium DHCP Server 4.4.3-P1
Copyright 2004-2022 Internet Systems Consortium.
All rights reserved.
For info, please visit https://www.isc.org/software/dhcp/
/tmp/x.conf line 34: semicolon expected.
    interface-mtu 9000;
                   ^
/tmp/x.conf line 62: empty shared-network decl
}
 ^
Configuration file errors encountered -- exiting

exiting.
"""


def test_parse_errors_reads_line_text_and_caret():
    """Each 'FILE line N: message' becomes an error with the line dhcpd showed and the
    caret's column."""
    assert parse_errors(RECORDED, "/tmp/x.conf") == (
        DhcpdError("semicolon expected.", 34, "    interface-mtu 9000;", 19),
        DhcpdError("empty shared-network decl", 62, "}", 1),
    )


def test_parse_errors_ignores_other_files():
    """Problems dhcpd reports about another file (an include) are not this config's lines."""
    assert parse_errors(RECORDED, "/tmp/other.conf") == ()


def test_parse_errors_redacts_secret_lines():
    """A secret on the line dhcpd echoes is masked in the error."""
    output = f'/tmp/x.conf line 3: semicolon expected.\n  secret "{KEY}" x\n  ^\n'
    (error,) = parse_errors(output, "/tmp/x.conf")
    assert KEY not in error.line and error.line == '  secret "<redacted>" x'


class FakeRun:
    """Stands in for subprocess.run: records the call and the file as dhcpd would see it."""

    def __init__(self, returncode=0, stderr="", raises=None):
        self.returncode, self.stderr, self.raises = returncode, stderr, raises
        self.argv = self.mode = self.text = None

    def __call__(self, argv, **kwargs):
        self.argv = argv
        path = argv[argv.index("-cf") + 1]
        self.mode = stat.S_IMODE(os.stat(path).st_mode)
        with open(path) as stream:
            self.text = stream.read()
        if self.raises:
            raise self.raises
        return subprocess.CompletedProcess(argv, self.returncode, "",
                                           self.stderr.replace("FILE", path))


@pytest.mark.parametrize("version", [4, 6])
def test_check_config_calls_dhcpd_with_family_before_cf(version):
    """dhcpd is run as 'dhcpd -t -4|-6 -cf FILE' on a private (0600) copy of the text,
    which is removed afterwards."""
    run = FakeRun()
    result = check_config("authoritative;\n", version, dhcpd="/bin/true", run=run)
    assert result.ok and result.errors == ()
    assert run.argv[:4] == ["/bin/true", "-t", f"-{version}", "-cf"]
    assert run.mode == 0o600 and run.text == "authoritative;\n"
    assert not os.path.exists(run.argv[4])


def test_check_config_writes_the_file_in_the_directory_it_is_given(tmp_path):
    """With a directory (the agent's run_dir), the check file is made there, named
    CHECK_PREFIX...CHECK_SUFFIX as the AppArmor drop-in allows, and removed after."""
    run = FakeRun()
    assert check_config("authoritative;\n", 4, dhcpd="/bin/true", directory=str(tmp_path),
                        run=run).ok
    path = run.argv[4]
    assert os.path.dirname(path) == str(tmp_path)
    name = os.path.basename(path)
    assert name.startswith(CHECK_PREFIX) and name.endswith(CHECK_SUFFIX)
    assert os.listdir(tmp_path) == []


def test_check_directory_is_the_preferred_one_only_where_it_can_be_written(tmp_path):
    """check_directory keeps a directory this process may write, and falls back to
    the system's temporary directory (None) for a missing one or a file."""
    assert check_directory(str(tmp_path)) == str(tmp_path)
    assert check_directory(str(tmp_path / "missing")) is None
    (tmp_path / "file").write_text("")
    assert check_directory(str(tmp_path / "file")) is None


def test_agent_checks_in_its_run_dir(tmp_path):
    """The agent makeService builds runs dhcpd -t on a file in its run_dir, not in /tmp
    (Debian's AppArmor profile would keep dhcpd from reading /tmp)."""
    from twisted.internet import task

    from provisioningserver.config import config_from_mapping
    from provisioningserver.tap import makeService

    config = config_from_mapping({"state_dir": str(tmp_path / "state"),
                                  "run_dir": str(tmp_path / "run"), "lease_events": False})
    top = makeService(config, reactor=task.Clock())
    (configurator,) = [s.configurator for s in top if hasattr(s, "configurator")]
    run = FakeRun()
    assert configurator.checker("authoritative;\n", 4, "/bin/true", run=run).ok
    assert os.path.dirname(run.argv[4]) == str(tmp_path / "run")


def test_check_config_reports_rejection_and_scrubs_secrets():
    """A failed run gives its located errors; the config's secret never shows in output."""
    stderr = f'FILE line 2: semicolon expected.\n  x {KEY}\n   ^\n'
    run = FakeRun(returncode=1, stderr=stderr)
    result = check_config(f'secret "{KEY}";\nx', 4, dhcpd="/bin/true", run=run)
    assert not result.ok
    assert result.errors == (DhcpdError("semicolon expected.", 2, "  x <redacted>", 3),)
    assert KEY not in result.output


def test_check_config_unlocated_error():
    """A rejection with no line number still gives one error: dhcpd's last real words."""
    stderr = ("For info, please visit https://www.isc.org/software/dhcp/\n"
              "failover peer x: unknown something\n"
              "Configuration file errors encountered -- exiting\n\nexiting.\n")
    result = check_config("", 4, dhcpd="/bin/true", run=FakeRun(returncode=1, stderr=stderr))
    assert result.errors == (DhcpdError("failover peer x: unknown something"),)


def test_check_config_timeout():
    """A dhcpd that hangs is reported as a failed check, not waited on forever."""
    run = FakeRun(raises=subprocess.TimeoutExpired(["dhcpd"], 2))
    result = check_config("", 4, dhcpd="/bin/true", timeout=2, run=run)
    assert not result.ok and result.errors == (DhcpdError("dhcpd -t did not finish within 2 s"),)


def test_missing_dhcpd_raises():
    """With no dhcpd at the given path, check_config raises DhcpdNotFound."""
    with pytest.raises(DhcpdNotFound):
        check_config("", 4, dhcpd="/nonexistent/dhcpd")


# The real dhcpd.

@pytest.mark.dhcpd
def test_a_line_dhcpd_cuts_inside_a_utf8_character_is_still_reported():
    """dhcpd echoes the offending line up to where its lexer stopped, here
    inside the three bytes of U+202E: the result is the refusal with that
    line (the broken character replaced), not a UnicodeDecodeError that
    crashed rackctl check and the agent's configure (found by the fuzzer)."""
    result = check_config("authoritative;\nping\u202eg-check false;\n", 4)
    assert not result.ok
    (error,) = result.errors
    assert (error.error, error.line_num, error.line) == ("semicolon expected.", 2, "ping\ufffd")

@pytest.mark.dhcpd
@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_real_dhcpd_accepts_golden(name):
    """dhcpd -t accepts every golden file."""
    result = check_config((GOLDEN / f"{name}.conf").read_text(), 6 if name.endswith("v6") else 4)
    assert result.ok, result.output


@pytest.mark.dhcpd
@pytest.mark.parametrize("name", examples())
def test_real_dhcpd_accepts_example(name):
    """dhcpd -t accepts every example document, rendered with and without rack addresses."""
    config = example(name)
    for relayed in ((), tuple(str(s.subnet_cidr) for s in config.subnets)):
        text = render(config, inputs_for(config, relayed=relayed)).text
        result = check_config(text, example_version(name))
        assert result.ok, result.output


def _with_global_snippet(config, value):
    return attrs.evolve(config, global_dhcp_snippets=config.global_dhcp_snippets + (
        model.Snippet(name="broken", value=value),))


@pytest.mark.dhcpd
@pytest.mark.parametrize("name", ["lab-v4.yaml", "lab-v6.yaml"])
def test_real_dhcpd_rejects_broken_snippet_with_its_line(name):
    """dhcpd really ran: a broken snippet is rejected at its own line, with the line and
    a caret inside it."""
    config = _with_global_snippet(example(name), "default-lease-time many;")
    text = render(config, inputs_for(config)).text
    expected = text.splitlines().index("default-lease-time many;") + 1
    result = check_config(text, config.ip_version)
    assert not result.ok
    assert result.errors[0] == DhcpdError(
        "expecting number.", expected, "default-lease-time many;", 20), result.output


@pytest.mark.dhcpd
def test_real_dhcpd_error_on_secret_line_is_redacted():
    """When dhcpd's complaint is about a line holding a secret, neither the errors nor the
    output contain that secret."""
    secret = "c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhay0xMjM0NTY="
    config = _with_global_snippet(example("lab-v4.yaml"),
                                  f'key other {{ algorithm HMAC-MD5; secret "{secret}" oops; }};')
    text = render(config, inputs_for(config)).text
    result = check_config(text, 4)
    assert not result.ok
    assert any(e.line_num is not None for e in result.errors)
    assert secret not in result.output and secret not in repr(result.errors)
    assert config.omapi_key not in result.output
