"""SOP editor (reviewers, operations): a form for the front matter (titles, business types,
owner group, dates, the branches' adoption dates, the steps as a table with their findings) beside
the markdown body, with live checks pointing at the step row and field; the source text stays
available. A required change note, save as a draft and submit for review.

The editor remembers the commit it loaded (``base``): a save names it, so a change made by
someone else meanwhile is merged, or, when both changed the same lines, shown beside this one
with the merged text (conflict markers) loaded for resolving.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from procmine import ProcmineError, SaveConflict, SopError, form_fields, split_front_matter
from procmine.dashboard import data, session
from procmine.dashboard.components import sop_form, sop_widgets
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
text_key, base_key = f"editor_text_{sop_id}", f"editor_base_{sop_id}"  # the text: not a widget
note_key, conflict_key = f"editor_note_{sop_id}", f"editor_conflict_{sop_id}"
# the form's widgets are keyed by a revision, bumped when the text changes other than through
# the form (the source, a reload, a save): they then start again from the text
rev_key, drawn_key = f"editor_rev_{sop_id}", f"editor_drawn_{sop_id}"
state = st.session_state


def _replace(text: str, base: str) -> None:
    """Put a text in the editor from a callback (a load, a save, a conflict's merge, a submit).
    The revision moves on with it: the widgets of the one before hold what the callback has
    just used or dropped (a source edit sent with the click, never drawn), and read again by
    the next run (:func:`_current`) that edit would be put back over the new text."""
    state[text_key], state[base_key] = text, base
    state[rev_key] = int(state.get(rev_key, 0)) + 1


def _load() -> None:
    head = library.current(sop_id)
    _replace(head.sop.text, head.commit)
    state.pop(conflict_key, None)


def _flash(kind: str, message: str) -> None:
    state["editor_flash"] = (kind, message)


def _current() -> str:
    """The text with an edit of the source or the body not yet drawn (a button pressed right
    after typing runs its callback before the page)."""
    rev, drawn = state.get(rev_key, 0), state.get(drawn_key)
    source, body = f"editor_source_{sop_id}_{rev}", f"editor_body_{sop_id}_{rev}"
    if source in state and state[source] != drawn:
        return str(state[source])
    text = str(state[text_key])
    if body in state and isinstance(drawn, str) and text == drawn:
        try:
            old = split_front_matter(text)[1]
        except SopError:
            return text
        if state[body] != old:
            return text[:len(text) - len(old)] + str(state[body])
    return text


def _save() -> None:
    state[text_key] = _current()
    try:
        result = library.save(sop_id, state[text_key], user=user, note=state.get(note_key, ""),
                              base=state[base_key])
    except SaveConflict as conflict:
        _replace(conflict.merged, conflict.theirs_commit)
        state[conflict_key] = conflict
        _flash("warning", tr("editor.conflict", sop=sop_id, commit=conflict.theirs_commit[:8],
                             ref=conflict.kept_ref))
    except (SopError, ProcmineError) as exc:  # WorkflowError is a ProcmineError
        _flash("error", tr("common.error", message=plain(session.error(exc))))
    else:
        saved = result.version
        _replace(saved.sop.text, saved.commit)
        state[note_key] = ""
        state.pop(conflict_key, None)
        key = "editor.merged" if result.merged_with else "editor.saved"
        _flash("success", tr(key, sop=sop_id, version=saved.sop.version, commit=saved.short))


def _submit() -> None:
    state[text_key] = _current()
    head = library.current(sop_id)
    if state[text_key] != head.sop.text or state[base_key] != head.commit:
        _flash("error", tr("editor.unsaved"))
        return
    try:
        sent = library.submit(sop_id, user=user)
    except ProcmineError as exc:
        _flash("error", tr("common.error", message=plain(session.error(exc))))
        return
    _replace(sent.sop.text, sent.commit)
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

# the source text area is keyed by the revision too (a widget whose value the page sets would
# keep the browser's old text); an edit in it is the text
text = state[text_key] = _current()
fields: dict[str, Any] | None
body: str | None
if state.get(drawn_key) != text:
    state[rev_key] = int(state.get(rev_key, 0)) + 1
rev = int(state.get(rev_key, 0))
try:
    fields = form_fields(text)
    body = split_front_matter(text)[1]
except SopError as exc:
    fields, body = None, None
    st.warning(tr("editor.form_unreadable", message=plain(str(exc))))
checks = st.container()
left, right = st.columns(2)
if fields is not None and body is not None:
    found = sop_form.finding_summaries(sop_id, fields["business_types"])
    activities = sorted({s.activity for v in latest.values() for s in v.sop.steps})
    with left:
        text = sop_form.front_matter_form(text, fields, key=f"editor_form_{sop_id}_{rev}")
    with right:
        edited = st.text_area(tr("editor.body"), body, key=f"editor_body_{sop_id}_{rev}",
                              height=560)
        if edited != body:
            text = text[:len(text) - len(split_front_matter(text)[1])] + edited
    # the steps across the page: their nine columns do not fit half of it
    text = sop_form.steps_form(text, fields, key=f"editor_form_{sop_id}_{rev}",
                               activities=activities,
                               counts={k: len(v) for k, v in found.items()},
                               room=740)  # the editable table's row numbers and margins
    text = sop_form.step_detail(text, fields, key=f"editor_step_{sop_id}_{rev}",
                                pick_key=f"editor_step_{sop_id}", activities=activities,
                                found=found)
if text != state[text_key]:
    # the form or the body changed the text: draw the form anew from it at once (its widgets
    # keyed by the next revision), so the next edit lands on widgets that show the text
    state[text_key] = text
    if state.get(f"editor_redrawn_{sop_id}") != text:
        state[f"editor_redrawn_{sop_id}"] = text
        st.rerun()
state[drawn_key] = text
with right:
    st.text_input(tr("editor.note"), key=note_key)
    buttons = st.columns(3)
    buttons[0].button(tr("editor.save"), key="editor_save", type="primary", on_click=_save)
    buttons[1].button(tr("editor.submit"), key="editor_submit", on_click=_submit)
    buttons[2].button(tr("editor.reload"), key="editor_reload", on_click=_load)
report = data.lint_text(sop_id, text)
with checks:
    sop_form.live_issues(report, fields)
with st.expander(tr("editor.preview")):
    sop_widgets.show_preview(text, report)
with st.expander(tr("editor.source"), expanded=fields is None):
    st.text_area(tr("editor.text"), text, key=f"editor_source_{sop_id}_{rev}", height=620)
