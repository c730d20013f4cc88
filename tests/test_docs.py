"""The docs state facts the code can check, so they are checked here.

docs/document.md lists exactly the fields the model accepts and the options
of the catalogue; docs/region-protocol.md exactly the Commands of
rpc/commands.py with their arguments, responses and errors; docs/boot.md the
boot table of dhcp/boot.py and the boot defaults. Every rackd.yaml key an
operator doc names exists in config.py, README names every key, and every
relative link (and heading anchor) in README.md and docs/ resolves. The
checks read the Markdown with small regular expressions, so the docs keep
the shapes they rely on: tables of `name` rows, "### Command" sections with
"- arguments:", "- response:" and "- errors:" lines.
"""

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


# docs/region-protocol.md: the commands a region must speak.

DOCS = os.path.join(os.path.dirname(__file__), "..", "docs")


def _read_doc(name):
    with open(os.path.join(DOCS, name), encoding="utf-8") as stream:
        return stream.read()


def _section(text, title, level="##"):
    """The body of the section called ``title`` (up to the next one of its level)."""
    parts = re.split(rf"^{level} ", text, flags=re.M)
    return next(part for part in parts if part.startswith(title + "\n")).partition("\n")[2]


def _region_commands():
    import inspect

    from twisted.protocols import amp

    from provisioningserver.rpc import commands
    return {name: cls for name, cls in inspect.getmembers(commands, inspect.isclass)
            if issubclass(cls, amp.Command) and cls.__module__ == commands.__name__
            and not name.startswith("_")}


def _documented_commands():
    body = _section(_read_doc("region-protocol.md"), "Commands")
    documented = {}
    for part in re.split(r"^### ", body, flags=re.M)[1:]:
        name, _, text = part.partition("\n")
        entry = {}
        for key in ("arguments", "response", "errors"):
            line = re.search(rf"^- {key}: (.*)$", text, flags=re.M)
            entry[key] = set(re.findall(r"`([A-Za-z_]+)`", line[1])) if line else None
        documented[name.strip()] = entry
    return documented


def test_region_protocol_lists_exactly_the_region_commands():
    """docs/region-protocol.md has one section per Command of rpc/commands.py, and no other."""
    assert set(_documented_commands()) == set(_region_commands())


@pytest.mark.parametrize("name", sorted(_region_commands()))
def test_region_protocol_gives_each_command_its_arguments_response_and_errors(name):
    """Each command's section names exactly its declared arguments, response keys and error codes."""
    cls = _region_commands()[name]
    documented = _documented_commands()[name]
    assert documented["arguments"] == {key.decode() for key, _ in cls.arguments}
    assert documented["response"] == {key.decode() for key, _ in cls.response}
    assert documented["errors"] == {code.decode() for code in cls.errors.values()}


def test_region_protocol_error_table_has_every_declared_code():
    """The Errors table of docs/region-protocol.md explains every error code a command declares."""
    body = _section(_read_doc("region-protocol.md"), "Errors")
    table = set(re.findall(r"^\| `([A-Z_]+)` \|", body, flags=re.M))
    declared = {code.decode() for cls in _region_commands().values()
                for code in cls.errors.values()}
    assert table == declared


# docs/boot.md: the boot architecture table.

def _documented_boot_methods():
    body = _section(_read_doc("boot.md"), "Boot architectures")
    rows = re.findall(r"^\| `([^`]+)` \| ([\d, ]+) \| (TFTP|HTTP) \| `([^`]+)` \| (yes)? ?\|",
                      body, flags=re.M)
    return {name: (tuple(int(c) for c in codes.split(",")), transport == "HTTP", path,
                   prefix == "yes")
            for name, codes, transport, path, prefix in rows}


def test_boot_doc_lists_exactly_the_boot_methods():
    """docs/boot.md's architecture table names exactly the methods of dhcp/boot.py's table."""
    from provisioningserver.dhcp import boot

    assert set(_documented_boot_methods()) == set(boot.METHOD_NAMES)


def test_boot_doc_gives_each_method_its_codes_transport_and_path():
    """Each row of docs/boot.md's table has its method's codes, TFTP or HTTP, path and prefix."""
    from provisioningserver.dhcp import boot

    assert _documented_boot_methods() == {
        m.name: (m.codes, m.http, m.path, m.path_prefix) for m in boot.BOOT_METHODS}


def test_boot_doc_defaults_are_the_boot_settings():
    """The boot: block in docs/boot.md shows BootSettings' fields with their defaults."""
    from provisioningserver.dhcp.render import BootSettings

    block = _section(_read_doc("boot.md"), "The boot keys of rackd.yaml")
    shown = dict(re.findall(r"^      ([a-z_]+): (\S+)", block, flags=re.M))
    assert shown == {f.name: str(f.default) for f in attrs.fields(BootSettings)}


# rackd.yaml keys named in the docs, and the links between them.

ROOT = os.path.join(os.path.dirname(__file__), "..")
OPERATOR_DOCS = ("defaults.md", "boot.md", "troubleshooting.md", "maas.md", "region-protocol.md")
# Names in those docs that are neither rackd.yaml keys nor document fields: wire
# and report fields, a metric.
REPORT_NAMES = {"no_free_leases", "rackd_foreign_dhcp_servers", "line_num", "rolled_back",
                "server_id", "state_known", "snippet_line"}


def _config_keys():
    from provisioningserver.config import RackdConfig
    from provisioningserver.dhcp.render import BootSettings

    return ({f.name for f in attrs.fields(RackdConfig)}
            | {f.name for f in attrs.fields(BootSettings)})


def _document_fields():
    fields = set()
    for cls, _ in SECTIONS.values():
        fields |= {f.name for f in attrs.fields(cls)}
    return fields


@pytest.mark.parametrize("name", OPERATOR_DOCS)
def test_snake_case_names_in_docs_are_real_keys(name):
    """Every `snake_case` name (alone or as `key: value`) in an operator doc is a
    rackd.yaml key, a document field, a boot method or a known report field."""
    from provisioningserver.dhcp import boot

    text = _read_doc(name)
    names = set(re.findall(r"`([a-z][a-z0-9]*(?:_[a-z0-9]+)+)(?::[^`]*)?`", text))
    known = _config_keys() | _document_fields() | boot.METHOD_NAMES | REPORT_NAMES
    assert names - known == set()


@pytest.mark.parametrize("name", OPERATOR_DOCS)
def test_keys_said_to_be_in_rackd_yaml_exist(name):
    """A `name` that a doc places in rackd.yaml is one of config.py's keys."""
    text = _read_doc(name)
    said = set(re.findall(r"`([a-z_]+)`\s+in\s+rackd\.yaml", text))
    assert said - _config_keys() == set()


def test_readme_names_every_rackd_yaml_key():
    """README's rackd section names every key config.py accepts."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as stream:
        text = stream.read()
    section = text.split("\n## rackd\n", 1)[1].split("\n## ", 1)[0]
    assert _config_keys() - set(re.findall(r"`([^`]+)`", section)) == set()


def _links(path):
    with open(path, encoding="utf-8") as stream:
        text = stream.read()
    return re.findall(r"\]\(([^)\s]+)\)", text)


def _anchor(title):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


LINKING = ["README.md"] + [os.path.join("docs", name) for name in sorted(os.listdir(DOCS))
                           if name.endswith(".md")]


@pytest.mark.parametrize("source", LINKING)
def test_relative_links_resolve(source):
    """Every relative link in README.md and docs/*.md names an existing file (and heading)."""
    base = os.path.dirname(os.path.join(ROOT, source))
    broken = []
    for link in _links(os.path.join(ROOT, source)):
        if re.match(r"[a-z]+:", link):
            continue
        target, _, anchor = link.partition("#")
        path = os.path.normpath(os.path.join(base, target)) if target else os.path.join(ROOT, source)
        if not os.path.exists(path):
            broken.append(link)
        elif anchor:
            with open(path, encoding="utf-8") as stream:
                headings = re.findall(r"^#+ (.+)$", stream.read(), flags=re.M)
            if anchor not in {_anchor(h) for h in headings}:
                broken.append(link)
    assert broken == []
