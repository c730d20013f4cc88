"""Building rackd's Debian package from a copy of the source tree.

The package is built in a temporary copy so that the build's by-products
(.pybuild, debian/rackd, the .deb next to the tree) never land in the
working tree. The copy is the working tree as it is (uncommitted changes
included) minus virtualenvs, git metadata and build leftovers.
"""

import glob
import os
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_SKIP = {".git", ".venv", ".venv-system", ".pybuild", "__pycache__", ".pytest_cache"}

# Debian's own interpreter and tools, whatever else is first on PATH (a
# pyenv python3 would build against the wrong interpreter).
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

# apparmor_parser compiles Debian's dhcpd profile with rackd's drop-in (test_apparmor).
BUILD_TOOLS = ("dpkg-buildpackage", "dh", "lintian", "apparmor_parser")


def missing_tools():
    return [t for t in BUILD_TOOLS if shutil.which(t, path=SYSTEM_PATH) is None]


def _ignore(directory, names):
    skipped = {n for n in names if n in _SKIP or n.endswith(".egg-info")}
    if os.path.abspath(directory) == os.path.join(ROOT, "scripts"):
        skipped.add("dhcp-notify")  # a locally built binary, not source
    return skipped


def copy_tree(dest):
    """Copy the source tree to ``dest/rackd``; returns that path."""
    src = os.path.join(dest, "rackd")
    shutil.copytree(ROOT, src, ignore=_ignore, symlinks=True)
    return src


def run(argv, path=SYSTEM_PATH, **kwargs):
    env = dict(os.environ, PATH=path, LC_ALL="C.UTF-8")
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    return subprocess.run(argv, env=env, capture_output=True, text=True, **kwargs)


def _decoy_python(workdir):
    """A directory whose python3 fails loudly, as a pyenv or venv one would
    (it lacks Debian's build module): debian/rules must not reach it."""
    decoy = os.path.join(workdir, "decoy-bin")
    os.makedirs(decoy, exist_ok=True)
    for name in ("python3", "python3.11"):
        path = os.path.join(decoy, name)
        with open(path, "w", encoding="utf-8") as stream:
            stream.write("#!/bin/sh\necho \"decoy $0 used: the build left Debian's python3\" >&2\n"
                         "exit 97\n")
        os.chmod(path, 0o755)
    return decoy


def build_package(workdir):
    """Build the binary package; returns the path of rackd_*.deb.

    Another python3 comes first on PATH, as on a machine with pyenv: the
    package must still be built with Debian's (debian/rules sees to it)."""
    src = copy_tree(workdir)
    path = _decoy_python(workdir) + ":" + SYSTEM_PATH
    result = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, timeout=300, path=path)
    if result.returncode != 0:
        raise AssertionError("dpkg-buildpackage failed:\n" + result.stdout[-4000:]
                             + result.stderr[-4000:])
    debs = [d for d in glob.glob(os.path.join(workdir, "rackd_*.deb"))]
    assert len(debs) == 1, debs
    return debs[0]


def lintian(deb):
    """lintian's verdict: (exit code, output). Errors fail; warnings do not."""
    result = run(["lintian", "--fail-on", "error", deb], timeout=300)
    return result.returncode, result.stdout + result.stderr


def contents(deb):
    """{path: (mode string, owner/group)} of the files in a .deb."""
    listing = run(["dpkg-deb", "-c", deb], check=True).stdout
    entries = {}
    for line in listing.splitlines():
        fields = line.split(None, 5)
        path = fields[5].split(" -> ")[0]
        entries[path[1:].rstrip("/") or "/"] = (fields[0], fields[1])
    return entries


def control_field(deb, field):
    return run(["dpkg-deb", "-f", deb, field], check=True).stdout.strip()


def control_file(deb, name):
    return run(["dpkg-deb", "-I", deb, name], check=True).stdout
