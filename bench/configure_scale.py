"""Configure at scale (issue J): what a change costs rackd at 1k, 10k and 50k
hosts, each figure beside its anchor measured in the same run.

Run as root from the repository, one lab run at a time:

    flock /tmp/rackd-lab.lock .venv/bin/python -m bench.configure_scale \\
        [--quick | --sizes 1000,10000,50000] [--reps 3] [--json FILE]

It builds a lab (``rkcs-<pid>-*`` namespaces, torn down at the end, also on
failure): a rack running the real rackd and its dhcpd on 198.18.0.0/16, and a
client on the same switch. rackd is seen only from outside, so the bench
measures whatever the configure path does today: ``rackctl --json
configure`` and ``status`` over the control socket, /metrics (on the rack's
loopback), DHCP on the wire (bench/scalelab.py ``probe``), /proc.

For each size N in turn (the hosts of one size grow into the next), each row
repeated ``--reps`` times and reported as median (min-max), bench/figures.py:

1. **grow** to N hosts: a hosts-only change from the previous size (10k ->
   50k is 40,000 live adds); what rackd did (applied live or restarted, and
   why) and how long, once per size;
2. **no change**: the same document again; after each, the RSS of rackd
   (VmRSS and VmHWM) and of its dhcpd;
3. **one host added**: call -> reply, wall (rackctl's own start included),
   the same from a client already running (this process, over the control
   socket with `rpc.controlclient`, encoding the document included: how a
   region calls), and in the agent (the growth of ``rackd_configure_duration_seconds_sum``
   across the call), and call -> the new host's DISCOVER answered with its
   reserved address (that MAC first holds a pool lease, so no ping check
   delays it);
4. **live adds** (N <= 10,000): N new reservations through rackd, against
   N ``Omapi.add_host`` calls by pypureomapi one after the other into the same
   dhcpd (wall against wall, each a process of its own), as a ratio;
5. **all N renamed** (call -> reply); a rename slower than ``--cap`` seconds
   is not repeated, and one that would take over ``--rename-limit`` seconds
   if it were still quadratic (priced from the last size's) is skipped, so
   that today's code keeps the run bounded (50k took over 20 minutes);
6. **structural change** (the one DNS server): call -> first OFFER carrying
   the new server, and DISCOVERs unanswered while it applies (eight bound
   clients, one DISCOVER every 10 ms, from the call to 0.2 s after that
   OFFER);
7. **the anchors**: rackd stops its dhcpd; the same dhcpd binary with the
   same arguments on copies of rackd's config and leases file
   (`scalelab.BareDhcpd`) is checked with ``dhcpd -t`` and started (-> its
   first OFFER), then restarted (SIGTERM, start -> first OFFER, DISCOVERs
   unanswered as above); rackd's excess is its time to the new OFFER minus
   the bare one, per pair; then rackd starts its dhcpd again;
8. ``rackctl status`` wall time, idle, 10 runs;
9. at the largest N only: the structural change again while /metrics and
   GetStatus are each asked every 50 ms; the longest wait of a request in
   flight during the call.

Addresses are all in 198.18.0.0/15 (pypureomapi's hosts in 198.19/16,
outside the served subnet: dhcpd keeps them all the same).

How long, on the 2-core machine with main at e58e547: 1,000 hosts alone
about 1 minute; ``--quick`` (1,000 and 10,000) about 5 minutes; the default
(1,000, 10,000 and 50,000) about 12-15 minutes with the 50k rename skipped
(the 50k rows dominate: no-change and one-host calls of 2-4 s, restarts,
the polled restarts); faster code shortens it.

Prints a Markdown table (with issue J's goal beside each row it has one
for) and what rackd did, and with ``--json FILE`` writes every raw figure.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from bench.scalelab import (  # noqa: E402
    FETCH, PYPUREOMAPI, BareDhcpd, Poller, Prober, memory, python_pid)
from bench.scalesite import DNS, Site, extra_host, live_host, raw_host  # noqa: E402
from bench.scaletable import table  # noqa: E402

METRICS_PORT = 9250
METRICS_URL = f"http://127.0.0.1:{METRICS_PORT}/metrics"
PROBE_MACS = ["02:99:00:00:00:%02x" % i for i in range(8)]
KEY_NAME = "omapi_key"
LIVE_ADDS_UP_TO = 10_000


class Call:
    """One configure call as seen from outside: its start and end (monotonic),
    the outcome rackctl printed, the seconds the agent itself counted."""

    def __init__(self, started, ended, outcome, in_agent, error=None):
        self.started, self.ended, self.outcome = started, ended, outcome
        self.in_agent, self.error = in_agent, error

    @property
    def seconds(self):
        return self.ended - self.started

    @property
    def action(self):
        return (self.outcome or {}).get("action", "failed")


class Bench:
    """The rows, in the order `size` runs them, against one rackd."""

    def __init__(self, agent, client, reps, cap, rename_limit=120.0):
        self.agent, self.rack, self.client = agent, agent.host, client
        self.reps, self.cap, self.rename_limit = reps, cap, rename_limit
        self.site, self.figures, self.notes = Site(), {}, {}
        self.extras_made = self.raw_made = 0
        self.failed = None
        self.stalls = []
        self.rename_seconds = None  # (hosts, seconds) of the last rename measured

    # Recording.

    def record(self, row, value):
        if value is not None:
            self.figures.setdefault(self.site.size, {}).setdefault(row, []).append(value)

    def note(self, text):
        self.notes.setdefault(self.site.size, []).append(text)
        print(f"[{self.site.size:,}] {text}", file=sys.stderr, flush=True)

    # rackd from outside.

    def rackctl(self, *args, stdin=None, timeout=1800):
        return subprocess.run(
            [sys.executable, "-m", "provisioningserver.cli.rackctl", args[0],
             "--socket", self.agent.socket, *args[1:]],
            input=stdin, capture_output=True, text=True, cwd=REPO, timeout=timeout)

    def agent_totals(self):
        """(sum of seconds, count) of rackd_configure_duration_seconds, family 4."""
        text = self.rack.run([sys.executable, "-c", FETCH, METRICS_URL], timeout=600).stdout
        totals = [0.0, 0]
        for line in text.splitlines():
            for index, name in enumerate(("rackd_configure_duration_seconds_sum{",
                                          "rackd_configure_duration_seconds_count{")):
                if line.startswith(name) and 'family="4"' in line:
                    totals[index] += float(line.rsplit(" ", 1)[1])
        return totals

    def configure(self, expect=None):
        text = json.dumps(self.site.document())
        before = self.agent_totals()
        started = time.monotonic()
        result = self.rackctl("configure", "--json", "-", stdin=text)
        ended = time.monotonic()
        try:
            outcome = json.loads(result.stdout)
        except ValueError:
            outcome = None
        if result.returncode != 0:
            error = (result.stdout + result.stderr).strip()[-400:]
            self.note(f"configure failed after {ended - started:.1f} s: {error}")
            deadline = time.monotonic() + 900  # wait for the agent to finish that run
            while self.agent_totals()[1] == before[1] and time.monotonic() < deadline:
                time.sleep(1)
            return Call(started, ended, None, None, error)
        after = self.agent_totals()
        call = Call(started, ended, outcome, after[0] - before[0] if after[1] > before[1] else None)
        if expect and call.action not in expect:
            self.note(f"expected {'/'.join(expect)}, got {call.action}: {outcome.get('reason')}")
        return call

    def configure_running(self, expect=None):
        """The same call from a caller already running (as the region is): the
        document encoded and sent over the control socket by this process
        (`rpc.controlclient`), timed from the encoding to the reply."""
        from provisioningserver.rpc import controlclient
        document = self.site.document()
        started = time.monotonic()
        try:
            reply = controlclient.call(self.agent.socket, "Configure", 1800, ip_version=4,
                                       document=document)
        except Exception as error:
            self.note(f"configure (running client) failed: {error}")
            return Call(started, time.monotonic(), None, None, str(error))
        call = Call(started, time.monotonic(), reply["outcome"], None)
        if expect and call.action not in expect:
            self.note(f"expected {'/'.join(expect)}, got {call.action}")
        return call

    def dhcpd_pid(self):
        status = json.loads(self.rackctl("status", "--json").stdout)
        return status["v4"]["pid"]

    def bound_prober(self, tag):
        """A prober of the eight bound clients, each answered once before use."""
        prober = Prober(self.client, PROBE_MACS, 0.01, bind=True, tag=tag).__enter__()
        begun = time.monotonic()
        for mac in PROBE_MACS:
            prober.log.wait_offer(begun, lambda o, m=mac: o["m"] == m, timeout=20)
        time.sleep(0.3)  # their REQUESTs are ACKed
        return prober

    # The rows.

    def grow(self, size):
        previous = self.site.size
        self.site.size = size
        call = self.configure()
        self.record("grow seconds", call.seconds)
        self.note(f"hosts-only change {previous:,} -> {size:,} hosts ({size - previous:,} "
                  f"adds): {call.action} in {call.seconds:.2f} s "
                  f"({(call.outcome or {}).get('reason') or call.error})")
        self.figures[size]["grow action"] = [call.action]

    def memory(self):
        rackd = python_pid(self.agent.process.pid)
        rss, hwm = memory(rackd)
        dhcpd, _ = memory(self.dhcpd_pid())
        return rss, hwm, dhcpd

    def no_change(self):
        for _ in range(self.reps):
            call = self.configure(expect=("unchanged",))
            self.record("no change: reply", call.seconds)
            self.record("no change: in agent", call.in_agent)
            rss, hwm, dhcpd = self.memory()
            self.record("rackd VmRSS MB", rss)
            self.record("dhcpd VmRSS MB", dhcpd)
            self.record("rackd / dhcpd RSS", rss / dhcpd)

    def one_host(self):
        for _ in range(self.reps):
            host = extra_host(self.extras_made)
            self.extras_made += 1
            with Prober(self.client, [host["mac"]], 0.01, bind=True, tag="newhost") as prober:
                prober.log.wait_offer(0, lambda o: o["m"] == host["mac"], timeout=20)
                time.sleep(0.3)  # its pool lease is ACKed
                self.site.extras.append(host)
                call = self.configure(expect=("applied-live",))
                got = prober.log.wait_offer(call.started, lambda o: o["y"] == host["ip"], 30)
            self.record("one host: reply", call.seconds)
            self.record("one host: in agent", call.in_agent)
            self.record("one host: reservation offered", got - call.started)
        for _ in range(self.reps):
            self.site.extras.append(extra_host(self.extras_made))
            self.extras_made += 1
            self.record("one host: reply, running client",
                        self.configure_running(expect=("applied-live",)).seconds)
            self.record("no change: reply, running client",
                        self.configure_running(expect=("unchanged",)).seconds)

    def live_adds(self):
        size = self.site.size
        for _ in range(self.reps):
            self.site.live = [live_host(i) for i in range(size)]
            call = self.configure(expect=("applied-live",))
            self.record("live adds: rackd", call.seconds)
            self.site.live = []
            self.configure()
            hosts = [raw_host(self.raw_made + i) for i in range(size)]
            self.raw_made += size
            with open(os.path.join(self.agent.state_dir, "omapi.key")) as f:
                secret = f.read().strip()  # written by rackd's first configure
            job = json.dumps({"key_name": KEY_NAME, "secret": secret, "hosts": hosts})
            started = time.monotonic()
            out = self.rack.run([sys.executable, "-c", PYPUREOMAPI], input=job, timeout=1200)
            raw = time.monotonic() - started
            self.record("live adds: pypureomapi", raw)
            self.record("live adds: pypureomapi in-process", float(out.stdout))
            self.record("live adds: rackd rate / pypureomapi rate", raw / call.seconds)

    def rename(self, limit):
        # A rename has been quadratic in N (issue J): 13 s at 10k made 50k one
        # call of over 20 minutes, past rackctl's 300 s. Priced from the last
        # size as if still quadratic, a rename over ``limit`` is skipped.
        last = self.rename_seconds
        if last is not None:
            guess = last[1] * (self.site.size / last[0]) ** 2
            if guess > limit:
                self.note(f"rename of all {self.site.size:,} skipped: {last[1]:.1f} s at "
                          f"{last[0]:,} hosts, {guess:.0f} s if quadratic (--rename-limit "
                          f"{limit:.0f})")
                return
        for rep in range(self.reps):
            self.site.generation += 1
            call = self.configure()
            self.record("rename all: reply", call.seconds)
            self.record("rename all: in agent", call.in_agent)
            self.record("rename all: per 1k hosts", call.seconds * 1000 / self.site.size)
            self.rename_seconds = (self.site.size, call.seconds)
            self.note(f"rename of all {self.site.size:,}: {call.action} in {call.seconds:.2f} s "
                      f"({(call.outcome or {}).get('reason') or call.error})")
            if call.seconds > self.cap and rep + 1 < self.reps:
                self.note(f"rename took over {self.cap:.0f} s: not repeated")
                break

    def structural(self, pollers=False):
        prober = self.bound_prober("restart")
        try:
            for _ in range(self.reps):
                self.site.dns = DNS[1] if self.site.dns == DNS[0] else DNS[0]
                dns = self.site.dns
                if pollers:
                    with Poller(self.rack, "poll-metrics", METRICS_URL) as scrape, \
                            Poller(self.rack, "poll-status", self.agent.socket) as status:
                        call = self.configure(expect=("restarted",))
                    for name, poller in (("metrics", scrape), ("status", status)):
                        self.record(f"longest wait: {name}", poller.longest(call.started,
                                                                            call.ended))
                        if poller.errors():
                            self.note(f"{name} poll errors: {poller.errors()[:3]}")
                    continue
                call = self.configure(expect=("restarted",))
                first = prober.log.wait_offer(call.started, lambda o: o["d"] == dns, 60)
                time.sleep(1.0)  # late answers are in
                _, lost = prober.log.unanswered(call.started, first + 0.2)
                self.record("structural: reply", call.seconds)
                self.record("structural: new OFFER", first - call.started)
                self.record("structural: unanswered", lost)
                # The same from a running client (as the region calls).
                self.site.dns = DNS[1] if self.site.dns == DNS[0] else DNS[0]
                dns = self.site.dns
                call = self.configure_running(expect=("restarted",))
                first = prober.log.wait_offer(call.started, lambda o: o["d"] == dns, 60)
                time.sleep(1.0)
                self.record("structural, running client: new OFFER", first - call.started)
        finally:
            prober.__exit__(None, None, None)

    def anchors(self, directory):
        bare = BareDhcpd(self.rack, self.dhcpd_pid(), directory)
        self.rackctl("stop-dhcp")
        dns = self.site.dns
        prober = Prober(self.client, PROBE_MACS, 0.01, bind=True, tag="bare").__enter__()
        try:
            prober.sending()
            for _ in range(self.reps):
                started = time.monotonic()
                bare.check()
                bare.start()
                first = prober.log.wait_offer(started, lambda o: o["d"] == dns, 60)
                self.record("bare: check + start -> OFFER", first - started)
                time.sleep(1.0)
                started = time.monotonic()
                bare.stop()
                bare.start()
                first = prober.log.wait_offer(started, lambda o: o["d"] == dns, 60)
                time.sleep(1.0)
                _, lost = prober.log.unanswered(started, first + 0.2)
                self.record("bare: restart -> OFFER", first - started)
                self.record("bare: restart unanswered", lost)
                bare.stop()
        finally:
            bare.stop()
            prober.__exit__(None, None, None)
        self.configure(expect=("started",))
        rows = self.figures[self.site.size]
        for ours, theirs in zip(rows.get("structural: new OFFER", ()),
                                rows.get("bare: check + start -> OFFER", ())):
            self.record("structural: rackd excess", ours - theirs)
        for ours, theirs in zip(rows.get("structural, running client: new OFFER", ()),
                                rows.get("bare: check + start -> OFFER", ())):
            self.record("structural, running client: rackd excess", ours - theirs)

    def status_wall(self, runs=10):
        for _ in range(runs):
            started = time.monotonic()
            self.rackctl("status")
            self.record("rackctl status wall", time.monotonic() - started)

    def size(self, size, largest, workdir):
        self.grow(size)
        self.no_change()
        self.one_host()
        if size <= LIVE_ADDS_UP_TO:
            self.live_adds()
        self.rename(self.rename_limit)
        self.structural()
        self.anchors(os.path.join(workdir, f"bare{size}"))
        self.status_wall()
        if largest:
            self.structural(pollers=True)
        rss, hwm, dhcpd = self.memory()
        self.record("rackd VmHWM MB (end of size)", hwm)


def run(sizes, reps, cap, rename_limit, stall_log=0.5):
    from tests.lab.netns import Lab
    from tests.lab.rackd import rack_and_client
    workdir = tempfile.mkdtemp(prefix="rkcs")
    with Lab(prefix="rkcs-%d-" % os.getpid(), workdir=workdir) as lab:
        agent, client = rack_and_client(lab, prefix=16, metrics=f"127.0.0.1:{METRICS_PORT}",
                                        stall_log_seconds=stall_log)
        bench = Bench(agent, client, reps, cap, rename_limit)
        try:
            bench.configure(expect=("started",))
            warm = bench.bound_prober("warm")  # the first offers' ping checks fall here
            warm.__exit__(None, None, None)
            for size in sizes:
                bench.size(size, size == max(sizes), workdir)
        except Exception:  # what was measured so far is still printed
            bench.failed = traceback.format_exc()
            print(bench.failed, f"(rackd's logs: {agent.directory})", file=sys.stderr)
        finally:
            bench.rackctl("stop-dhcp", timeout=120)
            agent.stop()
            bench.stalls = [line for line in agent.process.log().splitlines()
                            if "the reactor was held" in line]
    return bench



def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.configure_scale")
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--quick", action="store_true", help="sizes 1000,10000")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each row (>= 3)")
    parser.add_argument("--cap", type=float, default=45.0,
                        help="a rename slower than this many seconds is not repeated")
    parser.add_argument("--rename-limit", type=float, default=120.0,
                        help="skip a rename expected (quadratic from the last size) to "
                             "take longer than this many seconds")
    parser.add_argument("--json", help="write the raw figures here")
    parser.add_argument("--stall-log", type=float, default=0.5, metavar="SECONDS",
                        help="rackd's stall_log_seconds; its stall warnings are printed "
                             "at the end (where its main thread was held)")
    args = parser.parse_args(argv)
    sizes = [1000, 10000] if args.quick else [int(n) for n in args.sizes.split(",")]
    started = time.monotonic()
    bench = run(sorted(sizes), args.reps, args.cap, args.rename_limit, args.stall_log)
    print(table(bench, sorted(sizes)))
    print(f"\nrackd's stall warnings (stall_log_seconds {args.stall_log:g}): "
          f"{len(bench.stalls)}")
    for line in bench.stalls:
        print("   ", line)
    print(f"\n(run took {time.monotonic() - started:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"sizes": sorted(sizes), "reps": args.reps, "figures": {
                str(n): rows for n, rows in bench.figures.items()},
                "notes": {str(n): notes for n, notes in bench.notes.items()},
                "failed": bench.failed}, f, indent=1)
    if bench.failed:
        print("(the run failed part way: the figures above are what it measured)")
        return 1


if __name__ == "__main__":
    sys.exit(main())
