"""Facts about the dhcpd binary: where it is and how to call it.

(Validation with ``dhcpd -t`` lives in `provisioningserver.dhcpd.check`.)
"""

import os
import shutil

DHCPD_CANDIDATES = ("/usr/sbin/dhcpd",)


def find_dhcpd(configured=None):
    """The dhcpd binary to run, or None when there is none."""
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    found = shutil.which("dhcpd")
    if found:
        return found
    for candidate in DHCPD_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return None
