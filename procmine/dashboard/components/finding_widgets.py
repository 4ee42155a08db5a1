"""Pieces of the slow-steps page: the kind and scope filters, the findings table, the
explanation of each kind of finding (what it means, what to do), and the drill-down's key
figures (ratio with its interval, peer reference, period, inferred times), metrics, breakdown
charts, comparison table and the tellers of a branch finding, drawn from one finding and its
evidence (:func:`procmine.explain_finding`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from procmine import AMOUNT_BANDS, FINDING_KINDS, FINDING_SCOPES, Baseline, Finding, t
from procmine.dashboard.components import charts, tables
from procmine.dashboard.components.names import finding_summary, step_label, step_matches
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import lang, tr

__all__ = [
    "band_label",
    "chart_labels",
    "chosen",
    "kind_label",
    "pick_filters",
    "pick_finding",
    "ratio_label",
    "scope_label",
    "show_breakdown",
    "show_comparison",
    "show_explanation",
    "show_facts",
    "show_kinds_help",
    "show_metrics",
    "show_table",
    "show_tellers",
    "show_wait_metrics",
    "tellers_note",
    "type_label",
    "what_label",
    "who_label",
    "window_label",
]


def kind_label(kind: str) -> str:
    """A finding's kind (:data:`procmine.FINDING_KINDS`) in the user's language."""
    return tr(f"bottlenecks.kind.{kind}")


def scope_label(scope: str) -> str:
    """A finding's scope (teller, branch, type) in the user's language."""
    return tr(f"bottlenecks.scope_{scope}")


def pick_filters() -> tuple[list[str], list[str]]:
    """The kind and scope filters (multiselects, every kind and scope chosen at first);
    returns the kinds and scopes chosen. The options are named in the language of this run
    and the widgets are the language's own (the browser keeps a widget's labels: a language
    switch gets new widgets), chosen as the user left them in the other language."""
    language = lang()
    left, right, search = st.columns([3, 2, 2])
    kinds = left.multiselect(
        tr("bottlenecks.kind_filter"), list(FINDING_KINDS),
        default=st.session_state.get("bn_kinds_chosen", list(FINDING_KINDS)),
        key=f"bn_kinds_{language}",
        format_func=lambda k: t(f"bottlenecks.kind.{k}", language),
        placeholder=tr("widgets.choose"))
    scopes = right.multiselect(
        tr("bottlenecks.scope_filter"), list(FINDING_SCOPES),
        default=st.session_state.get("bn_scopes_chosen", list(FINDING_SCOPES)),
        key=f"bn_scopes_{language}",
        format_func=lambda s: t(f"bottlenecks.scope_{s}", language),
        placeholder=tr("widgets.choose"))
    st.session_state["bn_kinds_chosen"], st.session_state["bn_scopes_chosen"] = kinds, scopes
    # a step by its name in either language or as logged ("点钞", "count cash")
    search.text_input(tr("names.step_search"), key="bn_step_query",
                      placeholder=tr("names.step_search_hint"))
    return kinds, scopes


def pick_finding(shown: Sequence[Finding]) -> Finding:
    """The finding to show the evidence of, picked by its line in this run's language (a
    language switch gets a new widget, on the same finding)."""
    language = lang()
    previous = min(int(st.session_state.get("bn_picked", 0)), len(shown) - 1)
    choice = st.selectbox(tr("bottlenecks.drill_down"), range(len(shown)), index=previous,
                          key=f"bn_pick_{language}",
                          format_func=lambda i: f"{i + 1}. {finding_summary(shown[i], language)}",
                          placeholder=tr("widgets.no_options"))
    st.session_state["bn_picked"] = choice
    return shown[min(choice, len(shown) - 1)]


def chosen(found: Sequence[Finding], kinds: Sequence[str], scopes: Sequence[str],
           query: str | None = None) -> list[Finding]:
    """The findings of the kinds and scopes chosen, in their order (most time lost first),
    and of the step searched for (``query``, default the page's step search: a finding whose
    step's name in either language, or as logged, holds every word)."""
    query = str(st.session_state.get("bn_step_query") or "") if query is None else query
    return [f for f in found if f.kind in kinds and f.scope in scopes
            and (not query.strip() or (bool(f.activity) and step_matches(f.activity, query)))]


def who_label(f: Finding) -> str:
    """Whose finding, short: the teller (with their branch), the branch, or the whole bank."""
    if f.scope == "teller":
        return f"{f.teller_id} ({f.branch_id})"
    if f.scope == "type":
        return tr("bottlenecks.scope_type")
    return str(f.branch_id or "")


def type_label(code: str, baseline: Baseline) -> str:
    """A business type's code and name in the user's language (the code alone when the
    baseline does not know it)."""
    return f"{code} {baseline[code].name(lang())}" if code in baseline else code


def what_label(f: Finding, baseline: Baseline | None = None) -> str:
    """The business type and step of a finding, with the slice it holds in: "every business
    type, every step" for an overall finding, the type alone for a baseline review. The type
    by its code, or by code and name given the ``baseline``."""
    if not f.business_type:
        kind = tr("bottlenecks.every_type")
    else:
        kind = f.business_type if baseline is None else type_label(f.business_type, baseline)
    step = (step_label(f.activity) if f.activity else
            tr("bottlenecks.every_step") if f.kind != "baseline" else "")
    condition = f.condition_in(lang())
    return " · ".join(part for part in (kind, step, condition) if part)


def ratio_label(f: Finding) -> str:
    """The ratio with its 95% interval, e.g. "2.10 (1.85–2.40)"."""
    if f.ratio_ci is None:
        return f"{f.ratio:.2f}"
    low, high = f.ratio_ci
    return f"{f.ratio:.2f} ({low:.2f}–{high:.2f})"


def sop_label(f: Finding) -> str:
    return f"{f.sop} {f.sop_version} #{f.sop_step}" if f.sop else ""


def show_table(found: Sequence[Finding], marks: Sequence[str] | None = None) -> None:
    """The findings, most time lost first: kind, who, the type and step (with its slice), the
    ratio with its interval, whether times were inferred, teller hours a month, the finding's
    improvement item (``marks``, one per finding: its open item and status, verified, a
    regression) and the SOP step (the last column). Fitted to the page (``tables.show``):
    whether inferred and the SOP step on demand; the drill-down has the rest."""
    marks = list(marks) if marks is not None else [""] * len(found)
    names = {key: tr(key) for key in (
        "bottlenecks.rank", "bottlenecks.kind", "bottlenecks.who", "bottlenecks.what",
        "bottlenecks.ratio_ci", "bottlenecks.inferred", "bottlenecks.hours_short",
        "act.mark_column", "bottlenecks.sop_step")}
    frame = pd.DataFrame([{
        names["bottlenecks.rank"]: i + 1,
        names["bottlenecks.kind"]: kind_label(f.kind),
        names["bottlenecks.who"]: who_label(f),
        names["bottlenecks.what"]: what_label(f),
        names["bottlenecks.ratio_ci"]: ratio_label(f),
        names["bottlenecks.inferred"]: "✓" if f.inferred else "",
        names["bottlenecks.hours_short"]: round(f.monthly_teller_hours, 1),
        names["act.mark_column"]: marks[i],
        names["bottlenecks.sop_step"]: sop_label(f),
    } for i, f in enumerate(found)], columns=list(names.values()))
    config = {
        names["bottlenecks.rank"]: st.column_config.NumberColumn(width=40),
        names["bottlenecks.ratio_ci"]: st.column_config.TextColumn(
            help=tr("bottlenecks.ratio_ci_help")),
        names["bottlenecks.inferred"]: st.column_config.TextColumn(
            help=tr("bottlenecks.inferred_help")),
        names["bottlenecks.hours_short"]: st.column_config.NumberColumn(
            format="%.1f", help=tr("bottlenecks.hours_month")),
        names["act.mark_column"]: st.column_config.TextColumn(help=tr("act.mark_column_help")),
    }
    tables.show(frame, config, keys=[names["bottlenecks.what"]],
                extra=[names["bottlenecks.inferred"], names["bottlenecks.sop_step"]],
                extra_key="bn_table_all_columns")


def show_explanation(kind: str) -> None:
    """What a kind of finding means and what to do about it, in a box."""
    st.info(f"**{kind_label(kind)}** — {tr(f'bottlenecks.explain.{kind}')}\n\n"
            f"**{tr('bottlenecks.action')}:** {tr(f'bottlenecks.action.{kind}')}")


def show_kinds_help(found: Sequence[Finding], kinds: Sequence[str]) -> None:
    """Every kind chosen with its number of findings, what it means and what to do, folded
    away."""
    with st.expander(tr("bottlenecks.kinds_help")):
        for kind in kinds:
            label = tr("bottlenecks.option_count", label=kind_label(kind),
                       n=sum(f.kind == kind for f in found))
            st.markdown(f"**{label}** — {tr(f'bottlenecks.explain.{kind}')}  \n"
                        f"*{tr('bottlenecks.action')}:* {tr(f'bottlenecks.action.{kind}')}")


def _seconds_text(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return tr("bottlenecks.peer_none")
    return tr("bottlenecks.seconds_value", value=f"{value:,.0f}")


def show_facts(f: Finding, baseline: Baseline) -> None:
    """The finding's key figures: its ratio with the 95% interval, its reference (the standard
    for a baseline review, the peers' wait for a wait), the peer reference, the period the cost
    is over and the hours it costs; the business type by name, the slice it holds in and
    whether times were inferred."""
    cols = st.columns(4)
    interval = (tr("bottlenecks.ratio_interval", low=f"{f.ratio_ci[0]:.2f}",
                   high=f"{f.ratio_ci[1]:.2f}") if f.ratio_ci is not None else None)
    label = "bottlenecks.pace_metric" if f.kind == "overall" else "bottlenecks.ratio_metric"
    cols[0].metric(tr(label), tr("bottlenecks.ratio_value", value=f"{f.ratio:.2f}"),
                   delta=interval, delta_color="off", delta_arrow="off",
                   help=tr("bottlenecks.ratio_ci_help"))
    if f.kind == "baseline":
        cols[1].metric(tr("bottlenecks.standard_metric"), _seconds_text(f.reference_seconds))
    else:
        cols[1].metric(tr("bottlenecks.peer_metric"), _seconds_text(f.peer_seconds),
                       help=f.peer_basis_in(lang()) or None)
    if f.period_days > 0:
        cols[2].metric(tr("bottlenecks.period_metric"),
                       tr("bottlenecks.period_days", days=f"{f.period_days:,.0f}"),
                       help=tr("bottlenecks.period_months", months=f"{f.months:.2f}"))
    else:  # a finding that does not say its period: the months its cost is spread over
        cols[2].metric(tr("bottlenecks.period_metric"),
                       tr("bottlenecks.months_value", months=f"{f.months:.2f}"))
    cols[3].metric(tr("bottlenecks.hours_metric"), f"{f.monthly_teller_hours:,.1f}")
    lines = [tr("bottlenecks.test_line", cases=f"{f.cases:,}", steps=f"{f.steps:,}",
                q=f"{f.q_value:.1e}")]
    if f.business_type:
        lines.insert(0, type_label(f.business_type, baseline))
    if f.peer_seconds is not None and f.peer_basis:
        lines.append(tr("bottlenecks.peer_line", peer=f"{f.peer_seconds:,.0f}",
                        basis=f.peer_basis_in(lang())))
    if f.condition:
        lines.append(tr("bottlenecks.condition_only", condition=f.condition_in(lang())))
    st.caption(plain(" · ".join(lines)))
    if f.inferred:
        st.warning(tr("bottlenecks.inferred_note"), icon="⚠️")


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


def show_wait_metrics(finding: Finding, evidence: dict[str, Any]) -> None:
    """A wait finding's waits: the group's, the branch's and the bank's median wait before the
    step, and who was waited for where the log names them (another teller than the one
    waiting did the step: e.g. the supervisor who authorised)."""
    metrics = st.columns(4)
    wait = evidence.get("wait_before", {})
    branch = wait.get("branch_median_seconds", finding.branch_median_seconds)
    bank = wait.get("bank_median_seconds", finding.bank_median_seconds)
    metrics[0].metric(tr("bottlenecks.group_wait"), _seconds_text(finding.median_seconds))
    metrics[1].metric(tr("bottlenecks.branch_wait"), _seconds_text(branch))
    metrics[2].metric(tr("bottlenecks.bank_wait"), _seconds_text(bank))
    waited = evidence.get("waited_for") or (finding.evidence or {}).get("waited_for") or {}
    who = waited.get("teller_id")
    metrics[3].metric(tr("bottlenecks.waited_for"),
                      plain(who) if who else tr("bottlenecks.peer_none"))
    if who:
        st.caption(tr("bottlenecks.waited_for_steps", teller=plain(who),
                      steps=f"{int(waited.get('steps') or 0):,}", waits=f"{finding.steps:,}"))
    else:
        st.caption(tr("bottlenecks.waited_for_unknown"))


def show_metrics(finding: Finding, evidence: dict[str, Any]) -> None:
    """The group's, the branch's and the bank's median, and the group's rework rate against
    the bank's (a wait finding: its waits, :func:`show_wait_metrics`)."""
    if finding.kind == "wait":
        show_wait_metrics(finding, evidence)
        return
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
    tables.show(pd.DataFrame({
        "": [tr("bottlenecks.row_median"), tr("bottlenecks.row_wait"),
             tr("bottlenecks.row_rework")],
        **{name: [_seconds(comparison.get(f"{level}_median_seconds")),
                  _seconds(wait.get(f"{level}_median_seconds")),
                  _rate(rework.get(f"{level}_rate"))]
           for level, name in levels},
    }), room=tables.HALF)   # beside the window breakdown: half the page


def tellers_note(finding: Finding, shown: int, min_cases: int, period: str) -> str:
    """Which of a branch finding's tellers count (those with at least ``min_cases`` cases at the
    step, in ``period``), how many of them are slow, and how many the table shows."""
    if finding.tellers_eligible:
        return tr("bottlenecks.tellers_counted", min=min_cases, shown=shown,
                  flagged=len(finding.tellers_flagged), eligible=finding.tellers_eligible)
    return tr("bottlenecks.tellers_none_counted", min=min_cases, shown=shown, period=period)


def show_tellers(finding: Finding, evidence: dict[str, Any], min_cases: int,
                 period: str) -> None:
    """For a branch finding, the branch's tellers at the step, the slow ones marked, under the
    note of which of them count (:func:`tellers_note`)."""
    if finding.scope != "branch" or not evidence.get("tellers"):
        return
    st.markdown(f"**{tr('bottlenecks.tellers', branch=plain(finding.branch_id))}**")
    st.caption(tellers_note(finding, len(evidence["tellers"]), min_cases, period))
    tables.show(pd.DataFrame([{
        tr("table.teller_id"): row["teller_id"],
        tr("bottlenecks.steps"): row["steps"],
        tr("table.median_seconds"): None if row["median_seconds"] is None
        else round(row["median_seconds"], 1),
        tr("bottlenecks.flagged"): "✓" if row["flagged"] else "",
    } for row in evidence["tellers"]]))
