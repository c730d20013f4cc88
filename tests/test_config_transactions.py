"""The transaction log's retention keys in rackd.yaml."""

import pytest

from provisioningserver.config import RackdConfig, config_from_mapping
from provisioningserver.dhcp.errors import DocumentError


def test_defaults_and_values():
    """Seven days and a million rows unless rackd.yaml says otherwise."""
    assert (RackdConfig().transactions_days, RackdConfig().transactions_max_rows) == (
        7, 1_000_000)
    config = config_from_mapping({"transactions_days": 2, "transactions_max_rows": 5000})
    assert (config.transactions_days, config.transactions_max_rows) == (2, 5000)


@pytest.mark.parametrize("key, value", [("transactions_days", 0),
                                        ("transactions_max_rows", "many"),
                                        ("transactions_max_rows", True)])
def test_bad_values_name_the_key(key, value):
    """A non-positive or non-integer value is refused naming the key."""
    with pytest.raises(DocumentError) as caught:
        config_from_mapping({key: value})
    assert caught.value.paths == [key]
