"""Test-suite policy for tests that need real components.

Tests marked ``dhcpd`` run the real ISC dhcpd; tests marked ``lab`` also build
network namespaces, which needs root and iproute2; tests marked ``package``
build the Debian package and install it in a clean root (root, debhelper,
lintian, mmdebstrap). Where those are missing the
tests are skipped with the reason, except when RACKD_REQUIRE_LAB=1 (set by
scripts/test, and so by CI): then a missing prerequisite is a failure, so that
a run which could not exercise the real components never looks green.

Under RACKD_REQUIRE_LAB=1 that also holds inside a lab test: a lab test that
skips itself fails, with one exception, `tests.lab.kernel.KernelLacks` (the
kernel has no bond or VLAN devices, say), which stays a skip with the
kernel's own answer as its reason; ``-ra`` (pyproject.toml's addopts) prints
it in the summary.
"""

import os
import shutil
import subprocess

import pytest

from provisioningserver.dhcpd.binary import find_dhcpd


def _lab_missing():
    if os.geteuid() != 0:
        return "lab tests need root (network namespaces)"
    if shutil.which("ip") is None:
        return "lab tests need iproute2's ip"
    probe = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        return "network namespaces unavailable: " + probe.stderr.strip()
    return None


def _dhcpd_missing():
    if find_dhcpd() is None:
        return "ISC dhcpd is not installed (apt install isc-dhcp-server)"
    return None


def _package_missing():
    from tests.package import build, chroot

    if os.geteuid() != 0:
        return "package tests need root (dpkg-buildpackage, chroot)"
    tools = build.missing_tools() + chroot.missing_tools()
    if tools:
        return "package tests need " + ", ".join(tools) + " (scripts/setup installs them)"
    return None


def lab_skip_fails(required, lab, exception):
    """Whether a skip raised as ``exception`` counts as a failure."""
    from tests.lab.kernel import KernelLacks

    return bool(required and lab and isinstance(exception, pytest.skip.Exception)
                and not isinstance(exception, KernelLacks))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is None or not report.skipped or call.when != "call":
        return
    if lab_skip_fails(os.environ.get("RACKD_REQUIRE_LAB") == "1",
                      item.get_closest_marker("lab") is not None, call.excinfo.value):
        report.outcome = "failed"
        report.longrepr = ("a lab test skipped under RACKD_REQUIRE_LAB=1 (only "
                           f"tests.lab.kernel.KernelLacks may): {call.excinfo.value}")


def pytest_runtest_setup(item):
    reasons = []
    if item.get_closest_marker("package"):
        reasons.append(_package_missing())
    if item.get_closest_marker("dhcpd") or item.get_closest_marker("lab"):
        reasons.append(_dhcpd_missing())
    if item.get_closest_marker("lab"):
        reasons.append(_lab_missing())
    reasons = [r for r in reasons if r]
    if not reasons:
        return
    message = "; ".join(reasons)
    if os.environ.get("RACKD_REQUIRE_LAB") == "1":
        pytest.fail("required prerequisite missing: " + message, pytrace=False)
    pytest.skip(message)
