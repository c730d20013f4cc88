"""A fuzzing campaign: N seeded documents, the counters, and dhcpd -t on a sample.

The test suite runs a short campaign (tests/fuzz/test_documents.py) and
the benchmark a long one (bench/fuzz_documents.py); both are this class,
so the two can never count differently. What is counted:

- unhandled exceptions: anything but a `DocumentError` (or the empty-file
  refusal) from reading or validating, and anything at all from sending,
  rendering, checking or writing back an accepted document, by type and
  where it was raised;
- dhcpd rejections: configs our validator accepted and the real
  ``dhcpd -t`` refused. Snippets are raw dhcpd text, judged by dhcpd by
  design (rackctl check places dhcpd's complaint in the snippet), so a
  refused config is checked again without its snippets: only when dhcpd
  refuses that too is it the validator's miss;
- injections: rendered configs whose token structure differs from that of
  their inert twin (`tests.fuzz.conflex`);
- rejections without a field path: a problem with an empty path about a
  document that is a mapping, or about text that did not load, a problem
  that says neither line nor byte;
- and, because the pipeline sees them anyway: round trips that did not
  come back equal, and the check and configure paths disagreeing.

The dhcpd sample is drawn from a reservoir per mutation kind (the kind of
the document's first mutation), round robin, so every kind of document
reaches dhcpd, and the sample is the same for the same seed whatever the
machine's speed. The reservoirs hold document indexes only: a sampled
document is built again from its index (`Mutator.document`) when dhcpd
checks it, so a sample of thousands costs no memory.
"""

import collections
import random
import tempfile
import time

from provisioningserver.dhcpd.check import check_config
from provisioningserver.dhcp.render import render
from tests.fuzz import pipeline
from tests.fuzz.inert import without_snippets
from tests.fuzz.mutate import KINDS, Mutator
from tests.fuzz.seeds import seeds

DHCPD_REJECTED = "dhcpd rejected an accepted config"
COUNTERS = (pipeline.EXCEPTION, DHCPD_REJECTED, pipeline.INJECTION, pipeline.PATHLESS,
            pipeline.ROUND_TRIP, pipeline.DISAGREE)


class Campaign:
    """Documents ``shard``, ``shard + shards``, ... below ``count`` of ``seed``:
    one shard of a campaign run by several processes (`merge` adds them up)."""

    def __init__(self, seed, count, dhcpd_sample, examples=3, dhcpd=None, shard=0, shards=1):
        self.seed, self.count, self.dhcpd_sample = seed, count, dhcpd_sample
        self.examples, self.dhcpd = examples, dhcpd
        self.shard, self.shards = shard, shards
        self.counts = collections.Counter()
        self.by_where = collections.Counter()  # (kind, stage, type) -> n
        self.found = collections.defaultdict(list)  # kind -> first examples
        self.accepted = self.dhcpd_checked = self.snippet_rejections = 0
        self.seconds = 0.0
        self._rng = random.Random(f"{seed}:{shard}/{shards}:dhcpd-sample")
        self._reservoirs = {kind: [] for kind in KINDS + ("none",)}
        self._seen = collections.Counter()

    def run(self):
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="rackd-fuzz-") as directory:
            found = seeds()
            mutator, runner = Mutator(found, self.seed), pipeline.Pipeline(directory, found)
            for index in range(self.shard, self.count, self.shards):
                name, version, data, fmt, done = mutator.document(index)
                verdict = runner.run(data, version, name)
                self.accepted += verdict.accepted
                for finding in verdict.findings:
                    self._record(finding, index, name, fmt, done)
                if verdict.accepted and verdict.text is not None:
                    self._offer(index, name, fmt, done, verdict)
            self._check_sample(directory, mutator, runner)
        self.seconds = time.monotonic() - started
        return self

    def _record(self, finding, index, name, fmt, done):
        self.counts[finding.kind] += 1
        self.by_where[(finding.kind, finding.stage, finding.detail.split(":")[0][:80])] += 1
        if len(self.found[finding.kind]) < self.examples:
            self.found[finding.kind].append(
                f"#{index} ({name}, {fmt}; {', '.join(done)}): {finding.stage}: "
                f"{finding.detail[:400]}")

    def _offer(self, index, name, fmt, done, verdict):
        """Reservoir sampling, one reservoir per first mutation kind."""
        kind = next((k for k in KINDS if done and done[0].startswith(k + " ")), "none")
        # Three times a fair share each: kinds that are seldom accepted leave room.
        per_kind = -(-3 * self.dhcpd_sample // len(self._reservoirs))
        self._seen[kind] += 1
        item = (index, name, fmt, done)  # the document is built again when checked
        reservoir = self._reservoirs[kind]
        if len(reservoir) < per_kind:
            reservoir.append(item)
        else:
            slot = self._rng.randrange(self._seen[kind])
            if slot < per_kind:
                reservoir[slot] = item

    def _check_sample(self, directory, mutator, runner):
        # Round robin over the kinds, so that each kind has its share first.
        queues = [sorted(r) for r in self._reservoirs.values() if r]
        sample = [queue[i] for i in range(max(map(len, queues), default=0))
                  for queue in queues if i < len(queue)][:self.dhcpd_sample]
        for index, name, fmt, done in sorted(sample):
            _, version, data, _, _ = mutator.document(index)
            verdict = runner.run(data, version, name)
            config, text = verdict.config, verdict.text
            self.dhcpd_checked += 1
            try:
                result = check_config(text, config.ip_version, dhcpd=self.dhcpd,
                                      directory=directory)
                if result.ok:
                    continue
                bare = without_snippets(config)
                again = check_config(render(bare, pipeline.inputs_for(bare)).text,
                                     config.ip_version, dhcpd=self.dhcpd, directory=directory)
            except Exception as error:
                self._record(pipeline.crash("dhcpd -t", error), index, name, fmt, done)
                continue
            if again.ok:
                self.snippet_rejections += 1
                continue
            errors = "; ".join(f"line {e.line_num}: {e.error} [{e.line}]" for e in again.errors)
            self._record(pipeline.Finding(DHCPD_REJECTED, "dhcpd -t", errors), index, name,
                         fmt, done)

    @classmethod
    def merge(cls, shards, seconds):
        """One campaign's figures from its ``shards`` (run, each a `Campaign`),
        which took ``seconds`` in all."""
        first = shards[0]
        whole = cls(first.seed, first.count, first.dhcpd_sample, first.examples, first.dhcpd)
        for shard in shards:
            whole.counts.update(shard.counts)
            whole.by_where.update(shard.by_where)
            whole.accepted += shard.accepted
            whole.dhcpd_checked += shard.dhcpd_checked
            whole.snippet_rejections += shard.snippet_rejections
        for kind in {k for shard in shards for k in shard.found}:
            examples = sorted((e for shard in shards for e in shard.found.get(kind, ())),
                              key=lambda e: int(e[1:e.index(" ")]))
            whole.found[kind] = examples[:first.examples]
        whole.seconds = seconds
        return whole

    def failures(self):
        """{counter: count} of every counter, zeros included."""
        return {name: self.counts[name] for name in COUNTERS}

    def report(self):
        """The counters, the rate and the first examples of each failure, as lines."""
        rate = self.count / self.seconds if self.seconds else 0.0
        lines = [f"seed {self.seed}: {self.count} documents in {self.seconds:.1f} s "
                 f"({rate:.0f} documents/s), {self.accepted} accepted; dhcpd -t on "
                 f"{self.dhcpd_checked} of them ({self.snippet_rejections} refused for a "
                 "snippet only, as designed)"]
        lines += [f"  {name}: {n}" for name, n in self.failures().items()]
        for (kind, stage, what), n in sorted(self.by_where.items(), key=lambda kv: -kv[1]):
            lines.append(f"    {n} x {kind} in {stage}: {what}")
        for kind, examples in self.found.items():
            lines.append(f"  first of {kind}:")
            lines += [f"    {example}" for example in examples]
        # Printable whatever the documents held (lone surrogates, control characters).
        return [line.encode("utf-8", "backslashreplace").decode("utf-8") for line in lines]
