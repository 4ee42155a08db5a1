"""Spot checks (trainers, operations): record one (teller, SOP and the version in force, the
steps observed, done wrongly or skipped by their Chinese names, time taken, date, note); the
teller x SOP grid of what was checked and passed, failed, is due or was never checked; the due
list; who has acknowledged each SOP version, by branch."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

import pandas as pd
import streamlit as st

from procmine import (
    ProcmineError,
    SopVersion,
    Trainee,
    User,
    acknowledgement_status,
    acknowledgement_summary,
    add_spot_check,
    list_spot_checks,
    spot_check_grid,
    step_names,
)
from procmine.dashboard import data, session
from procmine.dashboard.components import sop_widgets, training_charts, training_tables
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import lang, tr

_STATES = training_charts.STATES


def _teller_label(roster: list[Trainee]) -> dict[str, str]:
    return {t.teller_id: f"{t.teller_id} ({t.branch_id or '–'})" for t in roster}


def _version(sop_id: str, branch: str | None, today: date) -> SopVersion | None:
    library = data.library()
    versions = library.approved_versions(sop_id)
    if not versions:
        return None
    in_force = library.in_force(sop_id, today, branch)
    by_commit = {v.commit: v for v in reversed(versions)}
    commits = list(by_commit)
    default = commits.index(in_force.commit) if in_force and in_force.commit in by_commit else 0
    commit = st.selectbox(tr("spot.version"), commits, index=default,
                          key=f"spot_version_{sop_id}",
                          format_func=lambda c: sop_widgets.version_label(by_commit[c]),
                          placeholder=tr("widgets.no_options"))
    return by_commit.get(commit) if commit else None


def _record(user: User, roster: list[Trainee], sop_ids: list[str], today: date) -> None:
    labels = _teller_label(roster)
    cols = st.columns(2)
    with cols[0]:
        teller = st.selectbox(tr("filters.teller"), list(labels), key="spot_teller",
                              format_func=lambda i: labels[i],
                              placeholder=tr("widgets.no_options"))
    library = data.library()
    with cols[1]:
        sop = sop_widgets.pick_sop([library.approved_versions(i)[-1].sop for i in sop_ids],
                                   key="spot_sop", label=tr("spot.sop"))
    if teller is None or sop is None:
        return
    branch = next((t.branch_id for t in roster if t.teller_id == teller), None)
    version = _version(sop.id, branch, today)
    if version is None:
        return
    names = step_names(version.sop)
    steps = [s.id for s in version.sop.steps]
    other = "en" if lang() == "en" else "zh"

    def name(step: str) -> str:   # the SOP's step number and name (two steps may share one)
        return f"{steps.index(step) + 1}. {names.get(step, {}).get(other, step)}"

    with st.form(f"spot_form_{sop.id}"):
        observed = st.multiselect(tr("spot.observed"), steps, default=steps, format_func=name,
                                  key=f"spot_observed_{version.commit}",
                                  placeholder=tr("widgets.choose"))
        cols = st.columns(2)
        wrong = cols[0].multiselect(tr("spot.wrong"), steps, format_func=name,
                                    key=f"spot_wrong_{version.commit}",
                                    placeholder=tr("spot.none_wrong"))
        skipped = cols[1].multiselect(tr("spot.skipped"), steps, format_func=name,
                                      key=f"spot_skipped_{version.commit}",
                                      placeholder=tr("spot.none_skipped"))
        cols = st.columns(2)
        seconds = cols[0].number_input(tr("spot.seconds"), min_value=0.0, value=None,
                                       step=10.0, key="spot_seconds")
        checked_on = cols[1].date_input(tr("spot.checked_on"), value=today, max_value=today,
                                        key="spot_checked_on")
        note = st.text_area(tr("spot.note"), key="spot_note")
        if not st.form_submit_button(tr("spot.record"), type="primary"):
            return
    try:
        check = add_spot_check(
            user=user, teller_id=teller, sop_id=sop.id, sop_version=version.sop.version,
            steps_observed=tuple(observed), steps_wrong=tuple(wrong),
            steps_skipped=tuple(skipped), seconds=seconds,
            checked_on=checked_on if isinstance(checked_on, date) else today, note=note,
            branch_id=branch, library=library)
    except ProcmineError as exc:
        st.error(plain(session.error(exc)))
        return
    st.success(tr("spot.recorded_passed" if check.passed else "spot.recorded_failed",
                  teller=plain(teller), sop=plain(sop.id)))


def _grid(roster: list[Trainee], sop_ids: list[str], today: date) -> pd.DataFrame:
    grid = spot_check_grid(roster, sop_ids, today=today)
    counts = {s: int((grid["state"] == s).sum()) for s in _STATES}
    st.caption(tr("spot.grid_caption", **counts))
    if not grid.empty:
        st.plotly_chart(training_charts.spot_grid(
            grid, {s: tr(f"spot.state.{s}") for s in _STATES}), width="stretch")
    return grid


def _acknowledgements(roster: list[Trainee], today: date) -> None:
    library = data.library()
    types = data.types_by_teller()   # kept per store version: a query of the log each run else
    summary = acknowledgement_summary(roster, library=library, store=data.store(), today=today,
                                      types=types)
    if summary.empty:
        st.caption(tr("spot.ack_none"))
        return
    training_tables.show(summary)
    status = acknowledgement_status(roster, library=library, store=data.store(), today=today,
                                    types=types)
    missing = status[status["acknowledged_at"].isna()]
    with st.expander(tr("spot.ack_missing", n=len(missing))):
        training_tables.show(missing, ["sop_id", "version", "branch_id", "teller_id"])


def _recent(user: User) -> None:
    checks = list_spot_checks(user=user)
    if not checks:
        st.caption(tr("spot.none"))
        return
    frame = pd.DataFrame([asdict(c) for c in checks])
    frame["passed"] = [tr("spot.state.passed" if p else "spot.state.failed")
                       for p in frame["passed"]]
    training_tables.show(frame, ["checked_on", "teller_id", "branch_id", "sop_id", "sop_version",
                                 "passed", "steps_wrong", "steps_skipped", "seconds", "checker",
                                 "note"])


user = session.guard(__file__)
st.title(tr("spot.title"))
today = date.today()
library = data.library()
roster = data.roster()
sop_ids = [i for i in library.ids() if library.approved_versions(i)]
if not roster or not sop_ids:
    st.info(tr("spot.nothing"))
    st.stop()
tabs = st.tabs([tr("spot.tab_record"), tr("spot.tab_grid"), tr("spot.tab_due"),
                tr("spot.tab_ack"), tr("spot.tab_list")])
with tabs[0]:
    _record(user, roster, sop_ids, today)
with tabs[1]:
    grid = _grid(roster, sop_ids, today)
with tabs[2]:
    due = grid[grid["state"].isin(["due", "failed"])].sort_values(
        ["due_on", "teller_id"], na_position="first")
    st.caption(tr("spot.due_caption", n=len(due)))
    due = due.assign(state=[tr(f"spot.state.{s}") for s in due["state"]])
    training_tables.show(due, ["teller_id", "branch_id", "sop_id", "last_checked_on", "due_on",
                               "state"])
with tabs[3]:
    _acknowledgements(roster, today)
with tabs[4]:
    _recent(user)
