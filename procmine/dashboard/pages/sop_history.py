"""SOP history (operations, reviewers, trainers): the versions of an SOP with who changed what
and why, the difference between any two versions, the text in force on a date, and the effect
of each revision on the step times."""

from __future__ import annotations

from datetime import date

import streamlit as st

from procmine.dashboard import data, session
from procmine.dashboard.components import charts, sop_tables, sop_widgets
from procmine.dashboard.session import tr

session.guard(__file__)
st.title(tr("sop_history.title"))
library = data.library()
latest = library.latest()
chosen = sop_widgets.pick_sop([v.sop for v in latest.values()], key="history_sop",
                              default=data.opening_sop(library))
if chosen is None:
    st.info(tr("sops.empty"))
    st.stop()
sop_id = chosen.id
history = library.history(sop_id)

st.subheader(tr("sop_history.versions"))
sop_tables.show_versions(history)

st.subheader(tr("sop_history.diff"))
by_commit = {v.commit: v for v in history}
commits = list(by_commit)
cols = st.columns(2)
# by default the latest against what was in force before it (the first version if none)
came_in_force = [v.commit for v in library.approved_versions(sop_id)]
if came_in_force and came_in_force[-1] != commits[0]:
    before = came_in_force[-1]
else:
    before = came_in_force[-2] if len(came_in_force) > 1 else commits[-1]
old = cols[0].selectbox(tr("sop_history.old"), commits, index=commits.index(before),
                        key=f"history_old_{sop_id}",
                        format_func=lambda c: sop_widgets.version_label(by_commit[c]),
                        placeholder=tr("widgets.no_options"))
new = cols[1].selectbox(tr("sop_history.new"), commits, index=0, key=f"history_new_{sop_id}",
                        format_func=lambda c: sop_widgets.version_label(by_commit[c]),
                        placeholder=tr("widgets.no_options"))
sop_widgets.show_diff(by_commit[old].sop.text, by_commit[new].sop.text,
                      sop_widgets.version_label(by_commit[old]),
                      sop_widgets.version_label(by_commit[new]))

st.subheader(tr("sop_history.on_date"))
day = st.date_input(tr("sop_history.date_input"), value=date.today(), key="history_day")
in_force = library.in_force(sop_id, day) if isinstance(day, date) else None
if in_force is None:
    st.info(tr("sop_history.none_in_force", sop=sop_id, date=str(day)))
else:
    st.caption(tr("sop_history.in_force", version=in_force.sop.version,
                  effective=str(in_force.sop.effective), commit=in_force.short))
    with st.expander(tr("sop_history.text_on", date=str(day))):
        st.html(sop_widgets.render_body(in_force.sop.body))

st.subheader(tr("sop_history.effects"))
effects = data.sop_revision_effects(sop_id)
if effects is None:
    st.info(tr("sops.no_events"))
elif effects.empty:
    st.info(tr("sop_history.effects_none"))
else:
    st.caption(tr("sop_history.effects_caption"))
    sop_tables.show_effects(effects)
    waiting = effects["evidence"] == "no_data_yet"
    if waiting.any():   # a version in force after the log ends: said, not drawn as empty bars
        st.caption(tr("sop_history.effects_waiting",
                      versions=", ".join(sorted(set(effects.loc[waiting, "version"])))))
    if (effects["evidence"] == "few_cases").any():
        st.caption(tr("sop_history.effects_few"))
    labels = {"before": tr("sop_history.before"), "after": tr("sop_history.after"),
              "standard": tr("sop_history.standard_after"),
              "seconds": tr("units.seconds", value="")}
    if not waiting.all():
        st.plotly_chart(charts.revision_medians(effects[~waiting], labels), width="stretch")
