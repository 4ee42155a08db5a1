"""Improvement register (operations, reviewers, branch managers, trainers; never a teller): what
was decided about each finding, by whom, by when, and whether it worked.

The register is first brought up to the data (items done re-measured, verified ones checked for
a regression: :func:`procmine.refresh_register`, once per store version), then filtered by review
group, status (the open ones at first), owner and due day; the counts on top are of every item
the user may see (a branch manager: their branch's, the library's rule). Each row opens the
item's page. The escalation report for the superior bank downloads as a workbook and as a
printable page in the interface language. Operations, reviewers and branch managers may open an
item on a slow-step finding from here too (the "act on this" buttons of the findings' pages do
the same).
"""

from __future__ import annotations

import functools
from datetime import date, timedelta

import streamlit as st

from procmine import (
    IMPROVEMENT_STATUSES,
    REVIEW_GROUPS,
    ImprovementItem,
    ProcmineError,
    User,
    escalated_items,
    scoped_findings,
    t,
)
from procmine.dashboard import data, session
from procmine.dashboard.components import improve_widgets as iw
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import lang, tr

_DUE = ("all", "overdue", "7", "30")


def _refresh() -> None:
    """Bring the register up to the data; say what changed, or why it could not."""
    try:
        report = data.refreshed_register()
    except ProcmineError as exc:
        st.warning(tr("improve.page.refresh_failed", message=plain(session.error(exc))))
        return
    if report.measured or report.regressions:   # what the data's last ingest changed
        st.caption(tr("improve.page.refreshed", measured=len(report.measured),
                   verified=len(report.verified), not_effective=len(report.not_effective),
                   regressions=len(report.regressions)))


def _counts(items: list[ImprovementItem], today: date) -> None:
    cols = st.columns(4)
    cols[0].metric(tr("improve.page.count_open"), sum(i.is_open for i in items))
    cols[1].metric(tr("improve.page.count_overdue"), sum(i.overdue(today) for i in items))
    cols[2].metric(tr("improve.page.count_verified"),
                   sum(i.status == "verified" for i in items))
    cols[3].metric(tr("improve.page.count_regressions"),
                   sum(i.regression is not None for i in items))


def _due(item: ImprovementItem, due: str, today: date) -> bool:
    if due == "all":
        return True
    if due == "overdue":
        return item.overdue(today)
    return (item.is_open and item.due_on is not None
            and today <= item.due_on <= today + timedelta(days=int(due)))


def _filtered(items: list[ImprovementItem], today: date) -> list[ImprovementItem]:
    """The filters (group, status, owner, due), the items that pass them."""
    cols = st.columns([2, 3, 2, 2])
    language = lang()   # the options are named in this run's language: widgets of its own
    group = cols[0].selectbox(tr("improve.page.filter_group"), [None, *REVIEW_GROUPS],
                              format_func=lambda g: iw.group_label(g, language) if g
                              else t("filters.all", language), key=iw.lang_key("improve_group"),
                              placeholder=tr("widgets.no_options"))
    statuses = cols[1].multiselect(
        tr("improve.page.filter_status"), list(IMPROVEMENT_STATUSES),
        default=st.session_state.get("improve_statuses_chosen", list(iw.OPEN_STATUSES)),
        format_func=functools.partial(iw.status_label, language=language),
        key=f"improve_statuses_{language}", placeholder=tr("widgets.choose"))
    st.session_state["improve_statuses_chosen"] = statuses
    owners = sorted({i.owner for i in items if i.owner})
    owner = cols[2].selectbox(tr("improve.page.filter_owner"), [None, *owners],
                              format_func=lambda o: o or t("filters.all", language),
                              key=iw.lang_key("improve_owner"),
                              placeholder=tr("widgets.no_options"))
    due = cols[3].selectbox(tr("improve.page.filter_due"), _DUE, key=iw.lang_key("improve_due"),
                            format_func=lambda d: t(f"improve.page.due.{d}", language),
                            placeholder=tr("widgets.no_options"))
    return [i for i in items
            if (group is None or i.review_group == group) and i.status in statuses
            and (owner is None or i.owner == owner) and _due(i, str(due), today)]


def _open_one(shown: list[ImprovementItem]) -> None:
    """Pick a row, open its page."""
    by_id = {i.id: i for i in shown}
    language = lang()
    cols = st.columns([4, 1], vertical_alignment="bottom")
    chosen = cols[0].selectbox(
        tr("improve.page.pick_item"), list(by_id), key=iw.lang_key("improve_pick"),
        format_func=lambda i: f"#{i} · {iw.status_label(by_id[i].status, language)} · "
                              f"{by_id[i].subject.summary_in(language)}",
        placeholder=tr("widgets.no_options"))
    if chosen is not None:
        cols[1].page_link(iw.ITEM_PAGE, label=tr("improve.page.open_item"),
                          icon=":material/open_in_new:", query_params={"item": str(chosen)})


def _report(items: list[ImprovementItem]) -> None:
    """The escalation report's downloads: the items the user may see decided as escalate
    (not rejected: :func:`procmine.escalated_items`)."""
    st.subheader(tr("improve.page.report"))
    escalated = escalated_items(items)
    if not escalated:
        st.caption(tr("improve.page.report_none"))
        return
    st.caption(tr("improve.page.report_caption", n=len(escalated)))
    language = lang()
    try:
        workbook = data.escalation_export(escalated, language, "xlsx")
        page = data.escalation_export(escalated, language, "html")
    except (ProcmineError, OSError) as exc:
        st.error(tr("improve.page.report_failed", message=plain(session.error(exc))))
        return
    left, right = st.columns(2)
    today = date.today().isoformat()
    left.download_button(
        tr("improve.page.download_excel"), workbook, file_name=f"escalation-{today}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="improve_report_xlsx", icon=":material/table_view:")
    right.download_button(tr("improve.page.download_html"), page,
                          file_name=f"escalation-{today}.html", mime="text/html",
                          key="improve_report_html", icon=":material/print:")


def _new_from_finding(user: User) -> None:
    """Open an item on one of the slow-step findings (scoped to the user's branch)."""
    if not st.toggle(tr("improve.page.new_from_finding"), key="improve_new"):
        return
    found = scoped_findings(user, data.sop_findings()) if data.store_info()["events"] else []
    if not found:
        st.info(tr("improve.page.no_findings"))
        return
    language = lang()
    index = st.selectbox(tr("improve.page.finding"), range(len(found)),
                         key=f"improve_new_finding_{language}",
                         format_func=lambda i: f"{i + 1}. {found[i].summary_in(language)}",
                         placeholder=tr("widgets.no_options"))
    finding = found[int(index or 0)]
    iw.open_item_form(data.subject_now(finding), default_group=None, key="improve_new_form",
                      user=user, expanded=True)


user = session.guard(__file__)
st.title(tr("improve.page.title"))
st.caption(tr("improve.page.caption"))
iw.show_flash()
_refresh()
today = date.today()
items = data.improvement_items(user)
_counts(items, today)
shown = _filtered(items, today)
if shown:
    st.caption(tr("improve.page.shown", n=len(shown),
                  hours=f"{sum(i.subject.hours_per_month for i in shown):.1f}"))
    iw.show_item_table(shown, today)
    _open_one(shown)
else:
    st.info(tr("improve.page.none"))
_report(items)
if user.role in ("operations", "reviewer", "branch_manager"):
    _new_from_finding(user)
