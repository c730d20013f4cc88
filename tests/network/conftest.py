"""Recorded snapshots, expanded into fake sysfs trees under tmp_path."""

import pytest

from provisioningserver.network.discovery import discover
from tests.network import fakesys


@pytest.fixture
def recorded(tmp_path):
    """recorded(NAME) -> the Snapshot `discover` reads from data/NAME.json's tree."""
    def read(name):
        description = fakesys.load(name)
        root = fakesys.expand(description, str(tmp_path / name))
        return discover(root, fakesys.addresses(description))
    return read
