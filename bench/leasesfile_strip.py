"""Benchmark: cleaning the leases file of host records, old splitter against new.

    .venv/bin/python -m bench.leasesfile_strip [--sizes 10000 50000] [--runs 7]

For each size N it builds a leases file as dhcpd writes one after a day of
OMAPI changes at that scale: the header, N v4 leases (with uid, hostname and
vendor-class strings, one in ten with escapes and braces inside a string),
N host records (adds, and one in five a delete), a few v6 ``ia-na`` records
with nested ``iaaddr`` blocks and the ``server-duid``, interleaved as dhcpd
appends them. It then times, in one run and alternating per round:

- ``old``: the character-by-character splitter rackd used until this change,
  copied below as the baseline (rackd's own code), fed as the backend fed it
  (bytes decoded with surrogateescape, the result encoded back);
- ``new``: `provisioningserver.dhcpd.leasesfile.strip_host_records` on the
  bytes;
- ``finish``: what is left inside the restart's outage now, `finish` of a
  `scan` taken before the stop, with 1% more records appended in between.

Each round checks that old and new keep the same bytes. ``--check K`` also
compares the two on K small random files (torn ones included) and exits.
Times are wall-clock seconds of one call, min / median / max over the runs.
"""

import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from provisioningserver.dhcpd import leasesfile  # noqa: E402


# The baseline: rackd's splitter before this change, unchanged.

class OldUnreadableLeases(ValueError):
    pass


def old_split_statements(text):
    i, n = 0, len(text)
    while i < n:
        start = i
        while i < n and (text[i].isspace() or text[i] == "#"):
            if text[i] == "#":
                end = text.find("\n", i)
                i = n if end == -1 else end + 1
            else:
                i += 1
        if i > start:
            yield start, i, None
            continue
        word_end = i
        while word_end < n and not text[word_end].isspace() and text[word_end] not in ";{":
            word_end += 1
        word = text[i:word_end]
        depth = 0
        while i < n:
            c = text[i]
            if c == '"':
                i += 1
                while i < n and text[i] != '"':
                    i += 2 if text[i] == "\\" else 1
                if i >= n:
                    raise OldUnreadableLeases(f"unterminated string in statement at offset {start}")
            elif c == "#":
                end = text.find("\n", i)
                i = n - 1 if end == -1 else end
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth < 0:
                    raise OldUnreadableLeases(f"unbalanced '}}' at offset {i}")
                if depth == 0:
                    i += 1
                    break
            elif c == ";" and depth == 0:
                i += 1
                break
            i += 1
        else:
            raise OldUnreadableLeases(f"statement at offset {start} ({word!r}) is not closed")
        yield start, i, word


def old_strip_host_records(text):
    kept, removed = [], 0
    skip_newline = False
    for start, end, word in old_split_statements(text):
        piece = text[start:end]
        if word == "host":
            removed += 1
            skip_newline = True
            continue
        if skip_newline and word is None and piece.startswith("\n"):
            piece = piece[1:]
        skip_newline = False
        kept.append(piece)
    return "".join(kept), removed


def old_on_bytes(data):
    """The old splitter as the backend called it."""
    cleaned, removed = old_strip_host_records(data.decode("utf-8", "surrogateescape"))
    return cleaned.encode("utf-8", "surrogateescape"), removed


# The file.

HEADER = (b"# The format of this file is documented in the dhcpd.leases(5) manual page.\n"
          b"# This lease file was written by isc-dhcp-4.4.3-P1\n\n"
          b"# authoring-byte-order entry is generated, DO NOT DELETE\n"
          b"authoring-byte-order little-endian;\n\n")


def mac(i):
    return ":".join(f"{b:02x}" for b in (0x52, 0x54, i >> 24 & 255, i >> 16 & 255, i >> 8 & 255,
                                          i & 255))


def lease(i):
    vendor = (b'"PXEClient:Arch:00007 {odd} \\" ; # not a comment"' if i % 10 == 0
              else b'"PXEClient:Arch:00007:UNDI:003016"')
    return (b"lease 10.%d.%d.%d {\n  starts 6 2026/11/28 03:00:00;\n  ends 6 2026/11/28 03:10:00;\n"
            b"  cltt 6 2026/11/28 03:00:00;\n  binding state active;\n  next binding state free;\n"
            b"  rewind binding state free;\n  hardware ethernet %s;\n"
            b'  uid "\\001RT\\000\\000%03o\\001";\n  set vendor-class-identifier = %s;\n'
            b'  client-hostname "node-%d";\n}\n'
            % (i >> 16 & 255, i >> 8 & 255, i & 255, mac(i).encode(), i % 256, vendor, i))


def host(i):
    if i % 5 == 0:
        return b'host node-%d {\n  dynamic;\n  deleted;\n}\n' % i
    return (b"host node-%d {\n  dynamic;\n  hardware ethernet %s;\n  fixed-address 10.%d.%d.%d;\n}\n"
            % (i, mac(i).encode(), 128 + (i >> 16 & 127), i >> 8 & 255, i & 255))


def ia_na(i):
    return (b'ia-na "\\001\\000\\000\\000\\000\\003\\000\\001RT\\000\\000%03o\\001" {\n'
            b"  cltt 6 2026/11/28 03:00:00;\n  iaaddr 2001:db8::%x {\n    binding state active;\n"
            b"    preferred-life 375;\n    max-life 600;\n    ends 6 2026/11/28 03:10:00;\n  }\n}\n"
            % (i % 256, i))


def leases_file(n, first=0):
    parts = [HEADER] if first == 0 else []
    for i in range(first, first + n):
        parts.append(lease(i))
        parts.append(host(i))
        if i % 1000 == 0:
            parts.append(ia_na(i))
    if first == 0:
        parts.append(b'server-duid "\\000\\001\\000\\001RT\\000\\000\\000\\001";\n')
    return b"".join(parts)


# Timing.

def timed(function, *args):
    began = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - began, result


def summary(times):
    return f"{min(times):.3f} / {statistics.median(times):.3f} / {max(times):.3f}"


def bench(n, runs):
    data = leases_file(n)
    grown = data + leases_file(max(n // 100, 1), first=n)
    times = {"old": [], "new": [], "finish": []}
    for _ in range(runs):
        t_old, old = timed(old_on_bytes, data)
        t_new, new = timed(leasesfile.strip_host_records, data)
        assert old == new, "old and new splitters disagree"
        earlier = leasesfile.scan(data)
        t_finish, finished = timed(leasesfile.finish, earlier, grown)
        assert finished == leasesfile.strip_host_records(grown), "finish differs from a full clean"
        times["old"].append(t_old)
        times["new"].append(t_new)
        times["finish"].append(t_finish)
    ratio = statistics.median(times["old"]) / statistics.median(times["new"])
    print(f"{n} leases + {n} host records ({len(data) / 1e6:.1f} MB), {runs} runs, "
          f"seconds min / median / max")
    for name, values in times.items():
        print(f"  {name:7s} {summary(values)}")
    print(f"  old/new median ratio: {ratio:.0f}x; kept {len(new[0]) / 1e6:.1f} MB, "
          f"removed {new[1]}")


def random_file(rng):
    alphabet = [b" ", b"\n", b"\r\n", b"\t", b"#", b'"', b"\\", b"{", b"}", b";", b"host", b"lease",
                b"x", b"\xff", b"\xc3\xa9"]
    return b"".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))


def check(count, seed=1):
    rng = random.Random(seed)
    agree = 0
    for _ in range(count):
        data = random_file(rng)
        try:
            old = old_on_bytes(data)
        except OldUnreadableLeases:
            old = "unreadable"
        try:
            new = leasesfile.strip_host_records(data)
        except leasesfile.UnreadableLeases:
            new = "unreadable"
        assert old == new, f"disagree on {data!r}: {old!r} != {new!r}"
        agree += 1
    print(f"old and new agree on {agree} random files")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 50000])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--check", type=int, default=0, metavar="K")
    args = parser.parse_args()
    if args.check:
        check(args.check)
        return
    for n in args.sizes:
        bench(n, args.runs)


if __name__ == "__main__":
    main()
