"""rackd's AppArmor drop-in for Debian's dhcpd profile: it compiles inside that
profile, and it opens to dhcpd every file rackd makes dhcpd read or write.

The paths come from the code (DhcpdPaths, RackdConfig's lease socket and
spool, the check file's name in dhcpd/check.py, the hook's install path in
debian/rackd.install) at rackd's default state_dir and run_dir, which are
the directories the package creates; a new file dhcpd must use fails here
until the drop-in allows it. That test is pure and runs with the unit suite;
the parse needs apparmor_parser and Debian's profile, and runs with the
package tests.
"""

import os

import pytest

from provisioningserver.config import RackdConfig
from provisioningserver.dhcpd.check import CHECK_PREFIX, CHECK_SUFFIX
from provisioningserver.system.files import DhcpdPaths
from tests.package import apparmor
from tests.package.build import ROOT


def _hook_path():
    """Where debian/rackd.install puts dhcp-notify."""
    with open(os.path.join(ROOT, "debian", "rackd.install"), encoding="utf-8") as stream:
        for line in stream:
            source, target = line.split()
            if source.endswith("/dhcp-notify"):
                return "/" + target.strip("/") + "/dhcp-notify"
    raise AssertionError("debian/rackd.install installs no dhcp-notify")


def required_access():
    """[(path, permissions)] dhcpd needs under rackd's defaults."""
    config = RackdConfig()
    needed = []
    for family in (4, 6):
        paths = DhcpdPaths.for_family(config, family)
        needed += [
            (paths.config, "r"),
            (paths.leases, "rw"),
            # dhcpd rewrites the leases file: a new PATH.<time>, then the old one
            # hard-linked to PATH~ and the new one renamed over PATH.
            (paths.leases + ".1764806400", "rw"),
            (paths.leases + "~", "lw"),
            (paths.pid, "rw"),
            # dhcpd's stderr is this file, opened by rackd or systemd; AppArmor
            # checks inherited descriptors too.
            (paths.log, "w"),
        ]
    needed += [
        (os.path.join(config.run_dir, CHECK_PREFIX + "k2x8_q1a" + CHECK_SUFFIX), "r"),
        (_hook_path(), "ix"),
        (config.lease_socket_path, "w"),
        (config.lease_spool_path, "w"),
    ]
    return needed


@pytest.mark.parametrize("path, perms", required_access(), ids=lambda v: str(v))
def test_drop_in_opens_what_rackd_makes_dhcpd_use(path, perms):
    """Every file rackd has dhcpd read or write is allowed, with the access it needs."""
    with open(apparmor.DROP_IN, encoding="utf-8") as stream:
        rules = apparmor.file_rules(stream.read())
    assert apparmor.allows(rules, path, perms), (path, perms)


def test_drop_in_does_not_open_tmp():
    """The drop-in does not fix the check file by opening /tmp: the check file
    moved to run_dir instead."""
    with open(apparmor.DROP_IN, encoding="utf-8") as stream:
        rules = apparmor.file_rules(stream.read())
    assert not apparmor.allows(rules, "/tmp/" + CHECK_PREFIX + "x" + CHECK_SUFFIX, "r")


def test_glob_translation():
    """The glob reader follows AppArmor: * stays in one path element, ** crosses
    them, {a,b} alternates (empty alternatives included)."""
    rules = [("/{,var/}run/rackd/dhcpd{,6}.pid", set("rw")), ("/var/lib/rackd/*", {"r"}),
             ("/var/lib/rackd/log/**", {"w"})]
    assert apparmor.allows(rules, "/run/rackd/dhcpd6.pid", "rw")
    assert apparmor.allows(rules, "/var/run/rackd/dhcpd.pid", "w")
    assert not apparmor.allows(rules, "/run/rackd/dhcpd4.pid", "r")
    assert apparmor.allows(rules, "/var/lib/rackd/dhcpd.conf", "r")
    assert not apparmor.allows(rules, "/var/lib/rackd/log/dhcpd.log", "r")
    assert apparmor.allows(rules, "/var/lib/rackd/log/a/b", "w")


@pytest.mark.package
def test_drop_in_compiles_inside_debians_dhcpd_profile(tmp_path):
    """apparmor_parser -Q -K accepts Debian's dhcpd profile with the drop-in
    included, and rejects it with a broken one (so the include is really read)."""
    if not os.path.exists(os.path.join(apparmor.PROFILE_DIR, apparmor.PROFILE)):
        pytest.fail("Debian's dhcpd profile is missing (scripts/setup installs "
                    "isc-dhcp-server)", pytrace=False)
    parsed = apparmor.parse_with_profile(str(tmp_path / "good"))
    assert parsed.returncode == 0, parsed.stderr
    broken = tmp_path / "broken"
    broken.write_text(open(apparmor.DROP_IN, encoding="utf-8").read() + "  /bogus rwz,\n")
    parsed = apparmor.parse_with_profile(str(tmp_path / "bad"), drop_in=str(broken))
    assert parsed.returncode != 0 and "dhcpd.d/rackd" in parsed.stderr
