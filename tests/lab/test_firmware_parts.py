"""The firmware lab's pure parts, checked without root or qemu: reading OVMF's
console, the TFTP and HTTP servers' logs, building qemu's command line, and the
router advertisement the lab sends. The console and log lines are as OVMF,
dnsmasq and http.server printed them in tests/lab/test_firmware_lab.py."""

import struct

import pytest

from tests.lab import firmware, ra

OVMF_CONSOLE = (
    "\x1b[2J\x1b[01;01H>>Start PXE over IPv4.\r\n"
    "  Station IP address is 198.18.40.100\r\n\r\n"
    "  Server IP address is 198.18.40.1\r\n"
    "  NBP filename is bootx64.efi\r\n"
    "  NBP filesize is 2368 Bytes\r\n"
    " Downloading NBP file...\r\n\r\n"
    "  NBP file downloaded successfully.\r\n"
    'BdsDxe: failed to load Boot0001 "UEFI PXEv4 (MAC:525400FB0101)": Not Found\r\n'
    ">>Start PXE over IPv6..\r\n"
    "  Station IP address is 2001:DB8:40:0:0:0:0:1AB8\r\n"
    "  Server IP address is 2001:DB8:40:0:0:0:0:1\r\n"
    "  NBP filename is bootx64.efi\r\n"
    "  PXE-E16: No valid offer received.\r\n"
    ">>Start HTTP Boot over IPv4.....\r\n"
    "  Station IP address is 198.18.40.100\r\n\r\n"
    "  URI: http://198.18.40.1:5248/boot/bootx64.efi\r\n"
    "  File Size: 2368 Bytes\r\n"
    "  Downloading...35%\r  Downloading...100%"
    'BdsDxe: failed to load Boot0003 "UEFI HTTPv4 (MAC:525400FB0101)": Not Found\r\n'
)


def test_uefi_attempts_reads_each_network_boot_section():
    """Each >>Start section gives its kind, addresses, file or URI, size, and whether
    the download finished; a section that stopped early says not downloaded."""
    pxe4, pxe6, http4 = firmware.uefi_attempts(firmware.console_text(OVMF_CONSOLE))
    assert pxe4 == {"kind": "PXE over IPv4", "station": "198.18.40.100",
                    "server": "198.18.40.1", "filename": "bootx64.efi", "uri": None,
                    "size": "2368", "downloaded": True}
    assert (pxe6["kind"], pxe6["station"], pxe6["downloaded"]) == (
        "PXE over IPv6", "2001:DB8:40:0:0:0:0:1AB8", False)
    assert (http4["kind"], http4["uri"], http4["size"], http4["downloaded"]) == (
        "HTTP Boot over IPv4", "http://198.18.40.1:5248/boot/bootx64.efi", "2368", True)


def test_console_text_strips_escapes_and_carriage_returns():
    """Screen control sequences and CRs go; the text stays."""
    assert firmware.console_text("\x1b[0;1miPXE\x1b[0m ok\r\n\x1b[2J") == "iPXE ok\n"


def test_server_logs_are_read():
    """dnsmasq's "sent" lines give (file, client); http.server's request lines give
    (client without the v4-mapped prefix, method, path, status)."""
    tftp = ("dnsmasq-tftp[1]: error 8 User aborted the transfer received from 198.18.40.100\n"
            "dnsmasq-tftp[1]: sent /srv/tftp/bootx64.efi to 198.18.40.100\n"
            "dnsmasq-tftp[1]: sent /srv/tftp/bootx64.efi to 2001:db8:40::118c\n")
    assert firmware.tftp_sent(tftp) == [("/srv/tftp/bootx64.efi", "198.18.40.100"),
                                        ("/srv/tftp/bootx64.efi", "2001:db8:40::118c")]
    http = ('::ffff:198.18.40.7 - - [03/Dec/2026 20:16:22] "GET /m/52%3A54 HTTP/1.1" 200 -\n'
            "::ffff:198.18.40.7 - - [03/Dec/2026 20:16:22] code 404, message File not found\n"
            '2001:db8:40::1692 - - [03/Dec/2026 20:17:43] "HEAD /boot/x.efi HTTP/1.1" 404 -\n')
    assert firmware.http_requests(http) == [("198.18.40.7", "GET", "/m/52%3A54", 200),
                                            ("2001:db8:40::1692", "HEAD", "/boot/x.efi", 404)]


class FakeHost:
    def path(self, name):
        return "/nonexistent/" + name


def test_bios_vm_boots_ipxe_from_the_e1000_rom_bounded_and_headless():
    """A BIOS guest: qemu under timeout, no disk, no display, no reboot, serial to a
    file, the tap as its network, iPXE's e1000 ROM as the NIC's option ROM."""
    vm = firmware.VM(FakeHost(), "g", "bios", "tap3", "52:54:00:00:00:01", limit=90)
    argv = vm.argv("tcg")
    assert argv[:5] == ["timeout", "-k", "5", "90", firmware.QEMU]
    for flag in ("-nodefaults", "-nographic", "-no-reboot"):
        assert flag in argv
    assert argv[argv.index("-display") + 1] == "none"
    assert argv[argv.index("-accel") + 1] == "tcg"
    assert argv[argv.index("-serial") + 1] == "file:/nonexistent/g-serial.log"
    assert "tap,id=net0,ifname=tap3,script=no,downscript=no" in argv
    assert f"e1000,netdev=net0,mac=52:54:00:00:00:01,romfile={firmware.IPXE_ROM},bootindex=1" \
        in argv
    assert not any(a.startswith(("-drive", "-hda", "-cdrom")) for a in argv)


def test_firmware_kind_is_checked():
    """Only "bios" and "uefi" are firmware kinds."""
    with pytest.raises(ValueError, match="'bios' or 'uefi'"):
        firmware.VM(FakeHost(), "g", "coreboot", "tap0", "52:54:00:00:00:01")


def test_router_advertisement_says_managed_and_no_default_router():
    """The lab's RA: type 134, M and O flags set, router lifetime 0, 16 bytes."""
    packet = ra.advertisement()
    kind, code, _, hops, flags, lifetime, _, _ = struct.unpack("!BBHBBHII", packet)
    assert (kind, code, hops, flags, lifetime, len(packet)) == (134, 0, 64, 0xC0, 0, 16)
