"""What rackd logged during a test, as text: the `logged` fixture.

Modules that check a log line import the fixture (``from tests.logs import
logged``) and read `lines_with` of it.
"""

import pytest
from twisted.logger import formatEvent, globalLogPublisher


@pytest.fixture
def logged():
    """The events published while the test runs."""
    seen = []
    globalLogPublisher.addObserver(seen.append)
    yield seen
    globalLogPublisher.removeObserver(seen.append)


def lines_with(logged, words):
    """The formatted events that contain ``words``."""
    return [text for text in map(formatEvent, logged) if words in text]
