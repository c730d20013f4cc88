"""A MAC that YAML read as a number: the error says to quote it.

YAML reads an unquoted all-digit MAC (``mac: 112233445566``) as an integer,
and YAML 1.1 reads ``11:22:33:44:55:52`` as a base-60 one; neither is the
operator's fault to guess, so the document reader's error says what to do.
"""

import json

import pytest
import yaml

from provisioningserver.dhcp.document import load_document
from tests.dhcp.documents import problems, v4

HINT = 'quote it (mac: "11:22:33:44:55:66")'


@pytest.mark.parametrize("written", ["112233445566", "11:22:33:44:55:52"])
def test_an_unquoted_mac_read_as_a_number_says_to_quote_it(written):
    """The host's mac, written unquoted in YAML and read as a number, is
    reported naming the field and asking for quotes."""
    document = v4()
    document["hosts"][0]["mac"] = "MAC_GOES_HERE"
    document = load_document(yaml.safe_dump(document).replace("MAC_GOES_HERE", written))
    assert isinstance(document["hosts"][0]["mac"], int)
    [(path, message)] = problems(document, 4)
    assert path == "hosts[0].mac" and message.endswith(HINT)


def test_a_mac_of_another_wrong_type_gets_no_quoting_hint():
    """Only a number gets the hint: a boolean or a list is simply the wrong type."""
    for value in (True, ["52:54:00:00:00:01"]):
        document = json.loads(json.dumps(v4()))
        document["hosts"][0]["mac"] = value
        [(_, message)] = problems(document, 4)
        assert HINT not in message
