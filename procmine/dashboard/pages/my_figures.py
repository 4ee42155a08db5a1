"""My figures (teller): one's own transactions against the standard times; one's rank in the
latest month's league (in the branch and the bank) and the speed index month by month; one's
slow steps; one's spot checks and paper results (a section drawn once opened, its title
counting them)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from procmine import (
    AttemptResult,
    Filters,
    SpotCheck,
    User,
    list_attempts,
    list_spot_checks,
)
from procmine.dashboard import data, session
from procmine.dashboard.components import (
    charts,
    filters,
    finding_widgets,
    period,
    sections,
    tables,
)
from procmine.dashboard.session import lang, tr


def _rank(teller_id: str) -> None:
    """The rank in the month chosen (the latest when the whole period is)."""
    months = data.months()
    if not months:
        return
    month = period.current() or months[0]
    league = data.league(month)
    mine = league[league["teller_id"] == teller_id]
    st.subheader(tr("my_figures.rank_title", month=period.label(month)))
    if mine.empty or not bool(mine["ranked"].iloc[0]):
        st.caption(tr("my_figures.not_ranked"))
        return
    row = mine.iloc[0]
    branch_size = int((league["branch_id"] == row["branch_id"]).sum())
    cols = st.columns(3)
    cols[0].metric(tr("my_figures.rank_branch"), f"{int(row['rank_in_branch'])} / {branch_size}")
    cols[1].metric(tr("my_figures.rank_bank"), f"{int(row['rank_overall'])} / {len(league)}")
    cols[2].metric(tr("my_figures.speed_index"), f"{row['speed_index_shrunk']:.2f}")


def _trend(teller_id: str) -> None:
    months = data.profile(teller_id, Filters(tellers=(teller_id,)))["months"]
    if months.empty:
        return
    st.subheader(tr("my_figures.trend"))
    st.plotly_chart(charts.speed_over_months(months, {
        "speed": tr("my_figures.speed_index"), "standard": tr("overview.standard_time")}),
        width="stretch", key="my_trend")


def _slow_steps(teller_id: str) -> None:
    st.subheader(tr("my_figures.slow_steps"))
    found = data.teller_findings(teller_id)
    if not found:
        st.caption(tr("my_figures.no_slow_steps"))
        return
    baseline = data.baseline()
    tables.show(pd.DataFrame([{
        tr("my_figures.kind"): finding_widgets.kind_label(f.kind),
        tr("bottlenecks.what"): finding_widgets.what_label(f, baseline),
        tr("table.median_seconds"): round(f.median_seconds, 1),
        tr("bottlenecks.reference"): round(f.reference_seconds, 1),
        tr("my_figures.sop_step"): f"{f.sop} #{f.sop_step}" if f.sop else "",
        tr("my_figures.scope"): tr(f"my_figures.scope_{f.scope}")} for f in found]))


def _training(user: User, teller_id: str, *, opened: bool = True) -> None:
    """One's spot checks and submitted papers: a section drawn once opened (its title counts
    them) below the figures, or in full (``opened``) when there are no figures."""
    checks = list_spot_checks(user=user, teller_id=teller_id)
    attempts = [a for a in list_attempts(user=user) if a.submitted_at is not None]
    if opened:
        _training_tables(checks, attempts)
        return
    sections.lazy(tr("my_figures.training", checks=len(checks), papers=len(attempts)),
                  "my_training_open", lambda: _training_tables(checks, attempts))


def _training_tables(checks: list[SpotCheck], attempts: list[AttemptResult]) -> None:
    st.subheader(tr("my_figures.spot_checks"))
    if not checks:
        st.caption(tr("my_figures.no_spot_checks"))
    else:
        tables.show(pd.DataFrame([{
            tr("spot.checked_on"): str(c.checked_on), tr("spot.sop"): c.sop_id,
            tr("spot.version"): c.sop_version,
            tr("my_figures.result"): tr("spot.state.passed" if c.passed else "spot.state.failed"),
            tr("spot.wrong"): ", ".join(c.steps_wrong),
            tr("spot.skipped"): ", ".join(c.steps_skipped),
            tr("spot.note"): c.note} for c in checks]))
    st.subheader(tr("my_figures.papers"))
    if not attempts:
        st.caption(tr("my_figures.no_papers"))
        return
    tables.show(pd.DataFrame([{
        tr("papers.paper_title"): a.title,
        tr("my_figures.submitted"): f"{a.submitted_at:%Y-%m-%d}",
        tr("take.score"): round(a.score or 0, 1),
        tr("take.passed"): tr("training.yes") if a.passed else tr("training.no"),
        tr("take.expert"): tr("training.yes") if a.expert else tr("training.no")}
        for a in attempts]))


user = session.guard(__file__)
st.title(tr("my_figures.title"))
if not user.teller_id:
    st.info(tr("my_figures.no_teller_id"))
    st.stop()
if data.store_info()["events"] == 0:
    st.info(tr("overview.empty_store"))
    _training(user, user.teller_id)
    st.stop()
chosen = filters.show("my_filters", fixed_teller=user.teller_id)
period.show_caption(period.current())
summary = data.summary(chosen)
me = data.tellers(chosen, min_transactions=1)
cols = st.columns(3)
cols[0].metric(tr("overview.transactions"), f"{summary['transactions']:,}")
cols[1].metric(tr("my_figures.errors"), f"{int(me['errors'].sum()) if len(me) else 0:,}")
cols[2].metric(tr("my_figures.speed_index"),
               f"{me['speed_index'].iloc[0]:.2f}" if len(me) else "–",
               help=tr("my_figures.speed_index_help"))
if summary["transactions"] == 0:
    st.warning(tr("overview.no_data_for_filters"))
else:
    baseline = data.baseline()
    types = data.business_types(chosen).copy()
    types["name"] = [f"{c} {baseline[c].name(lang())}" for c in types["business_type"]]
    st.subheader(tr("overview.actual_vs_standard"))
    st.plotly_chart(charts.actual_vs_standard(types, {
        "standard": tr("overview.standard_time"), "actual": tr("overview.actual_median"),
        "lost": tr("overview.time_lost"), "seconds": tr("units.seconds", value="")}),
        width="stretch")
_rank(user.teller_id)
_trend(user.teller_id)
_slow_steps(user.teller_id)
_training(user, user.teller_id, opened=False)
