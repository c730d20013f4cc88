"""How benchmark figures are summarised: min, median and max, never a
flattering middle.

Every benchmark in bench/ repeats its measurement and reports the spread of
the repetitions as (min, median, max). The median of an even count is the
mean of the two middle values, so with four pairs of 93, 95, 96 and 65 %
the figure is 94 % (65-96 %), not the upper middle with the minimum
hidden. The machines these run on are noisy; the minimum and maximum show
how much.
"""


def spread(values):
    """(min, median, max) of ``values`` (at least one)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values to summarise")
    n = len(ordered)
    middle = n // 2
    median = ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return ordered[0], median, ordered[-1]


def describe(values, unit="", scale=1.0, digits=0):
    """``median (min-max)unit``, each value times ``scale``."""
    low, median, high = (v * scale for v in spread(values))
    return f"{median:.{digits}f}{unit} ({low:.{digits}f}-{high:.{digits}f}{unit})"
