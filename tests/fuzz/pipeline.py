"""One fuzzed document through rackd's real entry points, and what went wrong.

Each document is bytes, as an operator's file or a region's argument would
be. `Pipeline.run` takes them where rackd takes them, with the functions
rackd itself calls:

- ``rackctl check``/``render``: the file read (`cli.common.read_document_text`),
  `document.load_document`, `document.parse_document` (structure, types,
  then the relational checks), and a refusal in rackctl's words
  (`cli.output.problems_text`, ``problems_json``), encoded for its output;
- ``rackctl configure`` and the agent: the document as rackctl sends it
  (`cli.agent_commands.document_to_send`), through the control socket's
  box codec (`rpc.controlclient.request_box`, `rpc.ampbox`), read against
  the applied seed as the configurator reads it (`services.received.read_packed`,
  the incremental reader). Both paths must agree: accepted by both, with
  equal configs, or refused by both; and the applied read is left as it was;
- for an accepted config: `render.render` with the inputs rackd.yaml's
  defaults give (`config.RackdConfig.render_inputs`; `inputs_for` says
  which subnets have the rack on them and which are relayed), the
  rendered text encoded as the config writer encodes it, the injection check
  (`tests.fuzz.inert`, `tests.fuzz.conflex`), and the round trips: the model
  written (`docwrite.to_document`) and read back, as JSON text and as YAML
  text, and through the applied-state file (`services.dhcpstate`), each
  equal to the config.

A `Finding` is one thing wrong; `Pipeline.run` returns the document's
verdict and its findings. The real ``dhcpd -t`` runs later on a sample of
the accepted configs (`tests.fuzz.campaign`), since it costs a process each.
"""

import ipaddress
import json
import os
import re

import attrs
import yaml

from provisioningserver.cli import output
from provisioningserver.cli.agent_commands import document_to_send
from provisioningserver.cli.common import EmptyFile, read_document_text
from provisioningserver.config import RackdConfig
from provisioningserver.dhcp import docyaml
from provisioningserver.dhcp.docvalues import key_path
from provisioningserver.dhcp.docwrite import to_document, to_json
from provisioningserver.dhcp.document import load_document, parse_document
from provisioningserver.dhcp.errors import DocumentError
from provisioningserver.dhcp.incremental import read_document
from provisioningserver.dhcp.render import render
from provisioningserver.network.selection import Selection
from provisioningserver.rpc import ampbox, controlclient, controlspec
from provisioningserver.services.dhcpstate import DHCPState, load_state, save_state
from provisioningserver.services.received import read_packed
from provisioningserver.system.packed import PackedJSON
from tests.fuzz import conflex
from tests.fuzz.inert import Twin

KEY = "ZnV6ei1rZXktZm9yLXRlc3RzLW9ubHktMTIzNDU2Nzg="  # when the document has none
NTP = {4: ("198.18.200.1",), 6: ("2001:db8:200::1",)}
# Where a problem of a text that is not (yet) a document may point instead of a field.
_LOCATED = re.compile(r"\b(line|column|byte|position|offset) \d+")

EXCEPTION, INJECTION, PATHLESS, ROUND_TRIP, DISAGREE = (
    "unhandled exception", "injection", "rejection without a field path",
    "round trip not equal", "check and configure disagree")


@attrs.frozen
class Finding:
    kind: str  # one of the names above (or campaign.DHCPD_REJECTED)
    stage: str
    detail: str


@attrs.frozen
class Verdict:
    accepted: bool
    findings: tuple = ()
    config: object = None
    text: "str | None" = None  # the rendered config, when there is one


def inputs_for(config, rackd=RackdConfig()):
    """What rendering gets beyond the document, as rackctl builds it: the
    rack on ``.2`` of each subnet, but one subnet in three relayed (half of
    those with the address their relayed packets reach), and one network
    the document does not declare. Chosen by the subnets' addresses, so a
    config and its inert twin get the same."""
    racks, relays = {}, {}
    for subnet in config.subnets:
        cidr = subnet.subnet_cidr
        turn = (int(cidr.network_address) >> (cidr.max_prefixlen - cidr.prefixlen)) % 6
        if turn not in (0, 3):
            racks[cidr] = cidr.network_address + 2
        elif turn == 3:
            relays[cidr] = _EMPTY[cidr.version].network_address + 1
    selection = Selection(rack_addresses=racks, interfaces=(), relay_addresses=relays,
                          empty_subnets=(_EMPTY[config.ip_version],))
    names = {n for s in config.subnets for n in s.ntp_servers if isinstance(n, str)}
    # Every NTP name resolves but those the site seed means to be missing.
    ntp = {name: tuple(map(ipaddress.ip_address, NTP[config.ip_version]))
           for name in names if not name.startswith("ntp-missing")}
    return rackd.render_inputs(config.ip_version, selection, config.omapi_key or KEY, ntp)


_EMPTY = {4: ipaddress.ip_network("198.19.250.0/24"), 6: ipaddress.ip_network("2001:db8:fa::/64")}


def crash(stage, error):
    where = error.__traceback__
    while where is not None and where.tb_next is not None:
        where = where.tb_next
    at = (f" at {os.path.basename(where.tb_frame.f_code.co_filename)}:{where.tb_lineno}"
          if where is not None else "")
    return Finding(EXCEPTION, stage, f"{type(error).__name__}{at}: {str(error)[:300]}")


class Pipeline:
    """Runs documents; ``directory`` holds the document file and state files."""

    def __init__(self, directory, seeds, state_every=10):
        self.directory, self.state_every, self.seeds = directory, state_every, seeds
        self.path = os.path.join(directory, "document")
        # Per seed: its incremental read, the configurator's previous one.
        self.previous = {(name, version): read_document(doc, version)
                         for name, version, doc, _ in seeds}
        # What each applied read holds, to see that no read of a new document changes it.
        self.applied = {key: _held(parsed) for key, parsed in self.previous.items()}
        self.runs = 0

    def run(self, data, version, seed_name):
        """The `Verdict` on ``data`` read as an IPv``version`` document."""
        self.runs += 1
        findings = []
        checked = self._check_path(data, version, findings)
        if checked is not None:
            self._configure_path(checked, version, seed_name, findings)
        config = checked[2] if checked is not None else None
        if config is None:
            return Verdict(False, tuple(findings))
        text = self._render(config, findings)
        self._round_trips(config, findings)
        return Verdict(True, tuple(findings), config, text)

    # rackctl check's read.

    def _check_path(self, data, version, findings):
        """(text, outcome, config): outcome the problems' (path, message)
        list, or "accepted"; None when the text never got that far."""
        with open(self.path, "wb") as stream:
            stream.write(data)
        try:
            text = read_document_text(self.path)
            document = load_document(text, source=self.path)
        except EmptyFile:
            return None
        except DocumentError as error:
            self._shown(error, findings)
            for problem in error.problems:
                if not problem.path and not _LOCATED.search(problem.message) \
                        and not _scalar_root(text):
                    findings.append(Finding(PATHLESS, "load", problem.message[:300]))
            return None
        except Exception as error:
            findings.append(crash("read", error))
            return None
        try:
            config = parse_document(document, version)
        except DocumentError as error:
            self._shown(error, findings)
            if isinstance(document, dict):
                findings.extend(Finding(PATHLESS, "validate", why) for p in error.problems
                                if (why := _unplaced(document, p)) is not None)
            return text, [(p.path, p.message) for p in error.problems], None
        except Exception as error:
            findings.append(crash("validate", error))
            return None
        return text, "accepted", config

    def _shown(self, error, findings):
        """rackctl's words for a refusal, as text and JSON, encoded as its
        UTF-8 stdout and stderr would encode them."""
        try:
            output.problems_text(error, self.path).encode("utf-8")
            output.problems_json(error).encode("utf-8")
        except Exception as failure:
            findings.append(crash("rackctl's message", failure))

    # rackctl configure's send, the agent's read.

    def _configure_path(self, checked, version, seed_name, findings):
        text, outcome, config = checked
        try:
            sent = document_to_send(text, self.path)
            box = controlclient.request_box("Configure", {"ip_version": version,
                                                          "document": sent})
            (box,) = ampbox.BoxReader().feed(ampbox.encode_box(box))
            fields, _ = controlspec.COMMANDS["Configure"]
            received = ampbox.take_values(box, fields)["document"]
        except DocumentError:
            return  # rackctl refuses it before sending: the check path said why
        except Exception as error:
            findings.append(crash("configure (rackctl's send)", error))
            return
        previous = self.previous.get((seed_name, version))
        try:
            parsed = read_packed(received, version, previous, None)
            agent = "accepted"
        except DocumentError:
            agent, parsed = "refused", None
        except Exception as error:
            findings.append(crash("configure (the agent's read)", error))
            return
        finally:
            if previous is not None and _held(previous) != self.applied[(seed_name, version)]:
                findings.append(Finding(DISAGREE, "configure", "reading a new document changed "
                                                               "the applied read"))
                self.previous[(seed_name, version)] = read_document(
                    next(d for n, v, d, _ in self.seeds if (n, v) == (seed_name, version)),
                    version)
        if (agent == "accepted") != (outcome == "accepted"):
            findings.append(Finding(DISAGREE, "configure", f"rackctl check: {_said(outcome)}; "
                                                           f"the agent: {agent}"))
        elif parsed is not None and parsed.config != config:
            findings.append(Finding(DISAGREE, "configure", "both accepted, configs differ"))

    # What an accepted config becomes.

    def _render(self, config, findings):
        try:
            text = render(config, inputs_for(config)).text
        except Exception as error:
            findings.append(crash("render", error))
            return None
        try:
            text.encode("utf-8")  # as system.files.atomic_write and dhcpd -t's file write it
        except UnicodeError as error:
            findings.append(crash("writing the config", error))
            return None
        try:
            twin = Twin()
            twin_config = twin.of(config)
            twin_text = render(twin_config, inputs_for(twin_config)).text
            parted = conflex.compare(text, twin_text, twin.originals)
        except Exception as error:
            findings.append(crash("injection check", error))
            return text
        if parted is not None:
            findings.append(Finding(INJECTION, "render", parted))
        if "\x00" in text:  # render's mark for the host declarations, left behind
            findings.append(Finding(INJECTION, "render", "a NUL in the config (render's host "
                                                         "mark, or a string holding one)"))
        for field, value in twin.kept_unsafe():
            findings.append(Finding(INJECTION, "render", f"{field} {value!r} is not a plain word"))
        return text

    def _round_trips(self, config, findings):
        version = config.ip_version
        ways = [("to_document", lambda: to_document(config)),
                ("JSON text", lambda: load_document(to_json(config))),
                ("YAML text", lambda: load_document(yaml.safe_dump(to_document(config), sort_keys=False)))]
        for way, read in ways:
            try:
                again = parse_document(read(), version)
            except Exception as error:
                findings.append(Finding(ROUND_TRIP, way, f"{type(error).__name__}: "
                                                         f"{str(error)[:300]}"))
                continue
            if again != config:
                findings.append(Finding(ROUND_TRIP, way, "read back, not equal"))
        if self.runs % self.state_every == 0:
            self._state_file(config, findings)

    def _state_file(self, config, findings):
        """Saved as the configurator saves (the bytes as sent), loaded as a restart does."""
        version = config.ip_version
        try:
            packed = PackedJSON(to_json(config).encode("utf-8"))
            save_state(self.directory, version, DHCPState(config=config), packed)
            again = load_state(self.directory, version).config
        except Exception as error:
            findings.append(crash("state file", error))
            return
        if again != config:
            findings.append(Finding(ROUND_TRIP, "state file", "read back, not equal"))


def _scalar_root(text):
    """Whether ``text`` is one JSON or YAML scalar: then the document itself
    is the field, and its path is the empty one."""
    for read in (json.loads, docyaml.load):
        try:
            value = read(text)
        except Exception:
            continue
        return not isinstance(value, (dict, list))
    return False


def _held(parsed):
    """What an `incremental.Parsed` holds that a later read must leave as it is."""
    lines, starts = parsed.config.hosts.lines()
    return (parsed.config, lines, bytes(starts), dict(parsed.odd), dict(parsed.sections))


def _unplaced(document, problem):
    """Why ``problem``'s path does not name a place in ``document``, or None.

    The path must lead through the document's own mappings and lists to the
    field: all the way for a field that is there, to its mapping for one
    that is missing (a required field, or ``subnets`` of a shared network
    that has none). Keys may hold dots (option names do) and are matched
    longest first; a key the reader quoted is read back with JSON's rules."""
    if not problem.path:
        return f"(empty path) {problem.message[:300]}"
    node, rest = document, problem.path
    while rest:
        if isinstance(node, list):
            found = re.match(r"\[(\d+)\]", rest)
            if found is None or int(found.group(1)) >= len(node):
                return f"{problem.path}: no such item ({problem.message[:200]})"
            node, rest = node[int(found.group(1))], rest[found.end():]
        elif isinstance(node, dict):
            rest = rest[1:] if rest.startswith(".") else rest
            key = _key(node, rest)
            if key is None:
                if not re.search(r"[.\[]", rest):
                    return None  # a field that is not there, in the mapping that lacks it
                return f"{problem.path}: no field {rest!r} here ({problem.message[:200]})"
            node, rest = node[key], rest[len(_written(key, rest)):]
        else:
            return f"{problem.path}: leads into a {type(node).__name__} ({problem.message[:200]})"
    return None


def _written(key, rest):
    """``key`` as the path ``rest`` writes it: as it is (option and boot
    method names are) or quoted (`docvalues.key_path`); "" when neither."""
    for written in (str(key), key_path("", key) if rest.startswith('"') else None):
        if written and rest.startswith(written) and rest[len(written):len(written) + 1] in (
                "", ".", "["):
            return written
    return ""


def _key(node, rest):
    """The key of ``node`` that ``rest`` starts with (then "." or "[" or its end)."""
    plain = re.match(r"[^.\[]*", rest).group()
    if plain in node and not any(isinstance(k, str) and k.startswith(plain + ".") for k in node):
        return plain  # the common case: a plain key, no dotted key it is the start of
    found = [key for key in node if _written(key, rest)]
    return max(found, key=lambda key: len(_written(key, rest)), default=None)


def _said(outcome):
    if outcome == "accepted":
        return "accepted"
    return "refused (" + "; ".join(f"{p}: {m}" for p, m in outcome[:2])[:200] + ")"
