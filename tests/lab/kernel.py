"""Whether this kernel can make a kind of device: the one allowed lab skip.

Lab tests fail rather than skip when RACKD_REQUIRE_LAB=1 (tests/conftest.py):
a run that could not exercise the real components must not look green. The
one exception is a kernel built without a device type a test needs (the
kernels of some CI machines have no bonding and no 802.1Q): no package can
install it, and the test can pass on a machine whose kernel has it.

`kernel_lacks` probes by making the devices in a scratch namespace with the
real ``ip link add``. Only the kernel's own answer for a missing type,
``Error: Unknown device type.`` (rtnetlink finds no link ops for it, even
after trying to load the module), becomes a `KernelLacks` skip, carrying
that exact stderr; any other failure of the probe is an error of the test.
tests/conftest.py lets only `KernelLacks` through as a skip.
"""

import os
import subprocess

import pytest

# The kernel's answer (an extack message iproute2 prints) when it knows no such type.
UNKNOWN_TYPE = "Error: Unknown device type."

# How each kind is made; {ns} is the scratch namespace. A VLAN needs a lower device.
PROBES = {
    "bond": [["ip", "-n", "{ns}", "link", "add", "probe0", "type", "bond", "mode", "active-backup"]],
    "vlan": [["ip", "-n", "{ns}", "link", "add", "probe1", "type", "veth", "peer", "name", "probe2"],
             ["ip", "-n", "{ns}", "link", "add", "link", "probe1", "name", "probe1.100",
              "type", "vlan", "id", "100"]],
    "bridge": [["ip", "-n", "{ns}", "link", "add", "probe3", "type", "bridge"]],
}


class KernelLacks(pytest.skip.Exception):
    """A skip because the kernel has no such device type (the only lab skip allowed)."""


def verdict(kind, argv, returncode, stderr):
    """None when the command worked; the skip reason when the kernel lacks ``kind``;
    otherwise an error, so that nothing else can pass for a missing kernel feature."""
    if returncode == 0:
        return None
    if stderr.strip() == UNKNOWN_TYPE:
        return f"kernel lacks {kind} devices: `{' '.join(argv)}` answered {stderr.strip()!r}"
    raise RuntimeError(f"probing for {kind} devices: `{' '.join(argv)}` exited {returncode}: "
                       f"{stderr.strip()}")


def missing(*kinds, run=subprocess.run):
    """The skip reasons (one per kind the kernel lacks), probed in a namespace of our own."""
    ns = f"rkdev-probe-{os.getpid()}"
    run(["ip", "netns", "del", ns], capture_output=True)  # a crashed run's leftover
    created = run(["ip", "netns", "add", ns], capture_output=True, text=True)
    if created.returncode != 0:
        raise RuntimeError(f"ip netns add {ns}: {created.stderr.strip()}")
    reasons = []
    try:
        for kind in kinds:
            for template in PROBES[kind]:
                argv = [word.format(ns=ns) for word in template]
                result = run(argv, capture_output=True, text=True)
                reason = verdict(kind, argv, result.returncode, result.stderr)
                if reason:
                    reasons.append(reason)
                    break
    finally:
        run(["ip", "netns", "del", ns], capture_output=True)
    return reasons


def kernel_lacks(*kinds):
    """Skip the calling test (as `KernelLacks`) if the kernel lacks any of ``kinds``."""
    reasons = missing(*kinds)
    if reasons:
        error = KernelLacks("; ".join(reasons))
        error._use_item_location = True  # the summary names the test, not this line
        raise error
