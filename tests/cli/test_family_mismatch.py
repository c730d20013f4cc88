"""``--ipv6`` on an IPv4 document (or an IPv6 document without it) is one
line saying so, not a line per address; a lone address of the other family
in a document of the right one is still reported as itself."""

import json

import pytest

from provisioningserver.cli import common, rackctl
from provisioningserver.dhcp.document import document_from_file
from provisioningserver.dhcp.errors import DocumentError

V4, V6 = "examples/lab-v4.yaml", "examples/standalone-v6.yaml"


@pytest.mark.parametrize("argv, words", [
    (["render", "--ipv6", "--rack-address", "2001:db8::/64=2001:db8::1", V4],
     f"{V4} is an IPv4 document, read as IPv6"),
    (["render", "--rack-address", "198.18.0.0/24=198.18.0.1", V6],
     f"{V6} is an IPv6 document, read as IPv4"),
])
def test_a_document_of_the_other_family_is_one_line(argv, words, capsys):
    """render of a document of the other family exits 2 with one line that
    says so and what to change (drop or add --ipv6)."""
    assert rackctl.main(argv) == common.INVALID
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(words)
    assert line.endswith("drop --ipv6" if "--ipv6" in argv else "add --ipv6")


def test_one_address_of_the_other_family_is_reported_as_itself():
    """Every problem a family mismatch, but no network among them (one IPv6
    host address in an IPv4 document): no collapsing."""
    problems = [("hosts[0].ip", "2001:db8::5 is an IPv6 address in an IPv4 document")]
    assert common.family_mismatch(problems, "doc.yaml") is None
    mixed = [("shared_networks[0].subnets[0].subnet_cidr",
              "2001:db8::/64 is an IPv6 network in an IPv4 document"),
             ("hosts[0].mac", "'x' is not a MAC address (six hex octets)")]
    assert common.family_mismatch(mixed, "doc.yaml") is None


def test_the_agents_answer_is_one_line_too(monkeypatch, capsys):
    """configure --ipv6 of an IPv4 document: the agent's InvalidDocument, with
    the reader's real problems, prints as the same one line."""
    with pytest.raises(DocumentError) as raised:
        document_from_file(V4, 6)
    description = json.dumps({"errors": [{"field": p.path, "error": p.message}
                                         for p in raised.value.problems]})

    def refuse(socket, command, **arguments):
        raise common.AgentError("INVALID_DOCUMENT", description)

    monkeypatch.setattr(common, "call_agent", refuse)
    assert rackctl.main(["configure", "--ipv6", V4]) == common.INVALID
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"rackctl: {V4} is an IPv4 document, read as IPv6")
