"""A configure in progress, written down so that a rackd killed in it is mended.

Why. A configure changes three things that live apart: dhcpd's host
objects (over OMAPI), its config file, and rackd's state file. Each is
written atomically, but not together, so a rackd killed between two of
them leaves a next rackd a dhcpd that serves neither document whole: killed
in the middle of a live OMAPI batch, dhcpd holds some of the new hosts
while its config file (and so its start record) still says the old
document, and the next rackd would adopt that mix as the old one. Killed
after the config file was written but before the state was saved, the
state names a document dhcpd no longer reads.

How. Before the first step that changes anything (a live host change or
a config write) the configurator writes an *intent* file next to the state
file: the spec dhcpd ran with before (``from``, None when none ran), the
spec it is to run with (``to``) and the digest of the config text it is to
read. The intent is removed once the applied state is saved, or once a
failed configure's undo has run: a finished configure leaves none. A rackd
that finds one at start knows its predecessor died inside a configure, and
`recover` decides, from the config file as it is, what dhcpd serves:

- the config file is the new text: dhcpd is restarted with ``to`` (the new
  document whole, from its file);
- it is not (the kill came before the write, or an undo put the old text
  back): dhcpd is restarted with ``from`` (the old document whole); with
  no ``from``, nothing served before and nothing is started;

and the applied document is then *not known* (the state keeps the spec, and
its document is dropped), so the next configure restarts dhcpd once with
whatever it is sent, rather than trusting a diff against a document that
may not be the one served. The restart (never an adoption) is what drops
half-made OMAPI changes: dhcpd starts from the config file alone, its
leases file cleaned of host records (`dhcpd.process.clean_leases`). An
intent file that cannot be read (written by no rackd of this version) is
treated as one with no new text: dhcpd restarts with the spec the state
names.
"""

import hashlib
import json
import os

import attrs
from twisted.logger import Logger

from provisioningserver.dhcpd.process import DhcpdSpec
from provisioningserver.services.steps import ApplyHosts, EnsureRunning, RecordConfig, WriteConfig
from provisioningserver.system.files import atomic_write

log = Logger()


@attrs.frozen
class Intent:
    """A configure begun: from ``before`` to ``after`` (`DhcpdSpec` or None),
    the config text to be read digested as ``config_sha256``."""

    before: "DhcpdSpec | None" = None
    after: "DhcpdSpec | None" = None
    config_sha256: "str | None" = None


def intent_path(state_dir, ip_version):
    return os.path.join(state_dir, f"configuring-v{ip_version}.json")


def _spec_data(spec):
    return attrs.asdict(spec) if spec is not None else None


def _spec(data):
    if data is None:
        return None
    return DhcpdSpec(**{**data, "interfaces": tuple(data["interfaces"])})


def intent_for(steps, before):
    """The `Intent` of a plan's ``steps`` (None when none changes dhcpd's
    hosts or config), from ``before``, the spec dhcpd runs with now."""
    if not any(isinstance(step, (ApplyHosts, WriteConfig)) for step in steps):
        return None
    after = next((step.spec for step in steps
                  if isinstance(step, (EnsureRunning, RecordConfig))), None)
    text = next((step.text for step in steps if isinstance(step, WriteConfig)), None)
    digest = None
    if text is not None:
        digest = hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text)
        digest = digest.hexdigest()
    return Intent(before, after, digest)


def write_intent(state_dir, ip_version, intent):
    text = json.dumps({"from": _spec_data(intent.before), "to": _spec_data(intent.after),
                       "config_sha256": intent.config_sha256})
    atomic_write(intent_path(state_dir, ip_version), text, mode=0o600)


def begin_intent(state_dir, ip_version, steps, before):
    """Write the intent of ``steps`` from ``before`` (in a thread: it hashes
    the config text and fsyncs); whether there was one to write."""
    intent = intent_for(steps, before)
    if intent is None:
        return False
    write_intent(state_dir, ip_version, intent)
    return True


def clear_intent(state_dir, ip_version):
    try:
        os.unlink(intent_path(state_dir, ip_version))
    except FileNotFoundError:
        pass


def read_intent(state_dir, ip_version):
    """The `Intent` left by a rackd that died configuring, or None."""
    try:
        with open(intent_path(state_dir, ip_version), "rb") as stream:
            data = stream.read()
    except FileNotFoundError:
        return None
    try:
        record = json.loads(data)
        return Intent(_spec(record["from"]), _spec(record["to"]), record["config_sha256"])
    except (ValueError, KeyError, TypeError) as error:
        log.warn("IPv{v} configure intent unreadable ({e}): taken as one with no new config",
                 v=ip_version, e=error)
        return Intent()


def recover(intent, applied_spec, config_sha256):
    """The spec dhcpd restarts with after ``intent`` was left behind (None:
    none), given the state's spec and the config file's digest now; and
    which document that is ("new", "old" or "none")."""
    if intent.after is not None and config_sha256 == intent.config_sha256:
        return intent.after, "new"
    before = intent.before if intent.before is not None else applied_spec
    return (before, "old") if before is not None else (None, "none")
