"""Reading rackd's AppArmor drop-in: which paths it opens to dhcpd, and how.

Debian's dhcpd profile (isc-dhcp-server's /etc/apparmor.d/usr.sbin.dhcpd)
includes every file in /etc/apparmor.d/dhcpd.d; rackd's package installs
debian/apparmor/usr.sbin.dhcpd.d-rackd there. Two questions are asked of it:

- Is it valid inside that profile? Only apparmor_parser can say:
  `parse_with_profile` copies /etc/apparmor.d to a scratch base directory,
  puts the drop-in in its dhcpd.d and compiles the profile without loading
  it (``-Q -K``), so no kernel, root or AppArmor-enabled host is needed.
- Does it cover every file rackd makes dhcpd use? `allows` answers from
  the file rules with a small translation of AppArmor's globs (``*`` within
  one path element, ``**`` across them, ``{a,b}``, ``?``, ``[...]``) into
  regular expressions. Rules with variables (``@{...}``) are refused rather
  than guessed at: the drop-in does not use them.
"""

import os
import re
import shutil
import subprocess

from tests.package.build import ROOT, SYSTEM_PATH

DROP_IN = os.path.join(ROOT, "debian", "apparmor", "usr.sbin.dhcpd.d-rackd")
PROFILE_DIR = "/etc/apparmor.d"
PROFILE = "usr.sbin.dhcpd"

_RULE = re.compile(r"^\s*(?:owner\s+)?(?P<path>/\S+)\s+(?P<perms>[rwlkmix]+),\s*$")


def _regex(glob):
    if "@{" in glob:
        raise ValueError(f"variables are not translated: {glob}")
    out, i = [], 0
    while i < len(glob):
        char = glob[i]
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "{":
            end = glob.index("}", i)
            out.append("(?:" + "|".join(re.escape(a) for a in glob[i + 1:end].split(",")) + ")")
            i = end + 1
            continue
        elif char == "[":
            end = glob.index("]", i)
            out.append(glob[i:end + 1])
            i = end + 1
            continue
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z")


def file_rules(text):
    """[(path glob, permissions)] of the file rules in a profile fragment."""
    rules = []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        found = _RULE.match(line)
        if found:
            rules.append((found.group("path"), set(found.group("perms"))))
    return rules


def allows(rules, path, perms):
    """Whether the rules together grant ``perms`` (e.g. "rw") on ``path``."""
    granted = set()
    for glob, rule_perms in rules:
        if _regex(glob).match(path):
            granted |= rule_perms
    return set(perms) <= granted


def parse_with_profile(workdir, drop_in=DROP_IN):
    """apparmor_parser's verdict on Debian's dhcpd profile with the drop-in included."""
    base = os.path.join(workdir, "apparmor.d")
    shutil.copytree(PROFILE_DIR, base, symlinks=True)
    os.makedirs(os.path.join(base, "dhcpd.d"), exist_ok=True)
    shutil.copyfile(drop_in, os.path.join(base, "dhcpd.d", "rackd"))
    return subprocess.run(["apparmor_parser", "-Q", "-K", "--base", base,
                           os.path.join(base, PROFILE)],
                          env={"PATH": SYSTEM_PATH, "LC_ALL": "C.UTF-8"},
                          capture_output=True, text=True, timeout=120)
