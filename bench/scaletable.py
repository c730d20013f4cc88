"""The table bench/configure_scale.py prints: one line per figure, one
column per size, each cell the median (min-max) of its repetitions
(bench/figures.py), and issue J's goal beside the rows it sets one for.

A row that no size measured (the live adds above 10,000 hosts, the pollers
below the largest size) shows "-" in that column; a row nobody measured is
left out. What rackd did where it matters (applied live or restarted, and
why) follows the table as notes, since an action is not a number.
"""

from bench.figures import spread


ROWS = [
    ("grow seconds", "hosts-only change from the previous size (grow), s", 2, "see below"),
    ("one host: reply", "one host added: call -> reply (wall), s", 3,
     "<= 0.10 at 10k, <= 0.30 at 50k"),
    ("one host: reply, running client",
     "one host added: call -> reply from a running client (as the region calls), s", 3,
     "<= 0.10 at 10k, <= 0.30 at 50k"),
    ("one host: in agent", "one host added: in the agent (metrics), s", 3, ""),
    ("one host: reservation offered", "one host added: call -> reserved address offered, s",
     3, "<= reply + 0.05"),
    ("no change: reply", "configure that changes nothing: call -> reply, s", 3,
     "<= 0.15 at 50k"),
    ("no change: reply, running client",
     "configure that changes nothing: call -> reply from a running client, s", 3,
     "<= 0.15 at 50k"),
    ("no change: in agent", "configure that changes nothing: in the agent, s", 3, ""),
    ("structural: reply", "structural change (DNS server): call -> reply, s", 2, ""),
    ("structural: new OFFER", "structural change: call -> first OFFER of the new config, s",
     2, ""),
    ("bare: check + start -> OFFER", "anchor: bare `dhcpd -t` + start -> first OFFER, s", 2,
     ""),
    ("structural: rackd excess", "structural change: rackd's excess over the anchor, s", 2,
     "<= 0.10 at 10k, <= 0.40 at 50k"),
    ("structural, running client: new OFFER",
     "structural change from a running client: call -> first OFFER, s", 2, ""),
    ("structural, running client: rackd excess",
     "structural change from a running client: rackd's excess over the anchor, s", 2,
     "<= 0.10 at 10k, <= 0.40 at 50k"),
    ("structural: unanswered", "DISCOVERs unanswered while rackd's restart applies", 0,
     "<= bare restart"),
    ("bare: restart unanswered", "anchor: DISCOVERs unanswered in bare dhcpd's restart", 0, ""),
    ("bare: restart -> OFFER", "anchor: bare dhcpd stop + start -> first OFFER, s", 2, ""),
    ("rename all: reply", "all N hosts renamed: call -> reply, s", 2, "<= 1.0 at 10k"),
    ("rename all: in agent", "all N hosts renamed: in the agent, s", 2, ""),
    ("rename all: per 1k hosts", "all N hosts renamed: s per 1,000 hosts", 3, "flat (linear)"),
    ("rackd VmRSS MB", "rackd VmRSS after the N configure, MB", 0, ""),
    ("dhcpd VmRSS MB", "its dhcpd's VmRSS, MB", 0, ""),
    ("rackd / dhcpd RSS", "rackd RSS / dhcpd RSS", 2, "<= 2 at 50k"),
    ("rackd VmHWM MB (end of size)", "rackd VmHWM at the end of the size, MB", 0, ""),
    ("longest wait: metrics", "longest /metrics wait during a structural configure, s", 2,
     "<= 0.10"),
    ("longest wait: status", "longest GetStatus wait during a structural configure, s", 2,
     "<= 0.10"),
    ("rackctl status wall", "`rackctl status` wall time, idle, s", 2, "<= 0.25"),
    ("live adds: rackd", "N reservations added live through rackd, s", 2, ""),
    ("live adds: pypureomapi", "N `Omapi.add_host` one by one (pypureomapi), s", 2, ""),
    ("live adds: rackd rate / pypureomapi rate", "live adds: rackd's rate / pypureomapi's", 2,
     ""),
]


def cell(values, digits):
    if not values:
        return "-"
    low, median, high = spread(values)
    if low == high:
        return f"{median:,.{digits}f}"
    return f"{median:,.{digits}f} ({low:,.{digits}f}-{high:,.{digits}f})"


def table(bench, sizes):
    """The Markdown table and notes of ``bench`` (a configure_scale.Bench)."""
    lines = ["| what | " + " | ".join(f"{n:,} hosts" for n in sizes) + " | goal |",
             "|---|" + "---|" * len(sizes) + "---|"]
    for key, label, digits, goal in ROWS:
        cells = [cell(bench.figures.get(n, {}).get(key), digits) for n in sizes]
        if any(c != "-" for c in cells):
            lines.append(f"| {label} | " + " | ".join(cells) + f" | {goal} |")
    lines.append("")
    for n in sizes:
        for text in bench.notes.get(n, ()):
            lines.append(f"- {n:,}: {text}")
    return "\n".join(lines)
