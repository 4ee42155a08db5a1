"""Slow steps (operations, reviewers; a branch manager for their branch): findings of every
kind (slow steps, with the slice they hold in; waits before a step; tellers and branches slow
overall; standards to review), ranked by time lost, filtered by kind and scope, each kind
explained, and the evidence of one. A branch manager sees their branch's findings only (teller
and branch findings of it) and the bank-wide standards to review, for information; the other
branches show as one count and one figure of time lost."""

from __future__ import annotations

import math

import streamlit as st

from procmine import Finding, branch_scope, scoped_findings
from procmine.dashboard import data, session
from procmine.dashboard.components import charts, finding_kinds, finding_widgets
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import lang, tr


def _step_evidence(finding: Finding, month: str | None) -> None:
    """The evidence of a step or wait finding: metrics, the distribution of its step times
    (not for a wait: its reference is a wait), the breakdowns, the comparison with the branch
    and the bank (the wait before the step among them), month by month, the branch's tellers."""
    with st.spinner(tr("bottlenecks.loading")):
        evidence = data.evidence(finding, month)
    finding_widgets.show_metrics(finding, evidence)
    labels = finding_widgets.chart_labels()
    if finding.kind != "wait":
        st.plotly_chart(charts.distribution(data.distribution(finding, month), labels,
                                            finding.reference_seconds), width="stretch")
    left, right = st.columns(2)
    with left:
        finding_widgets.show_breakdown("bottlenecks.by_hour", evidence, "by_hour", labels)
    with right:
        finding_widgets.show_breakdown("bottlenecks.by_amount", evidence, "by_amount_band",
                                       labels, finding_widgets.band_label)
    # Where the time goes: the same step here, in the branch and bank-wide.
    left, right = st.columns(2)
    with left:
        finding_widgets.show_breakdown("bottlenecks.by_window", evidence, "by_window_type",
                                       labels, finding_widgets.window_label)
    with right:
        finding_widgets.show_comparison(finding, evidence)
        if math.isfinite(finding.pace) and finding.kind != "wait":  # a wait is not a pace
            st.caption(tr("bottlenecks.pace", pace=f"{finding.pace:.2f}"))
    st.markdown(f"**{tr('bottlenecks.by_month')}**")
    st.plotly_chart(charts.by_month(evidence.get("by_month", []), labels), width="stretch")
    finding_widgets.show_tellers(finding, evidence)


user = session.guard(__file__)
st.title(tr("bottlenecks.title"))
if data.store_info()["events"] == 0:
    st.info(tr("overview.empty_store"))
    st.stop()

cols = st.columns(4)
month_choice = cols[0].selectbox(tr("announcement.month"), [tr("filters.whole_period"),
                                                           *data.months()], key="bn_month")
month = None if month_choice == tr("filters.whole_period") else month_choice
ratio = cols[1].number_input(tr("bottlenecks.ratio"), 1.1, 5.0, 1.5, 0.1, key="bn_ratio")
min_cases = cols[2].number_input(tr("bottlenecks.min_cases"), 5, 1000, 30, 5, key="bn_min")
q = cols[3].number_input(tr("bottlenecks.q"), 0.001, 0.2, 0.05, 0.01, format="%.3f",
                         key="bn_q")
with st.spinner(tr("bottlenecks.computing")):
    everywhere = data.findings(month, float(ratio), int(min_cases), float(q))
found = scoped_findings(user, everywhere)
scope = branch_scope(user)
if scope is not None:
    hours = sum(f.monthly_teller_hours for f in everywhere) - sum(
        f.monthly_teller_hours for f in found)
    st.caption(tr("scope.findings_elsewhere", branch=plain(scope),
                  n=len(everywhere) - len(found), hours=f"{hours:.1f}"))
if not found:
    st.success(tr("bottlenecks.none"))
    st.stop()

kinds, scopes = finding_widgets.pick_filters()
finding_widgets.show_kinds_help(found, kinds)
shown = finding_widgets.chosen(found, kinds, scopes)
if scope is not None and any(f.scope == "type" for f in shown):
    st.caption(tr("bottlenecks.bank_wide_note"))
if not shown:
    st.info(tr("bottlenecks.filtered_none"))
    st.stop()

costed = [f for f in shown if f.kind != "baseline"]  # a standard to check costs no one's time
st.caption(tr("bottlenecks.caption_kinds", n=len(shown),
              hours=f"{sum(f.monthly_teller_hours for f in costed):.1f}"))
finding_widgets.show_table(shown)

finding = finding_widgets.pick_finding(shown)
st.subheader(plain(finding.summary_in(lang())))
finding_widgets.show_explanation(finding.kind)
finding_widgets.show_facts(finding, data.baseline())
if finding.kind in ("step", "wait") and finding.activity:
    _step_evidence(finding, month)
elif finding.kind == "overall":
    finding_kinds.show_overall(finding)
elif finding.kind == "baseline":
    finding_kinds.show_baseline(finding, scope)
else:
    st.caption(tr("bottlenecks.no_step_evidence"))
