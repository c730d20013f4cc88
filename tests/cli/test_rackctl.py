"""``rackctl render`` and ``rackctl check``: output, secrets and exit codes."""

import json

import pytest

from provisioningserver.cli.rackctl import main
from tests.dhcp.samples import EXAMPLES

LAB_V4 = str(EXAMPLES / "lab-v4.yaml")
LAB_V6 = str(EXAMPLES / "lab-v6.yaml")
SECRET = "dGhpcy1pcy1hLWRlbW8ta2V5LW5vdC1zZWNyZXQ="
RACK_V4 = ["--rack-address", "198.18.0.0/24=198.18.0.2"]


def _write(tmp_path, text, name="doc.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


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


def test_render_without_rack_address_uses_local_interfaces(capsys):
    """With no --rack-address the machine's own addresses are used: none lies in the
    lab's 198.18.0.0/24, so the subnet is rendered as relayed."""
    assert main(["render", LAB_V4]) == 0
    assert "# No address of this rack on 198.18.0.0/24" in capsys.readouterr().out


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
    assert main(["check", "--dhcpd", "/nonexistent/dhcpd", LAB_V4]) == 3
    assert "dhcpd not found" in capsys.readouterr().err
    monkeypatch.setenv("RACKD_DHCPD", "/nonexistent/dhcpd")
    assert main(["check", "--json", LAB_V4]) == 3
    assert "dhcpd not found" in json.loads(capsys.readouterr().out)["errors"][0]["error"]


@pytest.mark.dhcpd
@pytest.mark.parametrize("doc, extra", [(LAB_V4, []), (LAB_V6, ["--ipv6"])])
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
    """dhcpd's rejection exits 1 and shows the line number, the line and a caret; the
    secret is not in the output."""
    assert main(["check", *RACK_V4, _write(tmp_path, BROKEN)]) == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    at = next(i for i, line in enumerate(lines) if "expecting number." in line)
    assert lines[at].startswith("line ")
    assert lines[at + 1] == "    default-lease-time many;"
    assert lines[at + 2] == "    " + " " * 20 + "^"
    assert SECRET not in captured.out + captured.err


@pytest.mark.dhcpd
def test_check_rejection_json(tmp_path, capsys):
    """--json gives {"ok": false, "errors": [{error, line_num, line, position}]}."""
    assert main(["check", "--json", *RACK_V4, _write(tmp_path, BROKEN)]) == 1
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["ok"] is False
    assert data["errors"][0]["error"] == "expecting number."
    assert data["errors"][0]["line"] == "default-lease-time many;"
    assert isinstance(data["errors"][0]["line_num"], int)
    assert data["errors"][0]["position"] == 20
    assert SECRET not in out
