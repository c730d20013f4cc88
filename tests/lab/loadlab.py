"""The load labs' scenario, built once: rackd serving lease load while its
region link keeps breaking, and the figures that say whether it coped.

    region 127.0.0.1:5250 <- linkcut relay 198.18.10.1:5250 <-veth- rack (rackd, dhcpd)
    rack eth0 198.18.0.1 - switch - client (perfdhcp, 198.18.0.2)

`FlappingLab` is `tests.lab.test_region_lab.build` with a `tests.lab.linkcut`
relay between the rack and the test region: the region configures the rack
over a quiet link, then `begin` starts the relay's seeded cuts. `LeaseLoad`
is perfdhcp at a steady rate for a bounded time (as a relay from the
client's address, ``ping-check false`` in the document so that dhcpd answers
at once). `settle` waits for the journal to drain; `ledger` counts what
dhcpd committed, the journal recorded and the region stored
(`tests.lab.ledger`). `Watch` samples rackd's memory and descriptors once a
second while a phase runs. For the soak, `ConfigureLoop` configures rackd
(over its control socket, as rackctl does) every 2 s, alternating between
the two host sets of `soak_document`. `run` puts them together: the
flapping scenario, or with configures the soak. The flapping and soak lab
tests and bench/soak.py are `run` with different durations.
"""

import contextlib
import copy
import ipaddress
import os
import sys
import threading
import time

import attrs

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


def soak_document(generation, count):
    """The soak's site: a /16 with the load pool and ``count`` reservations,
    set 0 from 198.18.1.0 and set 1 from 198.18.64.0 (names and MACs of
    their own), so that going from one set to the other changes every host."""
    base = ipaddress.IPv4Address("198.18.64.0" if generation % 2 else "198.18.1.0")
    kind = 0x20 + generation % 2
    doc = load_document(
        {"host": f"soak{kind:x}-{i}", "ip": str(base + i),
         "mac": "02:%02x:%02x:%02x:%02x:01" % (kind, i >> 16, (i >> 8) & 255, i & 255)}
        for i in range(count))
    network = doc["shared_networks"][0]
    network["subnets"][0]["subnet_cidr"] = "198.18.0.0/16"
    network["interface"] = "eth0"  # the /16 holds the region link's /24 too
    return doc


class ConfigureLoop:
    """Gives rackd ``documents`` in turn, one call starting every ``every``
    seconds whether or not the earlier ones have returned (as a region that
    keeps sending would: rackd coalesces what queues up), until the ``with``
    block ends. Each call runs in a thread of its own; at most
    ``outstanding`` at once, a turn beyond that is counted in ``skipped``.
    ``calls`` holds (start, seconds, action) per reply, ``errors`` what failed."""

    def __init__(self, agent, documents, every=2.0, outstanding=8):
        self.agent, self.documents, self.every = agent, documents, every
        self.calls, self.errors, self.skipped = [], [], 0
        self._slots = threading.BoundedSemaphore(outstanding)
        self._stop = threading.Event()
        self._workers = []
        self._thread = threading.Thread(target=self._run, name="soak-configure", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def _call(self, document):
        started = time.monotonic()
        try:
            outcome = self.agent.configure(document)
            self.calls.append((started, time.monotonic() - started, outcome["action"]))
        except Exception as error:  # shown by the test, not lost in the thread
            self.errors.append(repr(error))
        finally:
            self._slots.release()

    def _run(self):
        turn, next_at = 0, time.monotonic()
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            next_at += self.every
            if not self._slots.acquire(blocking=False):
                self.skipped += 1
                continue
            worker = threading.Thread(target=self._call, daemon=True,
                                      args=(self.documents[turn % len(self.documents)],))
            turn += 1
            worker.start()
            self._workers.append(worker)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        for worker in self._workers:
            worker.join(300)


def rackd_pid(agent):
    """rackd's own pid (``ip netns exec`` has exec'd it by the time it answers)."""
    pid = agent.process.pid
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        if b"provisioningserver.cli.rackd" not in f.read():
            raise RuntimeError(f"pid {pid} is not rackd yet")
    return pid


class FlappingLab:
    """Region, relay, rack and client; nothing cut until `begin`."""

    def __init__(self, lab, seconds, seed=1, low=0.5, high=2.0, prefix=24, reply_delay=0.0,
                 **settings):
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
        self.region, self.agent, self.client = build(
            lab, relay=start_relay, prefix=prefix,
            region_options=["--lease-reply-delay", str(reply_delay)], **settings)
        self.client.add_address("eth0", f"{CLIENT_IP}/{prefix}")
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


@attrs.frozen
class Outcome:
    """What one `run` saw."""

    ledger: object  # tests.lab.ledger.Ledger
    perf: object  # tests.lab.perfdhcp.PerfResult
    cuts: list  # (time, connections cut)
    samples: list  # (time, RSS kB, fds) of rackd, once a second
    growth: tuple  # (RSS, fds) growth after warm-up, fractions
    stalls: list  # seconds, each stall rackd logged
    stall_lines: list  # rackd's warnings: where each stall was
    configures: object  # the ConfigureLoop, or None


def run(lab, seconds, rate=20, hosts=0, configure_every=None, seed=1, warmup=None,
        reply_delay=0.2):
    """The flapping scenario for ``seconds`` (lease load at ``rate``); with
    ``configure_every``, the soak: configures that often, alternating
    between two sets of ``hosts`` reservations. The region answers each
    batch ``reply_delay`` seconds after storing it (a busy region), so that
    cuts also fall between the two and batches are sent again."""
    if configure_every:
        flap = FlappingLab(lab, seconds=seconds, seed=seed, prefix=16, reply_delay=reply_delay)
        documents = [soak_document(0, hosts), soak_document(1, hosts)]
    else:
        flap = FlappingLab(lab, seconds=seconds, seed=seed, reply_delay=reply_delay)
        documents = [load_document()]
    flap.configure(documents[-1])
    load = LeaseLoad(flap.client, rate, seconds)
    watch = Watch(flap.pid)
    flap.begin()
    configures = ConfigureLoop(flap.agent, documents, configure_every) if configure_every \
        else contextlib.nullcontext()
    with configures:
        watch.run(until=flap.cutting_done)
    perf = load.result()
    flap.settle()
    return Outcome(ledger=flap.ledger(), perf=perf, cuts=flap.cuts(),
                   samples=watch.sampler.samples,
                   growth=watch.growth(seconds / 5 if warmup is None else warmup),
                   stalls=flap.stalls(), stall_lines=ledger.stall_lines(flap.agent.process.log()),
                   configures=configures if configure_every else None)
