"""Which address ranges overlap an earlier one, without comparing every pair.

Pools of one subnet may not overlap. Comparing each pool with every earlier
one cost time quadratic in the pools: one subnet of 8,000 single-address
pools took 5 s to validate, and a 3 MB document holds 40,000. Pools are
general ranges, not CIDR blocks, so `overlap`'s forest does not apply; two
small trees over the ranges' ends, sorted, do the same in n log n.

Range j overlaps range i exactly when j starts inside i (``low_i <= low_j
<= high_i``) or j contains i's start (``low_j <= low_i <= high_j``). The
ranges are taken in document order; before range i is added, one tree
answers the first question (the least index among the ranges added so far
whose start lies in i: a range minimum over starts) and the other the
second (the least index among those added whose span holds i's start: each
range marks the tree nodes covering its span, and a point reads the marks
on its way to the root). The lesser of the two answers is the earliest
range that i overlaps.
"""

import bisect


def earliest_range_overlaps(ranges):
    """``{index: earlier index}`` for each ``(low, high)`` of ``ranges``
    (integers, low <= high, in document order) that overlaps an earlier
    range: the earliest such, by index."""
    points = sorted({end for pair in ranges for end in pair})
    size = max(len(points), 1)
    none = len(ranges)
    starts = [none] * (2 * size)  # range minimum of indexes, by start position
    spans = [none] * (2 * size)  # marks: the least index covering a node
    found = {}
    for i, (low, high) in enumerate(ranges):
        first, last = bisect.bisect_left(points, low), bisect.bisect_left(points, high)
        earliest = min(_least_in(starts, size, first, last), _marks_above(spans, size, first))
        if earliest < i:
            found[i] = earliest
        _lower(starts, size, first, i)
        _mark(spans, size, first, last, i)
    return found


def _least_in(tree, size, first, last):
    """The least value at positions ``first`` to ``last``, both included."""
    least, first, last = len(tree), first + size, last + size + 1
    while first < last:
        if first & 1:
            least, first = min(least, tree[first]), first + 1
        if last & 1:
            last -= 1
            least = min(least, tree[last])
        first, last = first >> 1, last >> 1
    return least


def _lower(tree, size, position, value):
    position += size
    while position and value < tree[position]:
        tree[position] = value
        position >>= 1


def _mark(tree, size, first, last, value):
    first, last = first + size, last + size + 1
    while first < last:
        if first & 1:
            tree[first], first = min(tree[first], value), first + 1
        if last & 1:
            last -= 1
            tree[last] = min(tree[last], value)
        first, last = first >> 1, last >> 1


def _marks_above(tree, size, position):
    least, position = len(tree), position + size
    while position:
        least, position = min(least, tree[position]), position >> 1
    return least
