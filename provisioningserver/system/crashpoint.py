"""A test hook: rackd kills itself with SIGKILL at a named step.

Why. The claim that a rackd killed at any moment leaves dhcpd serving the
old document or the new one whole, and a state file that reads, is only
worth what its tests reach. A kill at a random delay lands mostly where
nothing interesting happens; the lab's crash tests also kill at exact
steps (tests/lab/test_crash_points_lab.py, bench/crash_points.py), and
only rackd itself knows when it is at one.

How. ``RACKD_CRASH_AT=POINT`` or ``POINT:N`` in rackd's environment, read
once when this module is imported, arms one point: the N-th time (default
the first) rackd passes it, `reached` sends SIGKILL to rackd's own
process: no cleanup, no flush, no ``finally`` runs, as with the OOM
killer or a power cut to the process. Unset (always, outside the lab) it
is off: `reached` compares one attribute with None and returns. The
points, where they are passed:

- ``before-render``: a configure has read its document and is about to
  gather and render (services.configure);
- ``omapi-change``: a live host change is handed to the OMAPI client, so
  ``omapi-change:K`` dies with K-1 changes sent and some answered
  (services.configure);
- ``after-write``: the new config file is in place, dhcpd not yet told
  (services.configure);
- ``before-save``: dhcpd serves the new config, the applied state is not
  yet written (services.configure);
- ``stopped``: the monitor stopped the old dhcpd and has not started the
  new one (dhcpd.monitor);
- ``spawned``: the new dhcpd is running and rackd has not yet written its
  start record (dhcpd.process).
"""

import os
import signal

POINTS = ("before-render", "omapi-change", "after-write", "before-save", "stopped", "spawned")


class CrashPoints:
    """One armed point (``spec``: ``POINT`` or ``POINT:N``, or None for
    none); ``kill`` is called instead of returning when it is reached."""

    def __init__(self, spec, kill=None):
        self.point, self.nth = None, 1
        if spec:
            point, _, nth = spec.partition(":")
            if point not in POINTS:
                raise ValueError(f"RACKD_CRASH_AT: no crash point {point!r} "
                                 f"(expected one of {', '.join(POINTS)})")
            self.point, self.nth = point, int(nth or 1)
        self.passed = 0
        self.kill = kill or (lambda: os.kill(os.getpid(), signal.SIGKILL))

    def reached(self, point):
        if self.point is None or point != self.point:
            return
        self.passed += 1
        if self.passed >= self.nth:
            self.kill()


_ARMED = CrashPoints(os.environ.get("RACKD_CRASH_AT"))


def reached(point):
    """rackd passes ``point``: see the module docstring."""
    _ARMED.reached(point)


def counted(changes, point):
    """``changes`` as they are pulled, passing ``point`` once per change."""
    for change in changes:
        reached(point)
        yield change
