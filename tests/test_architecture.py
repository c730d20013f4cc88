"""The layout is the architecture: which package may import which.

rackd's parts, from the pure core outwards (docs/architecture.md):

    dhcp/      the pure core: model, document, checks, render, plan
    system/    the small OS seams: files, priority, keys, backoff, idle
    omapi/     the OMAPI client and its wire format
    network/   this node's links and where to serve
    dhcpd/     dhcpd as a process: binary, check, supervision, monitor
    leases/    the lease pipeline: dhcpd's lines and hooks -> journal -> region
    config     rackd.yaml
    services/  what composes the agent: configure, applied state, watches
    rpc/       the control socket and the region link
    tap        makeService: the service tree
    cli/       rackd and rackctl

A package may import only those listed for it below (and itself). The
table is checked against every import in the source, those inside
functions included: an import hidden in a function is still a dependency.
Besides the table: no cycle between packages, no cycle between modules,
and no module over 400 lines.
"""

import ast
import os

import pytest

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "provisioningserver")

ALLOWED = {
    "dhcp": set(),
    "system": set(),
    "omapi": set(),
    "network": {"dhcp", "system"},
    "dhcpd": {"dhcp", "system", "omapi", "network"},
    "leases": {"dhcp", "system"},
    "config": {"dhcp", "system", "network"},
    "services": {"dhcp", "system", "omapi", "network", "dhcpd", "leases", "config"},
    "rpc": {"dhcp", "system", "omapi", "network", "dhcpd", "leases", "config", "services"},
    "tap": {"dhcp", "system", "omapi", "network", "dhcpd", "leases", "config", "services",
            "rpc"},
    "cli": {"dhcp", "system", "omapi", "network", "dhcpd", "leases", "config", "services",
            "rpc", "tap"},
}

MAX_LINES = 400


def _modules():
    """{dotted module name: path} for every module of provisioningserver."""
    found = {}
    for directory, _, files in os.walk(ROOT):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                dotted = os.path.relpath(path, os.path.dirname(ROOT))[:-3].replace(os.sep, ".")
                found[dotted.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _imports(path):
    """The provisioningserver modules ``path`` imports, anywhere in it."""
    targets = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # "from package import module" names the module, not only the package.
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [n if n in MODULES else node.module for n in names]
        else:
            continue
        targets.update(n for n in names if n.split(".")[0] == "provisioningserver")
    return targets


GRAPH = {module: _imports(path) - {module} for module, path in MODULES.items()}


def _part(module):
    """The package (or top-level module) a module belongs to: 'dhcp', 'tap', ..."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _cycle(graph):
    """One cycle of ``graph`` as a list of nodes, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target, path)
                if found:
                    return found
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None


def test_every_part_is_in_the_table():
    """A new package must be placed in the layering before it can be used."""
    parts = {_part(m) for m in MODULES} - {None}
    assert parts <= set(ALLOWED), sorted(parts - set(ALLOWED))


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_a_part_imports_only_what_lies_below_it(part):
    """dhcp/ imports none of omapi/, dhcpd/, leases/, services/, rpc/ or cli/;
    omapi/ nothing of services/, rpc/ or cli/; leases/ and dhcpd/ nothing of
    rpc/ or cli/; and so on down the table."""
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items() if _part(module) == part
        for target in targets
        if _part(target) not in (part, None) and _part(target) not in ALLOWED[part]
    )
    assert wrong == []


def test_the_table_itself_is_layered():
    """The allowed imports form no cycle, so the parts can be read bottom-up."""
    assert _cycle(ALLOWED) is None


def test_no_cycle_between_packages():
    """What the code really imports, part to part, has no cycle."""
    parts = {}
    for module, targets in GRAPH.items():
        for target in targets:
            if _part(target) not in (_part(module), None):
                parts.setdefault(_part(module), set()).add(_part(target))
    assert _cycle(parts) is None


def test_no_cycle_between_modules():
    """No two modules import each other, directly or round a longer circle."""
    modules = {m: {t for t in ts if t in MODULES and not MODULES[t].endswith("__init__.py")}
               for m, ts in GRAPH.items()}
    assert _cycle(modules) is None


def test_no_private_name_is_imported_from_another_module():
    """A ``_name`` is private to its module: no other module imports it."""
    wrong = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "provisioningserver"):
                wrong += [f"{module}: {node.module}.{a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert wrong == []


def test_no_module_is_over_400_lines():
    """Modules stay small enough to hold one idea each."""
    long = sorted(f"{module}: {n} lines" for module, path in MODULES.items()
                  if (n := sum(1 for _ in open(path, encoding="utf-8"))) > MAX_LINES)
    assert long == []


def test_init_files_hold_nothing():
    """Nothing in __init__.py (a docstring or a ``__dunder__`` such as
    ``__version__`` at most): importing a package does not import its parts."""

    def harmless(node):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            return True
        return isinstance(node, ast.Assign) and all(
            isinstance(t, ast.Name) and t.id.startswith("__") for t in node.targets)

    for module, path in MODULES.items():
        if path.endswith("__init__.py"):
            body = ast.parse(open(path, encoding="utf-8").read()).body
            assert [n for n in body if not harmless(n)] == [], module


def test_the_checker_sees_a_cycle_and_a_forbidden_import():
    """The helpers above would catch what they are for (so a green run means
    something): a circle of three is found, a clean chain is not."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert "omapi" not in ALLOWED["dhcp"] and "rpc" not in ALLOWED["leases"]


def test_every_import_names_something_that_exists():
    """An import of a rackd module (at the top or inside a function) names a
    module that exists, or a name that module defines: a moved module cannot
    leave a stale import behind in code that only runs later."""
    wrong = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
            if isinstance(node, ast.Import):
                wrong += [f"{module}: import {a.name}" for a in node.names
                          if a.name.startswith("provisioningserver") and a.name not in MODULES]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "provisioningserver"):
                if node.module not in MODULES:
                    wrong.append(f"{module}: from {node.module}")
                    continue
                defined = _defined(MODULES[node.module])
                wrong += [f"{module}: from {node.module} import {a.name}" for a in node.names
                          if f"{node.module}.{a.name}" not in MODULES and a.name not in defined]
    assert wrong == []


def _defined(path):
    """The names a module binds at its top level."""
    names = set()
    for node in ast.parse(open(path, encoding="utf-8").read()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.If, ast.Try)):
            for child in ast.walk(node):
                if isinstance(child, (ast.FunctionDef, ast.ClassDef)):
                    names.add(child.name)
                elif isinstance(child, (ast.Import, ast.ImportFrom)):
                    names.update((a.asname or a.name).split(".")[0] for a in child.names)
                elif isinstance(child, ast.Assign):
                    for target in child.targets:
                        names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names
