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


def read_key(state_dir):
    """The agent's key, or None while it has none; never creates one (rackctl
    renders with it). OSError when the file is there but cannot be read."""
    text = read_text(os.path.join(state_dir, KEY_FILE))
    if text and text.strip():
        return text.strip()
    return None


def load_or_create_key(state_dir, urandom=os.urandom):
    key = read_key(state_dir)
    if key is not None:
        return key
    key = base64.b64encode(urandom(KEY_BYTES)).decode("ascii")
    atomic_write(os.path.join(state_dir, KEY_FILE), key + "\n", mode=0o600)
    return key
