"""Live host changes at their cost: a host renamed and nothing else goes
live with nothing sent (dhcpd's old name kept as an alias in the applied
state and its file until a restart writes every name anew), and dhcpd -t
checks only the declarations a change brings."""

import json

import attrs

from provisioningserver.dhcpd.check import CheckResult
from provisioningserver.omapi.client import RemoveHost, UpdateHostIP
from provisioningserver.services.dhcpstate import load_state, state_path
from tests.services.test_configure import document, host, result_of, rig  # noqa: F401


def renamed(n, name, ip=None):
    return {**host(n, ip), "host": name}


def test_a_rename_sends_nothing_and_is_remembered_across_a_rackd_restart(rig):
    """The rename goes live with no OMAPI change; the applied state, and a
    new rackd reading it, know dhcpd holds the host as node-10."""
    result_of(rig.configurator.configure(4, document(hosts=[host(10), host(11)])))
    outcome = result_of(rig.configurator.configure(4, document(
        hosts=[renamed(10, "web-1"), host(11)])))
    assert outcome.action == "applied-live" and outcome.hosts["renamed"] == 1
    assert rig.omapi.batches == []
    assert rig.configurator.applied(4).aliases == {"web-1": "node-10"}
    saved = load_state(rig.config.state_dir, 4)
    assert saved.aliases == {"web-1": "node-10"} and saved.aliases_pid == rig.monitor.current.pid


def test_later_changes_to_a_renamed_host_address_dhcpds_name(rig):
    """An address change, then a removal, of the renamed host are sent under
    the name dhcpd knows it by."""
    result_of(rig.configurator.configure(4, document(hosts=[host(10), host(11)])))
    result_of(rig.configurator.configure(4, document(hosts=[renamed(10, "web-1"), host(11)])))
    result_of(rig.configurator.configure(4, document(
        hosts=[renamed(10, "web-1", ip="198.18.0.60"), host(11)])))
    assert rig.omapi.batches[-1] == [UpdateHostIP(ip="198.18.0.60", name="node-10")]
    result_of(rig.configurator.configure(4, document(hosts=[host(11)])))
    assert rig.omapi.batches[-1] == [RemoveHost(name="node-10")]
    assert rig.configurator.applied(4).aliases == {}


def test_a_restart_clears_the_aliases(rig):
    """A structural change restarts dhcpd with every host under its document
    name: no alias is left."""
    result_of(rig.configurator.configure(4, document(hosts=[host(10)])))
    result_of(rig.configurator.configure(4, document(hosts=[renamed(10, "web-1")])))
    outcome = result_of(rig.configurator.configure(4, document(
        dns="198.18.0.3", hosts=[renamed(10, "web-1")])))
    assert outcome.action == "restarted"
    assert rig.configurator.applied(4).aliases == {}
    assert load_state(rig.config.state_dir, 4).aliases == {}


def test_a_host_change_is_checked_with_only_the_hosts_it_brings(rig):
    """dhcpd -t sees the structure dhcpd serves and the added host's
    declaration, not the unchanged hosts (checked when they were applied);
    a restart checks the whole text."""
    texts = []
    rig.verdicts.extend([lambda text: texts.append(text) or CheckResult(ok=True)] * 3)
    result_of(rig.configurator.configure(4, document(hosts=[host(10)])))
    result_of(rig.configurator.configure(4, document(hosts=[host(10), host(11)])))
    whole, live = texts
    assert "node-10" in whole and "subnet 198.18.0.0" in whole
    assert "node-11" in live and "node-10" not in live and "subnet 198.18.0.0" in live
    with open(rig.configurator.applied(4).spec.config_path) as f:
        written = f.read()
    assert "node-10" in written and "node-11" in written


def crash_restart(monitor):
    """What the monitor does when dhcpd dies: a new dhcpd, started from the
    config file, which names every host as the document does."""
    monitor.current = attrs.evolve(monitor.current, pid=monitor.current.pid + 1000,
                                   restarts=monitor.current.restarts + 1)


def test_a_crash_restart_voids_the_aliases(rig):
    """After the monitor restarted a crashed dhcpd (a new process that read the
    config, with every host under its document name), a later change to the
    renamed host is sent under its document name, not the stale alias."""
    result_of(rig.configurator.configure(4, document(hosts=[host(10), host(11)])))
    result_of(rig.configurator.configure(4, document(hosts=[renamed(10, "web-1"), host(11)])))
    crash_restart(rig.monitor)
    result_of(rig.configurator.configure(4, document(
        hosts=[renamed(10, "web-1", ip="198.18.0.60"), host(11)])))
    assert rig.omapi.batches[-1] == [UpdateHostIP(ip="198.18.0.60", name="web-1")]
    assert rig.configurator.applied(4).aliases == {}


def test_a_new_rackd_keeps_the_aliases_of_the_dhcpd_it_adopts(rig):
    """A rackd restarted while the same dhcpd serves (the monitor reports the
    process the rename was made in) still addresses dhcpd's old name."""
    result_of(rig.configurator.configure(4, document(hosts=[host(10), host(11)])))
    result_of(rig.configurator.configure(4, document(hosts=[renamed(10, "web-1"), host(11)])))
    result_of(rig.make().configure(4, document(
        hosts=[renamed(10, "web-1", ip="198.18.0.60"), host(11)])))
    assert rig.omapi.batches[-1] == [UpdateHostIP(ip="198.18.0.60", name="node-10")]


def test_a_new_rackd_voids_the_aliases_of_a_dhcpd_that_did_not_survive(rig):
    """A rackd restarted after dhcpd was started anew does not trust the
    aliases its state file kept."""
    result_of(rig.configurator.configure(4, document(hosts=[host(10), host(11)])))
    result_of(rig.configurator.configure(4, document(hosts=[renamed(10, "web-1"), host(11)])))
    crash_restart(rig.monitor)
    result_of(rig.make().configure(4, document(
        hosts=[renamed(10, "web-1", ip="198.18.0.60"), host(11)])))
    assert rig.omapi.batches[-1] == [UpdateHostIP(ip="198.18.0.60", name="web-1")]


def test_a_state_file_with_a_bad_alias_pid_is_not_misread(rig):
    """An aliases_pid that is not a process id makes the file unreadable (the
    next configure restarts once) rather than trusted."""
    result_of(rig.configurator.configure(4, document(hosts=[host(10)])))
    result_of(rig.configurator.configure(4, document(hosts=[renamed(10, "web-1")])))
    path = state_path(rig.config.state_dir, 4)
    with open(path) as f:
        data = json.load(f)
    data["aliases_pid"] = "123"
    with open(path, "w") as f:
        json.dump(data, f)
    state = load_state(rig.config.state_dir, 4)
    assert state.config is None and state.aliases == {}
