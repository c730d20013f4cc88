"""A clean Debian 12 root to install rackd's package in.

The root comes from ``mmdebstrap --variant=apt bookworm`` (Debian's own
packages only). Creating it takes a minute or two, so its tarball is kept in
/var/cache/rackd-test-chroot when that directory exists (and is rebuilt
after a week); on a clean machine it is made from nothing.

Commands run in the root through ``unshare``: /proc is mounted in a private
mount namespace, so nothing stays mounted when a command ends, even if the
test fails. A policy-rc.d keeps services from starting inside the root (the
stock isc-dhcp-server would otherwise try to serve on the host's network).
"""

import os
import shutil
import subprocess
import time

from tests.package.build import SYSTEM_PATH

CACHE_DIR = "/var/cache/rackd-test-chroot"
CACHE_TAR = os.path.join(CACHE_DIR, "bookworm-apt.tar")
MAX_AGE = 7 * 24 * 3600

_IN_ROOT = 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"'


def missing_tools():
    return [t for t in ("mmdebstrap", "unshare", "chroot")
            if shutil.which(t, path=SYSTEM_PATH) is None]


def _fresh(path, now=time.time):
    return os.path.exists(path) and now() - os.path.getmtime(path) < MAX_AGE


def base_tarball(workdir):
    """Path of a bookworm base tarball: the cached one, or a new one."""
    target = CACHE_TAR if os.path.isdir(CACHE_DIR) else os.path.join(workdir, "base.tar")
    if _fresh(target):
        return target
    partial = target[:-len(".tar")] + ".new.tar"
    subprocess.run(["mmdebstrap", "--variant=apt", "--format=tar", "--quiet",
                    "bookworm", partial],
                   check=True, timeout=600, env=dict(os.environ, PATH=SYSTEM_PATH))
    os.replace(partial, target)
    return target


class Root:
    """An unpacked Debian root; `run` executes a command inside it."""

    def __init__(self, path):
        self.path = path

    @classmethod
    def unpack(cls, tarball, path):
        os.makedirs(path)
        # tar(1) rather than tarfile: device nodes, owners and modes as made.
        subprocess.run(["tar", "-C", path, "-xf", tarball], check=True, timeout=300)
        root = cls(path)
        root.write("/usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n", mode=0o755)
        shutil.copyfile("/etc/resolv.conf", root.host_path("/etc/resolv.conf"))
        return root

    def host_path(self, path):
        return os.path.join(self.path, path.lstrip("/"))

    def write(self, path, text, mode=0o644):
        with open(self.host_path(path), "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(self.host_path(path), mode)

    def run(self, *argv, timeout=300):
        env = {"PATH": SYSTEM_PATH, "LC_ALL": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive",
               "HOME": "/root"}
        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "--",
             "sh", "-c", _IN_ROOT, self.path, *argv],
            env=env, capture_output=True, text=True, timeout=timeout)

    def stat(self, path):
        """(mode bits, uid, gid) of a path inside the root, or None."""
        try:
            st = os.lstat(self.host_path(path))
        except FileNotFoundError:
            return None
        return st.st_mode & 0o7777, st.st_uid, st.st_gid
