"""rackctl log: argument checking and TIME parsing, before the agent is asked."""

import datetime
import io
import json

import pytest

from provisioningserver.cli import log_commands
from provisioningserver.cli.rackctl import build_parser


class FixedClock:
    def time(self):
        return 100_000.0


@pytest.mark.parametrize("text, expected", [
    ("90s", 100_000 - 90), ("10m", 100_000 - 600), ("2h", 100_000 - 7200),
    ("7d", 100_000 - 7 * 86400),
    ("2026-11-28T14:00:00+00:00",
     datetime.datetime(2026, 11, 28, 14, tzinfo=datetime.timezone.utc).timestamp()),
])
def test_since_takes_iso_8601_or_relative_times(text, expected):
    """--since is ISO 8601 or N s/m/h/d before now."""
    assert log_commands.parse_since(text, 100_000.0) == expected


def _run(*argv):
    args = build_parser().parse_args(["log", "--socket", "/nonexistent/rk.sock", *argv])
    out, err = io.StringIO(), io.StringIO()
    code = log_commands.run_log(args, out, err, clock=FixedClock())
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("argv, option", [
    (["--since", "yesterday"], "--since"), (["--since", "10x"], "--since"),
    (["--limit", "0"], "--limit"),
])
def test_bad_arguments_exit_2_naming_the_option(argv, option):
    """A bad --since or --limit exits 2 with a message naming it, without
    asking the agent (whose socket does not exist here)."""
    code, out, err = _run(*argv)
    assert code == 2 and err.startswith(f"rackctl: {option}:") and out == ""
    code, out, _ = _run("--json", *argv)
    assert code == 2 and json.loads(out)["error"].startswith(f"{option}:")


def test_good_arguments_reach_for_the_agent():
    """Valid arguments go to the agent: here unreachable, exit 3."""
    assert _run("--since", "10m", "--mac", "52:54:00:00:00:0a")[0] == 3


def test_transactions_print_one_line_each():
    """The text form shows time, family, type, address, client, where from
    and why."""
    out = io.StringIO()
    log_commands._print_transactions([
        {"time": 0, "family": 4, "type": "DISCOVER", "ip": None, "mac": "52:54:00:00:01:0b",
         "relay": "198.18.2.1", "network": "198.18.2.0/24", "reason": "no free leases"},
        {"time": 0, "family": 6, "type": "REPLY", "ip": "2001:db8:1::101", "duid": "00:01",
         "interface": None},
    ], out)
    first, second = out.getvalue().splitlines()
    assert first.split()[2:] == ["v4", "DISCOVER", "-", "52:54:00:00:01:0b", "relay",
                                 "198.18.2.1", "198.18.2.0/24:", "no", "free", "leases"]
    assert second.split()[2:] == ["v6", "REPLY", "2001:db8:1::101", "00:01"]
