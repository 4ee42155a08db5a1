"""Slow steps (operations, reviewers; a branch manager for their branch): findings of every
kind (slow steps, with the slice they hold in; waits before a step; tellers and branches slow
overall; standards to review), ranked by time lost, filtered by kind and scope, each kind
explained, each marked with its improvement item, and the evidence of one, with "act on this":
open an item on it in the improvement register, or its open item. A branch manager sees their
branch's findings only (teller and branch findings of it) and the bank-wide standards to review,
for information; the other branches show as one count and one figure of time lost. A link from
the overview's agenda names a month and a finding (``?month=...&finding=<key>``): the page
opens on it once. The period is the shared one (the latest month unless chosen otherwise)."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from procmine import (
    FINDING_KINDS,
    FINDING_SCOPES,
    Finding,
    branch_scope,
    default_group,
    finding_key,
    finding_subject,
    scoped_findings,
)
from procmine.dashboard import data, session
from procmine.dashboard.components import (
    charts,
    finding_kinds,
    finding_widgets,
    improve_marks,
    names,
    period,
    sections,
)
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import lang, tr


def _step_evidence(finding: Finding, month: str | None, min_cases: int) -> None:
    """The evidence of a step or wait finding: metrics, the distribution of its step times
    (not for a wait: its reference is a wait), the comparison with the branch and the bank (the
    wait before the step among them), the branch's tellers; then, drawn once their sections are
    opened (each chart costs the browser 0.1-0.3 s of drawing, and this is a landing page), the
    breakdowns by hour, amount band and window type, and month by month."""
    with st.spinner(tr("bottlenecks.loading")):
        evidence = data.evidence(finding, month)
    finding_widgets.show_metrics(finding, evidence)
    labels = finding_widgets.chart_labels()
    if finding.kind != "wait":
        st.plotly_chart(charts.distribution(data.distribution(finding, month), labels,
                                            finding.reference_seconds), width="stretch")
    # Where the time goes: the same step here, in the branch and bank-wide.
    finding_widgets.show_comparison(finding, evidence)
    if math.isfinite(finding.pace) and finding.kind != "wait":  # a wait is not a pace
        st.caption(tr("bottlenecks.pace", pace=f"{finding.pace:.2f}"))
    finding_widgets.show_tellers(finding, evidence, min_cases, period.label(month))
    sections.lazy(tr("bottlenecks.breakdowns"), "bn_breakdowns_open",
                  lambda: _breakdowns(evidence, labels))
    sections.lazy(tr("bottlenecks.by_month"), "bn_by_month_open",
                  lambda: _by_month(evidence, labels))


def _by_month(evidence: dict[str, Any], labels: dict[str, str]) -> None:
    st.plotly_chart(charts.by_month(evidence.get("by_month", []), labels), width="stretch")


def _breakdowns(evidence: dict[str, Any], labels: dict[str, str]) -> None:
    """The group's and the bank's median by hour, amount band and window type, side by side."""
    hour, band, window = st.columns(3)
    with hour:
        finding_widgets.show_breakdown("bottlenecks.by_hour", evidence, "by_hour", labels)
    with band:
        finding_widgets.show_breakdown("bottlenecks.by_amount", evidence, "by_amount_band",
                                       labels, finding_widgets.band_label)
    with window:
        finding_widgets.show_breakdown("bottlenecks.by_window", evidence, "by_window_type",
                                       labels, finding_widgets.window_label)


def _arrival() -> str | None:
    """The finding a link names (its key), its month chosen here; the link is used once."""
    wanted = st.query_params.get("finding")
    if wanted is None:
        return None
    month = st.query_params.get("month")
    if month in data.months():
        st.session_state[period.SHARED] = month
    st.query_params.pop("finding", None)
    st.query_params.pop("month", None)
    return wanted


def _open_on(wanted: str | None, found: list[Finding]) -> None:
    """Show every kind and scope and pick the finding a link named, when it is found."""
    keys = [finding_key(f) for f in found]
    if wanted is None or wanted not in keys:
        return
    language = lang()
    st.session_state["bn_kinds_chosen"] = st.session_state[f"bn_kinds_{language}"] = list(
        FINDING_KINDS)
    st.session_state["bn_scopes_chosen"] = st.session_state[f"bn_scopes_{language}"] = list(
        FINDING_SCOPES)
    st.session_state["bn_picked"] = st.session_state[f"bn_pick_{language}"] = keys.index(wanted)


user = session.guard(__file__)
st.title(tr("bottlenecks.title"))
if data.store_info()["events"] == 0:
    st.info(tr("overview.empty_store"))
    st.stop()

wanted = _arrival()
cols = st.columns(4)
month = period.choose(cols[0])
period.show_caption(month)
ratio = cols[1].number_input(tr("bottlenecks.ratio"), 1.1, 5.0, data.FINDINGS_RATIO, 0.1,
                             key="bn_ratio")
min_cases = cols[2].number_input(tr("bottlenecks.min_cases"), 5, 1000, data.FINDINGS_MIN_CASES,
                                 5, key="bn_min")
q = cols[3].number_input(tr("bottlenecks.q"), 0.001, 0.2, data.FINDINGS_Q, 0.01, format="%.3f",
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

_open_on(wanted, found)
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
marks = data.marks(user, shown)
finding_widgets.show_table(shown, improve_marks.marks_column(shown, marks))

finding = finding_widgets.pick_finding(shown)
st.subheader(plain(names.finding_summary(finding)))
mark = marks.get(finding_key(finding))
improve_marks.show_regression(mark)
improve_marks.act_control(
    finding_subject(finding, as_of=data.as_of(month), store_version=data.store().version(),
                    library=data.library()),
    user=user, group=default_group(finding, data.library(), data.baseline()),
    mark=mark, key="bn_act")
finding_widgets.show_explanation(finding.kind)
finding_widgets.show_facts(finding, data.baseline())
if finding.kind in ("step", "wait") and finding.activity:
    _step_evidence(finding, month, int(min_cases))
elif finding.kind == "overall":
    finding_kinds.show_overall(finding)
elif finding.kind == "baseline":
    finding_kinds.show_baseline(finding, scope)
else:
    st.caption(tr("bottlenecks.no_step_evidence"))
