"""The real rackd in a lab host, and rackctl to drive it.

`RackdAgent` writes a rackd.yaml of its own (state and run directories in
the host's directory, a control socket with a short path: unix socket paths
are limited to 107 bytes), starts ``rackd`` in the host's namespace with the
lab's process tracking, and runs ``rackctl --socket`` against it. The socket
is a file, so rackctl runs from the root namespace. The dhcpd that rackd
starts lives in the same namespace and dies with it when the lab closes.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class RackctlFailed(Exception):
    def __init__(self, result):
        self.result = result
        super().__init__(f"rackctl exited {result.returncode}:\n{result.stdout}{result.stderr}")


class RackdAgent:
    def __init__(self, host, name="rackd", **settings):
        self.host = host
        self.name = name
        self.directory = host.path(name)
        os.makedirs(self.directory, exist_ok=True)
        short = tempfile.mkdtemp(prefix="rk")
        host.lab.teardown.push("remove " + short, lambda: shutil.rmtree(short, True))
        self.socket = os.path.join(short, "control.sock")
        self.config_path = os.path.join(self.directory, "rackd.yaml")
        self.settings = {
            "state_dir": os.path.join(self.directory, "state"),
            "run_dir": os.path.join(self.directory, "run"),
            "control_socket": self.socket,
            **settings,
        }
        with open(self.config_path, "w") as stream:
            yaml.safe_dump(self.settings, stream)
        self.process = None

    @property
    def state_dir(self):
        return self.settings["state_dir"]

    def dhcpd_log(self, ip_version=4):
        name = "dhcpd.log" if ip_version == 4 else "dhcpd6.log"
        try:
            with open(os.path.join(self.state_dir, "log", name), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def start(self, timeout=15, env=None):
        """Start rackd (``env``: variables added to its environment) and
        wait until its control socket answers."""
        self.process = self.host.popen(
            [sys.executable, "-m", "provisioningserver.cli.rackd", "--config", self.config_path],
            name=self.name, cwd=REPO, env={**os.environ, **env} if env else None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.process.running():
                raise RuntimeError(f"rackd exited:\n{self.process.tail()}")
            if os.path.exists(self.socket) and self.rackctl("status", check=False).returncode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError(f"rackd did not answer within {timeout} s:\n{self.process.tail()}")

    def stop(self):
        """SIGTERM rackd and wait for it (dhcpd keeps running)."""
        if self.process is not None:
            self.process.stop()

    def rackctl(self, *args, check=True, stdin=None, timeout=120):
        result = subprocess.run(
            [sys.executable, "-m", "provisioningserver.cli.rackctl", *args[:1],
             "--socket", self.socket, *args[1:]],
            capture_output=True, text=True, input=stdin, cwd=REPO, timeout=timeout)
        if check and result.returncode != 0:
            raise RackctlFailed(result)
        return result

    def configure(self, document, ipv6=False, check=True, dry_run=False, allow_stop=False):
        """rackctl configure with ``document`` (a mapping); returns the JSON outcome
        (or, with check=False, the CompletedProcess)."""
        args = ["configure", "--json"] + (["--ipv6"] if ipv6 else []) + \
            (["--dry-run"] if dry_run else []) + (["--allow-stop"] if allow_stop else []) + \
            ["-"]
        result = self.rackctl(*args, stdin=json.dumps(document), check=check)
        return json.loads(result.stdout) if check else result

    def status(self):
        return json.loads(self.rackctl("status", "--json").stdout)

    def dhcpd_pid(self, ip_version=4):
        return self.status()[f"v{ip_version}"]["pid"]


RACK_ADDRESS = "198.18.0.1"


def rack_and_client(lab, prefix=24, **settings):
    """A rack host (198.18.0.1/``prefix`` on eth0) running rackd with ``settings``,
    and a client host, on one switch: the lab most tests need."""
    switch = lab.add_switch("sw")
    rack, client = lab.add_host("rack"), lab.add_host("client")
    lab.attach(rack, switch)
    lab.attach(client, switch)
    rack.add_address("eth0", f"{RACK_ADDRESS}/{prefix}")
    return RackdAgent(rack, **settings).start(), client


def wait_until(predicate, timeout=15, what="condition"):
    """``predicate()``'s first true value, polled every 0.1 s; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def pid_alive(pid):
    """Whether ``pid`` runs (a zombie does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ", 1)[1][0] != "Z"
