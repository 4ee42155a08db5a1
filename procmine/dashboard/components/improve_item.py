"""The improvement item page's reading parts: the heading with its status, overdue and
regression banners, the frozen evidence (a finding's, a shortfall's or a deviation from the
SOP's figures as they were when the item was opened; a deviation's with its transactions), the
decision and who owns it, the links, the history, and the before and after once re-measured."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from procmine import Finding, ImprovementItem, Subject, User, finding_of, history_note
from procmine.dashboard import data
from procmine.dashboard.components import finding_widgets, sections, tables
from procmine.dashboard.components import improve_widgets as iw
from procmine.dashboard.components.names import step_label
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import lang, tr

__all__ = ["show_details", "show_effect", "show_evidence", "show_header", "show_history",
           "show_links"]

_UNITS = {"step": "seconds", "wait": "seconds", "revision_effect": "seconds", "pace": "ratio",
          "standard": "ratio", "service_level": "share", "deviation_rate": "rate"}
#: The transactions of a deviation the page lists.
_CASES_SHOWN = 50


def show_header(item: ImprovementItem, today: date) -> None:
    st.subheader(plain(tr("improve.item.heading", id=item.id,
                          summary=item.subject.summary_in(lang()))))
    iw.status_badge(item)
    if item.overdue(today) and item.due_on is not None:
        st.warning(tr("improve.item.overdue", days=iw.overdue_days(item, today),
                      due=item.due_on.isoformat()), icon=":material/schedule:")
    if item.regression is not None:
        text = item.regression.get("text") or ""
        text = text.get(lang(), "") if isinstance(text, dict) else text
        at = item.regression_at.date().isoformat() if item.regression_at else ""
        st.error(tr("improve.item.regression", at=at, text=plain(text)),
                 icon=":material/trending_up:")


def _seconds(value: Any) -> str:
    if not isinstance(value, int | float) or not math.isfinite(value):
        return tr("improve.item.none_value")
    return tr("improve.fig.seconds", value=f"{value:,.0f}")


def _finding_evidence(item: ImprovementItem) -> None:
    finding = finding_of(item.subject)
    cols = st.columns(5)
    interval = (f"{finding.ratio_ci[0]:.2f}–{finding.ratio_ci[1]:.2f}"
                if finding.ratio_ci is not None else None)
    cols[0].metric(tr("improve.fig.ratio"), f"{finding.ratio:.2f}", delta=interval,
                   delta_color="off", delta_arrow="off", help=tr("improve.fig.ratio_ci"))
    cols[1].metric(tr("improve.fig.median"), _seconds(finding.median_seconds))
    cols[2].metric(tr("improve.fig.reference"), _seconds(finding.reference_seconds))
    cols[3].metric(tr("improve.fig.cases"), f"{finding.cases:,}")
    cols[4].metric(tr("improve.fig.hours"), f"{item.subject.hours_per_month:,.1f}")
    st.caption(plain(" · ".join((finding_widgets.kind_label(finding.kind),
                                 finding_widgets.who_label(finding),
                                 finding_widgets.what_label(finding, data.baseline())))))


def _shortfall_evidence(item: ImprovementItem) -> None:
    figures = item.subject.figures
    cols = st.columns(4)
    cols[0].metric(tr("improve.fig.branch"), plain(figures.get("branch_id")))
    weekday = figures.get("weekday")
    cols[1].metric(tr("improve.fig.weekday"),
                   tr(f"improve.weekday.{weekday}") if weekday else "")
    cols[2].metric(tr("improve.fig.window"), f"{figures.get('start')}–{figures.get('end')}")
    cols[3].metric(tr("improve.fig.counters"), str(figures.get("counters", "")))


def _pct(value: Any) -> str:
    if not isinstance(value, int | float) or not math.isfinite(value):
        return tr("improve.item.none_value")
    return f"{value:.1%}"


def _deviation_evidence(item: ImprovementItem) -> None:
    """A deviation from the SOP: its kind, the step (the SOP's name, else the glossary's), the
    rate against the other tellers', the transactions, and the transactions' ids."""
    figures = item.subject.figures
    step = step_label(figures.get("activity") or "")  # the glossary's, for an extra step
    if lang() == "zh-CN" and figures.get("step_name_zh"):
        step = str(figures["step_name_zh"])
    cols = st.columns(4)
    cols[0].metric(tr("improve.fig.deviation"),
                   tr(f"improve.deviation.{figures.get('deviation')}"))
    cols[1].metric(tr("improve.fig.step"), plain(step))
    peer = figures.get("peer_rate") if figures.get("scope") == "teller" else None
    cols[2].metric(tr("improve.fig.rate"), _pct(figures.get("rate")),
                   delta=tr("improve.fig.peer_rate", rate=_pct(peer)) if peer is not None
                   else None, delta_color="off", delta_arrow="off")
    cols[3].metric(tr("improve.fig.deviating"),
                   f"{figures.get('deviating', 0):,} / {figures.get('cases', 0):,}")
    who = (tr("improve.fig.who_teller", teller=plain(figures.get("teller_id")),
              branch=plain(figures.get("branch_id")))
           if figures.get("scope") == "teller" else tr("improve.fig.who_bank"))
    flags = [tr("improve.fig.control")] if figures.get("control") else []
    st.caption(plain(" · ".join([who, str(figures.get("business_type") or ""),
                                 str(figures.get("sop") or ""), *flags])))
    case_ids = [str(c) for c in figures.get("case_ids") or []]
    if case_ids:
        with st.expander(tr("improve.fig.case_ids", n=len(case_ids))):
            st.markdown(plain("、".join(case_ids[:_CASES_SHOWN]) if lang() == "zh-CN"
                              else ", ".join(case_ids[:_CASES_SHOWN])))


def show_evidence(item: ImprovementItem) -> None:
    """The frozen figures: the key ones as metrics, every one in a table folded away."""
    st.markdown(f"**{tr('improve.item.evidence')}**")
    subject = item.subject
    if subject.source == "finding":
        _finding_evidence(item)
    elif subject.source == "conformance":
        _deviation_evidence(item)
    else:
        _shortfall_evidence(item)
    st.caption(tr("improve.item.as_of",
                  date=subject.as_of.isoformat() if subject.as_of else "",
                  version=plain(subject.store_version), who=plain(item.created_by),
                  at=f"{item.created_at:%Y-%m-%d %H:%M}"))
    with st.expander(tr("improve.item.evidence")):
        rows = [{tr("improve.evidence.field"): _field_label(k),
                 tr("improve.evidence.value"): _field_value(k, v, subject)}
                for k, v in subject.figures.items()
                if not isinstance(v, dict | list) and k not in _IN_OTHER_ROWS]
        tables.show(pd.DataFrame(rows))


# frozen figures shown within another row (the peer basis's code and count: in its words)
_IN_OTHER_ROWS = frozenset({"peer_basis_code", "peer_basis_count"})


def _field_label(name: str) -> str:
    """A frozen figure's name in the user's language (its own name when the catalogue has
    none: a figure of a kind added later still shows)."""
    label = tr(f"improve.evidence.f.{name}")
    return name if label == f"improve.evidence.f.{name}" else label


def _field_value(name: str, value: Any, subject: Subject) -> str:
    """A frozen figure as the table shows it: yes or no, the summary, the kind, the scope and
    the reference's source in the user's language, the rest as it was frozen."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return tr("improve.evidence.yes" if value else "improve.evidence.no")
    if name == "summary":
        return subject.summary_in(lang())
    if name == "kind" and subject.source == "finding":
        return finding_widgets.kind_label(str(value))
    if name == "scope" and subject.source == "finding":
        return finding_widgets.scope_label(str(value))
    if name == "peer_basis":  # in the user's language where the finding has its code
        figures = subject.figures
        return Finding.peer_basis_text(str(figures.get("peer_basis_code") or ""),
                                       int(figures.get("peer_basis_count") or 0), lang(),
                                       str(value))
    if name == "reference_source":
        return _field_label(f"source_{str(value).replace(' ', '_')}")
    return str(value)


def show_details(item: ImprovementItem) -> None:
    st.markdown(f"**{tr('improve.item.details')}**")
    none = tr("improve.item.none_value")
    lines = [
        ("improve.item.decision", iw.decision_label(item.decision)
         or tr("improve.item.undecided")),
        ("improve.item.reason", plain(item.decision_reason) or none),
        ("improve.item.cause", iw.cause_label(item.cause)),
        ("improve.item.proposed_change", plain(item.proposed_change) or none),
        ("improve.item.branch_action", plain(item.branch_action) or none),
        ("improve.item.group", iw.group_label(item.review_group)),
        ("improve.item.owner", plain(item.owner) or none),
        ("improve.item.due", item.due_on.isoformat() if item.due_on else none),
        ("improve.item.changed_on", item.changed_on.isoformat() if item.changed_on else none),
    ]
    left, right = st.columns(2)
    for i, (key, value) in enumerate(lines):
        (left if i < 5 else right).markdown(f"{tr(key)}：{value}" if lang() == "zh-CN"
                                            else f"{tr(key)}: {value}")


def show_links(user: User, item: ImprovementItem) -> None:
    st.markdown(f"**{tr('improve.item.links')}**")
    if not item.links:
        st.caption(tr("improve.item.no_links"))
    for link in item.links:
        st.markdown("- " + tr("improve.item.link_line", kind=tr(f"improve.link.{link.kind}"),
                              ref=plain(link.ref), who=plain(link.added_by),
                              at=f"{link.at:%Y-%m-%d}"))
    revision = item.sop_revision()
    if revision is not None and iw.can_open_page(user, "sop_history.py"):
        st.page_link(iw.page_path("sop_history.py"), icon=":material/history:",
                     label=tr("improve.item.sop_history", sop=plain(revision[0])))


def show_history(item: ImprovementItem) -> None:
    """The item's history, in a section drawn when it is opened (a record to consult, below
    the actions: its table is a tenth of a second of the page's drawing)."""
    sections.lazy(tr("improve.item.history_count", n=len(item.events)), "item_history",
                  lambda: _history_table(item))


def _history_table(item: ImprovementItem) -> None:
    names = {k: tr(f"improve.hist.{k}") for k in ("at", "who", "action", "from", "to", "note")}
    frame = pd.DataFrame([{
        names["at"]: f"{e.at:%Y-%m-%d %H:%M}", names["who"]: e.username,
        names["action"]: tr(f"improve.action.{e.action}"),
        names["from"]: iw.status_label(e.from_status) if e.from_status else "",
        names["to"]: iw.status_label(e.to_status) if e.to_status else "",
        names["note"]: history_note(e.note_in(lang()), lang()),
    } for e in reversed(item.events)], columns=list(names.values()))
    tables.show(frame)


def show_effect(item: ImprovementItem) -> None:
    """Before and after: the chart and the verdict once measured, else what it waits for."""
    st.markdown(f"**{tr('improve.item.effect')}**")
    m = item.measurement
    if m is None:
        if item.changed_on is not None:
            st.info(tr("improve.item.awaiting", date=item.changed_on.isoformat()))
        else:
            st.caption(tr("improve.item.not_done"))
        return
    unit = _UNITS.get(str(m.get("method")), "seconds")
    reference = {"seconds": item.subject.figures.get("reference_seconds"), "ratio": 1.0,
                 "rate": item.subject.figures.get("peer_rate")}.get(unit)
    shown = _pct(reference) if unit == "rate" else f"{reference or 0:,.0f}"
    labels = {"reference": tr(f"improve.chart.reference_{unit}", seconds=shown),
              "axis": tr(f"improve.chart.axis_{unit}")}
    if isinstance(m.get("before"), dict) and isinstance(m.get("after"), dict):
        st.plotly_chart(iw.effect_chart(m, reference if isinstance(reference, int | float)
                                        else None, labels), width="stretch")
    verdict = m.get("verdict")
    text = m.get("text") or {}
    if isinstance(text, dict):
        st.markdown(plain(text.get(lang()) or text.get("en") or ""))
    p_value, change = m.get("p_value"), m.get("change")
    line = tr("improve.item.verdict_line",
              verdict=tr(f"improve.verdict.{verdict or 'none'}"),
              before=(m.get("before") or {}).get("n", 0), after=(m.get("after") or {}).get("n", 0),
              change=f"{change:+.1%}" if isinstance(change, int | float) else "–",
              p=f"{p_value:.3g}" if isinstance(p_value, int | float) else "–")
    (st.success if verdict == "verified" else st.warning if verdict else st.info)(line)
    if verdict is None and item.changed_on is not None:
        st.caption(tr("improve.item.awaiting", date=item.changed_on.isoformat()))
    st.caption(tr("improve.item.method", method=plain(m.get("method")),
                  date=plain(m.get("measured_through"))))
