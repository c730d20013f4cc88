"""Which ranges overlap an earlier one (provisioningserver.dhcp.ranges)."""

import random

from provisioningserver.dhcp.ranges import earliest_range_overlaps


def _pairwise(ranges):
    found = {}
    for i, (low, high) in enumerate(ranges):
        for j in range(i):
            if low <= ranges[j][1] and ranges[j][0] <= high:
                found[i] = j
                break
    return found


def test_the_same_as_comparing_every_pair():
    """On random ranges (small and wide, nested, equal, touching) the answer
    is the earliest overlapping range, as the pairwise comparison finds it."""
    rng = random.Random(7)
    for _ in range(300):
        ranges = []
        for _ in range(rng.randrange(0, 40)):
            low = rng.randrange(0, 60)
            ranges.append((low, low + rng.choice((0, 0, 1, 3, 10, 40))))
        assert earliest_range_overlaps(ranges) == _pairwise(ranges)


def test_equal_and_disjoint_ranges():
    """Copies all name the first; ranges that only touch do not overlap."""
    assert earliest_range_overlaps([(5, 9)] * 4) == {1: 0, 2: 0, 3: 0}
    assert earliest_range_overlaps([(1, 2), (3, 4), (5, 6)]) == {}
    assert earliest_range_overlaps([(1, 2), (2, 3)]) == {1: 0}

