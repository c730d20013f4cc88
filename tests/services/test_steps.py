"""Undoing a configure's begun steps: files first, then dhcpd, then state,
each in reverse order, and an inverse needed twice run once."""

import pytest

from provisioningserver.services.steps import (
    ApplyHosts, CheckConfig, EnsureRunning, RecordConfig, RemoveConfig, SaveState, StopDhcpd,
    WriteConfig, restores, undo)

NEW, OLD = "new-spec", "old-spec"


@pytest.mark.parametrize("begun, expected", [
    # Cancelled while dhcpd -t runs: nothing to undo.
    ((CheckConfig("text", "dhcpd"),), ()),
    # A restart that failed: the old text goes back before the old spec starts.
    ((CheckConfig("text", "dhcpd"), WriteConfig("/c", "new", restore="old"),
      EnsureRunning(NEW, restore=OLD)),
     (WriteConfig("/c", "old"), EnsureRunning(OLD, restart=True))),
    # A first start that failed: no file, dhcpd stopped, nothing applied.
    ((WriteConfig("/c", "new"), EnsureRunning(NEW)),
     (RemoveConfig("/c"), StopDhcpd(), SaveState())),
    # Live changes cancelled half way: dhcpd reads its previous config again.
    ((CheckConfig("text", "dhcpd"), ApplyHosts("changes", restore=OLD)),
     (EnsureRunning(OLD, restart=True),)),
    # Live changes failed, the restart instead failed too: one restart back.
    ((ApplyHosts("changes", restore=OLD), WriteConfig("/c", "new", restore="old"),
      EnsureRunning(NEW, restore=OLD)),
     (WriteConfig("/c", "old"), EnsureRunning(OLD, restart=True))),
    # Steps written after everything that can fail have no inverse.
    ((RecordConfig(NEW), SaveState(NEW, "config"), StopDhcpd()), ()),
])
def test_undo_of_the_begun_steps(begun, expected):
    """Each row: the steps begun, and the undo that puts things back."""
    assert undo(begun) == expected


def test_an_undo_restores_only_when_it_starts_a_previous_dhcpd():
    """restores: an undo that starts the previous spec again brings it back;
    one that stops dhcpd (nothing to go back to) does not."""
    assert restores(undo((WriteConfig("/c", "new", restore="old"),
                          EnsureRunning(NEW, restore=OLD))))
    assert not restores(undo((WriteConfig("/c", "new"), EnsureRunning(NEW))))


def test_only_the_check_runs_in_a_dry_run():
    """The check is the one step that changes nothing, so a dry run runs it."""
    safe = [kind for kind in (CheckConfig, ApplyHosts, WriteConfig, RemoveConfig,
                              EnsureRunning, RecordConfig, StopDhcpd, SaveState) if kind.safe]
    assert safe == [CheckConfig]


def test_texts_are_left_out_of_a_steps_repr():
    """A step's repr does not carry the config text (it may be megabytes and
    holds the OMAPI key)."""
    assert "secret" not in repr(WriteConfig("/c", "secret", restore="secret too"))
    assert "secret" not in repr(CheckConfig("secret", "dhcpd"))
