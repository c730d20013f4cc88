"""Real boot firmware in a lab: qemu VMs with no disk, booting from the network.

A VM runs in a lab host's namespace (the "client"), its NIC a tap device on
a bridge of that namespace whose other port is whatever interface leads
towards the boot servers: `vm_port` takes that interface by name, so a test
can hang the VM directly off the rack's link or off a link to a relay
without changing anything else. Debian's packages provide the firmware
(scripts/setup installs them):

- SeaBIOS (qemu-system-x86's own BIOS) with iPXE as the NIC's option ROM
  (ipxe-qemu's ``pxe-e1000.rom``; the legacy ``pxe-virtio.rom`` claims
  device 1af4:1041, which qemu's transitional virtio-net, 1af4:1000, is not,
  and SeaBIOS silently skips it);
- OVMF (edk2 UEFI, ``/usr/share/OVMF``) with the NIC's option ROM disabled
  (``romfile=``), so that OVMF's own network stack boots: with no disk its
  boot manager tries, in this order, PXE over IPv4, PXE over IPv6, HTTP boot
  over IPv4 and over IPv6, then the EFI shell.

Both print their network boot progress on the first serial port, which goes
to a file (``-serial file:``) that the test polls; escape sequences are
stripped (`console_text`). Every VM is bounded three times: qemu runs under
``timeout`` (so it dies even if the test process is killed outright), the
test stops it (process group, SIGTERM then SIGKILL) when it has seen what it
waits for, and the lab's teardown stops it and deletes its namespace, also
when the test fails.

/dev/kvm may exist where KVM does not work, or works for one firmware and
not another (nested virtualisation: here SeaBIOS and iPXE run under KVM,
OVMF stops at once with "KVM internal error"), so `accelerator` boots each
firmware once under KVM, as the lab would, and uses KVM for it only if the
firmware gets going within seconds; otherwise TCG. The answers are kept for
the process (one pytest session).
"""

import functools
import os
import re
import shutil
import subprocess
import tempfile
import time

QEMU = "qemu-system-x86_64"
IPXE_ROM = "/usr/lib/ipxe/qemu/pxe-e1000.rom"
OVMF_CODE = ("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_CODE.fd")
OVMF_VARS = ("/usr/share/OVMF/OVMF_VARS_4M.fd", "/usr/share/OVMF/OVMF_VARS.fd")

BRIDGE = "vmbr0"  # the VMs' bridge in the client host (`vm_port`)
_ESCAPE = re.compile(r"\x1b(?:\[[0-9;?=]*[A-Za-z]|[()][A-Za-z0-9]|[A-Za-z])")


def _first(paths):
    return next((p for p in paths if os.path.exists(p)), None)


def missing():
    """What this module needs and this machine lacks (empty when all is there)."""
    lacking = []
    if shutil.which(QEMU) is None:
        lacking.append(f"{QEMU} (qemu-system-x86)")
    if not os.path.exists(IPXE_ROM):
        lacking.append(f"{IPXE_ROM} (ipxe-qemu)")
    if _first(OVMF_CODE) is None or _first(OVMF_VARS) is None:
        lacking.append("/usr/share/OVMF/OVMF_CODE*.fd (ovmf)")
    if shutil.which("dnsmasq") is None and not os.path.exists("/usr/sbin/dnsmasq"):
        lacking.append("dnsmasq (dnsmasq-base)")
    return lacking


def console_text(raw):
    """Serial console output as plain text: escape sequences and CRs removed."""
    return _ESCAPE.sub("", raw).replace("\r", "")


# What each firmware prints once it runs in earnest: SeaBIOS has switched to
# iPXE's protected-mode code; OVMF's boot manager has started.
_RUNNING = {"bios": "iPXE initialising devices...ok", "uefi": re.compile(r"BdsDxe|>>Start")}


@functools.cache
def accelerator(firmware):
    """``kvm`` if ``firmware`` ("bios" or "uefi") really runs under KVM here, else
    ``tcg``; probed once per firmware. (Here SeaBIOS and iPXE run under KVM
    while OVMF stops at once with "KVM internal error. Suberror: 1": a probe with
    another firmware would not tell.)"""
    if os.access("/dev/kvm", os.R_OK | os.W_OK) and boots("kvm", firmware):
        return "kvm"
    return "tcg"


class _Scratch:
    def __init__(self, directory):
        self.directory = directory

    def path(self, name):
        return os.path.join(self.directory, name)


def boots(accel, firmware, seconds=8):
    """Whether ``firmware`` gets going under ``accel`` within ``seconds``: the
    probe VM has the same firmware and NIC as a lab VM, on a network hub with
    nothing else on it."""
    with tempfile.TemporaryDirectory(prefix="rkfw-probe-") as directory:
        vm = VM(_Scratch(directory), "probe", firmware, None, "52:54:00:00:00:99",
                limit=seconds + 2)
        errors = os.path.join(directory, "qemu.log")
        with open(errors, "wb") as stream:
            probe = subprocess.Popen(vm.argv(accel), stdin=subprocess.DEVNULL, stdout=stream,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        marker = _RUNNING[firmware]
        try:
            deadline = time.monotonic() + seconds
            # A guest KVM cannot run either stops with this message (qemu stays up,
            # the guest paused) or hangs silently (iPXE here): then the deadline.
            while (time.monotonic() < deadline and probe.poll() is None
                   and "KVM internal error" not in _read(errors)):
                text = vm.console()
                if (marker in text) if isinstance(marker, str) else marker.search(text):
                    return True
                time.sleep(0.1)
            return False
        finally:
            if probe.poll() is None:
                os.killpg(probe.pid, 9)
            probe.wait()


def _read(path):
    try:
        with open(path, errors="replace") as stream:
            return stream.read()
    except FileNotFoundError:
        return ""


def vm_port(host, uplink, tap="tap0", bridge=BRIDGE):
    """A tap device for a VM in ``host``, bridged there with ``uplink`` (the
    interface that leads to the boot servers, or to a relay); returns the tap's
    name. A second call with another ``tap`` adds a port to the same bridge."""
    if bridge not in _links(host):
        host.run(["ip", "link", "add", bridge, "type", "bridge", "stp_state", "0",
                  "forward_delay", "0"])
        host.run(["ip", "link", "set", uplink, "master", bridge])
        host.set_up(bridge)
    host.run(["ip", "tuntap", "add", "dev", tap, "mode", "tap"])
    host.run(["ip", "link", "set", tap, "master", bridge])
    host.set_up(tap)
    return tap


def _links(host):
    return host.run(["ls", "/sys/class/net"]).stdout.split()


class VM:
    """One qemu guest in ``host``'s namespace, booting ``firmware`` ("bios" or
    "uefi") from the network on tap device ``tap`` (None: a network hub with
    nothing on it) with NIC address ``mac``; ``host`` runs it and holds its files."""

    def __init__(self, host, name, firmware, tap, mac, limit=240, memory=256):
        if firmware not in ("bios", "uefi"):
            raise ValueError(f"firmware must be 'bios' or 'uefi', got {firmware!r}")
        self.host, self.name, self.firmware = host, name, firmware
        self.tap, self.mac, self.limit, self.memory = tap, mac, limit, memory
        self.serial = host.path(f"{name}-serial.log")
        self.process = None
        self.started = None
        self.timeline = []

    def argv(self, accel):
        argv = ["timeout", "-k", "5", str(int(self.limit)), QEMU, "-accel", accel,
                "-m", str(self.memory), "-nodefaults", "-nographic", "-display", "none",
                "-monitor", "none", "-no-reboot", "-serial", f"file:{self.serial}", "-netdev",
                f"tap,id=net0,ifname={self.tap},script=no,downscript=no" if self.tap else
                "hubport,id=net0,hubid=0"]
        if self.firmware == "bios":
            return argv + ["-machine", "pc", "-device",
                           f"e1000,netdev=net0,mac={self.mac},romfile={IPXE_ROM},bootindex=1"]
        variables = self.host.path(f"{self.name}-vars.fd")
        shutil.copyfile(_first(OVMF_VARS), variables)
        return argv + [
            "-machine", "q35",
            "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={_first(OVMF_CODE)}",
            "-drive", f"if=pflash,format=raw,unit=1,file={variables}",
            "-device", f"virtio-net-pci,netdev=net0,mac={self.mac},romfile=",
        ]

    def start(self):
        self.started = time.monotonic()
        self.process = self.host.popen(self.argv(accelerator(self.firmware)),
                                       name=f"qemu-{self.name}",
                                       grace=2.0)
        return self

    def console(self):
        return console_text(_read(self.serial))

    def wait_for(self, pattern, timeout, joined=False):
        """The console text once ``pattern`` (a regex) appears in it (with
        ``joined``, in the text with its line breaks removed: iPXE wraps its
        console at 80 columns); on timeout or if qemu exits first,
        AssertionError with the console's tail."""
        found = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            text = self.console()
            self._note(text)
            if found.search(text.replace("\n", "") if joined else text):
                return text
            if not self.process.running():
                raise AssertionError(f"{self.name}: qemu exited before {pattern!r}:\n"
                                     f"{self.process.tail()}\n--- console:\n{text[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no {pattern!r} on the console within "
                                     f"{timeout} s (accel {accelerator(self.firmware)}):\n{text[-3000:]}")
            time.sleep(0.25)

    def _note(self, text):
        """Remember when each console line first showed (``timeline``: seconds
        since start, line), to tell where a slow boot spends its time."""
        lines = [line for line in text.splitlines() if line.strip()]
        for line in lines[len(self.timeline):]:
            self.timeline.append((round(time.monotonic() - self.started, 1), line[:100]))

    def stop(self):
        if self.process is not None:
            self.process.stop()
        return time.monotonic() - (self.started or time.monotonic())


def serve_http(host, root, port):
    """Python's http.server on every address of ``host`` (IPv4 and IPv6), serving
    ``root``; returns the process once it listens. Its log has a line per request."""
    process = host.popen(["/usr/bin/python3", "-u", "-m", "http.server", "--bind", "::",
                          "--directory", root, str(port)], name=f"http-{port}")
    _wait_listening(host, "tcp", port, process)
    return process


def serve_tftp(host, root):
    """dnsmasq as a TFTP server only (no DNS: ``--port=0``; no DHCP: no range)
    on ``host``, serving ``root``; its log has a ``sent FILE to ADDRESS`` line per
    file sent."""
    process = host.popen(["dnsmasq", "--keep-in-foreground", "--port=0", "--log-facility=-",
                          "--enable-tftp", f"--tftp-root={root}", "--user=root",
                          "--group=root", f"--pid-file={host.path('dnsmasq.pid')}"],
                         name="dnsmasq-tftp")
    _wait_listening(host, "udp", 69, process)
    return process


def _wait_listening(host, protocol, port, process, timeout=10):
    flag = "-tln" if protocol == "tcp" else "-uln"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.running():
            raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
        out = host.run(["ss", flag]).stdout
        if re.search(rf"[:\]]{port}\s", out):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{process.name} does not listen on {protocol} {port}:\n{process.tail()}")


def tftp_sent(log):
    """(file path, client address) of each file the dnsmasq log says it sent."""
    return re.findall(r"sent (\S+) to (\S+)", log)


def http_requests(log):
    """(client address, method, path, status) of each request in an http.server log."""
    found = re.findall(r'^(\S+) - - \[[^]]*\] "(\w+) (\S+) HTTP/[\d.]+" (\d+)', log, re.M)
    return [(address.removeprefix("::ffff:"), method, path, int(status))
            for address, method, path, status in found]


def uefi_attempts(console):
    """OVMF's network boot attempts, from its console text: one mapping per
    ``>>Start PXE over IPv4`` (IPv6, HTTP Boot over IPv4/IPv6) section with
    what the firmware printed (``station``, ``server``, ``filename``, ``uri``,
    ``size``) and whether it reported the download finished (``downloaded``)."""
    attempts = []
    for part in re.split(r"(?=>>Start )", console)[1:]:
        kind = re.match(r">>Start (.*?)\.*\n", part + "\n").group(1).strip()
        attempt = {"kind": kind}
        for key, regex in (("station", r"Station IP(?:v6)? address is (\S+)"),
                           ("server", r"Server IP address is (\S+)"),
                           ("filename", r"NBP filename is (\S+)"),
                           ("uri", r"URI: (\S+)"),
                           ("size", r"(?:NBP file ?size is|File Size:) (\d+)")):
            match = re.search(regex, part)
            attempt[key] = match.group(1) if match else None
        attempt["downloaded"] = bool(re.search(
            r"NBP file downloaded successfully|Downloading\.\.\.100%", part))
        attempts.append(attempt)
    return attempts


def free_tap_name(host, base="tap"):
    """A tap name not yet used in ``host``."""
    taken = set(_links(host))
    return next(f"{base}{i}" for i in range(100) if f"{base}{i}" not in taken)

