"""The one lab skip that RACKD_REQUIRE_LAB=1 allows: the kernel lacks a device type
(tests/lab/kernel.py, tests/conftest.py). Pure: recorded answers of ip."""

import subprocess

import pytest

from tests.conftest import lab_skip_fails
from tests.lab.kernel import KernelLacks, missing, verdict

ARGV = ["ip", "-n", "ns", "link", "add", "probe0", "type", "bond"]


def test_the_kernels_unknown_type_answer_is_the_skip_reason_verbatim():
    """'Error: Unknown device type.' becomes a reason quoting the command and the answer."""
    assert verdict("bond", ARGV, 2, "Error: Unknown device type.\n") == (
        "kernel lacks bond devices: `ip -n ns link add probe0 type bond` answered "
        "'Error: Unknown device type.'")
    assert verdict("bond", ARGV, 0, "") is None


@pytest.mark.parametrize("stderr", ["RTNETLINK answers: Operation not permitted",
                                    "Error: Unknown device type. (and more)", ""])
def test_any_other_failure_of_the_probe_is_an_error(stderr):
    """Permission problems or odd answers are never read as a missing kernel feature."""
    with pytest.raises(RuntimeError, match="probing for bond devices"):
        verdict("bond", ARGV, 2, stderr)


def test_missing_probes_each_kind_and_removes_its_namespace():
    """With a fake ip: a VLAN probe stops at the first unknown type, and the namespace
    is deleted after."""
    calls = []

    def run(argv, **_):
        calls.append(argv)
        unknown = "type" in argv and argv[argv.index("type") + 1] in ("vlan", "bond")
        return subprocess.CompletedProcess(argv, 2 if unknown else 0, "",
                                           "Error: Unknown device type.\n" if unknown else "")
    reasons = missing("bond", "vlan", "bridge", run=run)
    assert [r.split(":")[0] for r in reasons] == ["kernel lacks bond devices",
                                                  "kernel lacks vlan devices"]
    assert calls[-1][:3] == ["ip", "netns", "del"]


def test_only_kernel_lacks_may_skip_a_required_lab_test():
    """Under RACKD_REQUIRE_LAB=1 a lab test's own skip fails unless it is KernelLacks;
    without the variable, or outside lab tests, skips stay skips."""
    plain, kernel = pytest.skip.Exception("no reason"), KernelLacks("kernel lacks bond devices")
    assert lab_skip_fails(True, True, plain)
    assert not lab_skip_fails(True, True, kernel)
    assert not lab_skip_fails(False, True, plain)
    assert not lab_skip_fails(True, False, plain)
    assert not lab_skip_fails(True, True, ValueError("not a skip"))
