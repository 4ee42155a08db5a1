"""SOP review queue (reviewers): the SOPs of the reviewer's group waiting for approval, each with
its changes against the version in force and the change notes since, to approve or send back
with a comment. The library enforces the rules (own group; not an author of the changes)."""

from __future__ import annotations

from datetime import date

import streamlit as st

from procmine import ProcmineError
from procmine.dashboard import data, session
from procmine.dashboard.components import sop_form, sop_tables, sop_widgets
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import tr

user = session.guard(__file__)
st.title(tr("review.title"))
library = data.library()
state = st.session_state
flash = state.pop("review_flash", None)
if flash is not None:
    getattr(st, flash[0])(flash[1])
queue = library.review_queue(user.review_group)
if not queue:
    st.success(tr("review.empty"))
    st.stop()

group = tr(f"review_groups.{user.review_group}")
st.caption(tr("review.caption", n=len(queue), group=group))
sop_tables.show_queue(queue)

chosen = sop_widgets.pick_sop([v.sop for v in queue], key="review_pick",
                              label=tr("review.pick"))
if chosen is None:
    st.stop()
sop_id = chosen.id
head = library.current(sop_id)
in_force = library.approved(sop_id)
st.subheader(plain(sop_widgets.sop_label(head.sop)))

st.markdown(f"**{tr('review.diff')}**")
left = (tr("review.in_force", version=in_force.sop.version) if in_force
        else tr("review.new_sop"))
sop_widgets.show_diff(in_force.sop.text if in_force else "", head.sop.text, left,
                      tr("review.proposed", version=head.sop.version))

st.markdown(f"**{tr('review.notes')}**")
since = []
for v in library.history(sop_id):
    if in_force is not None and v.commit == in_force.commit:
        break
    since.append(v)
sop_tables.show_notes(since)


today = date.today()
branches = [str(b) for b in data.options().get("branch_id", [])]
effective, adoption = sop_form.approval_dates(head.sop, today, branches)


def _decide(approve: bool) -> None:
    comment = str(state.get("review_comment", ""))
    try:
        if approve:
            done = library.approve(sop_id, user=user, comment=comment, today=today,
                                   effective=effective, adoption=adoption or None)
            message = tr("review.approved", sop=sop_id, version=done.sop.version,
                         effective=str(done.sop.effective))
        else:
            library.reject(sop_id, user=user, comment=comment)
            message = tr("review.rejected", sop=sop_id)
    except ProcmineError as exc:  # WorkflowError: the library's rules, in the user's language
        state["review_flash"] = ("error", tr("common.error", message=plain(session.error(exc))))
        return
    state["review_flash"] = ("success", message)
    state["review_comment"] = ""


st.text_area(tr("review.comment"), key="review_comment", height=100)
cols = st.columns([1, 1, 4])
cols[0].button(tr("review.approve"), key="review_approve", type="primary", on_click=_decide,
               args=(True,))
cols[1].button(tr("review.reject"), key="review_reject", on_click=_decide, args=(False,))
