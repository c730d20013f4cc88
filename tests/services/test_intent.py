"""A configure's intent file, and what a rackd that finds one at start does.

Pure parts (`intent_for`, `recover`) as tables; the configurator's writing
and removal of the file, and `resume` with one left behind, on the fakes of
tests/services/test_configure.py.
"""

import errno
import hashlib
import os

import pytest
from twisted.internet import defer

from provisioningserver.dhcpd.process import DhcpdSpec
from provisioningserver.services import steps
from provisioningserver.services.configure import Configurator, StartFailed
from provisioningserver.services.intent import (
    Intent, intent_for, intent_path, read_intent, recover, write_intent)
from provisioningserver.system.files import atomic_write
from tests.services.test_configure import (  # noqa: F401 (rig is a fixture)
    config_text, document, host, result_of, rig)


def spec(*interfaces):
    return DhcpdSpec(4, "/usr/sbin/dhcpd", "/s/dhcpd.conf", "/s/dhcpd.leases", "/r/dhcpd.pid",
                     "/s/log/dhcpd.log", interfaces)


OLD, NEW = spec("eth0"), spec("eth0", "eth1")


def test_intent_for_a_restart_names_both_specs_and_the_new_texts_digest():
    """A restart plan's intent: from the running spec, to the spec it
    starts, with the sha256 of the text it writes."""
    plan = (steps.CheckConfig("text", "/usr/sbin/dhcpd"), steps.WriteConfig("/s/dhcpd.conf", "text"),
            steps.EnsureRunning(NEW), steps.SaveState(NEW))
    assert intent_for(plan, OLD) == Intent(OLD, NEW, hashlib.sha256(b"text").hexdigest())


def test_plans_that_change_no_host_and_no_file_have_no_intent():
    """A stop, or an unchanged plan, writes no intent."""
    assert intent_for((steps.StopDhcpd(), steps.SaveState()), OLD) is None
    assert intent_for((), OLD) is None


@pytest.mark.parametrize("intent, applied, on_disk, expected", [
    (Intent(OLD, NEW, "new"), OLD, "new", (NEW, "new")),  # written: the new one whole
    (Intent(OLD, NEW, "new"), OLD, "old", (OLD, "old")),  # killed before the write
    (Intent(None, NEW, "new"), None, None, (None, "none")),  # a first start, nothing written
    (Intent(None, NEW, "new"), None, "new", (NEW, "new")),  # a first start, written
    (Intent(), OLD, "old", (OLD, "old")),  # an unreadable intent: the state's spec
])
def test_recover_restarts_the_document_whose_config_is_on_disk(intent, applied, on_disk,
                                                                expected):
    """The spec chosen follows the config file's digest, never a mix."""
    assert recover(intent, applied, on_disk) == expected


def test_an_unreadable_intent_file_reads_as_one_with_no_new_config(tmp_path):
    """Garbage in the file: an `Intent` with nothing in it, not an error."""
    atomic_write(intent_path(str(tmp_path), 4), b"\x00garbage{")
    assert read_intent(str(tmp_path), 4) == Intent()
    assert read_intent(str(tmp_path), 6) is None


def on_threads(rig, run_in_thread):
    """The rig's configurator, but with ``run_in_thread`` (to fail some writes)."""
    return Configurator(rig.config, {4: rig.monitor, 6: rig.monitor}, key_source=lambda: "k",
                        links=rig.configurator.links, clock=rig.configurator.clock,
                        checker=rig.configurator.checker, omapi_factory=lambda v, key: rig.omapi,
                        resolver=rig.configurator.resolver, run_in_thread=run_in_thread)


def test_a_finished_configure_leaves_no_intent(rig):
    """Start, live change, restart: no intent file remains after any."""
    for doc in (document(), document(hosts=[host(10)]), document(dns="198.18.0.3")):
        result_of(rig.configurator.configure(4, doc))
        assert read_intent(rig.config.state_dir, 4) is None


def test_the_intent_is_on_disk_while_the_omapi_batch_is_in_flight(rig):
    """While dhcpd has not answered the live changes, the intent names the
    running spec as both ends and the digest of the config to be written."""
    result_of(rig.configurator.configure(4, document()))
    running = rig.configurator.applied(4).spec
    held = defer.Deferred()
    rig.omapi.apply = lambda changes: held
    d = rig.configurator.configure(4, document(hosts=[host(11)]))
    intent = read_intent(rig.config.state_dir, 4)
    assert (intent.before, intent.after) == (running, running)
    assert intent.config_sha256 is not None
    held.callback([])
    result_of(d)
    assert read_intent(rig.config.state_dir, 4) is None


def test_resume_after_a_kill_in_a_live_batch_restarts_with_the_old_config(rig):
    """A rackd killed mid-batch (the intent left, the old config on disk):
    the next rackd restarts dhcpd (never adopts the mix), saves the state
    with its document unknown, removes the intent; and its next configure
    restarts rather than trusting a diff."""
    result_of(rig.configurator.configure(4, document()))
    running = rig.configurator.applied(4).spec
    write_intent(rig.config.state_dir, 4, Intent(running, running, "not-the-file"))
    rig.monitor.calls.clear()
    again = rig.make()
    result_of(again.resume())
    assert rig.monitor.calls == [("run", running, True)]
    assert read_intent(rig.config.state_dir, 4) is None
    assert again.applied(4).config is None and again.applied(4).spec == running
    assert rig.make().applied(4).config is None  # so too in the file
    outcome = result_of(again.configure(4, document(hosts=[host(11)])))
    assert outcome.action == "restarted" and "not known" in outcome.reason


def test_a_config_write_that_fails_after_live_changes_restarts_the_old_config(rig):
    """A full disk at the config write, after the hosts went live: the
    error comes out, dhcpd is restarted with the spec it had (dropping the
    live changes), the old config stays, the state is not moved on, and no
    intent remains."""
    result_of(rig.configurator.configure(4, document()))
    before, running = config_text(rig), rig.configurator.applied(4).spec
    rig.monitor.calls.clear()

    def run_in_thread(f, *args, **kwargs):
        if f is atomic_write and args[0].endswith("dhcpd.conf"):
            return defer.fail(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), args[0]))
        return defer.maybeDeferred(f, *args, **kwargs)

    full = on_threads(rig, run_in_thread)
    with pytest.raises(OSError, match="No space left"):
        result_of(full.configure(4, document(hosts=[host(11)])))
    assert len(rig.omapi.batches) == 1  # the add went live
    assert rig.monitor.calls == [("run", running, True)]
    assert config_text(rig) == before
    assert full.applied(4).config.hosts == ()
    assert read_intent(rig.config.state_dir, 4) is None


def test_an_undo_that_cannot_put_the_old_config_back_goes_on_and_forgets_the_document(rig):
    """The new dhcpd does not start and the disk is full by the time the
    old config is to be put back: the undo still restarts dhcpd (with the
    file as it is), and the applied document is then not known, so the
    next configure restarts rather than diffing against it."""
    result_of(rig.configurator.configure(4, document()))
    writes = []

    def run_in_thread(f, *args, **kwargs):
        if f is atomic_write and args[0].endswith("dhcpd.conf"):
            writes.append(args[0])
            if len(writes) == 2:  # the undo's write
                return defer.fail(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), args[0]))
        return defer.maybeDeferred(f, *args, **kwargs)

    full = on_threads(rig, run_in_thread)
    rig.monitor.failures = 1
    with pytest.raises(StartFailed):
        result_of(full.configure(4, document(dns="198.18.0.3")))
    assert [call[0] for call in rig.monitor.calls[-2:]] == ["run", "run"]  # new, then old
    assert full.applied(4).config is None
    assert read_intent(rig.config.state_dir, 4) is None
