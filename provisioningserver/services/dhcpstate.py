"""DHCPState: what rackd has applied to one family's dhcpd, persisted.

After every successful configure, rackd writes the applied document and the
dhcpd spec (binary, files, interfaces) to ``state_dir/applied-v4.json`` (or
``-v6``), atomically. A restarted rackd reads it to adopt or start the same
dhcpd and to plan the next document against it, so an unchanged document
does not restart dhcpd.

The file carries a format version. A file of another version is never
misread: version 1 (spec only, no document) is migrated to a state with an
unknown document, so that the next configure restarts once and then knows;
a file of an unknown version is treated the same way and logged. A file
that does not read at all (empty, torn, garbage: it is written atomically,
so only damage from outside makes one) is moved aside as
``applied-vN.json.corrupt-TIMESTAMP`` and rackd starts with nothing
applied, saying so in one line: a dhcpd still running keeps serving until
the next configure, which restarts it (it is not known what it serves).
"""

import json
import os
import time

import attrs
from twisted.logger import Logger

from provisioningserver.dhcp.doctext import load_json
from provisioningserver.dhcp.document import parse_document
from provisioningserver.dhcp.hosttable import HostTable
from provisioningserver.dhcp.docwrite import to_document
from provisioningserver.system.packed import PackedJSON
from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.system.files import atomic_write, move_aside
from provisioningserver.dhcpd.process import DhcpdSpec

log = Logger()

FORMAT_VERSION = 2


@attrs.frozen
class DHCPState:
    """``spec`` is None when dhcpd should be off; ``config`` is None when
    what dhcpd serves is not known (an old or damaged state file)."""

    spec: "DhcpdSpec | None" = None
    config: object = None
    # The rendered structure's digest (`Rendered.structure`: the config but
    # its host declarations) of what dhcpd serves; None when not known.
    structure: "str | None" = None
    # Hosts dhcpd knows by an older name (document name -> dhcpd's), left by
    # live renames (`dhcp.plan.HostChanges.aliases`); a restart clears them.
    aliases: dict = attrs.field(factory=dict, hash=False)
    # The dhcpd process the aliases were made in (None: not recorded).
    aliases_pid: "int | None" = None

    def aliases_for(self, pid):
        """The aliases, if dhcpd ``pid`` is the process they were made in. A
        dhcpd started since then (the monitor restarting a crashed one, or a
        new rackd starting rather than adopting it) read the config file,
        which names every host as the document does: no alias holds."""
        if self.aliases_pid is not None and self.aliases_pid != pid:
            return {}
        return self.aliases


def state_path(state_dir, ip_version):
    return os.path.join(state_dir, f"applied-v{ip_version}.json")


def _spec(data):
    return DhcpdSpec(**{**data, "interfaces": tuple(data["interfaces"])})


def load_state(state_dir, ip_version, now=time.time):
    """The family's `DHCPState` from its file; a file that does not read
    (empty, torn, garbage, a document this rackd refuses) is moved aside
    (`system.files.move_aside`) and the state is empty, with one log line."""
    path = state_path(state_dir, ip_version)
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except FileNotFoundError:
        return DHCPState()
    try:
        return _read_state(data, ip_version, path)
    except (ValueError, KeyError, TypeError, AttributeError, DocumentError) as error:
        aside = move_aside(path, now())
        log.warn("Applied state for IPv{v} unreadable ({e}): moved aside to {aside}; "
                 "starting with nothing applied (a dhcpd still running serves on until "
                 "the next configure restarts it)", v=ip_version, e=_short(error), aside=aside)
        return DHCPState()


def _short(error, limit=200):
    text = str(error)
    return text if len(text) <= limit else text[:limit] + "..."


def _read_state(data, ip_version, path):
    # Read as any document is (`doctext`): bytes that are not UTF-8, a file
    # nested too deeply or holding lone surrogates is unreadable state, not
    # a crash at start.
    data = load_json(data, path)
    version = data.get("version")
    if version == 1:
        spec = _spec(data["spec"]) if data.get("running") else None
        return DHCPState(spec=spec, config=None)
    if version != FORMAT_VERSION:
        log.warn("Applied state for IPv{v} has unknown format {f}; rebuilding it",
                 v=ip_version, f=version)
        return DHCPState()
    spec = _spec(data["spec"]) if data.get("spec") else None
    config = None
    if data.get("document") is not None:
        config = parse_document(data["document"], ip_version)
        # Held as a table, as every applied config is (`dhcp.hosttable`).
        config = attrs.evolve(config, hosts=HostTable.of(config.hosts))
    aliases = data.get("aliases") or {}
    if not (isinstance(aliases, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in aliases.items())):
        raise ValueError("aliases: not a mapping of names")
    pid = data.get("aliases_pid")
    if pid is not None and (not isinstance(pid, int) or isinstance(pid, bool)):
        raise ValueError("aliases_pid: not a process id")
    return DHCPState(spec=spec, config=config, structure=data.get("structure"),
                     aliases=aliases if config is not None else {}, aliases_pid=pid)


def save_state(state_dir, ip_version, state, document=None):
    """Write ``state``; ``document``, when given, is the document as it came
    (already read into ``state.config``), written as it is rather than
    written out again from the model: at 10,000 hosts that is most of the
    cost of saving. A packed document (`system.packed.PackedJSON`) goes in
    as the bytes that came, not serialised at all."""
    if document is None and state.config is not None:
        document = to_document(state.config)
    data = {
        "version": FORMAT_VERSION,
        "spec": attrs.asdict(state.spec) if state.spec is not None else None,
        "structure": state.structure,
        "aliases": state.aliases,
        "aliases_pid": state.aliases_pid,
    }
    if state.config is not None and isinstance(document, PackedJSON):
        # The same object with "document" last, spliced in as the JSON that came.
        text = json.dumps(data)[:-1].encode("utf-8") + b', "document": ' + document.text + b"}"
    else:
        data["document"] = document if state.config is not None else None
        text = json.dumps(data)
    # The document holds the OMAPI key: owner only.
    atomic_write(state_path(state_dir, ip_version), text, mode=0o600)


class AppliedState:
    """What is applied to each family's dhcpd, held in memory.

    One object, owned by the configurator (the only writer) and handed at
    construction to everything that reads what dhcpd serves: the failover
    watch, the problem counts, the lease views, the foreign probe and the
    follower's known-client check. Each family's file is read once, on first
    use; `save` writes it and replaces what is held. So a reader never
    re-reads or re-validates the applied document, whatever the size of the
    site.

    ``generation`` grows with every save, for readers that keep something
    derived from the state and want to know when to derive it again.
    """

    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.generation = 0
        self._states = {}

    def get(self, ip_version):
        """The family's `DHCPState`, read from its file the first time."""
        state = self._states.get(ip_version)
        if state is None:
            state = self._states[ip_version] = load_state(self.state_dir, ip_version)
        return state

    def config(self, ip_version):
        """The applied DHCPConfig, or None (nothing applied, or not known)."""
        return self.get(ip_version).config

    def spec(self, ip_version):
        """The running dhcpd's spec, or None when it should be off."""
        return self.get(ip_version).spec

    def save(self, ip_version, state, document=None):
        """Persist ``state`` (atomically), then hold it."""
        self.write(ip_version, state, document)
        self.hold(ip_version, state)

    def write(self, ip_version, state, document=None):
        """Persist ``state`` only (for a thread: the file, nothing held)."""
        save_state(self.state_dir, ip_version, state, document)

    def hold(self, ip_version, state):
        """Hold ``state`` as what is applied (in the reactor thread, after `write`)."""
        self._states[ip_version] = state
        self.generation += 1
