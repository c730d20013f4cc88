"""The inputs of a configure's plan, worked out in a thread.

`gather` is what the Configurator hands ``run_in_thread``: everything a
plan needs whose cost grows with the site (selecting interfaces, rendering
the whole config, reading the file on disk, diffing the hosts, planning).
It is a plain function of its arguments and reads nothing else: the
monitor's status, the applied state, the interface snapshot and the key
are read on the reactor first and handed in as values (all immutable), so
the thread touches no object the reactor may change meanwhile. The files
it reads are written only by the Configurator, under the family's lock,
which the configure that called it holds.

What it returns is a `Run`: the plan and what the configure's outcome
reports beyond it. The rendered text itself is held only by the plan's
steps (to check and write it); the outcome keeps its fingerprint.

`structure_same` answers "does everything but the hosts render as dhcpd
serves it?" for host changes: the rendered structure's digest
(`Rendered.structure`) against the one kept in the applied state, so a
hosts-only change needs no second full render.
"""

import hashlib
import os

import attrs

from provisioningserver.dhcp.plan import HostChanges, plan
from provisioningserver.dhcp.render import render
from provisioningserver.dhcpd.process import DhcpdSpec
from provisioningserver.network.selection import select
from provisioningserver.services.planning import Desired, Observed, needs_diff, plan_configure
from provisioningserver.system.files import DhcpdPaths, read_text


def fingerprint(text):
    """A short digest of a config text (None for no text), as reported."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16] if text is not None else None


class FileFingerprints:
    """The fingerprints of files, each hashed again only when it changed
    (its inode, time or size): the configurator's status names the served
    config's, and is asked on every `rackctl status`, scrape and region
    report, while the file is megabytes at 50,000 hosts."""

    def __init__(self):
        self._seen = {}  # path -> (stat key, fingerprint)

    def of(self, path):
        """``path``'s fingerprint, or None when there is no such file."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = self._seen.get(path)
        if cached is None or cached[0] != key:
            cached = self._seen[path] = (key, fingerprint(read_text(path)))
        return cached[1]


@attrs.frozen
class Run:
    """One configure's plan and what its outcome reports: the rendered
    text's fingerprint, warnings and interfaces, and the fingerprint of what
    was served before (the outcome of a failed start)."""

    ip_version: int
    plan: object
    key: "str | None" = attrs.field(default=None, repr=False)  # for OMAPI
    fingerprint: "str | None" = None
    warnings: tuple = ()
    interfaces: tuple = ()
    served: "str | None" = None
    dry_run: bool = False
    parsed: object = attrs.field(default=None, repr=False)  # incremental.Parsed
    # The document as it came, kept only until the state is saved.
    document: object = attrs.field(default=None, repr=False)


def gather(rackd_config, cost, ip_version, config, snapshot, key, ntp_addresses, dhcpd,
           status, applied, dry_run, fragments=None):
    """The `Run` for ``config`` (a parsed, non-empty document) on this rack:
    ``rackd_config`` the agent's settings, ``cost`` its `CostModel`,
    ``status`` the monitor's reading, ``applied`` the family's `DHCPState`,
    ``fragments`` the family's `render.Fragments` (its host declarations
    kept from the last render; the family's lock keeps it to one thread)."""
    selection = select(config, snapshot)
    inputs = rackd_config.render_inputs(ip_version, selection, key, ntp_addresses)
    rendered = render(config, inputs, fragments)
    paths = DhcpdPaths.for_family(rackd_config, ip_version)
    spec = DhcpdSpec(ip_version=ip_version, dhcpd=dhcpd, config_path=paths.config,
                     leases_path=paths.leases, pid_path=paths.pid, log_path=paths.log,
                     interfaces=selection.interfaces)
    previous_text = read_text(paths.config)
    observed = Observed(state=status.state, running_spec=status.spec,
                        applied_spec=applied.spec, config_known=applied.config is not None,
                        config_text=previous_text, fingerprint=fingerprint(previous_text))
    changes = same = check_text = None
    if needs_diff(observed, spec):
        changes = plan(applied.config, config, leases_bytes=_size(paths.leases), cost=cost,
                       aliases=applied.aliases_for(status.pid))
        same = structure_same(config, applied, inputs, previous_text, changes, rendered)
        if same:  # the rest was checked when applied: only the new declarations
            check_text = rendered.with_hosts(
                [h.host for h in changes.add] + [new.host for _, new in changes.update]
                + [new.host for _, new in changes.renamed])
    desired = Desired(spec=spec, config=config, text=rendered.text, check_text=check_text,
                      fingerprint=fingerprint(rendered.text), changes=changes,
                      structure_same=same, structure=rendered.structure, dry_run=dry_run)
    warnings = tuple(rendered.warnings) + relay_warnings(config, selection)
    return Run(ip_version, plan_configure(observed, desired), key=key,
               fingerprint=desired.fingerprint, warnings=warnings,
               interfaces=selection.interfaces, served=observed.fingerprint, dry_run=dry_run)


def relay_warnings(config, selection):
    """A warning per relayed subnet left without boot options: no boot server
    of its own and no known interface receiving its relayed packets."""
    own = {s.subnet_cidr for s in config.subnets if s.next_server is not None}
    return tuple(
        f"subnet {cidr} has no address on this rack: served as relayed, without boot "
        "options (no boot server known: name the interface that receives its relayed "
        "packets in its shared network's interface, or set the subnet's next_server)"
        for cidr in selection.relayed
        if cidr not in selection.relay_addresses and cidr not in own)


def structure_same(config, applied, inputs, previous_text, changes, rendered):
    """Whether everything but the hosts renders as dhcpd serves it; only
    asked for host changes (None otherwise). See the module docstring.

    Only hosts differ in the document; anything else that renders
    differently (this rack's addresses, agent settings, templates) still
    needs a restart. With the applied structure's digest known, that is one
    comparison; a state file from before digests were kept costs one more
    render, with the applied hosts, compared with the file dhcpd serves."""
    if not isinstance(changes, HostChanges):
        return None
    if applied.structure is not None:
        return rendered.structure == applied.structure
    return render(attrs.evolve(config, hosts=applied.config.hosts), inputs).text == previous_text


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
