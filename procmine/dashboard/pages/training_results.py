"""Training results (trainers, operations; reviewers read): participation and expert rates of a
paper, by branch and by month, against the targets (100% and 98% unless changed); expert targets
met per person; the item analysis of a paper; each teller's weak SOP steps beside their slow
steps and spot checks (the loop); the tellers to re-test after a new SOP version; the targets."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from procmine import (
    Paper,
    ProcmineError,
    TrainingTargets,
    User,
    expert_targets,
    item_analysis,
    list_attempts,
    list_papers,
    list_spot_checks,
    monthly_rates,
    paper_results,
    retest_list,
    set_training_target,
    training_targets,
    weak_steps,
)
from procmine.dashboard import data, session
from procmine.dashboard.components import sop_widgets, training_charts, training_tables
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import tr

_RATES = ("participation", "expert_rate")


def _pct(value: float | None) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.1%}"


def _rate_labels() -> dict[str, str]:
    return {"participation": tr("results.participation"),
            "expert_rate": tr("results.expert_rate")}


def _chart(frame: pd.DataFrame, by: str, targets: TrainingTargets) -> None:
    rates = {c: label for c, label in _rate_labels().items() if c in frame.columns}
    if frame.empty or not rates:
        return
    st.plotly_chart(training_charts.rates_against_targets(
        frame, by, rates, {"participation": targets.participation, "expert_rate": targets.expert},
        {"target": tr("results.target")}), width="stretch")


def _paper(paper_id: int, user: User, targets: TrainingTargets) -> None:
    results = paper_results(paper_id, user=user)
    cols = st.columns(4)
    cols[0].metric(tr("results.participated"), f"{results.participated} / {results.assigned}")
    cols[1].metric(tr("results.participation"), _pct(results.participation),
                   delta=tr("results.vs_target", target=_pct(targets.participation)),
                   delta_color="off", delta_arrow="off")
    cols[2].metric(tr("results.expert_rate"), _pct(results.expert_rate),
                   delta=tr("results.vs_target", target=_pct(targets.expert)),
                   delta_color="off", delta_arrow="off")
    cols[3].metric(tr("results.pass_rate"), _pct(results.pass_rate))
    st.markdown(f"**{tr('results.by_branch')}**")
    _chart(results.by_branch, "branch_id", targets)
    training_tables.show(results.by_branch)
    with st.expander(tr("results.by_teller")):
        training_tables.show(results.by_teller, [c for c in results.by_teller.columns
                                                 if c != "paper_id"])
    st.markdown(f"**{tr('results.items')}**")
    st.caption(tr("results.items_caption"))
    items = item_analysis(paper_id, user=user)
    items["kind"] = [tr(f"quiz.kind.{k}") for k in items["kind"]]
    training_tables.show(items, ["position", "kind", "stem", "answered", "difficulty",
                                 "discrimination", "choice_counts"])


def _months(papers: list[Paper], targets: TrainingTargets) -> None:
    # a paper counts in the month it is due (the month it was built when it has no due date)
    months = sorted({f"{p.due_on or p.created_at.date():%Y-%m}" for p in papers}, reverse=True)
    if not months:
        st.info(tr("papers.empty"))
        return
    month = st.selectbox(tr("announcement.month"), months, key="results_month",
                         placeholder=tr("widgets.no_options"))
    frame = monthly_rates(month)
    frame["branch_id"] = [tr("results.bank") if b == "all" else b for b in frame["branch_id"]]
    _chart(frame, "branch_id", targets)
    training_tables.show(frame)
    year = int(month[:4])
    heading = tr("results.expert_targets", year=year, n=targets.expert_targets_per_person)
    st.markdown(f"**{heading}**")
    people = expert_targets(year, roster=data.roster())
    met = int(people["met"].sum()) if len(people) else 0
    st.caption(tr("results.expert_targets_met", met=met, n=len(people)))
    training_tables.show(people)


def _loop(user: User) -> None:
    roster = data.roster()
    ids = [t.teller_id for t in roster]
    if not ids:
        return
    teller = st.selectbox(tr("filters.teller"), ids, key="results_teller",
                          placeholder=tr("widgets.no_options"))
    weak = weak_steps(teller, user=user)
    st.markdown(f"**{tr('results.weak_steps')}**")
    if weak.empty:
        st.caption(tr("results.no_weak_steps"))
    else:
        training_tables.show(weak)
    try:
        stamp = f"{len(list_attempts(user=user, teller_id=teller))}-" \
                f"{len(list_spot_checks(user=user, teller_id=teller))}"
    except ProcmineError:  # a role that may not read them gets the loop as cached
        stamp = ""
    st.markdown(f"**{tr('results.loop')}**")
    st.caption(tr("results.loop_caption"))
    loop = data.loop(teller, stamp)
    if loop.empty:
        st.caption(tr("results.loop_empty"))
    else:
        training_tables.show(loop)


def _retest() -> None:
    library = data.library()
    revised = [i for i in library.ids() if len(library.approved_versions(i)) > 1]
    if not revised:
        st.caption(tr("results.no_revisions"))
        return
    chosen = sop_widgets.pick_sop([library.approved_versions(i)[-1].sop for i in revised],
                                  key="results_retest_sop")
    if chosen is None:
        return
    versions = library.approved_versions(chosen.id)
    old, new = versions[-2], versions[-1]
    st.caption(tr("results.retest_caption", old=old.sop.version, new=new.sop.version))
    frame = retest_list(old.sop, new.sop)
    if frame.empty:
        st.caption(tr("results.retest_none"))
    else:
        training_tables.show(frame)


def _targets_form(user: User, targets: TrainingTargets) -> None:
    with st.form("results_targets"):
        cols = st.columns(4)
        participation = cols[0].number_input(tr("results.target_participation"), 0.0, 100.0,
                                             100 * targets.participation, 1.0)
        expert = cols[1].number_input(tr("results.target_expert"), 0.0, 100.0,
                                      100 * targets.expert, 1.0)
        per_person = cols[2].number_input(tr("results.target_per_person"), 0, 50,
                                          int(targets.expert_targets_per_person))
        interval = cols[3].number_input(tr("results.target_interval"), 1, 730,
                                        int(targets.spot_check_interval_days))
        if not st.form_submit_button(tr("results.save_targets")):
            return
    try:
        for name, value in (("participation", participation / 100), ("expert", expert / 100),
                            ("expert_targets_per_person", int(per_person)),
                            ("spot_check_interval_days", int(interval))):
            set_training_target(name, value, user=user)
    except ProcmineError as exc:
        st.error(plain(session.error(exc)))
    else:
        st.rerun()


user = session.guard(__file__)
st.title(tr("results.title"))
targets = training_targets()
st.caption(tr("results.targets_line", participation=_pct(targets.participation),
              expert=_pct(targets.expert), n=targets.expert_targets_per_person,
              days=targets.spot_check_interval_days))
papers = list_papers()
tabs = st.tabs([tr("results.tab_paper"), tr("results.tab_month"), tr("results.tab_loop"),
                tr("results.tab_retest"), tr("results.tab_targets")])
with tabs[0]:
    if not papers:
        st.info(tr("papers.empty"))
    else:
        by_id = {p.id: p for p in papers}
        ids = sorted(by_id, reverse=True)   # the newest first
        paper_id = st.selectbox(tr("papers.pick"), ids, key="results_paper",
                                format_func=lambda i: f"#{i} {by_id[i].title}",
                                placeholder=tr("widgets.no_options"))
        if paper_id is not None:
            _paper(paper_id, user, targets)
with tabs[1]:
    _months(papers, targets)
with tabs[2]:
    _loop(user)
with tabs[3]:
    _retest()
with tabs[4]:
    if user.role in ("trainer", "operations"):
        _targets_form(user, targets)
    else:
        st.caption(tr("results.targets_read_only"))
