"""docs/document.md documents exactly the fields the model accepts."""

import os
import re

import attrs
import pytest

from provisioningserver.dhcp import model

DOC = os.path.join(os.path.dirname(__file__), "..", "docs", "document.md")
SECTIONS = {
    "Top level": (model.DHCPConfig, {"ip_version"}),
    "Failover peer": (model.FailoverPeer, set()),
    "Shared network": (model.SharedNetwork, set()),
    "Subnet": (model.Subnet, set()),
    "Pool": (model.Pool, set()),
    "Host": (model.Host, set()),
    "Snippet": (model.Snippet, set()),
}
REDUNDANT = {"subnet", "subnet_mask", "broadcast_ip"}


def documented_fields():
    with open(DOC, encoding="utf-8") as stream:
        text = stream.read()
    sections = {}
    for part in re.split(r"^## ", text, flags=re.M)[1:]:
        title, _, body = part.partition("\n")
        names = set()
        for row in re.findall(r"^\| (.+?) \|", body, flags=re.M):
            names.update(re.findall(r"`([a-z_0-9]+)`", row))
        sections[title.strip()] = names
    return sections


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_every_model_field_is_documented_and_nothing_else(section):
    """Each section of docs/document.md lists exactly its model class's fields."""
    cls, internal = SECTIONS[section]
    fields = {f.name for f in attrs.fields(cls)} - internal
    documented = documented_fields()[section]
    if section == "Subnet":
        documented -= REDUNDANT
    assert documented == fields


def test_options_section_lists_exactly_the_catalogue():
    """The Options table of docs/document.md names every catalogued option once per family."""
    from provisioningserver.dhcp.options import CATALOGUE

    with open(DOC, encoding="utf-8") as stream:
        text = stream.read()
    section = re.split(r"^## ", text, flags=re.M)
    body = next(part for part in section if part.startswith("Options\n"))
    documented = {4: set(), 6: set()}
    for names, families in re.findall(r"^\| (.+?) \| ([46, ]+) \|", body, flags=re.M):
        for name in re.findall(r"`([a-z0-9.-]+)`", names):
            for family in re.findall(r"[46]", families):
                documented[int(family)].add(name)
    assert documented == {family: set(names) for family, names in CATALOGUE.items()}
