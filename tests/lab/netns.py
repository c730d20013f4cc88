"""Network-namespace labs: hosts, links, switches, and processes inside them.

A `Lab` owns a name prefix (default ``rk-<pid>-``): every namespace it makes
is called prefix + host name, so parallel runs never collide and a crashed
run's leftovers can be found and removed by `cleanup_stale`. Interfaces are
created directly inside their namespaces (``ip link add ... netns``), so
their names only need to be unique per host and never appear on the machine
itself.

Everything the lab creates is pushed on a `Teardown` stack as soon as it
exists; closing the lab (the context manager, the pytest fixture, interpreter
exit or SIGTERM) kills the processes first (whole process groups, then
whatever still runs in a namespace) and deletes the namespaces after.

Commands go through an injected ``run`` (subprocess.run by default) so that
the plumbing can be checked without root.
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time

from tests.lab.teardown import Teardown, track, untrack

BRIDGE = "br0"


class LabCommandError(Exception):
    """A command of the lab failed; the message carries its stderr."""


def default_prefix():
    return "rk-%d-" % os.getpid()


def _check(run, argv, **kwargs):
    result = run(argv, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise LabCommandError(
            "%s exited %d: %s"
            % (" ".join(argv), result.returncode, (result.stderr or "").strip())
        )
    return result


def list_namespaces(run=subprocess.run):
    """Names of the network namespaces on this machine."""
    out = _check(run, ["ip", "netns", "list"]).stdout
    # Lines look like "name (id: 3)" or just "name".
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def namespace_pids(netns, run=subprocess.run):
    result = run(["ip", "netns", "pids", netns], capture_output=True, text=True)
    return [int(p) for p in result.stdout.split() if p.isdigit()]


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def delete_namespace(netns, run=subprocess.run, grace=2.0):
    """Kill everything running in ``netns``, then delete it."""
    pids = namespace_pids(netns, run)
    for pid in pids:
        _kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pids and time.monotonic() < deadline:
        time.sleep(0.05)
        pids = namespace_pids(netns, run)
    for pid in pids:
        _kill(pid, signal.SIGKILL)
    _check(run, ["ip", "netns", "delete", netns])


def cleanup_stale(prefix, run=subprocess.run):
    """Remove namespaces (and their processes) left by a run using ``prefix``.

    Returns the names removed. ``prefix`` must name one run (``rk-1234-``);
    a shorter one would also tear down labs that are still in use.
    """
    if not prefix:
        raise ValueError("cleanup_stale needs a non-empty prefix")
    removed = []
    for netns in list_namespaces(run):
        if netns.startswith(prefix):
            delete_namespace(netns, run)
            removed.append(netns)
    for entry in os.listdir(tempfile.gettempdir()):
        if entry.startswith(prefix):
            shutil.rmtree(os.path.join(tempfile.gettempdir(), entry), True)
    return removed


class Process:
    """A long-running program in a namespace, its output going to a file."""

    def __init__(self, popen, name, log_path, grace=3.0):
        self.popen = popen
        self.name = name
        self.log_path = log_path
        self.grace = grace

    @property
    def pid(self):
        return self.popen.pid

    def running(self):
        return self.popen.poll() is None

    def stop(self, grace=None):
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds."""
        grace = self.grace if grace is None else grace
        if self.popen.poll() is not None:
            return self.popen.returncode
        # start_new_session made the process its own group leader, so this
        # reaches any children it started too.
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                break
            try:
                return self.popen.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        return self.popen.wait()

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def tail(self, lines=40):
        return "\n".join(self.log().splitlines()[-lines:])


class Host:
    """One network namespace of a lab."""

    def __init__(self, lab, name, netns, directory):
        self.lab = lab
        self.name = name
        self.netns = netns
        self.directory = directory
        self.processes = []
        self._ports = 0

    def __repr__(self):
        return "<Host %s>" % self.netns

    def path(self, *parts):
        """A path in this host's own directory of the lab's workdir."""
        return os.path.join(self.directory, *parts)

    def command(self, argv):
        return ["ip", "netns", "exec", self.netns] + list(argv)

    def run(self, argv, check=True, timeout=30, **kwargs):
        """Run ``argv`` in the namespace and wait; output is captured."""
        result = self.lab.run(
            self.command(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )
        if check and result.returncode != 0:
            raise LabCommandError(
                "in %s: %s exited %d: %s"
                % (
                    self.netns,
                    " ".join(argv),
                    result.returncode,
                    (result.stderr or "").strip(),
                )
            )
        return result

    def popen(self, argv, name=None, log=None, env=None, cwd=None, grace=3.0):
        """Start a long-running ``argv`` in the namespace; returns a Process.

        Its stdout and stderr go to ``log`` (default: NAME.log in the host's
        directory), never to a pipe that could fill up and block it. The
        process is stopped when the lab closes, if not before: SIGTERM to its
        process group, SIGKILL after ``grace`` seconds.
        """
        name = name or os.path.basename(argv[0])
        log = log or self.path("%s.log" % name)
        with open(log, "ab") as out:
            popen = self.lab.popen(
                self.command(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
                cwd=cwd,
            )
        process = Process(popen, name, log, grace)
        self.processes.append(process)
        self.lab.teardown.push("stop %s in %s" % (name, self.netns), process.stop)
        return process

    def set_up(self, ifname):
        self.run(["ip", "link", "set", ifname, "up"])

    def add_address(self, ifname, cidr):
        """Add an IPv4 or IPv6 address; IPv6 ones skip DAD, usable at once."""
        argv = ["ip", "address", "add", cidr, "dev", ifname]
        if ":" in cidr:
            argv.append("nodad")
        self.run(argv)

    def addresses(self, ifname, family="inet"):
        """The ``family`` (inet or inet6) addresses of ``ifname`` as CIDRs."""
        flag = "-6" if family == "inet6" else "-4"
        out = self.run(["ip", "-o", flag, "address", "show", "dev", ifname])
        found = []
        for line in out.stdout.splitlines():
            words = line.split()
            if family in words:
                found.append(words[words.index(family) + 1])
        return found

    def mac(self, ifname):
        path = "/sys/class/net/%s/address" % ifname
        return self.run(["cat", path]).stdout.strip()

    def next_port(self):
        self._ports += 1
        return "p%d" % self._ports


class Lab:
    """Hosts joined by veth pairs and bridges, torn down as one."""

    def __init__(
        self, prefix=None, workdir=None, run=subprocess.run, popen=subprocess.Popen
    ):
        self.prefix = prefix or default_prefix()
        self.run = run
        self.popen = popen
        self.teardown = Teardown()
        self.hosts = {}
        track(self.teardown)
        if workdir is None:
            workdir = tempfile.mkdtemp(prefix=self.prefix)
            self.teardown.push("remove " + workdir, lambda: shutil.rmtree(workdir))
        self.workdir = workdir

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        self.teardown.close()

    def keep(self):
        """Leave the lab up when this process exits (cleanup_stale removes it)."""
        untrack(self.teardown)

    def processes(self):
        return [p for host in self.hosts.values() for p in host.processes]

    def add_host(self, name):
        """A new namespace, loopback up, IPv6 DAD off for its interfaces."""
        if name in self.hosts:
            raise ValueError("lab already has a host named %r" % name)
        netns = self.prefix + name
        _check(self.run, ["ip", "netns", "add", netns])
        self.teardown.push(
            "delete namespace " + netns, lambda: delete_namespace(netns, self.run)
        )
        directory = os.path.join(self.workdir, name)
        os.makedirs(directory, exist_ok=True)
        host = Host(self, name, netns, directory)
        self.hosts[name] = host
        host.set_up("lo")
        # Interfaces copy "default" when created: set it before any exist.
        for scope in ("all", "default"):
            host.run(["sysctl", "-qw", "net.ipv6.conf.%s.accept_dad=0" % scope])
        return host

    def link(self, a, b, a_ifname=None, b_ifname=None):
        """A veth pair between hosts ``a`` and ``b``, both ends up."""
        a_ifname = a_ifname or a.next_port()
        b_ifname = b_ifname or b.next_port()
        _check(
            self.run,
            ["ip", "link", "add", a_ifname, "netns", a.netns, "type", "veth"]
            + ["peer", "name", b_ifname, "netns", b.netns],
        )
        # Deleting a namespace destroys its veth ends; no undo step needed.
        a.set_up(a_ifname)
        b.set_up(b_ifname)
        return a_ifname, b_ifname

    def add_switch(self, name):
        """A host holding one bridge (``br0``, up, no STP) to attach hosts to."""
        switch = self.add_host(name)
        switch.run(["ip", "link", "add", BRIDGE, "type", "bridge", "stp_state", "0"])
        switch.set_up(BRIDGE)
        return switch

    def attach(self, host, switch, ifname="eth0"):
        """Plug ``host`` into ``switch`` by a veth pair; returns the port name."""
        _, port = self.link(host, switch, ifname)
        switch.run(["ip", "link", "set", port, "master", BRIDGE])
        return port
