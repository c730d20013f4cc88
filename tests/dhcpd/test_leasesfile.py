"""Cleaning the leases file: host records go, everything else stays as it was."""

import pytest

from provisioningserver.dhcpd.leasesfile import UnreadableLeases, strip_host_records

HEADER = """# The format of this file is documented in the dhcpd.leases(5) manual page.
# This lease file was written by isc-dhcp-4.4.3-P1

# authoring-byte-order entry is generated, DO NOT DELETE
authoring-byte-order little-endian;

"""
LEASE = """lease 198.18.0.100 {
  starts 6 2026/11/28 03:00:00;
  ends 6 2026/11/28 03:10:00;
  cltt 6 2026/11/28 03:00:00;
  binding state active;
  next binding state free;
  hardware ethernet 52:54:00:00:00:09;
  set vendor-class-identifier = "PXEClient:Arch:00007 {odd} ; # not a comment";
  client-hostname "node;09";
}
"""
HOST_ADD = """host node-01 {
  dynamic;
  hardware ethernet 52:54:00:00:00:01;
  fixed-address 198.18.0.50;
}
"""
HOST_DELETE = """host "node-01" {
  dynamic;
  deleted;
}
"""
IA_NA = """ia-na "\\001\\000\\000\\000\\000\\003\\000\\001RT\\000\\000\\000\\001" {
  cltt 6 2026/11/28 03:00:00;
  iaaddr 2001:db8:0:1::1000 {
    binding state active;
    preferred-life 375;
    max-life 600;
    ends 6 2026/11/28 03:10:00;
  }
}
"""


def test_host_records_are_removed_and_leases_kept_byte_for_byte():
    """Adds and deletes of hosts vanish; header, v4 and v6 leases stay identical."""
    text = HEADER + LEASE + HOST_ADD + IA_NA + HOST_DELETE + 'server-duid "\\000\\001";\n'
    cleaned, removed = strip_host_records(text)
    assert removed == 2
    assert cleaned == HEADER + LEASE + IA_NA + 'server-duid "\\000\\001";\n'


def test_file_without_hosts_is_unchanged():
    """A file with no host records comes back identical, with a count of zero."""
    text = HEADER + LEASE + IA_NA
    assert strip_host_records(text) == (text, 0)


def test_empty_file():
    """An empty leases file stays empty."""
    assert strip_host_records("") == ("", 0)


@pytest.mark.parametrize("torn", [
    HEADER + LEASE[:-3],
    HEADER + 'lease 198.18.0.1 { client-hostname "unterminated; }\n',
    HEADER + "lease 198.18.0.1 { } }\n",
], ids=["unclosed-brace", "unterminated-string", "extra-brace"])
def test_torn_file_is_refused_not_half_cleaned(torn):
    """A file that cannot be split safely raises instead of being rewritten."""
    with pytest.raises(UnreadableLeases):
        strip_host_records(torn)


def test_backend_cleans_the_leases_file_before_dhcpd_starts(tmp_path):
    """ProcessBackend.clean_leases rewrites the file without host records; a
    torn file is left exactly as it was."""
    from provisioningserver.dhcpd.process import DhcpdSpec, ProcessBackend

    leases = tmp_path / "dhcpd.leases"
    spec = DhcpdSpec(ip_version=4, dhcpd="/usr/sbin/dhcpd", config_path=str(tmp_path / "c"),
                     leases_path=str(leases), pid_path=str(tmp_path / "p"),
                     log_path=str(tmp_path / "l"))
    leases.write_text(HEADER + LEASE + HOST_ADD)
    ProcessBackend().clean_leases(spec)
    assert leases.read_text() == HEADER + LEASE
    torn = HEADER + HOST_ADD[:-3]
    leases.write_text(torn)
    ProcessBackend().clean_leases(spec)
    assert leases.read_text() == torn
