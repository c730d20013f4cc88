"""The process backend hashes a config file again only when it changed.

The real `LocalSystem`, counting its reads: the digest of an unchanged file
comes without reading it; a file replaced atomically (as rackd writes
configs) or appended to in place is read and hashed anew.
"""

import hashlib

from provisioningserver.dhcpd.process import DhcpdSpec, LocalSystem, ProcessBackend
from provisioningserver.system.files import atomic_write


class CountingSystem(LocalSystem):
    """The real system, counting reads of each path."""

    def __init__(self):
        self.reads = {}

    def read_bytes(self, path):
        self.reads[path] = self.reads.get(path, 0) + 1
        return super().read_bytes(path)


def spec_at(tmp_path):
    return DhcpdSpec(ip_version=4, dhcpd="/usr/sbin/dhcpd", config_path=str(tmp_path / "dhcpd.conf"),
                     leases_path=str(tmp_path / "dhcpd.leases"), pid_path=str(tmp_path / "dhcpd.pid"),
                     log_path=str(tmp_path / "dhcpd.log"), interfaces=("eth0",))


def test_an_unchanged_config_is_hashed_once(tmp_path):
    """Asked twice about the same file, the backend reads it once."""
    system, spec = CountingSystem(), spec_at(tmp_path)
    atomic_write(spec.config_path, "authoritative;\n", mode=0o600)
    backend = ProcessBackend(system=system)
    first, second = backend.config_sha256(spec), backend.config_sha256(spec)
    assert first == second == hashlib.sha256(b"authoritative;\n").hexdigest()
    assert system.reads[spec.config_path] == 1


def test_a_changed_config_is_hashed_again(tmp_path):
    """A config replaced atomically, or appended to in place, gets its new
    digest; a removed one has none."""
    system, spec = CountingSystem(), spec_at(tmp_path)
    backend = ProcessBackend(system=system)
    atomic_write(spec.config_path, "authoritative;\n", mode=0o600)
    backend.config_sha256(spec)
    atomic_write(spec.config_path, "authoritative;\n", mode=0o600)  # same bytes, new file
    assert backend.config_sha256(spec) == hashlib.sha256(b"authoritative;\n").hexdigest()
    with open(spec.config_path, "a") as stream:
        stream.write("default-lease-time 600;\n")
    assert backend.config_sha256(spec) == hashlib.sha256(
        b"authoritative;\ndefault-lease-time 600;\n").hexdigest()
    assert system.reads[spec.config_path] == 3
    (tmp_path / "dhcpd.conf").unlink()
    assert backend.config_sha256(spec) is None
