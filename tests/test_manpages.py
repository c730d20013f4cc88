"""The man pages Debian installs (debian/rackd.8, debian/rackctl.8) keep up
with the code: every rackctl subcommand the parser knows and every rackd.yaml
key RackdConfig accepts has its entry, and groff reads both without a warning.

An entry names the word in bold with a .B, .BR or .BI request (several
names may be joined with ", "), so a word in running text does not count.
"""

import os
import re
import shlex
import shutil
import subprocess

import attrs
import pytest

from provisioningserver.cli.rackctl import build_parser
from provisioningserver.config import RackdConfig
from provisioningserver.dhcp.render import BootSettings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = {name: os.path.join(ROOT, "debian", name) for name in ("rackd.8", "rackctl.8")}


def _bold_tags(page):
    """The words a page sets in bold at the start of a .B/.BR/.BI line."""
    with open(PAGES[page], encoding="utf-8") as stream:
        text = stream.read()
    names = set()
    for line in re.findall(r"^\.(B|BR|BI) +(.*)$", text, flags=re.M):
        macro, arguments = line
        words = shlex.split(arguments)
        # .B sets every word in bold; .BR and .BI alternate, starting in bold.
        for word in words if macro == "B" else words[::2]:
            names.update(word.replace(",", " ").split())
    return names


def _subcommands():
    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if a.dest == "command"]
    return sorted(subparsers.choices)


def _config_keys():
    keys = [f.name for f in attrs.fields(RackdConfig)]
    return sorted(keys + [f.name for f in attrs.fields(BootSettings)])


@pytest.mark.parametrize("command", _subcommands())
def test_rackctl_page_has_every_subcommand(command):
    """rackctl.8 has an entry for each subcommand of rackctl's parser."""
    assert command in _bold_tags("rackctl.8")


@pytest.mark.parametrize("key", _config_keys())
def test_rackd_page_has_every_config_key(key):
    """rackd.8 has an entry for each key rackd.yaml may hold (boot's keys included)."""
    assert key in _bold_tags("rackd.8")


def test_pages_are_installed():
    """debian/rackd.manpages installs both pages."""
    with open(os.path.join(ROOT, "debian", "rackd.manpages"), encoding="utf-8") as stream:
        assert sorted(stream.read().split()) == ["debian/rackctl.8", "debian/rackd.8"]


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_formats_without_warnings(page):
    """groff -man -ww formats the page with no warning (lintian checks the same way)."""
    done = subprocess.run(["groff", "-man", "-ww", "-z", PAGES[page]],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr
