"""Real firmware booting from rackd's dhcpd: SeaBIOS with iPXE, and OVMF (UEFI).

One lab serves the module: a rack namespace runs rackd (dhcpd and dhcpd6),
a TFTP server (dnsmasq, DNS and DHCP off) and an HTTP server (Python's
http.server), on one link to a client namespace where qemu guests with no
disk sit on a tap device bridged to that link (`firmware.vm_port`; a test
that boots through a relay would hand it the client's link to the relay
instead). What each guest received and fetched is read from its serial
console, and the download from the TFTP or HTTP server's own log.

- One OVMF guest (the NIC's option ROM disabled, so OVMF's own network
  stack boots) tries, in its boot manager's order, PXE over IPv4, PXE over
  IPv6 (against dhcpd6), HTTP boot over IPv4 (architecture 16) and over
  IPv6, then its shell: one boot of about a minute under TCG covers the four
  UEFI tests. The loader served is not a real EFI image, so each attempt ends
  "failed to load" after the download; the download is what is checked.
- SeaBIOS guests run iPXE from the e1000's option ROM: iPXE asks for an
  address, is chained to a script over HTTP, and the script echoes what iPXE
  knows (``${ip}``, ``${next-server}``, ``${filename}``). With the document's
  ``ipxe_machine_script`` and ``ipxe_enlist_script``, a machine with a host
  reservation is chained to its own script (the URL names its MAC, which iPXE
  fills in) and any other machine to the enlistment script.

Each guest is bounded by a timeout and stopped by the test (and by the lab's
teardown, also on failure). Guests run under KVM where it works, else TCG
(`firmware.accelerator`).
"""

import ipaddress
import os
import re
import sys

import pytest

from tests.lab import firmware, rawclient
from tests.lab.netns import Lab
from tests.lab.rackd import REPO, RackdAgent

pytestmark = pytest.mark.lab

RACK = "198.18.40.1"
RACK6 = "2001:db8:40::1"
PORT = 5248
POOL = ipaddress.ip_network("198.18.40.0/24")
POOL6 = ipaddress.ip_network("2001:db8:40::/64")
UEFI_MAC = "52:54:00:fb:01:01"
KNOWN_MAC = "52:54:00:fb:02:01"
KNOWN_IP = "198.18.40.20"
UNKNOWN_MAC = "52:54:00:fb:02:02"
# OVMF has tried its last network entry (HTTP over IPv6) and moves on.
UEFI_DONE = r'Start HTTP Boot over IPv6[\s\S]*(?:BdsDxe|EFI Internal Shell)'
IPXE_DONE = r"FIRMWARE-LAB.*? END"
LOADER = b"rackd firmware lab: not an EFI image\n" * 64

SUBNET = {"subnet_cidr": str(POOL), "router_ip": "198.18.40.254",
          "pools": [{"ip_range_low": "198.18.40.100", "ip_range_high": "198.18.40.200"}]}
DOCUMENT = {"shared_networks": [{"name": "firmware", "subnets": [SUBNET]}],
            "hosts": [{"host": "known-machine", "mac": KNOWN_MAC, "ip": KNOWN_IP}]}
PER_MACHINE = {**DOCUMENT, "ipxe_machine_script": "/ipxe/${mac:hexhyp}",
               "ipxe_enlist_script": "/ipxe/enlist"}
DOCUMENT_V6 = {"shared_networks": [{"name": "firmware6", "subnets": [{
    "subnet_cidr": str(POOL6),
    "pools": [{"ip_range_low": "2001:db8:40::1000", "ip_range_high": "2001:db8:40::1fff"}]}]}]}


def _script(name):
    """An iPXE script that shows on the console what iPXE was told."""
    return ("#!ipxe\n"
            f"echo FIRMWARE-LAB script={name} mac=${{mac}} ip=${{ip}} "
            "next-server=${next-server} filename=${filename} END\n")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The module's lab, under a prefix of its own, closed after its last test."""
    lacking = firmware.missing()
    if lacking:
        message = "firmware lab needs " + ", ".join(lacking) + " (scripts/setup installs them)"
        if os.environ.get("RACKD_REQUIRE_LAB") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with Lab(prefix="rkfw-%d-" % os.getpid(),
             workdir=str(tmp_path_factory.mktemp("fwlab"))) as built:
        yield built


@pytest.fixture(scope="module")
def site(lab):
    """The rack (rackd v4 and v6, TFTP, HTTP) and the client the guests run in."""
    rack, client = lab.add_host("rack"), lab.add_host("client")
    lab.link(rack, client, "eth0", "uplink0")
    rack.add_address("eth0", f"{RACK}/24")
    rack.add_address("eth0", f"{RACK6}/64")
    www, tftp = rack.path("www"), rack.path("tftp")
    for directory in (www + "/boot", www + "/ipxe", tftp):
        os.makedirs(directory, exist_ok=True)
    for path in (www + "/boot/bootx64.efi", tftp + "/bootx64.efi"):
        with open(path, "wb") as stream:
            stream.write(LOADER)
    scripts = {"ipxe.cfg": "default", "ipxe/enlist": "enlist",
               "ipxe/" + KNOWN_MAC.replace(":", "-"): "known-machine"}
    for path, name in scripts.items():
        with open(os.path.join(www, path), "w") as stream:
            stream.write(_script(name))
    # A router advertisement on the link (managed: use DHCPv6), as a site's router
    # would send: without one iPXE waits about 13 s for IPv6 before it boots.
    rack.popen([sys.executable, "-m", "tests.lab.ra", "-i", "eth0"], name="ra", cwd=REPO)
    site = {"rack": rack, "client": client,
            "http": firmware.serve_http(rack, www, PORT),
            "tftp": firmware.serve_tftp(rack, tftp),
            "agent": RackdAgent(rack).start()}
    site["agent"].configure(DOCUMENT)
    site["agent"].configure(DOCUMENT_V6, ipv6=True)
    return site


def test_the_accelerator_probe_sees_a_guest_boot(lab):
    """The probe that picks KVM or TCG recognises each firmware running (under TCG,
    which always works), so a "tcg" answer means KVM failed, not that the probe is
    blind."""
    for kind in ("bios", "uefi"):
        assert firmware.boots("tcg", kind, seconds=30), kind
        print(f"{kind}: {firmware.accelerator(kind)}")


def _boot(site, name, firmware_kind, mac, until, timeout, joined=False):
    """Boot one guest until ``until`` shows on its console; returns the console text."""
    client = site["client"]
    tap = firmware.vm_port(client, "uplink0", firmware.free_tap_name(client))
    vm = firmware.VM(client, name, firmware_kind, tap, mac, limit=timeout + 30).start()
    try:
        return vm.wait_for(until, timeout, joined)
    finally:
        print(f"{name}: {vm.stop():.1f} s under {firmware.accelerator(firmware_kind)}")
        for seconds, line in vm.timeline:
            print(f"  {seconds:6.1f} {line}")


@pytest.fixture(scope="module")
def uefi(site):
    """One OVMF boot through PXE v4, PXE v6, HTTP v4 and HTTP v6: its attempts by
    kind, and the TFTP and HTTP servers' logs after it."""
    console = _boot(site, "ovmf", "uefi", UEFI_MAC, UEFI_DONE, 240)
    attempts = {a["kind"]: a for a in firmware.uefi_attempts(console)}
    return {"attempts": attempts, "console": console,
            "tftp": firmware.tftp_sent(site["tftp"].log()),
            "http": firmware.http_requests(site["http"].log())}


def _same_address(a, b):
    return ipaddress.ip_address(a) == ipaddress.ip_address(b)


def test_uefi_pxe_over_ipv4(uefi):
    """OVMF's PXE over IPv4 (architecture 7) gets an address in the pool, next-server
    the rack and boot file bootx64.efi, and downloads that file from the rack's TFTP
    server (whose log names the same client address)."""
    attempt = uefi["attempts"].get("PXE over IPv4")
    assert attempt, uefi["console"][-3000:]
    assert ipaddress.ip_address(attempt["station"]) in POOL
    assert attempt["server"] == RACK
    assert attempt["filename"] == "bootx64.efi"
    assert attempt["downloaded"] and int(attempt["size"]) == len(LOADER)
    assert any(path.endswith("/tftp/bootx64.efi") and _same_address(to, attempt["station"])
               for path, to in uefi["tftp"]), uefi["tftp"]


def test_uefi_pxe_over_ipv6(uefi):
    """OVMF's PXE over IPv6 gets an address from dhcpd6's pool and the bootfile-url
    tftp://[RACK6]/bootx64.efi (it prints the server and file), and downloads it by
    TFTP over IPv6."""
    attempt = uefi["attempts"].get("PXE over IPv6")
    assert attempt, uefi["console"][-3000:]
    assert ipaddress.ip_address(attempt["station"]) in POOL6
    assert _same_address(attempt["server"], RACK6)
    assert attempt["filename"] == "bootx64.efi"
    assert attempt["downloaded"]
    assert any(path.endswith("/tftp/bootx64.efi") and _same_address(to, attempt["station"])
               for path, to in uefi["tftp"]), uefi["tftp"]


def test_uefi_http_boot_over_ipv4(uefi):
    """OVMF's HTTP boot (architecture 16; it accepts only a reply with vendor class
    HTTPClient) gets an address in the pool and the URL of the rack's HTTP boot path,
    and GETs it from the rack's HTTP server."""
    attempt = uefi["attempts"].get("HTTP Boot over IPv4")
    assert attempt, uefi["console"][-3000:]
    assert ipaddress.ip_address(attempt["station"]) in POOL
    assert attempt["uri"] == f"http://{RACK}:{PORT}/boot/bootx64.efi"
    assert attempt["downloaded"] and int(attempt["size"]) == len(LOADER)
    assert (attempt["station"], "GET", "/boot/bootx64.efi", 200) in uefi["http"], uefi["http"]


def test_uefi_http_boot_over_ipv6(uefi):
    """OVMF's HTTP boot over IPv6 gets dhcpd6's bootfile-url on the rack's bracketed
    IPv6 address and GETs it over IPv6."""
    attempt = uefi["attempts"].get("HTTP Boot over IPv6")
    assert attempt, uefi["console"][-3000:]
    assert ipaddress.ip_address(attempt["station"]) in POOL6
    assert attempt["uri"] == f"http://[{RACK6}]:{PORT}/boot/bootx64.efi"
    assert attempt["downloaded"]
    assert any(_same_address(address, attempt["station"]) and (method, path, status) == (
        "GET", "/boot/bootx64.efi", 200) for address, method, path, status in uefi["http"]), \
        uefi["http"]


def _ipxe_report(console):
    """What the lab's iPXE script echoed: {script, mac, ip, next-server, filename}."""
    # The console wraps at 80 columns: join the lines before reading the echo.
    flat = console.replace("\n", "")
    match = re.search(r"FIRMWARE-LAB (.*?) END", flat)
    assert match, console[-3000:]
    return dict(word.split("=", 1) for word in match.group(1).split())


def test_seabios_ipxe_chains_to_the_rack_script(site):
    """SeaBIOS runs iPXE from the NIC's option ROM; iPXE (user class iPXE) gets an
    address in the pool, next-server the rack and the rack's script URL, fetches the
    script over HTTP and runs it."""
    site["agent"].configure(DOCUMENT)  # whatever ran before: no per-machine scripts
    console = _boot(site, "ipxe-default", "bios", UNKNOWN_MAC, IPXE_DONE, 150, joined=True)
    report = _ipxe_report(console)
    assert report["script"] == "default"
    assert ipaddress.ip_address(report["ip"]) in POOL
    assert report["next-server"] == RACK
    assert report["filename"] == f"http://{RACK}:{PORT}/ipxe.cfg"
    assert f"Next server: {RACK}" in console
    assert "ipxe.cfg" in [p.lstrip("/") for _, _, p, s in
                          firmware.http_requests(site["http"].log()) if s == 200]


@pytest.fixture(scope="module")
def per_machine(site):
    """The document with per-machine and enlistment iPXE scripts applied."""
    site["agent"].configure(PER_MACHINE)
    return site


def test_known_machine_gets_its_own_ipxe_script(per_machine):
    """A machine with a host reservation is chained to ipxe_machine_script on the rack:
    dhcpd sends the URL with ${mac:hexhyp} in it (seen by the raw client, calling
    itself iPXE with that MAC), iPXE fills in its MAC and runs that machine's script."""
    sent = rawclient.query(per_machine["client"], firmware.BRIDGE, mac=KNOWN_MAC,
                           user_class="iPXE", request=True)
    assert sent["acks"][0]["file"] == f"http://{RACK}:{PORT}/ipxe/${{mac:hexhyp}}"
    console = _boot(per_machine, "ipxe-known", "bios", KNOWN_MAC, IPXE_DONE, 150, joined=True)
    report = _ipxe_report(console)
    path = "/ipxe/" + KNOWN_MAC.replace(":", "-")
    assert report["script"] == "known-machine"
    assert report["ip"] == KNOWN_IP
    assert report["mac"] == KNOWN_MAC
    assert report["filename"] == f"http://{RACK}:{PORT}{path}"
    assert (KNOWN_IP, "GET", path, 200) in firmware.http_requests(per_machine["http"].log())


def test_unknown_machine_gets_the_enlistment_script(per_machine):
    """A machine without a reservation is chained to ipxe_enlist_script instead."""
    console = _boot(per_machine, "ipxe-unknown", "bios", UNKNOWN_MAC, IPXE_DONE, 150, joined=True)
    report = _ipxe_report(console)
    assert report["script"] == "enlist"
    assert ipaddress.ip_address(report["ip"]) in POOL
    assert report["filename"] == f"http://{RACK}:{PORT}/ipxe/enlist"
