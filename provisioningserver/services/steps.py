"""The steps of a configure, as values, and how a rollback undoes them.

A configure is planned (`services.planning`) as a tuple of these steps and
carried out by the executor (`services.configure`), which holds no decision
of its own: it runs each step in order, and when a start fails or a caller
cancels it runs the undo of the steps it had begun. A dry run is the plan
returned with only its `safe` steps run (the ``dhcpd -t`` check, which
changes nothing), so it fails exactly where the real run would, first.

Each step knows its inverse, where it has one:

- `WriteConfig` puts the text it replaced back, or removes the file when
  there was nothing to go back to;
- `EnsureRunning` starts dhcpd again with the spec it ran before, or stops
  it and forgets the applied state when there was none;
- `ApplyHosts` (live changes over OMAPI, perhaps half done) has dhcpd read
  its previous config again, which drops them;
- `CheckConfig`, `RecordConfig` and `SaveState` have none: a check changes
  nothing, and the record and the state are written last, after every step
  that can fail.

What to go back to is decided by the planner and carried in each step's
``restore`` field, so the undo is a value too, and tests can enumerate it.

Undoing is the inverses of the begun steps in reverse order, with one
ordering rule on top: files are put back before the processes that read
them. A plain reverse order would restart the previous dhcpd while the new
config is still on disk (the write came before the start, so its inverse
comes after the start's). So `undo` orders the inverses by `phase`: files,
then dhcpd, then the applied state, each in reverse order of the steps. An
inverse that appears twice (a live change fell back to a restart: both
undo to "run the previous spec again") is run once: every inverse is an
"ensure", so running it again adds nothing.

Texts are held by reference (no copy is made) and left out of the repr,
so a plan can be logged or printed without the whole config in it.
"""

import attrs

from provisioningserver.omapi.client import AddHost, RemoveHost, UpdateHostIP

# The order in which inverses run: see the module docstring.
FILES, DHCPD, STATE = 0, 1, 2


def _back_to(spec):
    """Undo a change to the running dhcpd: run ``spec`` again, or with none
    to go back to, stop dhcpd and forget the applied state."""
    if spec is None:
        return (StopDhcpd(), SaveState())
    return (EnsureRunning(spec, restart=True),)


@attrs.frozen
class CheckConfig:
    """``dhcpd -t`` on the text; a rejection stops the configure, changing nothing."""

    text: str = attrs.field(repr=False)
    dhcpd: str  # the binary that checks it: the one that will serve it
    safe = True  # run in a dry run as well
    phase = FILES

    def inverse(self):
        return ()


@attrs.frozen
class ApplyHosts:
    """Host changes live over OMAPI (a `dhcp.plan.HostChanges`), removes
    first, then updates, then adds. ``restore``: the spec dhcpd ran with,
    restarted to drop half-done changes (None: stop it)."""

    changes: object
    restore: object = None
    safe = False
    phase = DHCPD

    def inverse(self):
        return _back_to(self.restore)


def omapi_batches(changes):
    """What `ApplyHosts` sends, in order: the removes, the updates, the adds
    (each host addressed by the name dhcpd knows it by). Tens of thousands
    of objects at 50,000 hosts: built in a thread."""
    return (
        [RemoveHost(name=changes.dhcpd_name(h.host)) for h in changes.remove],
        [UpdateHostIP(ip=str(new.ip), name=changes.dhcpd_name(old.host))
         for old, new in changes.update],
        [AddHost(name=h.host, mac=h.mac, ip=str(h.ip)) for h in changes.add],
    )


@attrs.frozen
class WriteConfig:
    """Write ``text`` to ``path`` atomically (mode 0600). ``restore``: the
    text to put back on undo; None removes the file."""

    path: str
    text: str = attrs.field(repr=False)
    restore: "str | None" = attrs.field(default=None, repr=False)
    safe = False
    phase = FILES

    def inverse(self):
        if self.restore is None:
            return (RemoveConfig(self.path),)
        return (WriteConfig(self.path, self.restore),)


@attrs.frozen
class RemoveConfig:
    """Remove the config file, if there is one."""

    path: str
    safe = False
    phase = FILES

    def inverse(self):
        return ()


@attrs.frozen
class EnsureRunning:
    """Have the monitor run dhcpd with ``spec`` (restarting it if ``restart``)
    and verify that it serves. ``restore``: the spec to run again on undo;
    None stops dhcpd and forgets the applied state."""

    spec: object
    restart: bool = True
    restore: object = None
    safe = False
    phase = DHCPD

    def inverse(self):
        return _back_to(self.restore)


@attrs.frozen
class RecordConfig:
    """Tell the monitor that dhcpd at ``spec`` serves the file as it is now
    (changed live), so that a later rackd may adopt it."""

    spec: object
    safe = False
    phase = DHCPD

    def inverse(self):
        return ()


@attrs.frozen
class StopDhcpd:
    """Have the monitor stop dhcpd."""

    safe = False
    phase = DHCPD

    def inverse(self):
        return ()


@attrs.frozen
class SaveState:
    """Persist and hold the applied state: dhcpd runs ``spec`` serving
    ``config`` (both None: dhcpd is off)."""

    spec: object = None
    config: object = attrs.field(default=None, repr=False)
    structure: "str | None" = None  # the rendered structure's digest
    aliases: dict = attrs.field(factory=dict, hash=False)  # dhcp.plan.HostChanges.aliases
    safe = False
    phase = STATE

    def inverse(self):
        return ()


def undo(begun):
    """The steps that undo ``begun`` (the steps started, in order, the last
    perhaps unfinished): see the module docstring for the order."""
    inverses = [inverse for step in reversed(begun) for inverse in step.inverse()]
    ordered = sorted(inverses, key=lambda step: step.phase)  # stable: reverse order kept
    seen = set()
    unique = []
    for step in ordered:
        if step not in seen:
            seen.add(step)
            unique.append(step)
    return tuple(unique)


def restores(steps):
    """Whether ``steps`` (an undo) bring a previous dhcpd back, rather than
    leave dhcpd stopped for want of anything to go back to."""
    return any(isinstance(step, EnsureRunning) for step in steps)
