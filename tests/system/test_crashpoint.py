"""The crash test hook: off unless armed, and then it fires at its point's N-th pass."""

import pytest

from provisioningserver.system.crashpoint import CrashPoints, counted, reached


def test_an_unarmed_hook_never_fires():
    """With no RACKD_CRASH_AT (spec None or empty) no point kills."""
    killed = []
    for spec in (None, ""):
        points = CrashPoints(spec, kill=lambda: killed.append(True))
        for point in ("before-render", "omapi-change", "stopped"):
            points.reached(point)
    assert killed == []


def test_an_armed_point_fires_on_its_nth_pass_only():
    """``omapi-change:3`` kills at the third pass of that point, not at
    other points and not before."""
    killed = []
    points = CrashPoints("omapi-change:3", kill=lambda: killed.append(points.passed))
    points.reached("after-write")
    points.reached("omapi-change")
    points.reached("omapi-change")
    assert killed == []
    points.reached("omapi-change")
    assert killed == [3]


def test_a_point_without_a_count_fires_at_once():
    """``after-write`` alone means its first pass."""
    killed = []
    CrashPoints("after-write", kill=lambda: killed.append(1)).reached("after-write")
    assert killed == [1]


def test_an_unknown_point_is_refused_by_name():
    """A misspelt point is an error naming it and the points there are."""
    with pytest.raises(ValueError, match="'before-rendr'.*before-render"):
        CrashPoints("before-rendr")


def test_counted_passes_the_point_once_per_change_and_keeps_them():
    """`counted` yields the changes unchanged; in this (unarmed) process it
    never kills."""
    assert list(counted(iter([1, 2, 3]), "omapi-change")) == [1, 2, 3]
    reached("stopped")  # unarmed: returns
