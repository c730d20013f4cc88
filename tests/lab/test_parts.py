"""The lab library's pure parts and plumbing, checked without root.

Commands the lab would run go to a recording fake; packets, dhclient events
and perfdhcp reports are parsed from bytes and text written here.
"""

import subprocess

import pytest

from tests.lab import dhcppacket, perfdhcp, rawclient
from tests.lab.dhclient import Lease, parse_event, render_conf
from tests.lab.netns import Lab, LabCommandError
from tests.lab.teardown import Teardown, TeardownError


class RecordingRun:
    """Stands in for subprocess.run: records argv, answers with success."""

    def __init__(self, fail=()):
        self.calls = []
        self.fail = fail

    def __call__(self, argv, **kwargs):
        self.calls.append(list(argv))
        code = 1 if any(word in argv for word in self.fail) else 0
        return subprocess.CompletedProcess(argv, code, stdout="", stderr="nope")


def test_teardown_runs_newest_first_and_past_failures():
    """close() runs every step in reverse order and reports the ones that failed."""
    ran = []
    teardown = Teardown()
    teardown.push("first", lambda: ran.append(1))
    teardown.push("broken", lambda: 1 / 0)
    teardown.push("third", lambda: ran.append(3))
    with pytest.raises(TeardownError) as caught:
        teardown.close()
    assert ran == [3, 1]
    assert [what for what, _ in caught.value.failures] == ["broken"]


def test_teardown_closes_once():
    """A second close does nothing; pushing after close is refused."""
    ran = []
    teardown = Teardown()
    teardown.push("once", lambda: ran.append(1))
    teardown.close()
    teardown.close()
    assert ran == [1]
    with pytest.raises(RuntimeError):
        teardown.push("late", lambda: None)


def test_lab_names_namespaces_with_prefix_and_deletes_them_in_reverse(tmp_path):
    """Hosts are PREFIX+name; closing deletes them newest first."""
    run = RecordingRun()
    with Lab(prefix="t-1-", workdir=str(tmp_path), run=run) as lab:
        lab.add_host("a")
        lab.add_host("b")
        assert ["ip", "netns", "add", "t-1-a"] in run.calls
        run.calls.clear()
    deletes = [c for c in run.calls if c[:3] == ["ip", "netns", "delete"]]
    assert deletes == [["ip", "netns", "delete", "t-1-b"], ["ip", "netns", "delete", "t-1-a"]]


def test_lab_creates_veth_ends_inside_their_namespaces(tmp_path):
    """link() makes both ends in place, so names never touch the machine's namespace."""
    run = RecordingRun()
    with Lab(prefix="t-2-", workdir=str(tmp_path), run=run) as lab:
        switch = lab.add_switch("sw")
        host = lab.add_host("h")
        port = lab.attach(host, switch)
    assert [
        "ip", "link", "add", "eth0", "netns", "t-2-h", "type", "veth",
        "peer", "name", port, "netns", "t-2-sw",
    ] in run.calls
    assert ["ip", "netns", "exec", "t-2-sw", "ip", "link", "set", port, "master", "br0"] in run.calls


def test_lab_failed_command_names_namespace_and_stderr(tmp_path):
    """A failing command in a host raises with the namespace, command and stderr."""
    with Lab(prefix="t-3-", workdir=str(tmp_path), run=RecordingRun(fail=("bogus",))) as lab:
        host = lab.add_host("h")
        with pytest.raises(LabCommandError, match="t-3-h: bogus exited 1: nope"):
            host.run(["bogus"])


def test_packet_round_trip():
    """A built DISCOVER parses back to its fields and options."""
    data = dhcppacket.build(
        "DISCOVER", 0x1234, "02:00:00:00:00:01", {93: b"\x00\x07", 60: b"PXEClient"}
    )
    parsed = dhcppacket.parse(data)
    assert parsed["message_type"] == "DISCOVER"
    assert parsed["xid"] == 0x1234
    assert parsed["chaddr"] == "02:00:00:00:00:01"
    assert parsed["flags"] == dhcppacket.FLAG_BROADCAST
    assert parsed["options"]["client-architecture"] == [7]
    assert parsed["options"]["vendor-class-identifier"] == "PXEClient"


def test_long_options_split_and_join():
    """Values over 255 bytes go out in pieces and come back whole (RFC 3396)."""
    value = bytes(range(256)) * 2
    encoded = dhcppacket.encode_options({43: value})
    assert encoded.count(b"\x2b\xff") == 2
    assert dhcppacket.split_options(encoded)[43] == value


def test_domain_search_with_compression():
    """Option 119 names are decoded, following compression pointers."""
    wire = b"\x03lab\x07example\x00\x03sub\xc0\x04"
    assert dhcppacket.decode_names(wire) == ["lab.example", "sub.example"]


def test_unknown_and_malformed_options_show_as_hex():
    """Unknown codes appear as option-N hex; undecodable known ones as hex too."""
    decoded = dhcppacket.decode_options({250: b"\x01\x02", 1: b"\x01"})
    assert decoded == {"option-250": "0102", "subnet-mask": "01"}


def test_truncated_option_is_an_error():
    """An option running past the packet is reported, not silently cut."""
    with pytest.raises(dhcppacket.PacketError):
        dhcppacket.split_options(b"\x03\x08\xc6\x12")


def test_rawclient_option_specs():
    """-o takes hex, text: and u16: values."""
    assert rawclient.parse_option("93=u16:0,7") == (93, b"\x00\x00\x00\x07")
    assert rawclient.parse_option("60=text:PXE") == (60, b"PXE")
    assert rawclient.parse_option("250=01:02") == (250, b"\x01\x02")


def test_dhclient_event_to_lease():
    """The script's key=value lines become a Lease with lists split and dots dropped."""
    variables = parse_event(
        "reason=BOUND\nnew_ip_address=198.18.0.100\n"
        "new_domain_name_servers=198.18.0.1 198.18.0.53\n"
        "new_domain_search=lab.example. example.net.\n"
        "new_next_server=198.18.0.1\nnew_filename=pxelinux.0\nnew_interface_mtu=1400\n"
    )
    lease = Lease.from_variables(variables)
    assert lease.address == "198.18.0.100"
    assert lease.dns_servers == ("198.18.0.1", "198.18.0.53")
    assert lease.search_list == ("lab.example", "example.net")
    assert (lease.next_server, lease.filename, lease.mtu) == ("198.18.0.1", "pxelinux.0", 1400)
    assert lease.routers == () and lease.domain_name is None


def test_dhclient_conf_asks_for_lab_options():
    """The generated dhclient.conf sets the timeout and requests search and NTP."""
    conf = render_conf(7)
    assert "timeout 7;" in conf
    assert "domain-search" in conf and "ntp-servers" in conf


SUMMARY = """\
***Rate statistics***
Rate: 47.3176 4-way exchanges/second, expected rate: 50
***Statistics for: DISCOVER-OFFER***
sent packets: 20
received packets: 19
drops: 1
avg delay: 0.307 ms
***Statistics for: REQUEST-ACK***
sent packets: 19
received packets: 19
drops: 0
avg delay: 0.773 ms
"""


def test_perfdhcp_summary():
    """The final report gives the rate and per-exchange counts; leases are ACKs."""
    result = perfdhcp.parse_summary(SUMMARY, 3)
    assert result.rate == pytest.approx(47.3176)
    assert result.exchanges["DISCOVER-OFFER"].drops == 1
    assert result.exchanges["REQUEST-ACK"].avg_delay_ms == pytest.approx(0.773)
    assert result.leases == 19


def test_perfdhcp_command_is_bounded():
    """Every run carries a rate, a count and a period."""
    args = perfdhcp.argv("eth0", "198.18.0.1", rate=10, count=5, period=3)
    for flag in ("-r", "-n", "-p"):
        assert flag in args
    assert args[-1] == "198.18.0.1"
