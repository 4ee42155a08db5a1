"""The Conformance page's findings: each deviation worth acting on
(:func:`procmine.deviation_findings`) in the user's language, with its figures, its review group
and the "act on this" control that opens an improvement item on its frozen evidence
(:func:`procmine.deviation_subject`, through :func:`improve_marks.act_control` and so
:func:`improve_widgets.open_item_form`, the default group the finding's review group: the
compliance group for a skipped control step, else the SOP's owner group).

Which findings a user sees is decided here on the server: :func:`visible_findings` keeps a
branch manager's branch (a teller of another branch, and the bank-wide findings, whose
transactions are every branch's, are left out) and narrows to the branch or teller picked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import streamlit as st

from procmine import (
    DeviationFinding,
    ImprovementItem,
    User,
    branch_scope,
    deviation_subject,
)
from procmine.dashboard.components import improve_marks
from procmine.dashboard.components.improve_widgets import group_label
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import lang, tr

__all__ = ["kind_label", "show_findings", "visible_findings"]

#: The findings listed at first (the rest behind "show all").
SHOWN: int = 10


def kind_label(kind: str) -> str:
    """A deviation kind's display name (skipped, extra, rework, order)."""
    return tr(f"conformance.kind.{kind}")


def visible_findings(user: User, found: Sequence[DeviationFinding], *, branch: str | None,
                     teller: str | None) -> list[DeviationFinding]:
    """The findings ``user`` may see, of the ``branch`` and ``teller`` picked (None: all), in
    their order. A branch manager sees their branch's tellers only."""
    scope = branch_scope(user)
    mine = [f for f in found if scope is None or (f.scope == "teller" and f.branch_id == scope)]
    if teller:
        return [f for f in mine if f.teller_id == teller]
    if branch:
        return [f for f in mine if f.branch_id == branch or f.scope == "bank"]
    return mine


def _facts(finding: DeviationFinding) -> str:
    parts = [tr("conformance.finding_kind", kind=kind_label(finding.kind)),
             tr("conformance.finding_group", group=group_label(finding.review_group)),
             tr("conformance.finding_sop", sop=plain(finding.sop))]
    if finding.seconds:
        parts.append(tr("conformance.finding_minutes", minutes=f"{finding.seconds / 60:,.1f}"))
    if (finding.scope == "teller" and not finding.control_risk
            and finding.p_value == finding.p_value):
        parts.append(tr("conformance.finding_p", p=f"{finding.p_value:.2g}"))
    return " · ".join(parts)


def show_findings(found: Sequence[DeviationFinding], *, user: User, as_of: date | None,
                  store_version: str, items: Sequence[ImprovementItem]) -> None:
    """Each finding in a box: its summary, its facts, its transactions and the act control
    (the finding's open item when it has one). The first :data:`SHOWN`, or all on request."""
    if not found:
        st.success(tr("conformance.no_findings"))
        return
    every = len(found) <= SHOWN or st.toggle(tr("conformance.show_all", n=len(found)),
                                             key="conf_all_findings")
    language = lang()
    for number, finding in enumerate(found if every else found[:SHOWN], start=1):
        with st.container(border=True):
            icon = ":red[:material/warning:] " if finding.control_risk else ""
            st.markdown(f"**{number}.** {icon}{plain(finding.summary_in(language))}")
            st.caption(_facts(finding))
            shown = ", ".join(finding.case_ids[:8])
            more = len(finding.case_ids) - 8
            st.caption(tr("conformance.finding_cases", cases=plain(shown))
                       + (tr("conformance.finding_more", n=more) if more > 0 else ""))
            subject = deviation_subject(finding, as_of=as_of, store_version=store_version)
            improve_marks.act_control(
                subject, user=user, group=finding.review_group,
                mark=improve_marks.subject_mark(subject.key, items), key=f"conf_act_{number}")
