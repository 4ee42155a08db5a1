"""Papers (trainers, operations): build a paper from the active questions of chosen SOPs,
review groups and regulation areas (number of questions, time limit, pass and expert marks,
shuffled order, due date); the papers with their status and the tellers assigned; assign one to
tellers, branches or everyone; close it."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from procmine import (
    REGULATIONS,
    REVIEW_GROUPS,
    Paper,
    ProcmineError,
    User,
    assign_paper,
    build_paper,
    close_paper,
    list_papers,
)
from procmine.dashboard import data, session
from procmine.dashboard.components import tables
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import tr

_PICK = "papers_pick"


def _build(user: User) -> None:
    library = data.library()
    with st.form("papers_build"):
        title = st.text_input(tr("papers.paper_title"), key="papers_title")
        top = st.columns(3)
        sops = top[0].multiselect(tr("papers.sops"), library.ids(), key="papers_sops",
                                   placeholder=tr("papers.none_chosen"))
        groups = top[1].multiselect(tr("papers.groups"), REVIEW_GROUPS, key="papers_groups",
                                     placeholder=tr("papers.none_chosen"),
                                     format_func=lambda g: tr(f"review_groups.{g}"))
        regulations = top[2].multiselect(tr("papers.regulations"), REGULATIONS,
                                          key="papers_regulations",
                                          placeholder=tr("papers.none_chosen"),
                                          format_func=lambda r: tr(f"regulations.{r}"))
        rules = st.columns(4)
        count = rules[0].number_input(tr("papers.count"), 1, 200, 20, key="papers_count")
        minutes = rules[1].number_input(tr("papers.time_limit"), 1, 600, 30,
                                       key="papers_minutes")
        pass_mark = rules[2].number_input(tr("papers.pass_mark"), 0.0, 100.0, 60.0, 5.0,
                                         key="papers_pass")
        expert_mark = rules[3].number_input(tr("papers.expert_mark"), 0.0, 100.0, 90.0, 5.0,
                                           key="papers_expert")
        last = st.columns(2)
        shuffle = last[0].checkbox(tr("papers.shuffle"), True, key="papers_shuffle")
        due = last[1].date_input(tr("papers.due_on"), value=None, key="papers_due")
        if not st.form_submit_button(tr("papers.build"), type="primary"):
            return
    try:
        paper = build_paper(title=title.strip(), user=user, sops=tuple(sops),
                            groups=tuple(groups), regulations=tuple(regulations),
                            count=int(count), time_limit_minutes=int(minutes),
                            pass_mark=float(pass_mark), expert_mark=float(expert_mark),
                            shuffle=shuffle, due_on=due if isinstance(due, date) else None,
                            library=library)
    except ProcmineError as exc:
        st.error(plain(session.error(exc)))
        return
    st.session_state[_PICK] = paper.id   # the paper list opens on it (set before its widget)
    st.success(tr("papers.built", title=plain(paper.title), id=paper.id,
                  n=len(paper.questions)))


def _list(papers: list[Paper]) -> None:
    tables.show(pd.DataFrame([{
        tr("papers.id"): p.id, tr("papers.paper_title"): p.title,
        tr("papers.status"): tr(f"papers.state.{p.status}"),
        tr("papers.questions"): len(p.questions), tr("papers.assigned"): p.assigned,
        tr("papers.time_limit"): p.time_limit_minutes, tr("papers.pass_mark"): p.pass_mark,
        tr("papers.expert_mark"): p.expert_mark,
        tr("papers.due_on"): str(p.due_on) if p.due_on else "",
        tr("papers.created"): f"{p.created_at:%Y-%m-%d} {p.created_by}"} for p in papers]))


def _assign(paper: Paper, user: User) -> None:
    roster = data.roster()
    branches = sorted({t.branch_id for t in roster if t.branch_id})
    with st.form(f"papers_assign_{paper.id}"):
        everyone = st.checkbox(tr("papers.everyone", n=len(roster)), key="papers_everyone")
        cols = st.columns(2)
        chosen_branches = cols[0].multiselect(tr("filters.branch"), branches,
                                              key="papers_branches",
                                              placeholder=tr("papers.none_chosen"))
        tellers = cols[1].multiselect(
            tr("filters.teller"), [t.teller_id for t in roster], key="papers_tellers",
            placeholder=tr("papers.none_chosen"),
            format_func=lambda i: next(f"{t.teller_id} ({t.branch_id or '–'})"
                                       for t in roster if t.teller_id == i))
        if not st.form_submit_button(tr("papers.assign"), type="primary"):
            return
    try:
        n = assign_paper(paper.id, user=user, roster=roster, tellers=tuple(tellers),
                         branches=tuple(chosen_branches), everyone=everyone)
    except ProcmineError as exc:
        st.error(plain(session.error(exc)))
    else:
        st.success(tr("papers.assigned_to", n=n, title=plain(paper.title)))


def _detail(paper: Paper, user: User) -> None:
    st.caption(tr("papers.detail", status=tr(f"papers.state.{paper.status}"),
                  n=len(paper.questions), assigned=paper.assigned,
                  minutes=paper.time_limit_minutes, passing=f"{paper.pass_mark:g}",
                  expert=f"{paper.expert_mark:g}"))
    with st.expander(tr("papers.question_list", n=len(paper.questions))):
        tables.show(pd.DataFrame([{
            "#": n, tr("qbank.kind"): tr(f"quiz.kind.{q.kind}"), tr("qbank.topic"): q.topic,
            tr("qbank.stem"): q.stem} for n, q in enumerate(paper.questions, start=1)]))
    if paper.status == "closed":
        st.info(tr("papers.is_closed"))
        return
    st.markdown(f"**{tr('papers.assign_title')}**")
    _assign(paper, user)
    with st.popover(tr("papers.close")):
        st.caption(tr("papers.close_confirm"))
        closing = st.button(tr("papers.close_yes"), key=f"papers_close_{paper.id}",
                            type="primary")
    if closing:
        try:
            close_paper(paper.id, user=user)
        except ProcmineError as exc:
            st.error(plain(session.error(exc)))
        else:
            st.rerun()


user = session.guard(__file__)
st.title(tr("papers.title"))
with st.expander(tr("papers.build_title"), expanded=False):
    _build(user)
papers = list_papers()
if not papers:
    st.info(tr("papers.empty"))
    st.stop()
st.subheader(tr("papers.list"))
_list(papers)
by_id = {p.id: p for p in papers}
ids = list(by_id)
if st.session_state.get(_PICK) not in by_id:
    st.session_state.pop(_PICK, None)
chosen = st.selectbox(tr("papers.pick"), ids, key=_PICK,
                      format_func=lambda i: f"#{i} {by_id[i].title} · "
                      f"{tr(f'papers.state.{by_id[i].status}')}",
                      placeholder=tr("widgets.no_options"))
if chosen is not None:
    _detail(by_id[chosen], user)
