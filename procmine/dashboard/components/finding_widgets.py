"""Pieces of the slow-steps page: the findings table, and the drill-down's metrics, breakdown
charts, comparison table and the tellers of a branch finding, drawn from one finding and its
evidence (:func:`procmine.explain_finding`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from procmine import AMOUNT_BANDS, Baseline, Finding
from procmine.dashboard.components import charts
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import lang, tr

__all__ = [
    "band_label",
    "chart_labels",
    "show_breakdown",
    "show_comparison",
    "show_metrics",
    "show_table",
    "show_tellers",
    "window_label",
]


def show_table(found: Sequence[Finding], baseline: Baseline) -> None:
    """The findings, most time lost first, each with its SOP step."""
    st.dataframe(pd.DataFrame([{
        tr("bottlenecks.rank"): i + 1,
        tr("bottlenecks.scope"): tr(f"bottlenecks.scope_{f.scope}"),
        tr("bottlenecks.who"): f"{f.teller_id} ({f.branch_id})" if f.scope == "teller"
        else f.branch_id,
        tr("table.name"): f"{f.business_type} {baseline[f.business_type].name(lang())}"
        if f.business_type in baseline else f.business_type,
        tr("bottlenecks.step"): f.activity,
        tr("table.transactions"): f.cases,
        tr("table.median_seconds"): round(f.median_seconds),
        tr("bottlenecks.reference"): round(f.reference_seconds),
        tr("table.ratio"): round(f.ratio, 2),
        "q": f"{f.q_value:.1e}",
        tr("bottlenecks.hours_month"): round(f.monthly_teller_hours, 1),
        tr("bottlenecks.sop_step"): f"{f.sop} {f.sop_version} #{f.sop_step}" if f.sop else "",
    } for i, f in enumerate(found)]), hide_index=True, width="stretch")


def band_label(value: str) -> str:
    """An amount band (:data:`procmine.AMOUNT_BANDS`), in the user's language."""
    return tr(f"amount_bands.{AMOUNT_BANDS.index(value)}") if value in AMOUNT_BANDS else value


def window_label(value: str) -> str:
    """A window type in the user's language where it is one of the usual three, else as the
    log writes it."""
    key = f"window_types.{value.lower()}"
    label = tr(key)
    return value if label == key else label


def chart_labels() -> dict[str, str]:
    """The words the drill-down's charts use, in the user's language."""
    return {"group": tr("bottlenecks.group"), "branch": tr("bottlenecks.branch"),
            "bank": tr("bottlenecks.bank"), "reference": tr("bottlenecks.reference"),
            "seconds": tr("units.seconds", value="")}


def show_metrics(finding: Finding, evidence: dict[str, Any]) -> None:
    """The group's, the branch's and the bank's median, and the group's rework rate against
    the bank's."""
    metrics = st.columns(4)
    comparison = evidence.get("comparison", {})
    metrics[0].metric(tr("bottlenecks.group_median"), f"{finding.median_seconds:.0f} s")
    metrics[1].metric(tr("bottlenecks.branch_median"),
                      f"{comparison.get('branch_median_seconds') or 0:.0f} s")
    metrics[2].metric(tr("bottlenecks.bank_median"),
                      f"{comparison.get('bank_median_seconds') or 0:.0f} s")
    rework = evidence.get("rework", {})
    group_rework, bank_rework = rework.get("group_rate") or 0, rework.get("bank_rate") or 0
    metrics[3].metric(tr("bottlenecks.rework"), f"{group_rework:.1%}",
                      delta=f"{group_rework - bank_rework:+.1%}", delta_color="inverse")


def show_breakdown(title_key: str, evidence: dict[str, Any], part: str,
                   labels: dict[str, str], label: Callable[[str], str] = str) -> None:
    """The group's and the bank's median by one breakdown of the evidence, its values named
    by ``label``."""
    st.markdown(f"**{tr(title_key)}**")
    rows = [{**row, "value": label(str(row["value"]))} for row in evidence.get(part, [])]
    st.plotly_chart(charts.breakdown(rows, labels), width="stretch")


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def show_comparison(finding: Finding, evidence: dict[str, Any]) -> None:
    """Where the time goes: the same step's median, wait before it and rework, in the group,
    the branch (for a teller finding) and bank-wide."""
    st.markdown(f"**{tr('bottlenecks.compared')}**")
    comparison = evidence.get("comparison", {})
    wait = evidence.get("wait_before", {})
    rework = evidence.get("rework", {})
    levels = [("group", tr("bottlenecks.group")), ("branch", tr("bottlenecks.branch")),
              ("bank", tr("bottlenecks.bank"))]
    if finding.scope == "branch":
        levels = [levels[0], levels[2]]
    st.dataframe(pd.DataFrame({
        "": [tr("bottlenecks.row_median"), tr("bottlenecks.row_wait"),
             tr("bottlenecks.row_rework")],
        **{name: [_seconds(comparison.get(f"{level}_median_seconds")),
                  _seconds(wait.get(f"{level}_median_seconds")),
                  _rate(rework.get(f"{level}_rate"))]
           for level, name in levels},
    }), hide_index=True, width="stretch")


def show_tellers(finding: Finding, evidence: dict[str, Any]) -> None:
    """For a branch finding, the branch's tellers at the step, the slow ones marked."""
    if finding.scope != "branch" or not evidence.get("tellers"):
        return
    st.markdown(f"**{tr('bottlenecks.tellers', branch=plain(finding.branch_id))}**")
    st.dataframe(pd.DataFrame([{
        tr("table.teller_id"): row["teller_id"],
        tr("bottlenecks.steps"): row["steps"],
        tr("table.median_seconds"): None if row["median_seconds"] is None
        else round(row["median_seconds"], 1),
        tr("bottlenecks.flagged"): "✓" if row["flagged"] else "",
    } for row in evidence["tellers"]]), hide_index=True, width="stretch")
