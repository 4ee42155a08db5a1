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
percentiles, ``se = (q55 - q45) * 5 / sqrt(n)``) lies wholly outside the band; and a one-sided
sign test (how many of its transactions are beyond ``hi`` (``lo``) times the standard, against
Binomial(n, 1/2)) holds with Benjamini-Hochberg over every type with enough transactions, at
the context's ``q``. In a log with completion times only, the inferred service times include
the waits inside a transaction (a type whose steps wait for a supervisor runs longer by them),
so the band is taken around the types' typical ratio instead of 1: ``lo`` and ``hi`` times the
median, over the types with enough transactions, of their median over their standard (a type
then stands out from the others; a standard wrong on every type cannot be told from waiting).

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
from dataclasses import replace
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy.stats import binom

from procmine.analysis.context import FindingContext
from procmine.analysis.findings import Finding
from procmine.analysis.stats import benjamini_hochberg
from procmine.analysis.steps import StepData
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError

__all__ = ["BASELINE_BAND", "BASELINE_MIN_CASES", "check_band", "peer_references",
           "review_baseline", "type_times"]

#: The band a type's bank median may run in, as multiples of its standard time.
BASELINE_BAND: Final[tuple[float, float]] = (0.67, 1.5)
#: The fewest transactions a type needs to be reviewed.
BASELINE_MIN_CASES: Final[int] = 100
#: The z of a two-sided 95% interval.
_Z: Final[float] = 1.959964

# Per business type (and per type x branch): the transactions, the quantiles of their summed
# step times and the median of their dwell, and how many are beyond the band's ends.
_TYPE_TIMES_SQL = """
    WITH cases AS (
        SELECT case_id, min(business_type) AS business_type, min(branch_id) AS branch_id,
               sum(service_seconds) AS work_seconds,
               max(epoch(end_time)) - min(epoch(end_time) - service_seconds) AS dwell_seconds
        FROM steps
        WHERE service_seconds IS NOT NULL
        GROUP BY case_id
    ), grouped AS (
        SELECT c.business_type, c.branch_id, grouping(c.branch_id) AS whole,
               count(*) AS cases,
               quantile_cont(c.work_seconds, [0.45, 0.5, 0.55, 0.9]) AS work,
               quantile_cont(c.dwell_seconds, 0.5) AS dwell_median_seconds,
               sum(CASE WHEN c.work_seconds > {hi} * b.standard_seconds THEN 1 ELSE 0 END)
                   AS above,
               sum(CASE WHEN c.work_seconds < {lo} * b.standard_seconds THEN 1 ELSE 0 END)
                   AS below
        FROM cases c JOIN baseline b ON b.business_type = c.business_type
        WHERE b.standard_seconds > 0
        GROUP BY GROUPING SETS ((c.business_type), (c.business_type, c.branch_id))
    )
    SELECT business_type, branch_id, whole, cases, work[1] AS q45_seconds,
           work[2] AS median_seconds, work[3] AS q55_seconds, work[4] AS p90_seconds,
           dwell_median_seconds, above, below
    FROM grouped
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


def type_times(data: StepData, lo: float, hi: float) -> pd.DataFrame:
    """Per business type the baseline knows (``whole`` 1) and per type x branch (``whole``
    0): ``cases``, the quantiles of the transactions' summed step times (``q45_seconds``,
    ``median_seconds``, ``q55_seconds``, ``p90_seconds``), ``dwell_median_seconds``, and how
    many transactions are ``above`` ``hi`` and ``below`` ``lo`` times the standard."""
    frame = data.query(_TYPE_TIMES_SQL.format(lo=repr(float(lo)), hi=repr(float(hi))))
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
    times = type_times(data, lo, hi)
    typical = _typical_ratio(times, baseline, min_cases) if data.inferred else 1.0
    if typical != 1.0:  # completion times only: the band around the types' typical ratio
        lo, hi = lo * typical, hi * typical
        times = type_times(data, lo, hi)
    whole = times[times["whole"] == 1].reset_index(drop=True)
    whole = whole[whole["cases"] >= min_cases].reset_index(drop=True)
    if whole.empty:
        return [], frozenset()
    standard = whole["business_type"].map(baseline.standard_seconds).astype(float)
    n = whole["cases"].to_numpy(dtype=float)
    median = whole["median_seconds"].to_numpy(dtype=float)
    se = (whole["q55_seconds"] - whole["q45_seconds"]).to_numpy(dtype=float) * 5 / np.sqrt(n)
    low, high = (median - _Z * se) / standard, (median + _Z * se) / standard
    slow = low > hi
    fast = high < lo
    beyond = np.where(slow, whole["above"], np.where(fast, whole["below"], 0))
    p_values = np.where(slow | fast, binom.sf(beyond - 1, n, 0.5), 1.0)
    q_values = benjamini_hochberg(p_values)
    flagged = (slow | fast) & (q_values <= context.q)
    findings = []
    for i in np.flatnonzero(flagged):
        row = whole.iloc[i]
        branches = times[(times["whole"] == 0) & (times["business_type"] == row["business_type"])]
        evidence = _evidence(row, float(standard.iloc[i]), branches, baseline)
        evidence.update(band=[round(lo, 3), round(hi, 3)], typical_ratio=round(typical, 3))
        findings.append(_finding(row, float(standard.iloc[i]), (float(low[i]), float(high[i])),
                                 (float(p_values[i]), float(q_values[i])), evidence, context,
                                 data.inferred))
    return findings, frozenset(f.business_type for f in findings)


def _typical_ratio(times: pd.DataFrame, baseline: Baseline, min_cases: int) -> float:
    """The median over the types with ``min_cases`` transactions of their median over their
    standard (1.0 without any)."""
    whole = times[(times["whole"] == 1) & (times["cases"] >= min_cases)]
    ratios = whole["median_seconds"] / whole["business_type"].map(baseline.standard_seconds)
    ratios = ratios[np.isfinite(ratios.astype(float)) & (ratios > 0)]
    return float(ratios.median()) if len(ratios) else 1.0


def _evidence(row: pd.Series, standard: float, branches: pd.DataFrame,
              baseline: Baseline) -> dict[str, Any]:
    """What a reviewer of the type's standard needs to see."""
    business_type, median = str(row["business_type"]), float(row["median_seconds"])
    return {
        "review_group": baseline[business_type].review_group,
        "bank_median_seconds": round(median, 3),
        "dwell_median_seconds": round(float(row["dwell_median_seconds"]), 3),
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
