"""The OMAPI key the agent uses when the document brings none.

Generated once from the system's CSPRNG, kept in the state directory with
mode 0600 and reused across restarts, so that dhcpd and rackd agree on it
without the operator ever handling it. It never appears in logs or status.
"""

import base64
import os

from provisioningserver.system.files import atomic_write, read_text

KEY_FILE = "omapi.key"
KEY_BYTES = 64  # HMAC-MD5 uses a 64-byte block; a longer secret adds nothing.


def load_or_create_key(state_dir, urandom=os.urandom):
    path = os.path.join(state_dir, KEY_FILE)
    text = read_text(path)
    if text and text.strip():
        return text.strip()
    key = base64.b64encode(urandom(KEY_BYTES)).decode("ascii")
    atomic_write(path, key + "\n", mode=0o600)
    return key
