"""ISC dhcpd run directly in a lab host, for tests of the lab's clients.

Tests of rackd start rackd instead, which runs dhcpd itself; this is the
bare server for checking that the lab and its clients work. It runs in the
foreground with ``-d`` so that its log (there is no syslog here) lands in a
file of its own, which `tail` reads back when a test fails.
"""

import os
import time

from provisioningserver.dhcpd.binary import find_dhcpd

READY = "Server starting service."


class DhcpdError(Exception):
    """dhcpd did not come up; the message carries its log."""


class Dhcpd:
    """One dhcpd -4 on ``interfaces`` of ``host`` with the config ``text``."""

    def __init__(self, host, text, interfaces=("eth0",), name="dhcpd", clock=time):
        self.host = host
        self.interfaces = tuple(interfaces)
        self.name = name
        self.clock = clock
        self.conf_path = host.path(name + ".conf")
        self.lease_path = host.path(name + ".leases")
        self.pid_path = host.path(name + ".pid")
        self.log_path = host.path(name + ".log")
        with open(self.conf_path, "w") as f:
            f.write(text)
        # dhcpd refuses to start without an existing leases file.
        open(self.lease_path, "a").close()
        self.process = None

    def argv(self):
        return [
            find_dhcpd() or "dhcpd", "-d", "-4",
            "-cf", self.conf_path,
            "-lf", self.lease_path,
            "-pf", self.pid_path,
        ] + list(self.interfaces)

    def start(self, timeout=10):
        """Start dhcpd and wait until it says it serves."""
        self.process = self.host.popen(self.argv(), name=self.name, log=self.log_path)
        deadline = self.clock.monotonic() + timeout
        while READY not in self.process.log():
            if not self.process.running():
                raise DhcpdError("dhcpd exited:\n" + self.process.log())
            if self.clock.monotonic() > deadline:
                raise DhcpdError("dhcpd not serving after %ss:\n%s" % (timeout, self.tail()))
            self.clock.sleep(0.02)
        return self

    def stop(self):
        if self.process is not None:
            self.process.stop()

    def tail(self, lines=40):
        return self.process.tail(lines) if self.process else ""

    def log(self):
        return self.process.log() if self.process else ""

    def leases(self):
        with open(self.lease_path) as f:
            return f.read()

    def running(self):
        return self.process is not None and self.process.running() and os.path.exists(
            self.pid_path
        )
