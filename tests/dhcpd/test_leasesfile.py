"""Cleaning the leases file: host records go, everything else stays as it was."""

import pytest

from provisioningserver.dhcpd.leasesfile import (
    UnreadableLeases, finish, salvage, scan, strip_host_records,
)

HEADER = b"""# The format of this file is documented in the dhcpd.leases(5) manual page.
# This lease file was written by isc-dhcp-4.4.3-P1

# authoring-byte-order entry is generated, DO NOT DELETE
authoring-byte-order little-endian;

"""
LEASE = b"""lease 198.18.0.100 {
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
HOST_ADD = b"""host node-01 {
  dynamic;
  hardware ethernet 52:54:00:00:00:01;
  fixed-address 198.18.0.50;
}
"""
HOST_DELETE = b"""host "node-01" {
  dynamic;
  deleted;
}
"""
IA_NA = b"""ia-na "\\001\\000\\000\\000\\000\\003\\000\\001RT\\000\\000\\000\\001" {
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
    text = HEADER + LEASE + HOST_ADD + IA_NA + HOST_DELETE + b'server-duid "\\000\\001";\n'
    cleaned, removed = strip_host_records(text)
    assert removed == 2
    assert cleaned == HEADER + LEASE + IA_NA + b'server-duid "\\000\\001";\n'


def test_file_without_hosts_is_unchanged():
    """A file with no host records comes back identical, with a count of zero."""
    text = HEADER + LEASE + IA_NA
    assert strip_host_records(text) == (text, 0)


def test_empty_file():
    """An empty leases file stays empty."""
    assert strip_host_records(b"") == (b"", 0)


@pytest.mark.parametrize("torn", [
    HEADER + LEASE[:-3],
    HEADER + b'lease 198.18.0.1 { client-hostname "unterminated; }\n',
    HEADER + b"lease 198.18.0.1 { } }\n",
], ids=["unclosed-brace", "unterminated-string", "extra-brace"])
def test_torn_file_is_refused_not_half_cleaned(torn):
    """A file that cannot be split safely raises instead of being rewritten."""
    with pytest.raises(UnreadableLeases):
        strip_host_records(torn)


def test_braces_and_quotes_in_comments_do_not_count():
    """A comment holding braces, quotes or semicolons, between records or in
    one, is skipped to its line end: the records around it split as usual."""
    comment = b'# a note { with "braces } and ; quotes\n'
    lease = b"lease 198.18.0.7 {\n  # inside: } { \" ;\n  binding state active;\n}\n"
    text = HEADER + comment + lease + HOST_ADD + comment + LEASE
    assert strip_host_records(text) == (HEADER + comment + lease + comment + LEASE, 1)


def test_escaped_quotes_and_braces_in_strings_stay_in_the_string():
    """A string with escaped quotes, backslashes and braces ends at its own
    closing quote; a host whose name holds them is still removed whole."""
    lease = (b'lease 198.18.0.8 {\n  client-hostname "a\\"}{ host x { } \\\\";\n'
             b'  set x = "\\"";\n}\n')
    host = b'host "odd\\" } {name" {\n  dynamic;\n  deleted;\n}\n'
    assert strip_host_records(lease + host + lease) == (lease + lease, 1)


def test_host_is_a_word_not_a_prefix():
    """Only a statement whose first word is exactly "host" goes: "hosts" or
    "host-x" are kept, "host" before a brace or a semicolon goes."""
    kept = b"hosts a { }\nhost-x;\n"
    assert strip_host_records(kept + b"host{ }\nhost;\n" + kept) == (kept + kept, 2)


def test_crlf_line_ends_are_kept():
    """A file with CRLF line ends splits the same; the CR after a removed host
    stays, as only a line feed right after the record goes with it."""
    crlf = lambda text: text.replace(b"\n", b"\r\n")  # noqa: E731
    cleaned, removed = strip_host_records(crlf(HEADER + LEASE + HOST_ADD + IA_NA))
    assert removed == 1
    assert cleaned == crlf(HEADER + LEASE) + b"\r\n" + crlf(IA_NA)


def test_bytes_that_are_not_utf8_are_kept_as_they_are():
    """Bytes that are not UTF-8, in a string or a comment, come back identical."""
    lease = b'lease 198.18.0.9 {\n  client-hostname "\xff\xfe{\xc3";\n}\n# \xe9\xff }\n'
    assert strip_host_records(lease + HOST_DELETE + lease) == (lease + lease, 1)


def test_braces_nested_deeper_than_an_ia_are_split_too():
    """A record with braces three deep (none that dhcpd writes today) goes
    through the slower path with the same result."""
    deep = b"failover peer x {\n a {\n  b {\n   c;\n  }\n }\n}\n"
    assert strip_host_records(deep + HOST_ADD + deep) == (deep + deep, 1)


@pytest.mark.parametrize("torn", [
    b" " * 5000 + b"lease {",
    b"lease " + b'"a" ' * 5000 + b"{",
    b"lease { " + b"x { " * 3000,
], ids=["long-gap", "many-strings", "deep-braces"])
def test_torn_file_is_refused_quickly(torn):
    """A torn file built to make a regex backtrack is still refused at once."""
    import time

    began = time.perf_counter()
    with pytest.raises(UnreadableLeases):
        strip_host_records(HEADER + torn)
    assert time.perf_counter() - began < 1.0


def test_backend_cleans_the_leases_file_before_dhcpd_starts(tmp_path):
    """ProcessBackend.clean_leases rewrites the file without host records; a
    torn file is never half-cleaned: dhcpd gets what came before the tear
    (tests/dhcpd/test_leases_damage.py has the rest)."""
    from provisioningserver.dhcpd.process import DhcpdSpec, ProcessBackend

    leases = tmp_path / "dhcpd.leases"
    spec = DhcpdSpec(ip_version=4, dhcpd="/usr/sbin/dhcpd", config_path=str(tmp_path / "c"),
                     leases_path=str(leases), pid_path=str(tmp_path / "p"),
                     log_path=str(tmp_path / "l"))
    leases.write_bytes(HEADER + LEASE + HOST_ADD)
    ProcessBackend().clean_leases(spec)
    assert leases.read_bytes() == HEADER + LEASE
    torn = HEADER + HOST_ADD[:-3]
    leases.write_bytes(torn)
    ProcessBackend().clean_leases(spec)
    assert leases.read_bytes() == HEADER


GROWING = (HEADER + LEASE + HOST_ADD + b"# a comment { that goes on\n" + IA_NA + HOST_DELETE
           + LEASE + HOST_ADD + b"\n" + HOST_DELETE)


def test_finishing_a_scan_of_any_prefix_is_a_full_clean():
    """Whatever prefix of the file was scanned (cut anywhere: in a string, a
    comment, a host record, a line end), finishing on the whole file keeps
    exactly what cleaning the whole file keeps."""
    whole = strip_host_records(GROWING)
    for cut in range(len(GROWING) + 1):
        assert finish(scan(GROWING[:cut]), GROWING) == whole, cut


def test_finish_after_a_rewrite_cleans_the_whole_file():
    """When the file no longer starts with what was scanned (dhcpd rewrote
    it), finish cleans it all over again."""
    earlier = scan(HEADER + LEASE + HOST_ADD)
    rewritten = HEADER + IA_NA + HOST_DELETE
    assert finish(earlier, rewritten) == (HEADER + IA_NA, 1)
    assert finish(None, rewritten) == (HEADER + IA_NA, 1)


def test_a_scan_of_a_torn_file_is_not_an_error_until_finish():
    """A statement dhcpd is still writing is no error for the scan; if it is
    never finished, finish refuses the file like strip_host_records."""
    earlier = scan(HEADER + LEASE[:40])
    assert earlier.resume == len(HEADER.rstrip(b"\n"))
    with pytest.raises(UnreadableLeases):
        finish(earlier, HEADER + LEASE[:40])
    with pytest.raises(UnreadableLeases):
        scan(HEADER + b"} lease {\n")  # no append mends an extra brace


def test_backend_keeps_what_dhcpd_appends_between_scan_and_start(tmp_path):
    """ProcessBackend: records dhcpd appends after prepare_start (a lease, a
    host, one cut in half at the scan) are cleaned like the rest; none is lost."""
    from provisioningserver.dhcpd.process import DhcpdSpec, ProcessBackend

    leases = tmp_path / "dhcpd.leases"
    spec = DhcpdSpec(ip_version=4, dhcpd="/usr/sbin/dhcpd", config_path=str(tmp_path / "c"),
                     leases_path=str(leases), pid_path=str(tmp_path / "p"),
                     log_path=str(tmp_path / "l"))
    leases.write_bytes(HEADER + LEASE + HOST_ADD + IA_NA[:30])
    backend = ProcessBackend()
    prepared = backend.prepare_start(spec)
    with open(leases, "ab") as stream:  # the old dhcpd, before it was stopped
        stream.write(IA_NA[30:] + HOST_DELETE + LEASE)
    backend.clean_leases(spec, prepared)
    assert leases.read_bytes() == HEADER + LEASE + IA_NA + LEASE


@pytest.mark.parametrize("damage, problem", [
    (LEASE[:-3], "not closed"),
    (b'lease 198.18.0.1 { client-hostname "unterminated; }\n', "unterminated string"),
    (b"lease 198.18.0.1 { } }\n" + LEASE, "unbalanced"),
], ids=["torn-end", "unterminated-string", "extra-brace"])
def test_salvage_keeps_the_cleaned_statements_before_the_damage(damage, problem):
    """A file `strip_host_records` refuses: `salvage` gives the statements
    before the first that does not split, host records dropped, and where
    and what the damage is."""
    good = HEADER + LEASE + HOST_ADD + IA_NA
    kept, removed, offset, what = salvage(good + damage)
    assert kept.startswith(HEADER + LEASE + IA_NA) and removed == 1
    assert problem in what
    # The damaged statement itself is not kept (an extra brace is a statement of its own).
    assert kept == (good + damage)[:offset].replace(HOST_ADD, b"")


def test_salvage_of_a_sound_file_is_the_clean_one():
    """Nothing wrong: the same as `strip_host_records`, no problem named."""
    text = HEADER + LEASE + HOST_ADD
    assert salvage(text) == (HEADER + LEASE, 1, len(text), None)
