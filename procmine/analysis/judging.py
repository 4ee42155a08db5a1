"""How a group of steps is judged: the interval of its ratio, what is material, what peers do,
and the period its cost is spread over. Shared by every kind of finding.

**The interval of a ratio.** A group's median has a distribution-free 95% interval between two
of its order statistics (the ranks of a Binomial(n, 1/2), as for a sign test): no assumption
about the shape of service times. Divided by the reference, it is the interval of the ratio.

**Material.** A group is materially slow when its interval says so, not its point median
alone: the interval's upper end reaches the cut (``ratio``, 1.5) and its lower end is above
half-way to it (1.25): a clearly slow group whose median lands just under the cut is kept, and
a noisy one just over it is not promoted. The same rule holds against the reference and
against the peers (see below); the false-discovery control of the tests stays as it was.

**Peers.** What peers do on a business type x step is the median, over the *other* branches, of
each branch's typical median (the step-weighted median of its tellers' medians): a single slow
branch, or a few slow tellers, cannot move it. Where fewer than two other branches did the
step, every branch counts.

**Period.** A cost a month spreads the time lost over the days the data covers (first to last
day, inclusive; per branch where branches report different periods) divided by the mean days
of a month, 30.4375: a 47-day log is 1.54 months, not the three calendar months it touches.

Example:
    >>> import numpy as np
    >>> low, high = median_interval(np.arange(1.0, 101.0))
    >>> float(low), float(high)
    (40.0, 61.0)
    >>> bool(is_material(np.array([1.3]), np.array([1.6]), 1.5)[0])
    True
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import binom

__all__ = [
    "LEVEL",
    "MONTH_DAYS",
    "is_material",
    "median_interval",
    "months_of",
    "peer_medians",
    "weighted_median",
]

#: The confidence level of a ratio's interval.
LEVEL: Final[float] = 0.95
#: The mean days of a month (365.25 / 12): a cost a month is time lost / (days covered / this).
MONTH_DAYS: Final[float] = 365.25 / 12

_Arr = npt.NDArray[np.float64]


def median_interval(sorted_values: npt.ArrayLike, level: float = LEVEL) -> tuple[float, float]:
    """The distribution-free interval of the median of ``sorted_values`` (ascending): the
    order statistics at the ``alpha / 2`` quantile of Binomial(n, 1/2) from either end
    (NaN, NaN for no values)."""
    values = np.asarray(sorted_values, dtype=float)
    n = values.size
    if n == 0:
        return float("nan"), float("nan")
    j = max(1, int(binom.ppf((1 - level) / 2, n, 0.5)))
    return float(values[j - 1]), float(values[n - j])


def is_material(low: _Arr, high: _Arr, ratio: float) -> npt.NDArray[np.bool_]:
    """Whether intervals of ratios (``low``, ``high``) show a material slowness at the cut
    ``ratio``: ``high >= ratio`` and ``low >= 1 + (ratio - 1) / 2`` (NaN: not material)."""
    floor = 1 + (ratio - 1) / 2
    with np.errstate(invalid="ignore"):
        return np.asarray((np.asarray(low) >= floor) & (np.asarray(high) >= ratio))


def months_of(days: float) -> float:
    """The months ``days`` of data make (at least a tenth of a month: one day is not zero)."""
    return max(float(days), 1.0) / MONTH_DAYS


def weighted_median(frame: pd.DataFrame, keys: list[str], value: str,
                    weight: str) -> pd.Series:
    """Per group of ``keys``, the ``weight``-weighted median of ``value`` (the value at which
    the cumulative weight first reaches half the group's)."""
    usable = frame[frame[value].notna() & (frame[weight] > 0)].sort_values([*keys, value])
    cumulative = usable.groupby(keys, dropna=False)[weight].cumsum()
    total = usable.groupby(keys, dropna=False)[weight].transform("sum")
    return usable[cumulative >= total / 2].groupby(keys, dropna=False)[value].first()


def peer_medians(teller_stats: pd.DataFrame, min_steps: int = 5) -> pd.DataFrame:
    """What peers do on each business type x step, for each branch.

    ``teller_stats``: one row per teller x branch x type x step with ``count`` and
    ``median_seconds``. A branch's typical median is the step-weighted median of its tellers'
    medians (tellers with ``min_steps`` steps or more); the peers of a branch are the other
    branches (every branch where fewer than two others did the step). Columns:
    ``business_type``, ``activity``, ``branch_id``, ``branch_seconds`` (the branch's typical
    median), ``peer_seconds``, ``peer_branches`` (how many branches it is the median of) and
    ``bank_peer_seconds`` (the median over every branch).
    """
    pair = ["business_type", "activity"]
    named = teller_stats[teller_stats["branch_id"].notna()
                         & (teller_stats["count"] >= min_steps)]
    branch = weighted_median(named, [*pair, "branch_id"], "median_seconds", "count")
    typical = branch.rename("branch_seconds").reset_index()
    columns = [*pair, "branch_id", "branch_seconds", "peer_seconds", "peer_branches",
               "bank_peer_seconds"]
    types = {"business_type": object, "activity": object, "branch_id": object}
    if typical.empty:
        return pd.DataFrame(columns=columns).astype(types)
    # every type x step at once: its branches' medians sorted, the median without one of them
    # read off the sorted values (the same numbers as np.median of the others)
    typical = typical.sort_values(pair, kind="stable").reset_index(drop=True)
    values = typical["branch_seconds"].to_numpy(dtype=float)
    group = typical.groupby(pair, sort=False).ngroup().to_numpy()
    size = np.bincount(group)
    first = np.concatenate(([0], np.cumsum(size)[:-1]))
    order = np.lexsort((values, group))
    ranked = values[order]
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values)) - first[group[order]]
    k, base = size[group], first[group]

    def middle(m: npt.NDArray[np.int64], skip: npt.NDArray[np.int64]) -> _Arr:
        """The median of the ``m`` sorted values left when the one at ``skip`` is left out."""
        low, high = (m - 1) // 2, m // 2
        return (ranked[base + low + (low >= skip)] + ranked[base + high + (high >= skip)]) / 2

    everyone = middle(k, k)  # k: no value left out
    apart = k - 1 >= 2  # two other branches or more: the others; else every branch
    frame = typical.assign(
        peer_seconds=middle(np.where(apart, k - 1, k), np.where(apart, rank, k)),
        peer_branches=np.where(apart, k - 1, k), bank_peer_seconds=everyone)
    return frame[columns].astype(types)
