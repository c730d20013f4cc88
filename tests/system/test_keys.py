"""The agent's OMAPI key in its state directory: created once, then reused;
read without being created for rackctl."""

import os

from provisioningserver.system.keys import KEY_FILE, load_or_create_key, read_key


def test_key_is_created_once_with_mode_0600_and_reused(tmp_path):
    """The first load creates a base64 key (from the given random source) with
    mode 0600; the next load returns the same key."""
    key = load_or_create_key(str(tmp_path), urandom=lambda n: b"k" * n)
    assert key == load_or_create_key(str(tmp_path), urandom=lambda n: b"x" * n)
    assert os.stat(tmp_path / KEY_FILE).st_mode & 0o777 == 0o600
    assert read_key(str(tmp_path)) == key


def test_read_key_never_creates_one(tmp_path):
    """read_key gives None while there is no key (or only blanks), and creates none."""
    assert read_key(str(tmp_path)) is None
    assert not (tmp_path / KEY_FILE).exists()
    (tmp_path / KEY_FILE).write_text("  \n")
    assert read_key(str(tmp_path)) is None
