"""Crash trials: kill -9 rackd inside a configure, then judge what serves.

The claim under test (issue N): whatever the moment of the kill, a new
rackd comes up and dhcpd serves the old document or the new one whole,
never stopped and never a mix, and the state file always reads. A trial:

1. a rackd (no hook) applies the old document ``A``, and is stopped;
2. a rackd is started with the trial's crash point armed
   (``RACKD_CRASH_AT``, `provisioningserver.system.crashpoint`), or with
   none and killed from here after a seeded random delay within the
   measured duration of that kind of configure; ``rackctl configure`` sends
   the new document (``B``: hosts only, a live OMAPI change; ``C``: a DNS
   server and the hosts, a restart), and rackd dies in it;
3. a new rackd starts (no hook) and, before any new configure, once its
   resume is done (no intent file, dhcpd running), `judge` reads what
   dhcpd serves: every host of both documents looked up by MAC over OMAPI
   (tests.omapi.driver) and the DNS server a probe DISCOVER is offered;
   the hosts must be exactly one document's, the DNS server that same
   document's, one dhcpd must run in the rack's namespace, and the state file must read as JSON of the current format
   naming that document or none;
4. a configure of the new document must then converge: its hosts, its DNS.

`run_trials` runs a list of `Trial` values on one lab and returns one
`Result` per trial; the lab test runs a seeded handful, bench/crash_points.py
hundreds. Documents stay small (30 hosts) so that a trial takes seconds.
"""

import json
import os
import random
import signal
import threading
import time

import attrs

from provisioningserver.rpc import controlclient
from provisioningserver.system.packed import PackedJSON
from tests.lab.netns import namespace_pids
from tests.lab.rackd import RackdAgent, RACK_ADDRESS, wait_until
from tests.lab.rawclient import query
from tests.lab.test_reservations import document, lookups

HOSTS = 30
NAMED = {  # the crash points each kind of configure passes
    "hosts": ("before-render", "omapi-change", "after-write", "before-save"),
    "restart": ("before-render", "after-write", "stopped", "spawned", "before-save"),
}
LIVE_CHANGES = 25  # B against A: 10 removes, 5 updates, 10 adds


def _host(i, ip_shift=0):
    return {"host": f"h{i}", "mac": f"02:20:00:00:00:{i:02x}", "ip": f"198.18.0.{10 + i + ip_shift}"}


def documents():
    """``A``; ``B``, its hosts-only successor; ``C``, B's hosts with another DNS server."""
    a_hosts = [_host(i) for i in range(HOSTS)]
    b_hosts = ([_host(i, ip_shift=50) for i in range(10, 15)]
               + [_host(i) for i in range(15, HOSTS + 10)])
    docs = {}
    for name, hosts, dns in (("A", a_hosts, "198.18.0.2"), ("B", b_hosts, "198.18.0.2"),
                             ("C", b_hosts, "198.18.0.3")):
        doc = document(hosts)
        doc["shared_networks"][0]["subnets"][0]["dns_servers"] = [dns]
        docs[name] = doc
    return docs


@attrs.frozen
class Trial:
    """``kind``: hosts (A to B) or restart (A to C); ``point``: a crash
    point (``omapi-change:K``) or None for a kill after ``delay`` seconds."""

    kind: str
    point: "str | None" = None
    delay: float = 0.0

    @property
    def label(self):
        return self.point if self.point is not None else f"kill after {self.delay:.3f}s"


@attrs.frozen
class Result:
    trial: Trial
    served: str  # "old" or "new": what the new rackd served before any configure
    converged: bool
    seconds: float
    resume_seconds: float  # from the new rackd's start to dhcpd judged


def _is_dhcpd(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as stream:
            return os.path.basename(stream.read().split(b"\0")[0]) == b"dhcpd"
    except OSError:
        return False


def seeded_trials(seed, count, durations):
    """``count`` trials from ``seed``: each kind's named points in turn
    (``omapi-change`` at a random K), every third trial a random delay
    within ``durations[kind]``, the configure's measured seconds."""
    rng = random.Random(seed)
    trials = []
    for n in range(count):
        kind = ("hosts", "restart")[n % 2]
        if n % 3 == 2:
            trials.append(Trial(kind, delay=rng.uniform(0, durations[kind])))
            continue
        points = NAMED[kind]
        point = points[(n // 2) % len(points)]
        if point == "omapi-change":
            point = f"omapi-change:{rng.randint(1, LIVE_CHANGES)}"
        trials.append(Trial(kind, point))
    return trials


class CrashRig:
    """One rack (rackd, dhcpd) and one client on a switch, reused by every trial."""

    def __init__(self, lab):
        switch = lab.add_switch("sw")
        rack, self.client = lab.add_host("rack"), lab.add_host("client")
        lab.attach(rack, switch)
        lab.attach(self.client, switch)
        rack.add_address("eth0", f"{RACK_ADDRESS}/24")
        self.agent = RackdAgent(rack)
        self.docs = documents()
        self.agent.start()

    def restart_agent(self, env=None):
        self.agent.stop()
        return self.agent.start(env=env)

    def measure(self, repeat=3):
        """Seconds each kind of configure takes from A, request to answer
        (the median of ``repeat``): what random kill delays are drawn within."""
        found = {}
        for kind, new in (("hosts", "B"), ("restart", "C")):
            times = []
            for _ in range(repeat):
                self.agent.configure(self.docs["A"])
                began = time.monotonic()
                answer = self._send(self.docs[new])
                times.append(time.monotonic() - began)
                assert isinstance(answer, dict), answer
            found[kind] = sorted(times)[len(times) // 2]
        return found

    def run(self, trial):
        began = time.monotonic()
        old, new = "A", ("B" if trial.kind == "hosts" else "C")
        self.agent.configure(self.docs["A"])
        if trial.point:  # a kill from here needs no hook: the running rackd will do
            self.restart_agent({"RACKD_CRASH_AT": trial.point})
        self._configure_and_die(self.docs[new], trial)
        restarted = time.monotonic()
        self.agent.start()
        served = self.judge(old, new)
        resume = time.monotonic() - restarted
        self.agent.configure(self.docs[new])
        converged = self.judge(new, new) == "new"
        return Result(trial, served, converged, time.monotonic() - began, resume)

    def _send(self, doc):
        """Configure ``doc`` over the control socket from this process (no
        rackctl start-up in the way of the delay clock); the answer or the error."""
        try:
            return controlclient.call(self.agent.socket, "Configure", 120, ip_version=4,
                                      document=PackedJSON.of(doc))
        except (controlclient.NoAnswer, controlclient.Refused,
                controlclient.Unreachable) as error:
            return error

    def _configure_and_die(self, doc, trial):
        sent = threading.Thread(target=self._send, args=(doc,), daemon=True)
        process = self.agent.process
        sent.start()
        if trial.point is None:
            time.sleep(trial.delay)
            if process.running():
                os.kill(process.pid, signal.SIGKILL)
        process.popen.wait(30)
        sent.join(30)
        if trial.point is not None:
            # The hook's own SIGKILL, not an exit or an error of rackd's.
            assert process.popen.returncode == -signal.SIGKILL, (trial, process.tail())

    def judge(self, old, new):
        """"old" or "new": the one document dhcpd serves whole; AssertionError
        for a mix, a stopped dhcpd or a state file that does not read."""
        state_dir = self.agent.state_dir
        wait_until(lambda: not os.path.exists(os.path.join(state_dir, "configuring-v4.json"))
                   and self.agent.status()["v4"]["state"] == "running", timeout=20,
                   what="the new rackd to resume dhcpd")
        everything = {h["mac"]: h for name in (old, new) for h in self.docs[name]["hosts"]}
        found = set()
        for result in lookups(self.agent, list(everything.values())):
            if "ok" in result:
                found.add((result["ok"]["name"], result["ok"]["mac"], result["ok"]["ip"]))
            else:
                assert result.get("error") == "OmapiNotFound", result
        dhcpds = [pid for pid in namespace_pids(self.agent.host.netns) if _is_dhcpd(pid)]
        assert len(dhcpds) == 1, f"{len(dhcpds)} dhcpd processes serve: {dhcpds}"
        probe = query(self.client, timeout=3.0)
        assert probe["offers"], f"dhcpd did not answer a DISCOVER: {probe}"
        dns = probe["offers"][0]["options"].get("domain-name-servers")
        verdicts = []
        for label, name in (("old", old), ("new", new)):
            doc = self.docs[name]
            hosts = {(h["host"], h["mac"], h["ip"]) for h in doc["hosts"]}
            wanted = doc["shared_networks"][0]["subnets"][0]["dns_servers"]
            if found == hosts and list(dns) == wanted:
                verdicts.append(label)
        assert verdicts, (f"a mix: dhcpd holds {sorted(found)} with DNS {dns}, "
                          f"which is neither {old} nor {new} whole")
        self._check_state_file(state_dir, [self.docs[n] for n in (old, new)])
        return verdicts[-1]

    @staticmethod
    def _check_state_file(state_dir, docs):
        with open(os.path.join(state_dir, "applied-v4.json"), "rb") as stream:
            data = json.loads(stream.read())
        assert data["version"] == 2, data.get("version")
        named = data.get("document")
        if named is not None:
            hosts = sorted(h["host"] for h in named["hosts"])
            assert hosts in [sorted(h["host"] for h in d["hosts"]) for d in docs], hosts


def run_trials(rig, trials, report=None):
    results = []
    for trial in trials:
        result = rig.run(trial)
        results.append(result)
        if report is not None:
            report(result)
    return results
