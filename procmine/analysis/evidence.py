"""Why a step is slow: the evidence behind each finding, and its times for the drill-down.

A finding says that a teller's or a branch's step is slow; a reviewer then asks why.
:func:`explain_findings` answers from the same steps, in one pass over the findings' business
types: **rework** (the share of the group's cases that repeat the step, against its branch's
and the bank's), the **wait before** the step (e.g. for an authorization), the group's median
against its branch's and the bank's next to the reference and the group's pace, and the step's
times **by amount band, hour, window type and month** for the group and the bank (the month
shows whether the step is getting better). A branch finding also lists its tellers on the step.
:func:`finding_distribution` draws a sample of the step's service times for the group, its
branch and the bank, for the drill-down's distribution chart.

Example:
    >>> from procmine.analysis.bottlenecks import find_bottlenecks
    >>> from procmine.analysis.evidence import explain_findings
    >>> findings = find_bottlenecks(store, baseline)
    >>> evidence = explain_findings(store, findings[:3])
    >>> evidence[0]["rework"]
    {'group_rate': 0.0, 'branch_rate': 0.0067, 'bank_rate': 0.0052}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from procmine.analysis.filters import Filters
from procmine.analysis.findings import Finding
from procmine.analysis.steps import BREAKDOWNS, StepData
from procmine.core.amounts import AMOUNT_BANDS
from procmine.core.progress import Progress
from procmine.store.event_store import EventStore

if TYPE_CHECKING:
    from procmine.store.engine import Engine

__all__ = ["explain_finding", "explain_findings", "finding_distribution", "month_filters"]


def month_filters(month: str | None) -> Filters:
    """The filters of one month (``YYYY-MM``), or of all the data for ``None``.

    Example:
        >>> month_filters(None) == Filters()
        True
    """
    return Filters.for_month(month) if month else Filters()




def explain_findings(store: EventStore, findings: Sequence[Finding],
                     month: str | None = None,
                     engine: Engine | None = None,
                     progress: Progress | None = None) -> list[dict[str, Any]]:
    """The evidence for each finding, computed in one pass over the findings' business types.

    For each: ``rework`` (share of the group's cases that repeat the step, against the branch
    and the bank), ``wait_before`` (median wait before the step, e.g. for authorization),
    ``comparison`` (the group's median against its branch's and the bank's, and its pace), and
    ``by_amount_band``, ``by_hour``, ``by_window_type``, ``by_month`` (steps and median per
    value, for the group and the bank; ``by_month`` shows whether the step is getting better).
    A finding's own evidence (e.g. a wait finding's ``waited_for``) is kept beside these; a
    finding of no one step (``activity`` "": overall, baseline) gets only its own. A wait
    finding's tellers and breakdowns are of the waits before the step, ``wait_before`` adds
    the peers' wait, and ``comparison`` is the step's own time (no reference or pace).
    ``engine`` and ``progress`` (phase "evidence") as in :func:`find_bottlenecks`.

    Example:
        >>> from procmine.analysis.bottlenecks import find_bottlenecks
        >>> evidence = explain_findings(store, find_bottlenecks(store, baseline)[:3])
        >>> evidence[0]["rework"]
        {'group_rate': 0.0, 'branch_rate': 0.0067, 'bank_rate': 0.0052}
    """
    stepped = [f for f in findings if f.activity]
    if not stepped:  # findings of no one step (overall, baseline) keep their own evidence
        return [dict(f.evidence or {}) for f in findings]
    report = progress or (lambda phase, fraction: None)
    report("evidence", 0.0)
    pairs = sorted({(f.business_type, f.activity) for f in stepped})
    with StepData(store, filters=month_filters(month), detail=True, pairs=pairs,
                  engine=engine) as data:
        # the case windows (or the scan of the prepared steps) run once, not per breakdown
        data.keep_pairs(pairs, ["business_type", "activity", "teller_id", "branch_id",
                                "case_id", "occurrence", "service_seconds", "wait_seconds",
                                *BREAKDOWNS], hold=True)
        report("evidence", 0.6)
        overall = data.breakdown(pairs)
        parts = {}
        for i, by in enumerate(BREAKDOWNS, start=1):
            report("evidence", 0.6 + 0.4 * i / (len(BREAKDOWNS) + 1))
            parts[by] = data.breakdown(pairs, by, with_cases=False)
    explained = [_evidence(f, overall, parts) if f.activity else dict(f.evidence or {})
                 for f in findings]
    report("evidence", 1.0)
    return explained


def explain_finding(store: EventStore, finding: Finding,
                    month: str | None = None) -> dict[str, Any]:
    """The evidence for one finding (see :func:`explain_findings`)."""
    return explain_findings(store, [finding], month=month)[0]


def _pick(frame: pd.DataFrame, f: Finding, level: str) -> pd.DataFrame:
    rows = frame[(frame["business_type"] == f.business_type) & (frame["activity"] == f.activity)
                 & (frame["level"] == level)]
    if level in ("teller", "branch"):
        rows = rows[rows["branch_id"] == f.branch_id]
    if level == "teller":
        rows = rows[rows["teller_id"] == f.teller_id]
    return rows


def _num(value: Any, digits: int = 3) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return None
    return round(float(value), digits)


def _evidence(f: Finding, overall: pd.DataFrame,
              parts: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    own_level = f.scope
    mine = _pick(overall, f, own_level)
    branch = _pick(overall, f, "branch")
    bank = _pick(overall, f, "bank")

    def first(rows: pd.DataFrame, column: str) -> Any:
        return rows[column].iloc[0] if not rows.empty else None

    def rate(rows: pd.DataFrame) -> float | None:
        if rows.empty or not rows["cases"].iloc[0]:
            return None
        return _num(rows["repeated_cases"].iloc[0] / rows["cases"].iloc[0], 4)

    evidence: dict[str, Any] = {
        "rework": {"group_rate": rate(mine), "branch_rate": rate(branch),
                   "bank_rate": rate(bank)},
        "wait_before": {
            "group_median_seconds": _num(first(mine, "median_wait_seconds")),
            "branch_median_seconds": _num(first(branch, "median_wait_seconds")),
            "bank_median_seconds": _num(first(bank, "median_wait_seconds")),
        },
        "comparison": {
            "group_median_seconds": _num(first(mine, "median_seconds")),
            "branch_median_seconds": _num(first(branch, "median_seconds")),
            "bank_median_seconds": _num(first(bank, "median_seconds")),
            "reference_seconds": f.reference_seconds,
            "pace": f.pace,
        },
    }
    # a wait finding's figures are waits: its breakdowns are too, its comparison the step's time
    times = "median_wait_seconds" if f.kind == "wait" else "median_seconds"
    if f.kind == "wait":
        evidence["wait_before"]["peer_seconds"] = f.peer_seconds
        del evidence["comparison"]["reference_seconds"], evidence["comparison"]["pace"]
    evidence = {**dict(f.evidence or {}), **evidence}  # the detector's own (waited_for)
    if f.scope == "branch":
        tellers = overall[(overall["business_type"] == f.business_type)
                          & (overall["activity"] == f.activity) & (overall["level"] == "teller")
                          & (overall["branch_id"] == f.branch_id)]
        evidence["tellers"] = [
            {"teller_id": teller, "steps": int(steps), "median_seconds": _num(median),
             "flagged": teller in f.tellers_flagged}
            for teller, steps, median in tellers.sort_values(
                times, ascending=False)[["teller_id", "count", times]].itertuples(index=False)
        ]
    for by, frame in parts.items():
        mine_by = _pick(frame, f, own_level).set_index("value")
        bank_by = _pick(frame, f, "bank").set_index("value")
        rows = []
        for value in bank_by.index:
            rows.append({
                "value": int(value) if by == "hour" and str(value).isdigit() else value,
                "group_steps": int(mine_by.loc[value, "count"]) if value in mine_by.index else 0,
                "group_median_seconds": (_num(mine_by.loc[value, times])
                                         if value in mine_by.index else None),
                "bank_steps": int(bank_by.loc[value, "count"]),
                "bank_median_seconds": _num(bank_by.loc[value, times]),
            })
        key = {"amount_band": "by_amount_band", "hour": "by_hour",
               "window_type": "by_window_type", "month": "by_month"}[by]
        evidence[key] = sorted(rows, key=lambda r: _sort_key(by, r["value"]))
    return evidence


def _sort_key(by: str, value: Any) -> tuple[int, str]:
    if by == "hour":
        try:
            return (int(value), "")
        except (TypeError, ValueError):
            return (99, str(value))
    if by == "amount_band":
        return (AMOUNT_BANDS.index(value) if value in AMOUNT_BANDS else 99, str(value))
    return (0, str(value))


def finding_distribution(store: EventStore, finding: Finding, month: str | None = None,
                         sample: int = 5000) -> pd.DataFrame:
    """Service times of a finding's step for the finding's group, its branch and the bank
    (``level`` in "group", "branch", "bank"; at most ``sample`` random rows per level), for
    the drill-down's distribution chart."""
    filters = replace(month_filters(month), business_types=(finding.business_type,))
    group = (f"teller_id = {_sql_text(finding.teller_id)}" if finding.scope == "teller"
             else f"branch_id = {_sql_text(finding.branch_id)}")
    with StepData(store, filters=filters, detail=True) as data:
        parts = []
        for level, where in (("group", group),
                             ("branch", f"branch_id = {_sql_text(finding.branch_id)}"),
                             ("bank", "true")):
            if level == "branch" and finding.scope == "branch":
                continue
            # The sample is drawn after filtering (a sample on ``steps`` would come first).
            parts.append(
                f"(SELECT * FROM (SELECT '{level}' AS level, service_seconds FROM steps "
                f"WHERE activity = {_sql_text(finding.activity)} AND {where} "
                f"AND service_seconds IS NOT NULL) USING SAMPLE {int(sample)} ROWS)"
            )
        return data.query(" UNION ALL ".join(parts))


def _sql_text(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"
