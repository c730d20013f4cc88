"""Fixtures for tests that build network-namespace labs.

Each test gets its own Lab with its own name prefix, built from
RACKD_LAB_PREFIX (default ``rk-<pid>-``) and a per-test counter, so that one
test's leftovers can never collide with the next. When a test fails, the
tail of every log of the lab's processes (dhcpd, dhclient, rackd) is added
to its report, while the lab still exists.
"""

import itertools
import os

import pytest

from tests.lab.netns import Lab

_numbers = itertools.count()


def lab_prefix():
    base = os.environ.get("RACKD_LAB_PREFIX") or "rk-%d-" % os.getpid()
    return "%s%d-" % (base, next(_numbers))


@pytest.fixture
def lab(tmp_path):
    """A Lab torn down after the test, whether it passed or not."""
    with Lab(prefix=lab_prefix(), workdir=str(tmp_path)) as built:
        yield built


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    built = getattr(item, "funcargs", {}).get("lab")
    if not report.failed or built is None:
        return
    shown = set()
    for process in built.processes():
        # A restarted process appends to the same log: show it once.
        if process.log_path in shown:
            continue
        shown.add(process.log_path)
        report.sections.append(
            ("%s log (%s), last lines" % (process.name, process.log_path), process.tail(60))
        )
