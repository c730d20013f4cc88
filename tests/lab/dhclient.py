"""The real ISC dhclient, run in a lab host with files of its own.

dhclient's default script rewrites the machine's /etc/resolv.conf and routes,
so a lab client always gets ``-sf`` with dhclient-script.sh from this
directory (which records each event as key=value lines and only sets the
address on the lab interface), plus its own ``-cf``, ``-lf`` and ``-pf``.

dhclient runs in the foreground (``-d``) as a lab process: after binding it
stays up and renews at T1 like a real client, and the lab stops it at
teardown. ``-1`` makes it give up (exit 2) when no server answers within
``timeout`` seconds. `restart` stops it and starts it again on the same lease
file, which makes it ask for its old address again (INIT-REBOOT) and pick
up whatever the server now says.
"""

import os
import shutil
import time

import attrs

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dhclient-script.sh")

# What a lab client asks for (dhclient.conf option names).
REQUEST = (
    "subnet-mask",
    "broadcast-address",
    "routers",
    "domain-name-servers",
    "domain-name",
    "domain-search",
    "ntp-servers",
    "interface-mtu",
    "host-name",
)

BOUND_REASONS = ("BOUND", "RENEW", "REBIND", "REBOOT")


class DhclientError(Exception):
    """dhclient did not get a lease; the message carries its log's tail."""


def _words(value):
    return tuple(value.split()) if value else ()


def _number(value):
    return int(value) if value else None


@attrs.frozen
class Lease:
    """What one dhclient event said, from the variables it passed the script."""

    reason: str
    address: str | None
    subnet_mask: str | None
    routers: tuple
    dns_servers: tuple
    domain_name: str | None
    search_list: tuple
    ntp_servers: tuple
    next_server: str | None
    filename: str | None
    server_name: str | None
    server_id: str | None
    mtu: int | None
    lease_time: int | None
    variables: dict = attrs.field(eq=False, repr=False)

    @classmethod
    def from_variables(cls, variables):
        new = lambda key: variables.get("new_" + key) or None  # noqa: E731
        return cls(
            reason=variables.get("reason", ""),
            address=new("ip_address"),
            subnet_mask=new("subnet_mask"),
            routers=_words(new("routers")),
            dns_servers=_words(new("domain_name_servers")),
            domain_name=new("domain_name"),
            # dhclient writes search domains fully qualified ("a.example.").
            search_list=tuple(d.rstrip(".") for d in _words(new("domain_search"))),
            ntp_servers=_words(new("ntp_servers")),
            next_server=new("next_server"),
            filename=new("filename"),
            server_name=new("server_name"),
            server_id=new("dhcp_server_identifier"),
            mtu=_number(new("interface_mtu")),
            lease_time=_number(new("dhcp_lease_time")),
            variables=dict(variables),
        )


def parse_event(text):
    """The key=value lines the script wrote, as a dict."""
    variables = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            variables[key] = value
    return variables


def render_conf(timeout, request=REQUEST, extra=""):
    """A dhclient.conf for a lab client."""
    lines = [
        "timeout %d;" % timeout,
        # Retry quickly: a lab server is either there at once or broken.
        "initial-interval 1;",
        "backoff-cutoff 2;",
        "retry 1;",
        "request %s;" % ", ".join(request),
    ]
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


class Dhclient:
    """One dhclient instance on ``ifname`` of a lab host."""

    def __init__(
        self, host, ifname="eth0", name="dhclient", timeout=10, request=REQUEST,
        extra_conf="", clock=time,
    ):
        self.host = host
        self.ifname = ifname
        self.name = name
        self.timeout = timeout
        self.clock = clock
        self.directory = host.path(name)
        self.events_dir = os.path.join(self.directory, "events")
        os.makedirs(self.events_dir, exist_ok=True)
        self.conf_path = os.path.join(self.directory, "dhclient.conf")
        self.lease_path = os.path.join(self.directory, "dhclient.leases")
        self.pid_path = os.path.join(self.directory, "dhclient.pid")
        self.log_path = os.path.join(self.directory, "dhclient.log")
        # A copy of our own, so its mode does not depend on the checkout's.
        self.script_path = os.path.join(self.directory, "dhclient-script")
        shutil.copyfile(SCRIPT, self.script_path)
        os.chmod(self.script_path, 0o755)
        with open(self.conf_path, "w") as f:
            f.write(render_conf(timeout, request, extra_conf))
        self.process = None

    def argv(self):
        return [
            "dhclient", "-d", "-1", "-v",
            "-sf", self.script_path,
            "-cf", self.conf_path,
            "-lf", self.lease_path,
            "-pf", self.pid_path,
            "-e", "RKLAB_EVENTS=" + self.events_dir,
            self.ifname,
        ]

    def start(self):
        self.process = self.host.popen(self.argv(), name=self.name, log=self.log_path)
        return self.process

    def stop(self):
        if self.process is not None:
            self.process.stop()

    def events(self):
        """Every event so far, oldest first, as dicts of variables."""
        names = sorted(n for n in os.listdir(self.events_dir) if not n.startswith("."))
        found = []
        for name in names:
            with open(os.path.join(self.events_dir, name)) as f:
                found.append(parse_event(f.read()))
        return found

    def leases(self):
        """The events that (re)bound a lease, as Lease values."""
        return [
            Lease.from_variables(e) for e in self.events() if e.get("reason") in BOUND_REASONS
        ]

    def wait_for(self, reasons=BOUND_REASONS, after=0, timeout=None):
        """The first event past the ``after``-th whose reason is one of ``reasons``."""
        timeout = self.timeout + 5 if timeout is None else timeout
        deadline = self.clock.monotonic() + timeout
        while True:
            for event in self.events()[after:]:
                if event.get("reason") in reasons and self._recorded(event):
                    return Lease.from_variables(event)
            if self.process is not None and not self.process.running():
                raise DhclientError(
                    "dhclient exited %s without %s:\n%s"
                    % (self.process.popen.returncode, "/".join(reasons), self.process.tail())
                )
            if self.clock.monotonic() > deadline:
                raise DhclientError(
                    "no %s from dhclient within %ss:\n%s"
                    % ("/".join(reasons), timeout, self.process.tail() if self.process else "")
                )
            self.clock.sleep(0.05)

    def _recorded(self, event):
        """Whether dhclient has written a bound lease to its lease file yet.

        dhclient runs the script before it writes the file; a client stopped
        in between forgets the lease and starts from DISCOVER next time.
        """
        if event.get("reason") not in BOUND_REASONS:
            return True
        try:
            with open(self.lease_path) as f:
                text = f.read()
        except FileNotFoundError:
            return False
        return "fixed-address %s;" % event.get("new_ip_address") in text

    def obtain(self, timeout=None):
        """Start dhclient and return the lease it binds; it stays up to renew."""
        after = len(self.events())
        self.start()
        return self.wait_for(after=after, timeout=timeout)

    def restart(self, timeout=None):
        """Stop and start again on the same lease file; returns the new lease."""
        self.stop()
        return self.obtain(timeout=timeout)
