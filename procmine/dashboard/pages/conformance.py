"""Conformance 流程符合性 (operations, reviewers; a branch manager for their branch): each
transaction against the SOP version in force on its day at its branch. The headline figures
(checked, conforming, mean fitness, transactions with a skipped control step, unchecked), the
findings to act on (each with its "act on this" button), the deviations ranked by occurrences
with their time, the fitness per teller, branch and type against the bank's, and one deviating
transaction beside its SOP. "Control steps only" narrows the page to the compliance group's
view: the skipped control steps with their transactions, downloadable as CSV.

A branch manager's figures are their branch's (the pickers offer it alone and check it on the
server); of the findings they see their own tellers'; the bank's fitness reaches them as a
line, an aggregate. Tellers do not open the page.
"""

from __future__ import annotations

import streamlit as st

from procmine import Filters
from procmine.dashboard import data, data_maps, session
from procmine.dashboard.components import (
    conformance_case,
    conformance_findings,
    conformance_tables,
    map_filters,
)
from procmine.dashboard.session import tr

user = session.guard(__file__)
st.title(tr("conformance.title"))
st.caption(tr("conformance.intro"))
if data.store_info()["events"] == 0:
    st.info(tr("overview.empty_store"))
    st.stop()
choice = map_filters.show("conf", user, every_type=True)
if choice is None:
    st.info(tr("overview.no_data_for_filters"))
    st.stop()
code = choice.business_type or None
chosen = choice.filters
period = Filters(start=chosen.start, end=chosen.end)
with st.spinner(tr("conformance.computing")):
    report = data_maps.conformance_of(code, chosen)
    whole = data_maps.conformance_of(code, period)   # findings judge tellers against all peers
    found = data_maps.deviation_findings_of(code, period)
if report.cases == 0:
    st.info(tr("conformance.nothing_checked", unchecked=f"{report.unchecked:,}"))
    st.stop()

bank_row = report.level("bank").iloc[0]
cells = st.columns(5)
cells[0].metric(tr("conformance.checked"), f"{report.cases:,}")
cells[1].metric(tr("conformance.conforming"), f"{report.conformance_rate:.1%}")
cells[2].metric(tr("conformance.mean_fitness"), f"{report.fitness:.3f}")
cells[3].metric(tr("conformance.control_risk_cases"), f"{int(bank_row['control_risk_cases']):,}")
cells[4].metric(tr("conformance.unchecked"), f"{report.unchecked:,}",
                help=tr("conformance.unchecked_help"))
sops = sorted({m.key for m in report.models.values()})
st.caption(tr("conformance.sops", sops=", ".join(sops)))

controls_only = st.toggle(tr("conformance.controls_only"), key="conf_controls_only",
                          help=tr("conformance.controls_only_help"))
branch = chosen.branches[0] if chosen.branches else None
teller = chosen.tellers[0] if chosen.tellers else None
shown = conformance_findings.visible_findings(user, found, branch=branch, teller=teller)
if controls_only:
    shown = [f for f in shown if f.control_risk]
st.subheader(tr("conformance.findings", n=len(shown)))
month = f"{chosen.start:%Y-%m}" if chosen.start is not None else None
conformance_findings.show_findings(
    shown, user=user, as_of=data.as_of(month), store_version=data.store().version(),
    items=data.improvement_items(user))

if controls_only:
    conformance_tables.show_controls(report)
    cases = conformance_tables.control_frame(report)["case_id"].drop_duplicates().tolist()
else:
    conformance_tables.show_ranked(report)
    bank = whole.level("bank").iloc[0]
    conformance_tables.show_fitness(report, {"fitness": float(bank["fitness"]),
                                             "conformance_rate": float(bank["conformance_rate"])})
    cases = sorted(report.deviations["case_id"].astype(str).unique())
conformance_case.show_case(report, cases)
