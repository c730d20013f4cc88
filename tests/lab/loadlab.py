"""The load labs' scenario, built once: rackd serving lease load while its
region link keeps breaking, and the figures that say whether it coped.

    region (127.0.0.1:5250) <- linkcut relay (198.18.10.1:5250) <-veth- rack (rackd, dhcpd) - switch - client (perfdhcp)

`FlappingLab` is `tests.lab.test_region_lab.build` with a `tests.lab.linkcut`
relay between the rack and the test region: the region configures the rack
over a quiet link, then `begin` starts the relay's seeded cuts. `LeaseLoad`
is perfdhcp at a steady rate for a bounded time (as a relay from the
client's address, ``ping-check false`` in the document so that dhcpd answers
at once). `settle` waits for the journal to drain; `ledger` counts what
dhcpd committed, the journal recorded and the region stored
(`tests.lab.ledger`). `Watch` samples rackd's memory and descriptors once a
second while a phase runs. The flapping and soak lab tests and
bench/soak.py are these pieces with different durations.
"""

import copy
import os
import sys
import time

from tests.lab import ledger, linkcut, perfdhcp
from tests.lab.rackd import REPO, wait_until
from tests.lab.test_agent import DOCUMENT
from tests.lab.test_region_lab import PORT, REGION_IP, build, configure

CLIENT_IP = "198.18.0.2"
LOAD_CLIENTS = 40  # perfdhcp's MACs: fewer than the 51 addresses of the pool


def load_document(hosts=()):
    """The lab document, answering at once (no ping check), with ``hosts``."""
    doc = copy.deepcopy(DOCUMENT)
    doc["global_dhcp_snippets"] = [{"name": "load", "value": "ping-check false;"}]
    doc["hosts"] = list(hosts)
    return doc


def rackd_pid(agent):
    """rackd's own pid (``ip netns exec`` has exec'd it by the time it answers)."""
    pid = agent.process.pid
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        if b"provisioningserver.cli.rackd" not in f.read():
            raise RuntimeError(f"pid {pid} is not rackd yet")
    return pid


class FlappingLab:
    """Region, relay, rack and client; nothing cut until `begin`."""

    def __init__(self, lab, seconds, seed=1, low=0.5, high=2.0, **settings):
        self.lab, self.relay = lab, None
        self.begin_path = os.path.join(lab.workdir, "linkcut.begin")

        def start_relay(region_host):
            self.relay = region_host.popen(
                [sys.executable, "-m", "tests.lab.linkcut",
                 "--listen", f"{REGION_IP}:{PORT}", "--target", f"127.0.0.1:{PORT}",
                 "--seed", str(seed), "--duration", str(seconds), "--low", str(low),
                 "--high", str(high), "--begin", self.begin_path], name="linkcut", cwd=REPO)
            wait_until(lambda: '"listening"' in self.relay.log(), what="the relay to listen")

        settings.setdefault("stall_log_seconds", 0.1)
        self.region, self.agent, self.client = build(lab, relay=start_relay, **settings)
        self.client.add_address("eth0", f"{CLIENT_IP}/24")
        self.pid = rackd_pid(self.agent)

    def configure(self, doc):
        return configure(self.region, doc)

    def begin(self):
        open(self.begin_path, "w").close()
        wait_until(lambda: '"cutting"' in self.relay.log(), what="the relay to start cutting")

    def cuts(self):
        return linkcut.cuts(self.relay.log())

    def cutting_done(self):
        return '"steady"' in self.relay.log()

    def settle(self, timeout=180):
        """Wait until the relay has stopped cutting and the journal is empty."""
        wait_until(self.cutting_done, timeout=timeout, what="the cuts to end")
        wait_until(lambda: self.agent.status()["lease_events"]["pending"] == 0,
                   timeout=timeout, what="the journal to drain to the region")

    def ledger(self):
        acks = ledger.dhcpd_acks(self.agent.dhcpd_log())
        journaled = ledger.journal_commits(os.path.join(self.agent.state_dir, "leases.db"))
        return ledger.compare(acks, journaled, ledger.region_account(self.region.events("leases")))

    def stalls(self):
        return ledger.stalls(self.agent.process.log())


class LeaseLoad:
    """perfdhcp from the client at ``rate`` exchanges/s for ``seconds``."""

    def __init__(self, client, rate, seconds, clients=LOAD_CLIENTS, tag="load"):
        argv = perfdhcp.argv("eth0", "198.18.0.1", rate, int(rate * seconds), int(seconds) + 1,
                             clients=clients)
        self.process = client.popen(argv, name=f"perfdhcp-{tag}")
        self.seconds = seconds

    def result(self, timeout=60):
        """perfdhcp's summary, once it has finished."""
        status = self.process.popen.wait(self.seconds + timeout)
        if status not in perfdhcp.COMPLETED_STATUSES:
            raise perfdhcp.PerfdhcpError(f"perfdhcp exited {status}: {self.process.tail()}")
        return perfdhcp.parse_summary(self.process.log(), status)


class Watch:
    """Samples ``pid`` once a second while ``until()`` is false; ``during``
    (called each second too) drives whatever else the phase does."""

    def __init__(self, pid, interval=1.0):
        self.sampler, self.interval = ledger.Sampler(pid), interval

    def run(self, until, during=lambda: None):
        while not until():
            started = time.monotonic()
            self.sampler.sample()
            during()
            time.sleep(max(0.0, started + self.interval - time.monotonic()))
        self.sampler.sample()
        return self.sampler.samples

    def growth(self, warmup):
        samples = self.sampler.samples
        return ledger.growth(samples, warmup, 1), ledger.growth(samples, warmup, 2)
