"""SOP editor (reviewers, operations): the text of an SOP (markdown with front matter), a live
preview with line-precise checks, a required change note, save as a draft and submit for review.

The editor remembers the commit it loaded (``base``): a save names it, so a change made by
someone else meanwhile is merged, or, when both changed the same lines, shown beside this one
with the merged text (conflict markers) loaded for resolving.
"""

from __future__ import annotations

import streamlit as st

from procmine import ProcmineError, SaveConflict, SopError
from procmine.dashboard import data, session
from procmine.dashboard.components import sop_tables, sop_widgets
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import tr

user = session.guard(__file__)
st.title(tr("editor.title"))
library = data.library()
latest = library.latest()
editable = [v.sop for v in latest.values()
            if user.role == "operations" or v.sop.owner_group == user.review_group]
chosen = sop_widgets.pick_sop(editable, key="editor_sop", label=tr("editor.sop"))
if chosen is None:
    st.info(tr("editor.none"))
    st.stop()
sop_id = chosen.id
text_key, base_key = f"editor_text_{sop_id}", f"editor_base_{sop_id}"
note_key, conflict_key = f"editor_note_{sop_id}", f"editor_conflict_{sop_id}"
state = st.session_state


def _load() -> None:
    head = library.current(sop_id)
    state[text_key], state[base_key] = head.sop.text, head.commit
    state.pop(conflict_key, None)


def _flash(kind: str, message: str) -> None:
    state["editor_flash"] = (kind, message)


def _save() -> None:
    try:
        result = library.save(sop_id, state[text_key], user=user, note=state.get(note_key, ""),
                              base=state[base_key])
    except SaveConflict as conflict:
        state[text_key], state[base_key] = conflict.merged, conflict.theirs_commit
        state[conflict_key] = conflict
        _flash("warning", tr("editor.conflict", sop=sop_id, commit=conflict.theirs_commit[:8],
                             ref=conflict.kept_ref))
    except (SopError, ProcmineError) as exc:  # WorkflowError is a ProcmineError
        _flash("error", tr("common.error", message=plain(session.error(exc))))
    else:
        saved = result.version
        state[text_key], state[base_key], state[note_key] = saved.sop.text, saved.commit, ""
        state.pop(conflict_key, None)
        key = "editor.merged" if result.merged_with else "editor.saved"
        _flash("success", tr(key, sop=sop_id, version=saved.sop.version, commit=saved.short))


def _submit() -> None:
    head = library.current(sop_id)
    if state[text_key] != head.sop.text or state[base_key] != head.commit:
        _flash("error", tr("editor.unsaved"))
        return
    try:
        sent = library.submit(sop_id, user=user)
    except ProcmineError as exc:
        _flash("error", tr("common.error", message=plain(session.error(exc))))
        return
    state[text_key], state[base_key] = sent.sop.text, sent.commit
    _flash("success", tr("editor.submitted", sop=sop_id, version=sent.sop.version))


if text_key not in state:
    _load()
flash = state.pop("editor_flash", None)
if flash is not None:
    getattr(st, flash[0])(flash[1])
head = latest[sop_id]
st.caption(tr("editor.loaded", version=head.sop.version,
              status=tr(f"sop_status.{head.sop.status}"), commit=str(state[base_key])[:8]))
conflict = state.get(conflict_key)
if isinstance(conflict, SaveConflict):
    with st.expander(tr("editor.conflict_both"), expanded=True):
        sop_widgets.show_diff(conflict.theirs, conflict.yours, tr("editor.theirs"),
                              tr("editor.yours"))

left, right = st.columns(2)
with left:
    text = st.text_area(tr("editor.text"), key=text_key, height=620)
    st.text_input(tr("editor.note"), key=note_key)
    buttons = st.columns(3)
    buttons[0].button(tr("editor.save"), key="editor_save", type="primary", on_click=_save)
    buttons[1].button(tr("editor.submit"), key="editor_submit", on_click=_submit)
    buttons[2].button(tr("editor.reload"), key="editor_reload", on_click=_load)
with right:
    preview, checks = st.tabs([tr("editor.preview"), tr("editor.checks")])
    report = data.lint_text(sop_id, text)
    with checks:
        sop_tables.show_issues(report)
    with preview:
        sop_widgets.show_preview(text, report)
