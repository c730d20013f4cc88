"""A damaged leases file at dhcpd's start, through the backends' file seam.

`clean_leases` is run on the real `LocalSystem` (files in a temporary
directory) and on the systemd tests' `FakeFiles`, with the same damaged
file: both must end the same way (the file moved aside whole, dhcpd's file
the statements before the damage, host records gone), which also holds the
fake to the real seam.
"""

import os

import attrs
import pytest

from provisioningserver.dhcpd.process import LocalSystem, clean_leases
from tests.dhcpd.test_leasesfile import HEADER, HOST_ADD, LEASE
from tests.dhcpd.test_systemd import SPEC, FakeFiles
from tests.logs import lines_with, logged  # noqa: F401 (logged is a fixture)

GOOD = HEADER + LEASE + HOST_ADD
TORN = GOOD + LEASE[:40]


def put(system, path, data):
    if isinstance(system, FakeFiles):
        system.files[path] = data
    else:
        with open(path, "wb") as stream:
            stream.write(data)


@pytest.fixture(params=["LocalSystem", "FakeFiles"])
def seam(request, tmp_path):
    """(system, spec, files after the clean: name -> bytes)."""
    if request.param == "FakeFiles":
        system = FakeFiles()
        return system, SPEC, lambda: dict(system.files)
    spec = attrs.evolve(SPEC, leases_path=str(tmp_path / "dhcpd.leases"))
    system = LocalSystem()

    def files():
        found = {}
        for name in os.listdir(tmp_path):
            with open(tmp_path / name, "rb") as stream:
                found[str(tmp_path / name)] = stream.read()
        return found

    return system, spec, files


def test_a_torn_leases_file_is_moved_aside_and_dhcpd_gets_what_came_before(seam, logged):
    """A torn last lease: the whole file is kept beside as *.corrupt-*,
    dhcpd's file holds the statements before the tear without the OMAPI
    host record (which would otherwise come back), and one warning names
    the offset and the file it was moved to."""
    system, spec, files = seam
    put(system, spec.leases_path, TORN)
    clean_leases(system, spec)
    found = files()
    assert found[spec.leases_path] == HEADER + LEASE
    (aside,) = [name for name in found if ".corrupt-" in name]
    assert aside.startswith(spec.leases_path + ".corrupt-") and found[aside] == TORN
    (line,) = lines_with(logged, "damaged")
    assert f"at byte {len(GOOD)} of {len(TORN)}" in line and aside in line
    assert "1 host records removed" in line


def test_a_sound_leases_file_is_only_cleaned(seam, logged):
    """No damage: host records go, nothing is moved aside, nothing warned."""
    system, spec, files = seam
    put(system, spec.leases_path, GOOD)
    clean_leases(system, spec)
    found = files()
    assert found == {spec.leases_path: HEADER + LEASE}
    assert not lines_with(logged, "damaged")
