"""Baseline review: business types whose standard time the whole bank does not meet.

Every step reference of a type is a share of its standard time (normalised so that a
transaction's steps at their references add up to the standard;
:mod:`~procmine.analysis.bottlenecks`).
If the standard is wrong, every ratio on the type is wrong with it: 2x too low and a real 2.5x
anomaly shows at 5x, its cost inflated; 2x too high and it silently disappears.
:func:`review_baseline` finds those types and :func:`peer_references` takes their standard out
of the judging.

**What is compared.** The standard is the counter time of one transaction, which the step
references divide among the steps' service times: a transaction at the standard is one whose
steps add up to it. So a type's bank time is the median, over its transactions, of the sum of
their steps' service times (``work``). The transaction's dwell (first step's start to last
step's end, :mod:`~procmine.analysis.transactions`) adds the waits between steps (for the
supervisor's authorisation, for the customer), which the wait findings report on their own; on
the bundled demo log the dwell runs 1.03-1.44x the standards where the summed steps run
0.95-1.29x. Both medians are in the finding's evidence. In a log with completion times only,
the inferred service times include those waits (``inferred``).

**When.** A type with at least ``min_cases`` transactions (100) whose bank median is outside
``[lo, hi]`` (0.67-1.5) times its standard, by its interval: the 95% interval of the median (the
normal approximation with the density at the median estimated from the 45th and 55th
percentiles, ``se = (q55 - q45) * 5 / sqrt(n)``) lies wholly outside the band; and the
one-sided test of the median beyond the band's end (``z = (median - hi x standard) / se``, or
from ``lo``) holds with Benjamini-Hochberg over every type with enough transactions (those
inside the band with p = 1), at the context's ``q``. One pass over the steps (a grouping per
transaction, then per type) gives the quantiles; the evidence of the few reviewed types (the
dwell, the branches) comes from a second query over their steps only.

In a log with completion times only, the inferred service times include the waits inside a
transaction (a type whose steps wait for a supervisor runs longer by them), so the band is
taken around the types' typical ratio instead of 1: ``lo`` and ``hi`` times the median, over
the types with enough transactions, of their median over their standard (a type then stands
out from the others; a standard wrong on every type cannot be told from waiting).

**The finding** (kind "baseline", scope "type", no teller or branch, ``activity`` ""):
``median_seconds`` the bank's median, ``p90_seconds`` its 90th percentile,
``reference_seconds`` the standard (``reference_source`` "standard"), ``ratio`` their ratio and
``ratio_ci`` its interval, ``cases`` the type's transactions, ``steps`` their steps. It is not a
loss of the tellers' (``time_lost_seconds`` 0): the standard is to be checked, by the type's
process-review group (``evidence["review_group"]``, from the baseline). ``evidence`` (always):
the medians of the summed steps and of the dwell, the standard, the ratio, the transactions,
per branch the median and transactions, the review group, the band applied (as multiples
of the standard) and the typical ratio (1.0 but in completion-only logs).

**Judged against peers.** The teller and branch findings of a reviewed type are judged against
what the bank does instead of the standard: :func:`peer_references` sets the type's step
references to the step's median over every branch's typical median (``bank_peer_seconds`` of
:func:`~procmine.analysis.judging.peer_medians`, or the bank's median where no peer row is) and
marks them ``reference_source`` "peers".

Example:
    >>> from procmine.analysis.bottlenecks import find_bottlenecks
    >>> [f for f in find_bottlenecks(store, baseline) if f.kind == "baseline"]
    []
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import norm

from procmine.analysis.context import FindingContext
from procmine.analysis.findings import Finding
from procmine.analysis.stats import benjamini_hochberg
from procmine.analysis.steps import StepData
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.core.sql import lit

__all__ = ["BASELINE_BAND", "BASELINE_MIN_CASES", "check_band", "peer_references",
           "review_baseline", "type_detail", "type_times"]

#: The band a type's bank median may run in, as multiples of its standard time.
BASELINE_BAND: Final[tuple[float, float]] = (0.67, 1.5)
#: The fewest transactions a type needs to be reviewed.
BASELINE_MIN_CASES: Final[int] = 100
#: The z of a two-sided 95% interval.
_Z: Final[float] = 1.959964

# Per business type: its transactions and the quantiles of their summed step times (one pass:
# a grouping per case, then per type).
_TYPE_TIMES_SQL = """
    WITH cases AS (
        SELECT business_type, sum(service_seconds) AS work_seconds
        FROM steps
        WHERE service_seconds IS NOT NULL
        GROUP BY case_id, business_type
    ), grouped AS (
        SELECT c.business_type, count(*) AS cases,
               quantile_cont(c.work_seconds, [0.45, 0.5, 0.55, 0.9]) AS work
        FROM cases c JOIN baseline b ON b.business_type = c.business_type
        WHERE b.standard_seconds > 0
        GROUP BY c.business_type
    )
    SELECT business_type, cases, work[1] AS q45_seconds, work[2] AS median_seconds,
           work[3] AS q55_seconds, work[4] AS p90_seconds
    FROM grouped
    ORDER BY business_type
"""

# The evidence of the reviewed types (few): per type and per type x branch, the transactions,
# the median of their summed step times and of their dwell.
_TYPE_DETAIL_SQL = """
    WITH cases AS (
        SELECT case_id, min(business_type) AS business_type, min(branch_id) AS branch_id,
               sum(service_seconds) AS work_seconds,
               max(epoch(end_time)) - min(epoch(end_time) - service_seconds) AS dwell_seconds
        FROM steps
        WHERE service_seconds IS NOT NULL AND business_type IN ({types})
        GROUP BY case_id
    )
    SELECT business_type, branch_id, grouping(branch_id) AS whole, count(*) AS cases,
           quantile_cont(work_seconds, 0.5) AS median_seconds,
           quantile_cont(dwell_seconds, 0.5) AS dwell_median_seconds
    FROM cases
    GROUP BY GROUPING SETS ((business_type), (business_type, branch_id))
    ORDER BY business_type, whole DESC, branch_id
"""


def check_band(band: tuple[float, float], min_cases: int) -> tuple[float, float]:
    """The band as (low, high) floats, or a :class:`ProcmineError` saying what is wrong with
    it or with ``min_cases``.

    Example:
        >>> check_band((0.67, 1.5), 100)
        (0.67, 1.5)
    """
    try:
        lo, hi = (float(v) for v in band)
    except (TypeError, ValueError):
        raise ProcmineError(f"baseline band is {band!r}; expected two numbers (low, high) "
                            "such as (0.67, 1.5)") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < 1 < hi):
        raise ProcmineError(f"baseline band is ({lo:g}, {hi:g}); expected a low end between 0 "
                            "and 1 and a high end above 1, such as (0.67, 1.5)")
    if isinstance(min_cases, bool) or not isinstance(min_cases, int) or min_cases < 1:
        raise ProcmineError(f"baseline minimum is {min_cases!r} transactions; expected a whole "
                            "number of at least 1, such as 100")
    return lo, hi


def type_times(data: StepData) -> pd.DataFrame:
    """Per business type the baseline knows: ``cases`` and the quantiles of the transactions'
    summed step times (``q45_seconds``, ``median_seconds``, ``q55_seconds``, ``p90_seconds``)."""
    return data.query(_TYPE_TIMES_SQL).astype({"business_type": object})


def type_detail(data: StepData, types: Sequence[str]) -> pd.DataFrame:
    """Per business type of ``types`` (``whole`` 1) and per type x branch (``whole`` 0):
    ``cases``, the median of the transactions' summed step times (``median_seconds``) and of
    their dwell (``dwell_median_seconds``)."""
    frame = data.query(_TYPE_DETAIL_SQL.format(types=", ".join(lit(t) for t in types)))
    return frame.astype({"business_type": object, "branch_id": object})


def review_baseline(data: StepData, context: FindingContext, baseline: Baseline, *,
                    band: tuple[float, float] = BASELINE_BAND,
                    min_cases: int = BASELINE_MIN_CASES) -> tuple[list[Finding], frozenset[str]]:
    """The business types the whole bank runs far from their standard time: their findings
    (kind "baseline") and the set of those types (see the module documentation).

    ``data``: the analysis' steps (before any narrowing); ``band`` (low, high) as multiples of
    the standard; ``min_cases`` the fewest transactions a type needs.

    Example:
        >>> from procmine.analysis.steps import StepData
        >>> with StepData(store, baseline) as data:
        ...     found, types = review_baseline(data, FindingContext.empty(), baseline)
        >>> found, types
        ([], frozenset())
    """
    lo, hi = check_band(band, min_cases)
    times = type_times(data)
    whole = times[times["cases"] >= min_cases].reset_index(drop=True)
    if whole.empty:
        return [], frozenset()
    standard = whole["business_type"].map(baseline.standard_seconds).astype(float)
    n = whole["cases"].to_numpy(dtype=float)
    median = whole["median_seconds"].to_numpy(dtype=float)
    typical = _typical_ratio(median / standard.to_numpy()) if data.inferred else 1.0
    lo, hi = lo * typical, hi * typical  # completion times only: around the typical ratio
    se = (whole["q55_seconds"] - whole["q45_seconds"]).to_numpy(dtype=float) * 5 / np.sqrt(n)
    se = np.maximum(se, 1e-9 * median)
    low, high = (median - _Z * se) / standard, (median + _Z * se) / standard
    slow, fast = low > hi, high < lo
    # one-sided: the median beyond the band's end, by the same approximation as the interval
    beyond = np.where(slow, median - hi * standard, lo * standard - median)
    p_values = np.where(slow | fast, norm.sf(beyond / se), 1.0)
    q_values = benjamini_hochberg(p_values)
    flagged = np.flatnonzero((slow | fast) & (q_values <= context.q))
    if not flagged.size:
        return [], frozenset()
    detail = type_detail(data, [str(whole["business_type"].iloc[i]) for i in flagged])
    findings = []
    for i in flagged:
        row = whole.iloc[i]
        mine = detail[detail["business_type"] == row["business_type"]]
        evidence = _evidence(row, float(standard.iloc[i]), mine, baseline)
        evidence.update(band=[round(lo, 3), round(hi, 3)], typical_ratio=round(typical, 3))
        findings.append(_finding(row, float(standard.iloc[i]), (float(low[i]), float(high[i])),
                                 (float(p_values[i]), float(q_values[i])), evidence, context,
                                 data.inferred))
    return findings, frozenset(f.business_type for f in findings)


def _typical_ratio(ratios: npt.NDArray[np.float64]) -> float:
    """The median of the types' ratios to their standard (1.0 without any)."""
    usable = ratios[np.isfinite(ratios) & (ratios > 0)]
    return float(np.median(usable)) if usable.size else 1.0


def _evidence(row: pd.Series, standard: float, detail: pd.DataFrame,
              baseline: Baseline) -> dict[str, Any]:
    """What a reviewer of the type's standard needs to see (``detail``: its rows of
    :func:`type_detail`)."""
    business_type, median = str(row["business_type"]), float(row["median_seconds"])
    whole = detail[detail["whole"] == 1]
    branches = detail[detail["whole"] == 0]
    return {
        "review_group": baseline[business_type].review_group,
        "bank_median_seconds": round(median, 3),
        "dwell_median_seconds": (round(float(whole["dwell_median_seconds"].iloc[0]), 3)
                                 if len(whole) else None),
        "standard_seconds": standard,
        "ratio": round(median / standard, 3),
        "cases": int(row["cases"]),
        "branches": {str(b): {"median_seconds": round(float(m), 3), "cases": int(c)}
                     for b, m, c in zip(branches["branch_id"], branches["median_seconds"],
                                        branches["cases"], strict=True) if isinstance(b, str)},
    }


def _finding(row: pd.Series, standard: float, interval: tuple[float, float],
             tests: tuple[float, float], evidence: dict[str, Any], context: FindingContext,
             inferred: bool) -> Finding:
    """One type's baseline finding from its row of :func:`type_times` (``tests``: its p- and
    q-value)."""
    business_type = str(row["business_type"])
    median = float(row["median_seconds"])
    refs = context.refs
    bank = refs[refs["business_type"] == business_type] if not refs.empty else refs
    steps = int(bank["bank_count"].sum()) if len(bank) else 0
    months = context.months_for(None)
    finding = Finding(
        scope="type", teller_id=None, branch_id=None, business_type=business_type,
        activity="", cases=int(row["cases"]), steps=steps, median_seconds=round(median, 3),
        p90_seconds=round(float(row["p90_seconds"]), 3), reference_seconds=round(standard, 3),
        reference_source="standard", ratio=round(median / standard, 3), pace=1.0,
        excess_seconds=round(median - standard, 3), time_lost_seconds=0.0,
        monthly_teller_hours=0.0, months=round(months, 3), p_value=tests[0], q_value=tests[1],
        bank_median_seconds=round(median, 3), branch_median_seconds=None, evidence=evidence,
        kind="baseline", ratio_ci=(round(interval[0], 3), round(interval[1], 3)),
        inferred=inferred, period_days=context.days_for(None),
    )
    return replace(finding, summary=finding.summary_in("en"))


def peer_references(context: FindingContext, reviewed: frozenset[str]) -> FindingContext:
    """``context`` with the step references of the ``reviewed`` types replaced by what the
    bank does: the step's median over every branch's typical median (``bank_peer_seconds``),
    or the bank's median where no peer row is; ``share_source`` says "peers" for those rows
    ("baseline share" for the others) and ``reviewed_types`` holds them."""
    refs = context.refs
    if not reviewed or refs.empty:
        return replace(context, reviewed_types=frozenset(reviewed))
    pair = ["business_type", "activity"]
    bank_peer = (context.peers.groupby(pair, sort=False)["bank_peer_seconds"].first()
                 if not context.peers.empty else pd.Series(dtype=float))
    peer = pd.MultiIndex.from_frame(refs[pair]).map(bank_peer.to_dict()) if len(
        bank_peer) else pd.Series(np.nan, index=refs.index)
    peer = pd.Series(np.asarray(peer, dtype=float), index=refs.index)
    peer = peer.fillna(refs["bank_median_seconds"])
    mine = refs["business_type"].isin(reviewed)
    refs = refs.assign(
        share_reference=refs["share_reference"].where(~mine, peer.where(peer > 0)),
        share_source=np.where(mine, "peers", "baseline share"))
    return replace(context, refs=refs, reviewed_types=frozenset(reviewed))
