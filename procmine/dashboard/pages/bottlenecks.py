"""Slow steps (operations, reviewers): findings ranked by time lost, and the evidence of one."""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd
import streamlit as st

from procmine.core.amounts import AMOUNT_BANDS
from procmine.dashboard import data, session
from procmine.dashboard.components import charts
from procmine.dashboard.session import lang, tr

session.guard(__file__)
st.title(tr("bottlenecks.title"))
if data.store_info()["events"] == 0:
    st.info(tr("overview.empty_store"))
    st.stop()

baseline = data.baseline()
cols = st.columns(4)
month_choice = cols[0].selectbox(tr("announcement.month"), [tr("filters.whole_period"),
                                                           *data.months()], key="bn_month")
month = None if month_choice == tr("filters.whole_period") else month_choice
ratio = cols[1].number_input(tr("bottlenecks.ratio"), 1.1, 5.0, 1.5, 0.1, key="bn_ratio")
min_cases = cols[2].number_input(tr("bottlenecks.min_cases"), 5, 1000, 30, 5, key="bn_min")
q = cols[3].number_input(tr("bottlenecks.q"), 0.001, 0.2, 0.05, 0.01, format="%.3f",
                         key="bn_q")
with st.spinner(tr("bottlenecks.computing")):
    found = data.findings(month, float(ratio), int(min_cases), float(q))
if not found:
    st.success(tr("bottlenecks.none"))
    st.stop()

st.caption(tr("bottlenecks.caption", n=len(found),
              hours=f"{sum(f.monthly_teller_hours for f in found):.1f}"))
table = pd.DataFrame([{
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
} for i, f in enumerate(found)])
st.dataframe(table, hide_index=True, width="stretch")


def _band_label(value: str) -> str:
    """An amount band (:data:`procmine.core.amounts.AMOUNT_BANDS`), in the user's
    language."""
    return tr(f"amount_bands.{AMOUNT_BANDS.index(value)}") if value in AMOUNT_BANDS else value


def _window_label(value: str) -> str:
    """A window type in the user's language where it is one of the usual three, else as the
    log writes it."""
    key = f"window_types.{value.lower()}"
    label = tr(key)
    return value if label == key else label


choice = st.selectbox(tr("bottlenecks.drill_down"), range(len(found)), key="bn_pick",
                      format_func=lambda i: f"{i + 1}. {found[i].summary_in(lang())}")
finding = found[choice]
st.subheader(finding.summary_in(lang()))
with st.spinner(tr("bottlenecks.loading")):
    evidence = data.evidence(finding, month)
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
labels = {"group": tr("bottlenecks.group"), "branch": tr("bottlenecks.branch"),
          "bank": tr("bottlenecks.bank"), "reference": tr("bottlenecks.reference"),
          "seconds": tr("units.seconds", value="")}
st.plotly_chart(charts.distribution(data.distribution(finding, month), labels,
                                    finding.reference_seconds), width="stretch")


def _breakdown_chart(title_key: str, part: str, label: Callable[[str], str] = str) -> None:
    """The group's and the bank's median by one breakdown of the evidence, its values named
    by ``label``."""
    st.markdown(f"**{tr(title_key)}**")
    rows = [{**row, "value": label(str(row["value"]))} for row in evidence.get(part, [])]
    st.plotly_chart(charts.breakdown(rows, labels), width="stretch")


left, right = st.columns(2)
with left:
    _breakdown_chart("bottlenecks.by_hour", "by_hour")
with right:
    _breakdown_chart("bottlenecks.by_amount", "by_amount_band", _band_label)

# Where the time goes: the same step here, in the branch and bank-wide.
left, right = st.columns(2)
with left:
    _breakdown_chart("bottlenecks.by_window", "by_window_type", _window_label)
with right:
    st.markdown(f"**{tr('bottlenecks.compared')}**")
    wait = evidence.get("wait_before", {})
    levels = [("group", tr("bottlenecks.group")), ("branch", tr("bottlenecks.branch")),
              ("bank", tr("bottlenecks.bank"))]
    if finding.scope == "branch":
        levels = [levels[0], levels[2]]

    def _seconds(value: float | None) -> str:
        return "" if value is None else f"{value:.0f}"

    def _rate(value: float | None) -> str:
        return "" if value is None else f"{value:.1%}"

    st.dataframe(pd.DataFrame({
        "": [tr("bottlenecks.row_median"), tr("bottlenecks.row_wait"),
             tr("bottlenecks.row_rework")],
        **{name: [_seconds(comparison.get(f"{level}_median_seconds")),
                  _seconds(wait.get(f"{level}_median_seconds")),
                  _rate(rework.get(f"{level}_rate"))]
           for level, name in levels},
    }), hide_index=True, width="stretch")
    if math.isfinite(finding.pace):
        st.caption(tr("bottlenecks.pace", pace=f"{finding.pace:.2f}"))
st.markdown(f"**{tr('bottlenecks.by_month')}**")
st.plotly_chart(charts.by_month(evidence.get("by_month", []), labels), width="stretch")
if finding.scope == "branch" and evidence.get("tellers"):
    st.markdown(f"**{tr('bottlenecks.tellers', branch=finding.branch_id or '')}**")
    st.dataframe(pd.DataFrame([{
        tr("table.teller_id"): row["teller_id"],
        tr("bottlenecks.steps"): row["steps"],
        tr("table.median_seconds"): None if row["median_seconds"] is None
        else round(row["median_seconds"], 1),
        tr("bottlenecks.flagged"): "✓" if row["flagged"] else "",
    } for row in evidence["tellers"]]), hide_index=True, width="stretch")
