"""The drill-down of the findings that are about no one step, drawn from the finding's own
evidence (``Finding.evidence``, as the analysis gives it):

* a teller or branch **slow overall**: the share of its business type x steps slower than its
  peers, the steps where it loses the most time (its median against the peers', the teller
  hours a month each costs), and for a branch its tellers' paces, the slow ones marked;
* a **standard to check** (the whole bank on one business type): the process-review group that
  checks it, the bank's counter dwell time, and each branch's median against the standard, so
  it shows that every branch runs so; a branch manager sees their own branch's row and the
  bank's only (other branches reach them as the bank's aggregate).

Evidence a finding does not carry is left out; a finding without any says so."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from procmine import Finding
from procmine.dashboard.components import tables
from procmine.dashboard.components.names import step_label
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import tr

__all__ = ["show_baseline", "show_overall"]


def _number(value: Any, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def show_overall(finding: Finding) -> None:
    """A teller's or branch's slow pace: how widely it holds, its costliest steps, and for a
    branch its tellers' paces."""
    evidence: Mapping[str, Any] = finding.evidence or {}
    groups, share = evidence.get("groups"), evidence.get("slower_share")
    if groups is not None and share is not None:
        st.caption(tr("bottlenecks.overall_share", groups=f"{int(groups):,}",
                      share=f"{float(share):.0%}"))
    costliest = evidence.get("costliest_steps") or []
    if costliest:
        months = finding.months if finding.months > 0 else 1.0
        st.markdown(f"**{tr('bottlenecks.costliest')}**")
        tables.show(pd.DataFrame([{
            tr("bottlenecks.what"): f"{row['business_type']} · {step_label(row['activity'])}",
            tr("bottlenecks.steps"): int(row["steps"]),
            tr("table.median_seconds"): _number(row.get("median_seconds")),
            tr("bottlenecks.peer_seconds_col"): _number(row.get("peer_seconds")),
            tr("bottlenecks.ratio_metric"): _number(row.get("ratio"), 2),
            tr("bottlenecks.hours_short"): round(
                float(row.get("time_lost_seconds") or 0) / 3600 / months, 1),
        } for row in costliest]))
    paces = evidence.get("teller_paces") or {}
    if finding.scope == "branch" and paces:
        st.markdown(f"**{tr('bottlenecks.teller_paces', branch=plain(finding.branch_id))}**")
        st.caption(tr("bottlenecks.paces_counted", shown=len(paces),
                      flagged=len(finding.tellers_flagged), eligible=finding.tellers_eligible))
        tables.show(pd.DataFrame([{
            tr("table.teller_id"): teller,
            tr("bottlenecks.pace_col"): round(float(pace), 2),
            tr("bottlenecks.flagged"): "✓" if teller in finding.tellers_flagged else "",
        } for teller, pace in sorted(paces.items())]))
    if not (costliest or paces or groups):
        st.caption(tr("bottlenecks.no_step_evidence"))


def show_baseline(finding: Finding, scope: str | None) -> None:
    """A standard to check: who checks it, the bank's dwell time, and the branches' medians
    against the standard (only the user's own branch for a branch manager: ``scope``)."""
    evidence: Mapping[str, Any] = finding.evidence or {}
    group = evidence.get("review_group")
    if group:
        label = tr(f"review_groups.{group}")
        st.caption(tr("bottlenecks.review_group_line",
                      group=plain(group if label == f"review_groups.{group}" else label)))
    dwell = evidence.get("dwell_median_seconds")
    if dwell is not None:
        st.caption(tr("bottlenecks.dwell_line", dwell=f"{float(dwell):,.0f}"))
    branches: Mapping[str, Mapping[str, Any]] = evidence.get("branches") or {}
    standard = finding.reference_seconds
    rows = [(branch, figures) for branch, figures in sorted(branches.items())
            if scope is None or branch == scope]
    if rows:
        st.markdown(f"**{tr('bottlenecks.by_branch')}**")
        tables.show(pd.DataFrame([
            {tr("bottlenecks.branch"): branch,
             tr("table.transactions"): int(figures.get("cases") or 0),
             tr("table.median_seconds"): _number(figures.get("median_seconds")),
             tr("table.ratio"): _ratio(figures.get("median_seconds"), standard)}
            for branch, figures in rows] + [
            {tr("bottlenecks.branch"): tr("bottlenecks.bank"),
             tr("table.transactions"): finding.cases,
             tr("table.median_seconds"): round(finding.median_seconds, 1),
             tr("table.ratio"): round(finding.ratio, 2)}]))
    if not (group or dwell is not None or rows):
        st.caption(tr("bottlenecks.no_step_evidence"))


def _ratio(median: Any, standard: float) -> float | None:
    return None if median is None or standard <= 0 else round(float(median) / standard, 2)
