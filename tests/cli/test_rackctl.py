"""``rackctl render`` and ``rackctl check``: output, secrets and exit codes, and
that they render with what the agent renders with (rackd.yaml, the selection
of interfaces and addresses, the agent's OMAPI key)."""

import json
import re

import pytest

from provisioningserver.cli import rackctl
from provisioningserver.cli.rackctl import main
from provisioningserver.network.links import Snapshot
from tests.dhcp.samples import EXAMPLES

LAB_V4 = str(EXAMPLES / "lab-v4.yaml")
LAB_V6 = str(EXAMPLES / "lab-v6.yaml")
SECRET = "dGhpcy1pcy1hLWRlbW8ta2V5LW5vdC1zZWNyZXQ="
RACK_V4 = ["--rack-address", "198.18.0.0/24=198.18.0.2"]


def _write(tmp_path, text, name="doc.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _links(monkeypatch, addresses):
    """Make this machine's links, as rackctl discovers them, ``{name: [addresses]}``."""
    # rackctl imports discover when it renders, from the discovery module.
    from provisioningserver.network import discovery
    monkeypatch.setattr(discovery, "discover", lambda: Snapshot.from_addresses(addresses))


def test_render_masks_secret(capsys):
    """render prints the config with the OMAPI secret masked."""
    assert main(["render", *RACK_V4, LAB_V4]) == 0
    out = capsys.readouterr().out
    assert 'secret "<redacted>";' in out and SECRET not in out
    assert "next-server 198.18.0.2;" in out


def test_render_show_secrets(capsys):
    """--show-secrets prints the real secret."""
    assert main(["render", "--show-secrets", *RACK_V4, LAB_V4]) == 0
    assert f'secret "{SECRET}";' in capsys.readouterr().out


def test_render_json(capsys):
    """--json prints {"config", "warnings"}, still masked."""
    assert main(["render", "--json", "--ipv6", "--rack-address",
                 "2001:db8:0:1::/64=2001:db8:0:1::2", LAB_V6]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["warnings"] == []
    assert "subnet6 2001:db8:0:1::/64" in data["config"] and SECRET not in data["config"]


def test_render_without_rack_address_selects_as_the_agent_does(monkeypatch, capsys):
    """With no --rack-address, render chooses interfaces and addresses on this
    machine as the agent does: the rack's address on the subnet from the
    interface carrying one, and an empty declaration for the other network of
    that listening interface."""
    _links(monkeypatch, {"lo": ["127.0.0.1/8"], "eth0": ["198.18.0.2/24", "192.0.2.1/24"]})
    assert main(["render", LAB_V4]) == 0
    out = capsys.readouterr().out
    assert "next-server 198.18.0.2;" in out
    assert "subnet 192.0.2.0 netmask 255.255.255.0 { }" in out


def test_render_relays_a_subnet_with_no_local_address(monkeypatch, tmp_path, capsys):
    """A subnet no interface of this machine has an address in is rendered as
    relayed, as the agent serves it, when the document names the interfaces: its
    boot server is the rack's address on the one interface, which gets an empty
    declaration of its own network."""
    _links(monkeypatch, {"eth0": ["192.0.2.1/24"]})
    doc = _write(tmp_path, EXAMPLES.joinpath("lab-v4.yaml").read_text() + "interfaces: [eth0]\n")
    assert main(["render", doc]) == 0
    out = capsys.readouterr().out
    assert "# Relayed: no address of this rack on 198.18.0.0/24." in out
    assert "        next-server 192.0.2.1;" in out.splitlines()
    assert "subnet 192.0.2.0 netmask 255.255.255.0 { }" in out


def test_render_exits_2_where_the_agent_would_refuse(monkeypatch, capsys):
    """A document the agent could not serve on this machine (no interface in any of
    its subnets, none named) exits 2 with the selection's problem, as configure would:
    it names the shared network's interface, the field that would make it valid."""
    _links(monkeypatch, {"lo": ["127.0.0.1/8"], "eth0": ["192.0.2.1/24"]})
    assert main(["render", LAB_V4]) == 2
    assert ("shared_networks[0].interface: no interface of this rack has an address"
            in capsys.readouterr().err)


def test_render_uses_the_settings_of_the_config_file(tmp_path, capsys):
    """--config FILE: lease times, boot server port and lease hooks come from
    rackd.yaml, as the agent renders them."""
    config = _write(tmp_path, "lease_time: 1234\npxe_lease_time: 77\nlease_events: false\n"
                              "omapi_port_v4: 7000\nboot: {http_port: 5300}\n", "rackd.yaml")
    assert main(["render", "--config", config, *RACK_V4, LAB_V4]) == 0
    out = capsys.readouterr().out
    assert "default-lease-time 1234;" in out and "default-lease-time 77;" in out
    assert "omapi-port 7000;" in out and "http://198.18.0.2:5300/" in out
    assert "rackd-lease" not in out
    assert main(["render", *RACK_V4, LAB_V4]) == 0
    out = capsys.readouterr().out
    assert "default-lease-time 600;" in out and "rackd-lease" in out


def test_bad_config_file_exits_2_naming_the_key(tmp_path, capsys):
    """A rackd.yaml with a bad key exits 2 naming it; a --config file that is
    missing (other than the default) exits 2 too."""
    config = _write(tmp_path, "lease_time: soon\n", "rackd.yaml")
    assert main(["render", "--config", config, *RACK_V4, LAB_V4]) == 2
    assert "lease_time: expected a positive whole number" in capsys.readouterr().err
    assert main(["render", "--config", str(tmp_path / "none.yaml"), *RACK_V4, LAB_V4]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_render_uses_the_agents_omapi_key(tmp_path, capsys):
    """A document without omapi_key renders with the key the agent keeps in its
    state_dir; while there is none, without OMAPI and with a warning (rackctl never
    creates one)."""
    state = tmp_path / "state"
    state.mkdir()
    config = _write(tmp_path, f"state_dir: {state}\n", "rackd.yaml")
    doc = _write(tmp_path, "".join(line + "\n" for line in EXAMPLES.joinpath(
        "lab-v4.yaml").read_text().splitlines() if not line.startswith("omapi_key")))
    assert main(["render", "--show-secrets", "--config", config, *RACK_V4, doc]) == 0
    captured = capsys.readouterr()
    assert "omapi-port" not in captured.out and "has none yet" in captured.err
    assert not (state / "omapi.key").exists()
    (state / "omapi.key").write_text("YWdlbnRzLWtleQ==\n")
    assert main(["render", "--show-secrets", "--config", config, *RACK_V4, doc]) == 0
    captured = capsys.readouterr()
    assert 'secret "YWdlbnRzLWtleQ==";' in captured.out and captured.err == ""


def test_malformed_document_exits_2_with_field_paths(tmp_path, capsys):
    """An invalid document exits 2 and names every offending field path on stderr."""
    doc = _write(tmp_path, """
shared_networks:
  - name: n
    subnets:
      - subnet_cidr: 198.18.0.0/24
        pools:
          - {ip_range_low: 198.18.9.1, ip_range_high: 198.18.9.10}
hosts:
  - {host: "bad name", mac: "nope", ip: 198.18.0.5}
""")
    assert main(["render", doc]) == 2
    err = capsys.readouterr().err
    assert "shared_networks[0].subnets[0].pools[0].ip_range_low: 198.18.9.1 is outside" in err
    assert "hosts[0].host:" in err and "hosts[0].mac:" in err


def test_malformed_document_json(tmp_path, capsys):
    """With --json the problems come as {"errors": [{"field", "error"}]} on stdout."""
    doc = _write(tmp_path, "shared_networks: [{name: n, subnets: [{subnet_cidr: nope}]}]\n")
    assert main(["check", "--json", doc]) == 2
    errors = json.loads(capsys.readouterr().out)["errors"]
    assert [e["field"] for e in errors] == ["shared_networks[0].subnets[0].subnet_cidr"]


def test_unreadable_document_exits_2(tmp_path, capsys):
    """A document that cannot be read is a usage problem: exit 2."""
    assert main(["render", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["198.18.0.0/24", "nope=198.18.0.2", "198.18.0.0/24=198.18.1.2"])
def test_bad_rack_address_exits_2(value, capsys):
    """A --rack-address that is not CIDR=IP with IP inside CIDR exits 2."""
    assert main(["render", "--rack-address", value, LAB_V4]) == 2
    assert "--rack-address" in capsys.readouterr().err


def test_usage_error_exits_2(capsys):
    """An unknown subcommand or a missing argument exits 2."""
    assert main(["frobnicate"]) == 2
    assert main(["render"]) == 2


def test_missing_dhcpd_exits_3(capsys, monkeypatch):
    """check with no dhcpd at the given path (option or RACKD_DHCPD) exits 3."""
    assert main(["check", "--dhcpd", "/nonexistent/dhcpd", *RACK_V4, LAB_V4]) == 3
    assert "dhcpd not found" in capsys.readouterr().err
    monkeypatch.setenv("RACKD_DHCPD", "/nonexistent/dhcpd")
    assert main(["check", "--json", *RACK_V4, LAB_V4]) == 3
    assert "dhcpd not found" in json.loads(capsys.readouterr().out)["errors"][0]["error"]


def test_check_takes_dhcpd_from_the_config_file(tmp_path, capsys, monkeypatch):
    """Without --dhcpd or $RACKD_DHCPD, check runs the dhcpd rackd.yaml names."""
    monkeypatch.delenv("RACKD_DHCPD", raising=False)
    config = _write(tmp_path, "dhcpd: /nonexistent/from-config\n", "rackd.yaml")
    assert main(["check", "--config", config, *RACK_V4, LAB_V4]) == 3
    assert "/nonexistent/from-config" in capsys.readouterr().err


@pytest.mark.dhcpd
@pytest.mark.parametrize("doc, extra", [
    (LAB_V4, RACK_V4), (LAB_V6, ["--ipv6", "--rack-address", "2001:db8:0:1::/64=2001:db8:0:1::2"]),
])
def test_check_accepts_examples(doc, extra, capsys):
    """check exits 0 when dhcpd accepts the rendered config."""
    assert main(["check", *extra, doc]) == 0
    assert "dhcpd accepts" in capsys.readouterr().out


BROKEN = f"""
omapi_key: "{SECRET}"
shared_networks:
  - name: n
    subnets:
      - subnet_cidr: 198.18.0.0/24
global_dhcp_snippets:
  - name: broken
    value: "default-lease-time many;"
"""


@pytest.mark.dhcpd
def test_check_rejection_exits_1_with_line_and_caret(tmp_path, capsys):
    """dhcpd's rejection exits 1 and shows where in the document (the snippet and its
    line) with the rendered line number, the line and a caret; the secret is not in
    the output."""
    assert main(["check", *RACK_V4, _write(tmp_path, BROKEN)]) == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    at = next(i for i, line in enumerate(lines) if "expecting number." in line)
    assert re.fullmatch(r"in snippet 'broken' \(global_dhcp_snippets\[0\]\) line 1: "
                        r"expecting number\. \(rendered line \d+\)", lines[at])
    assert lines[at + 1] == "    default-lease-time many;"
    assert lines[at + 2] == "    " + " " * 20 + "^"
    assert SECRET not in captured.out + captured.err


@pytest.mark.dhcpd
def test_check_rejection_json(tmp_path, capsys):
    """--json gives {"ok": false, "errors": [{error, line_num, line, position, where,
    path, snippet, snippet_line}]}."""
    assert main(["check", "--json", *RACK_V4, _write(tmp_path, BROKEN)]) == 1
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["ok"] is False
    assert data["errors"][0]["error"] == "expecting number."
    assert data["errors"][0]["line"] == "default-lease-time many;"
    assert isinstance(data["errors"][0]["line_num"], int)
    assert data["errors"][0]["position"] == 20
    assert data["errors"][0]["where"] == "in snippet 'broken' (global_dhcp_snippets[0]) line 1"
    assert (data["errors"][0]["path"], data["errors"][0]["snippet"],
            data["errors"][0]["snippet_line"]) == ("global_dhcp_snippets[0]", "broken", 1)
    assert SECRET not in out
