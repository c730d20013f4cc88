"""Benchmark summaries: min, true median, max (bench/figures.py)."""

import pytest

from bench.figures import describe, spread


def test_an_even_count_has_the_mean_of_the_middle_two_as_median():
    """Four pairs of 93, 95, 96 and 65 % give 94 % with 65 % as the minimum
    (the old quartiles() printed 95 % (93-96 %))."""
    assert spread([0.93, 0.95, 0.96, 0.65]) == (0.65, pytest.approx(0.94), 0.96)


def test_an_odd_count_has_the_middle_value_as_median():
    """Three values: the middle one, with the extremes."""
    assert spread([3, 1, 2]) == (1, 2, 3)


def test_one_value_is_its_own_spread():
    """A single run is min, median and max at once."""
    assert spread([7.5]) == (7.5, 7.5, 7.5)


def test_nothing_to_summarise_is_an_error():
    """No values: an error, not a made-up figure."""
    with pytest.raises(ValueError):
        spread([])


def test_describe_prints_median_then_the_whole_range():
    """The printed form shows the median first and then min-max."""
    assert describe([0.93, 0.95, 0.96, 0.65], unit="%", scale=100) == "94% (65-96%)"
