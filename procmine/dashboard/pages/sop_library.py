"""SOP library (operations, reviewers, trainers): the SOPs with search and filters, the ones due
for review, the coverage of the logs (operations), and the SOP chosen (or the only one the
search leaves), its document with each step's standard time and findings beside it."""

from __future__ import annotations

from datetime import date

import streamlit as st

from procmine import REVIEW_GROUPS, STATUSES
from procmine.dashboard import data, session
from procmine.dashboard.components import columns, names, sop_tables, sop_widgets, tables
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import tr

DUE_DAYS = 30

user = session.guard(__file__)
st.title(tr("sops.title"))
library = data.library()
latest = library.latest()
if not latest:
    st.info(tr("sops.empty"))
    st.stop()
today = date.today()
in_force = {sop_id: library.approved(sop_id) for sop_id in latest}
due = {v.sop.id for v in library.due_for_review(today, DUE_DAYS)}

cols = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
query = cols[0].text_input(tr("sops.search"), key="sops_search")
groups = cols[1].multiselect(tr("sops.group"), REVIEW_GROUPS, key="sops_groups",
                             placeholder=tr("filters.all"),
                             format_func=lambda g: tr(f"review_groups.{g}"))
statuses = cols[2].multiselect(tr("sops.status"), STATUSES, key="sops_statuses",
                               placeholder=tr("filters.all"),
                               format_func=lambda s: tr(f"sop_status.{s}"))
due_only = cols[3].checkbox(tr("sops.due_only", days=DUE_DAYS), key="sops_due_only")
shown = [v for v in latest.values()
         if sop_widgets.matches(v.sop, query)
         and (not groups or v.sop.owner_group in groups)
         and (not statuses or v.sop.status in statuses)
         and (not due_only or v.sop.id in due)]
st.caption(tr("sops.caption", n=len(latest), shown=len(shown)))
sop_tables.show_library(shown, in_force)

with st.expander(tr("sops.due_title", days=DUE_DAYS), expanded=bool(due)):
    due_versions = library.due_for_review(today, DUE_DAYS)
    if due_versions:
        sop_tables.show_due(due_versions, today)
    else:
        st.caption(tr("sops.due_none", days=DUE_DAYS))

if user.role == "operations":
    with st.expander(tr("sops.coverage")):
        report = data.coverage()
        if report is None:
            st.info(tr("sops.no_events"))
        else:
            st.metric(tr("sops.coverage_share"), f"{report.transaction_share:.1%}")
            for title, frame in ((tr("sops.uncovered_types"), report.uncovered_types),
                                 (tr("sops.uncovered_steps"), report.uncovered_steps),
                                 (tr("sops.unseen_steps"), report.unseen_steps)):
                st.markdown(f"**{title}** ({len(frame)})")
                labels = columns.labels(frame.columns, "sops.coverage_col")
                if "share" in labels:
                    labels["share"] = st.column_config.NumberColumn(labels["share"],
                                                                    format="percent")
                tables.show(names.step_frame(frame), labels)

st.divider()
# No SOP is opened until one is chosen (or the search leaves one): the library is the list,
# and a document drawn on every visit cost the trainer's sign-in 0.5 s (README, "The
# trainer's and the teller's landing pages").
if len(shown) == 1 and st.session_state.get("sops_pick") is None:
    st.session_state["sops_pick"] = shown[0].sop.id
chosen = sop_widgets.pick_sop([v.sop for v in shown], key="sops_pick",
                              placeholder=tr("sops.choose"))
if chosen is None:
    st.stop()
history = library.history(chosen.id)
editors = user.role in ("operations", "reviewer")
came_in_force = library.approved_versions(chosen.id)
versions = history if editors else [v for v in history if v in came_in_force]
approved = in_force[chosen.id]
if not versions:
    st.info(tr("view.not_approved"))
    st.stop()
by_commit = {v.commit: v for v in versions}
default = versions.index(approved) if approved in versions else 0
commit = st.selectbox(tr("view.version"), list(by_commit), index=default,
                      key=f"sops_version_{chosen.id}",
                      format_func=lambda c: sop_widgets.version_label(by_commit[c]),
                      placeholder=tr("widgets.no_options"))
version = by_commit[commit]
head = history[0]
if editors and approved is not None and head != approved and version != head:
    st.info(tr("view.draft_exists", version=head.sop.version,
               status=tr(f"sop_status.{head.sop.status}"), author=plain(head.author)))
if approved is None:
    st.caption(tr("view.not_approved"))
st.subheader(plain(sop_widgets.sop_label(version.sop)))
sop_widgets.show_document(version.sop, data.step_findings(version.sop))
