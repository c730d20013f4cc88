"""rackd's Debian package: it builds, lintian finds no errors, and it
installs, runs and purges cleanly in a clean Debian 12 root.

The package is built once (from a copy of the tree) and installed once in a
root made by mmdebstrap; the tests then read that root. The last test
removes and purges the package, so the tests run in file order.
"""

import os
import shutil

import pytest

from tests.package import build, chroot

pytestmark = pytest.mark.package

# dhcpd's templates travel in the Python package (setup.py), found through
# importlib.resources as from a wheel; there is no second copy in /usr/share.
TEMPLATES = "/usr/lib/python3/dist-packages/provisioningserver/dhcp/templates/"
CONFFILES = {"/etc/rackd/rackd.yaml", "/etc/apparmor.d/dhcpd.d/rackd"}


@pytest.fixture(scope="module")
def root(workdir, deb):
    tarball = chroot.base_tarball(workdir)
    target = chroot.Root.unpack(tarball, os.path.join(workdir, "root"))
    shutil.copy(deb, target.host_path("/tmp/"))
    for argv in (["apt-get", "update", "-q"],
                 ["apt-get", "install", "-y", "-q", "--no-install-recommends",
                  "/tmp/" + os.path.basename(deb)]):
        result = target.run(*argv, timeout=600)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return target


def test_lintian_reports_no_errors(deb):
    """lintian --fail-on error passes on the built package."""
    code, output = build.lintian(deb)
    assert code == 0, output


def test_package_depends_on_debian_libraries(deb):
    """The package depends on Debian's dhcpd and Python libraries, not vendored copies."""
    depends = build.control_field(deb, "Depends")
    for name in ("isc-dhcp-server", "python3-twisted", "python3-jinja2", "python3-netifaces",
                 "python3-attr", "python3-yaml", "python3-openssl",
                 "python3-service-identity", "python3-pypureomapi",
                 "python3-prometheus-client"):
        assert name in depends
    names = build.contents(deb)
    assert not [p for p in names if "pypureomapi" in p or "/twisted/" in p]


def test_layout_and_conffiles(deb):
    """Commands, templates, hook, config, unit, AppArmor drop-in, examples and man
    pages are where the README says; files under /etc are conffiles."""
    entries = build.contents(deb)
    expected = {
        "/usr/bin/rackd": "-rwxr-xr-x",
        "/usr/bin/rackctl": "-rwxr-xr-x",
        "/usr/lib/rackd/dhcp-notify": "-rwxr-xr-x",
        TEMPLATES + "dhcpd.conf.j2": "-rw-r--r--",
        TEMPLATES + "dhcpd6.conf.j2": "-rw-r--r--",
        "/etc/rackd/rackd.yaml": "-rw-r--r--",
        "/etc/apparmor.d/dhcpd.d/rackd": "-rw-r--r--",
        "/lib/systemd/system/rackd.service": "-rw-r--r--",
        "/lib/systemd/system/rackd-dhcpd.service": "-rw-r--r--",
        "/lib/systemd/system/rackd-dhcpd6.service": "-rw-r--r--",
        "/usr/share/doc/rackd/examples/lab-v4.yaml": "-rw-r--r--",
        "/usr/share/man/man8/rackd.8.gz": "-rw-r--r--",
        "/usr/share/man/man8/rackctl.8.gz": "-rw-r--r--",
    }
    for path, mode in expected.items():
        assert entries.get(path, ("missing",))[0] == mode, path
        assert entries[path][1] == "root/root", path
    conffiles = set(build.control_file(deb, "conffiles").split())
    assert conffiles == CONFFILES


def test_unit_leaves_dhcpd_running_when_rackd_stops(deb, root):
    """The installed unit signals only rackd (dhcpd keeps serving) and keeps /run/rackd."""
    with open(root.host_path("/lib/systemd/system/rackd.service"), encoding="utf-8") as f:
        unit = f.read()
    assert "KillMode=process" in unit.splitlines()
    assert "RuntimeDirectory=rackd" in unit.splitlines()
    assert "RuntimeDirectoryPreserve=yes" in unit.splitlines()
    assert root.stat("/etc/systemd/system/multi-user.target.wants/rackd.service") is not None


def test_rackd_runs_as_root_as_stated(deb, root):
    """The privilege README.Debian states (and explains) is the one the unit
    gives: root, no User= or DynamicUser=."""
    with open(root.host_path("/lib/systemd/system/rackd.service"), encoding="utf-8") as f:
        unit = f.read().splitlines()
    assert not [line for line in unit if line.startswith(("User=", "DynamicUser="))]
    with open(root.host_path("/usr/share/doc/rackd/README.Debian"), encoding="utf-8") as f:
        assert "Why rackd runs as root" in f.read()


def test_dhcpd_units_are_installed_for_the_systemd_backend_but_not_enabled(deb, root):
    """rackd-dhcpd(6).service run dhcpd with the arguments rackd writes, never
    restart on their own, and are left to rackd (not enabled at boot)."""
    for unit, env in (("rackd-dhcpd.service", "dhcpd.env"), ("rackd-dhcpd6.service", "dhcpd6.env")):
        with open(root.host_path("/lib/systemd/system/" + unit), encoding="utf-8") as f:
            lines = f.read().splitlines()
        assert f"EnvironmentFile=/run/rackd/{env}" in lines
        assert "ExecStart=/usr/sbin/dhcpd $DHCPD_ARGS" in lines
        assert "Restart=no" in lines
        assert root.stat("/etc/systemd/system/multi-user.target.wants/" + unit) is None


def test_commands_run_in_a_clean_root(root):
    """rackd --version and rackctl check (with the real dhcpd -t) work on Debian's libraries."""
    version = root.run("rackd", "--version")
    assert version.returncode == 0 and version.stdout.startswith("rackd "), version
    # The example's subnet is on no interface of the root: render for a rack that has it.
    check = root.run("rackctl", "check", "--rack-address", "198.18.0.0/24=198.18.0.2",
                     "/usr/share/doc/rackd/examples/lab-v4.yaml")
    assert check.returncode == 0, check.stdout + check.stderr


def test_every_module_imports_on_debians_libraries(root):
    """Every rackd module imports with bookworm's libraries, the versions setup.cfg's
    minimums are (so a pip install on them is proven too), and the templates are
    found through importlib.resources."""
    script = ("import importlib, pkgutil, provisioningserver\n"
              "for m in pkgutil.walk_packages(provisioningserver.__path__, 'provisioningserver.'):\n"
              "    importlib.import_module(m.name)\n"
              "from provisioningserver.dhcp.templatefiles import templates_dir\n"
              "print(templates_dir())\n")
    done = root.run("python3", "-c", script)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == TEMPLATES.rstrip("/")


def test_owners_and_modes(root):
    """State is root-only (0750), the config readable, the hook executable."""
    assert root.stat("/var/lib/rackd") == (0o750, 0, 0)
    assert root.stat("/var/lib/rackd/log") == (0o750, 0, 0)
    assert root.stat("/etc/rackd/rackd.yaml") == (0o644, 0, 0)
    assert root.stat("/usr/lib/rackd/dhcp-notify") == (0o755, 0, 0)


def test_stock_dhcp_server_is_disabled(root):
    """postinst leaves Debian's isc-dhcp-server without boot-time start links."""
    rc_dir = root.host_path("/etc/rc2.d")
    names = os.listdir(rc_dir)
    assert not [n for n in names if n.startswith("S") and n.endswith("isc-dhcp-server")]


def test_remove_keeps_data_and_purge_removes_it(root):
    """apt-get remove keeps /etc/rackd and /var/lib/rackd; purge leaves nothing behind."""
    root.write("/var/lib/rackd/applied-v4.json", "{}", mode=0o600)
    removed = root.run("apt-get", "remove", "-y", "-q", "rackd")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert root.stat("/var/lib/rackd/applied-v4.json") is not None
    assert root.stat("/etc/rackd/rackd.yaml") is not None
    assert root.stat("/usr/bin/rackd") is None
    purged = root.run("apt-get", "purge", "-y", "-q", "rackd")
    assert purged.returncode == 0, purged.stdout + purged.stderr
    for path in ("/var/lib/rackd", "/etc/rackd", "/etc/apparmor.d/dhcpd.d/rackd",
                 "/usr/lib/rackd", TEMPLATES):
        assert root.stat(path) is None, path
    status = root.run("dpkg-query", "-W", "-f=${Status}", "rackd")
    assert "not-installed" in status.stdout or status.returncode != 0
