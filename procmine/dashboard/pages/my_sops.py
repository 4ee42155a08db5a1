"""My SOPs (tellers): the approved SOPs in force at my branch (never a draft), the new versions
I have still to acknowledge first, a search in Chinese and English (step names included), and
the chosen SOP's document with an acknowledge button for a version I have not acknowledged.

Closed book: during an open attempt ``session.guard`` refuses this page before it reads any SOP.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from procmine import (
    ProcmineError,
    SopVersion,
    User,
    acknowledge_sop,
    matches_query,
    pending_acknowledgements,
    sops_in_force,
)
from procmine.dashboard import data, session
from procmine.dashboard.components import sop_widgets, tables
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import lang, tr


def _acknowledge(version: SopVersion, user: User, key: str) -> None:
    if st.button(tr("my_sops.acknowledge", version=version.sop.version), key=key,
                 type="primary"):
        try:
            acknowledge_sop(version.sop.id, user=user, library=data.library())
        except ProcmineError as exc:
            st.error(plain(session.error(exc)))
        else:
            st.toast(tr("my_sops.acknowledged", sop=plain(version.sop.id),
                        version=version.sop.version))
            st.rerun()


user = session.guard(__file__)
st.title(tr("my_sops.title"))
library = data.library()
in_force = sops_in_force(library, branch_id=user.branch_id)
if not in_force:
    st.info(tr("my_sops.none"))
    st.stop()
pending: list[SopVersion] = []
if user.teller_id:
    pending = pending_acknowledgements(user.teller_id, user.branch_id,
                                       data.types_of(user.teller_id), library=library)
waiting = {v.sop.id for v in pending}

st.subheader(tr("my_sops.to_acknowledge", n=len(pending)))
if not pending:
    st.success(tr("my_sops.all_acknowledged"))
for version in pending:
    with st.container(border=True):
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.markdown(f"**{plain(sop_widgets.sop_label(version.sop))}** · "
                      + tr("my_sops.version_line", version=version.sop.version,
                           effective=str(version.sop.effective)))
        with right:
            _acknowledge(version, user, f"my_sops_ack_{version.sop.id}")

st.subheader(tr("my_sops.in_force"))
query = st.text_input(tr("my_sops.search"), key="my_sops_search",
                      placeholder=tr("my_sops.search_hint"))
shown = [v for v in in_force if matches_query(v.sop, query)]
st.caption(tr("my_sops.caption", n=len(in_force), shown=len(shown)))
tables.show(pd.DataFrame(
    [{tr("my_sops.sop"): v.sop.id, tr("my_sops.sop_title"): v.sop.title_in(lang()),
      tr("my_sops.version"): v.sop.version, tr("my_sops.effective"): str(v.sop.effective),
      tr("my_sops.state"): tr("my_sops.pending") if v.sop.id in waiting
      else tr("my_sops.read")} for v in shown]))
by_id = {v.sop.id: v for v in shown}
chosen = sop_widgets.pick_sop([v.sop for v in shown], key="my_sops_pick",
                              default=next((i for i in by_id if i in waiting), None))
if chosen is None:
    st.stop()
version = by_id[chosen.id]
st.divider()
st.subheader(plain(sop_widgets.sop_label(version.sop)))
if version.sop.id in waiting:
    st.info(tr("my_sops.please_read"))
sop_widgets.show_document(version.sop, None)
if version.sop.id in waiting:
    _acknowledge(version, user, f"my_sops_ack_bottom_{version.sop.id}")
