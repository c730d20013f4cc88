"""The one backoff rackd retries with (system.backoff)."""

import pytest

from provisioningserver.system.backoff import Backoff


@pytest.mark.parametrize("failures, delay", [(0, 0), (-1, 0), (1, 1.0), (2, 2.0), (3, 4.0),
                                             (6, 32.0), (7, 60.0), (10_000, 60.0)])
def test_delay_doubles_from_initial_up_to_the_maximum(failures, delay):
    """No failure waits nothing; then 1, 2, 4, ... seconds, never over the maximum."""
    assert Backoff(initial=1.0, maximum=60.0).delay(failures) == delay


def test_factor_and_initial_are_honoured():
    """The n-th failure waits initial * factor ** (n - 1)."""
    assert [Backoff(initial=0.5, maximum=100, factor=3).delay(n) for n in (1, 2, 3)] == [0.5, 1.5, 4.5]


def test_a_huge_failure_count_does_not_overflow():
    """A factor whose power overflows a float gives the maximum, not an error."""
    assert Backoff(initial=1.0, maximum=5.0, factor=1e10).delay(500) == 5.0


@pytest.mark.parametrize("field", ["initial", "maximum", "factor"])
def test_numbers_must_be_positive(field):
    """A zero or negative number is refused, naming the field."""
    with pytest.raises(ValueError, match=field):
        Backoff(**{field: 0})
