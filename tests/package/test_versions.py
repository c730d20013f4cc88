"""setup.cfg's minimum versions are ones Debian 12 satisfies.

The Debian package depends on bookworm's python3-* libraries, and
tests/package installs it on them and runs rackd and rackctl there; a pip
install must not demand more than that proven set. BOOKWORM records what
bookworm ships (``apt-cache policy``, December 2026, point releases
included); a minimum raised above it fails here, where the choice is made,
rather than on a rack node that cannot satisfy it from Debian.
"""

import configparser
import os
import re

import pytest

from tests.package.build import ROOT

BOOKWORM = {
    "attrs": "22.2.0",           # python3-attr
    "jinja2": "3.1.2",           # python3-jinja2
    "pyyaml": "6.0",             # python3-yaml
    "twisted": "22.4.0",         # python3-twisted
    "pypureomapi": "0.8",        # python3-pypureomapi
    "netifaces": "0.11.0",       # python3-netifaces
    "pyopenssl": "23.0.0",       # python3-openssl
    "service-identity": "18.1.0",  # python3-service-identity
    "prometheus-client": "0.16.0",  # python3-prometheus-client
}


def _requirements():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, "setup.cfg"))
    found = {}
    for line in parser["options"]["install_requires"].split("\n"):
        match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9.]+)\s*", line)
        if match:
            found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
        elif line.strip():
            raise AssertionError(f"setup.cfg: not a name>=version minimum: {line!r}")
    return found


def _version(text):
    return tuple(int(part) for part in text.split("."))


def test_every_requirement_is_a_debian_library():
    """Each install_requires entry has a bookworm version on record (and no other)."""
    assert sorted(_requirements()) == sorted(BOOKWORM)


@pytest.mark.parametrize("name", sorted(BOOKWORM))
def test_minimum_is_not_above_bookworm(name):
    """The minimum setup.cfg asks for is at most what bookworm ships."""
    assert _version(_requirements()[name]) <= _version(BOOKWORM[name])
