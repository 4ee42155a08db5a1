"""Question bank (trainers, operations): the questions generated from the approved SOPs and the
regulation bank, filtered by topic, status, source and text; new and stale questions reviewed
(activate, retire, edit the stem and choices, with the checks' messages shown); the bank
regenerated from the SOPs in force; a GIFT, Moodle XML or Aiken file imported; the bank
exported in those formats."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from procmine import (
    EXPORT_FORMATS,
    KINDS,
    SOURCES,
    BankQuestion,
    FormatError,
    ProcmineError,
    Question,
    User,
    edit_question,
    export_questions,
    import_questions,
    list_questions,
    note_text,
    set_question_status,
    sync_bank,
    sync_questions,
    validate_question,
)
from procmine.dashboard import data, session
from procmine.dashboard.components import tables
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import tr

STATUSES = ("new", "active", "stale", "retired")
_SUFFIX = {"gift": "gift", "moodle-xml": "xml", "aiken": "txt"}
_MIME = {"gift": "text/plain", "moodle-xml": "application/xml", "aiken": "text/plain"}


def _count(value: object) -> int:
    return value if isinstance(value, int) else len(value)  # type: ignore[arg-type]


def _sync(user: User) -> None:
    st.caption(tr("qbank.sync_caption"))
    if st.button(tr("qbank.sync"), key="qbank_sync"):
        with st.spinner(tr("qbank.syncing")):
            report = sync_bank(data.library(), actor=user.username)
        st.success(tr("qbank.synced", added=_count(report.added),
                      updated=_count(report.updated), unchanged=_count(report.unchanged),
                      reopened=_count(report.reopened)))


def _import(user: User) -> None:
    upload = st.file_uploader(tr("qbank.import_file"), type=["gift", "xml", "txt"],
                              key="qbank_upload")
    if upload is None or not st.button(tr("qbank.import"), key="qbank_import"):
        return
    folder = data.store().home / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = folder / f"{stamp}-{upload.name.replace('/', '_')}"
    path.write_bytes(upload.getvalue())
    try:
        questions = import_questions(path)
    except FormatError as exc:
        st.error(tr("qbank.import_errors", n=len(exc.errors)))
        st.code("\n".join(f"{upload.name}:{line}: {message}" for line, message in exc.errors),
                language=None)
        return
    except ProcmineError as exc:
        st.error(plain(session.error(exc)))
        return
    report = sync_questions(questions, actor=user.username, status="new")
    st.success(tr("qbank.imported", file=plain(upload.name), n=len(questions),
                  added=_count(report.added), updated=_count(report.updated)))


def _export_text(questions: list[Question], fmt: str) -> bytes:
    return export_questions(questions, fmt)[0].encode("utf-8")


def _export(questions: list[BankQuestion]) -> None:
    chosen = [bq.question for bq in questions if bq.status != "retired"]
    st.caption(tr("qbank.export_caption", n=len(chosen)))
    cols = st.columns(len(EXPORT_FORMATS))
    for col, fmt in zip(cols, EXPORT_FORMATS, strict=True):
        # written when the button is clicked, not on every run of the page
        col.download_button(tr(f"qbank.export_{fmt.replace('-', '_')}"),
                            functools.partial(_export_text, chosen, fmt),
                            file_name=f"question-bank.{_SUFFIX[fmt]}", mime=_MIME[fmt],
                            key=f"qbank_export_{fmt}", on_click="ignore")
        if fmt == "aiken":
            col.caption(tr("qbank.aiken_note"))


def _table(questions: list[BankQuestion]) -> None:
    # the headers and the words for states and kinds looked up once, not once a question
    head = {k: tr(f"qbank.{k}") for k in ("key", "status", "kind", "topic", "stem", "revision",
                                          "updated")}
    states = {s: tr(f"qbank.state.{s}") for s in {bq.status for bq in questions}}
    kinds = {k: tr(f"quiz.kind.{k}") for k in {bq.question.kind for bq in questions}}
    tables.show(pd.DataFrame([{
        head["key"]: bq.question.key, head["status"]: states[bq.status],
        head["kind"]: kinds[bq.question.kind],
        head["topic"]: bq.question.topic, head["stem"]: bq.question.stem,
        head["revision"]: bq.revision,
        head["updated"]: f"{bq.updated_at:%Y-%m-%d} {bq.updated_by}"}
        for bq in questions]), height=360)


def _edit(bq: BankQuestion, user: User) -> None:
    q = bq.question
    with st.form(f"qbank_edit_{bq.id}"):
        stem = st.text_area(tr("qbank.stem"), q.stem, key=f"qbank_stem_{bq.id}")
        st.caption(tr(f"qbank.fraction_help.{q.kind}"))
        choices = tables.edit(
            pd.DataFrame([{"text": c.text, "fraction": c.fraction, "feedback": c.feedback}
                          for c in q.choices]),
            {"text": tr("qbank.choice"),
             "fraction": st.column_config.NumberColumn(tr("qbank.fraction"), format="%.1f"),
             "feedback": tr("qbank.feedback")},
            num_rows="dynamic", key=f"qbank_choices_{bq.id}")
        note = st.text_input(tr("qbank.note"), key=f"qbank_note_{bq.id}")
        if not st.form_submit_button(tr("qbank.save"), type="primary"):
            return
    rows = choices.fillna({"text": "", "fraction": 0.0, "feedback": ""}).to_dict("records")
    edited = Question.from_dict({**q.to_dict(), "stem": stem.strip(), "choices": [
        {"text": str(r["text"]).strip(), "fraction": float(r["fraction"]),
         "feedback": str(r["feedback"])} for r in rows if str(r["text"]).strip()]})
    problems = validate_question(edited)
    if problems:
        st.error(tr("qbank.invalid"))
        for problem in problems:
            st.markdown(f"- {plain(problem)}")
        return
    try:
        edit_question(q.key, edited, user=user, note=note)
    except ProcmineError as exc:
        st.error(plain(session.error(exc)))
    else:
        st.success(tr("qbank.saved", question=plain(q.key)))


def _review(bq: BankQuestion, user: User) -> None:
    q = bq.question
    st.markdown(f"**{plain(q.stem)}**")
    st.caption(tr("qbank.meta", kind=tr(f"quiz.kind.{q.kind}"), topic=plain(q.topic),
                  status=tr(f"qbank.state.{bq.status}"), revision=bq.revision,
                  where=plain(" · ".join(x for x in (q.sop_id, q.sop_version, q.step_id,
                                                     q.regulation) if x))))
    for n, choice in enumerate(q.choices, start=1):
        mark = "✓" if (q.kind == "ordering" or choice.correct) else "·"
        st.markdown(f"{mark} {n}. {plain(choice.text)}"
                    + (f" ({choice.fraction:g}%)" if q.kind == "multiple" else ""))
    if bq.note:
        st.caption(tr("qbank.last_note", note=plain(note_text(bq.note, session.lang()))))
    cols = st.columns(3)
    for col, status in zip(cols, ("active", "retired", "new"), strict=True):
        if bq.status != status and col.button(tr(f"qbank.to_{status}"),
                                              key=f"qbank_to_{status}_{bq.id}"):
            try:
                set_question_status(q.key, status, user=user)
            except ProcmineError as exc:
                st.error(plain(session.error(exc)))
            else:
                st.rerun()
    with st.expander(tr("qbank.edit")):
        _edit(bq, user)


user = session.guard(__file__)
st.title(tr("qbank.title"))
everything = list_questions()
with st.expander(tr("qbank.sync_title"), expanded=not everything):
    _sync(user)
with st.expander(tr("qbank.import_title")):
    _import(user)
if not everything:
    st.info(tr("qbank.empty"))
    st.stop()
topics = sorted({bq.question.topic for bq in everything})
cols = st.columns([2, 1, 1, 1, 1], vertical_alignment="bottom")
search = cols[0].text_input(tr("qbank.search"), key="qbank_search")
topic = cols[1].selectbox(tr("qbank.topic"), [None, *topics], key="qbank_topic",
                          format_func=lambda x: tr("filters.all") if x is None else x,
                          placeholder=tr("widgets.no_options"))
status = cols[2].selectbox(tr("qbank.status"), [None, *STATUSES], key="qbank_status",
                           format_func=lambda x: tr("filters.all") if x is None
                           else tr(f"qbank.state.{x}"), placeholder=tr("widgets.no_options"))
source = cols[3].selectbox(tr("qbank.source"), [None, *SOURCES], key="qbank_source",
                           format_func=lambda x: tr("filters.all") if x is None
                           else tr(f"qbank.sources.{x}"), placeholder=tr("widgets.no_options"))
kind = cols[4].selectbox(tr("qbank.kind"), [None, *KINDS], key="qbank_kind",
                         format_func=lambda x: tr("filters.all") if x is None
                         else tr(f"quiz.kind.{x}"), placeholder=tr("widgets.no_options"))
shown = [bq for bq in list_questions(status=status, topic=topic, source=source,
                                     search=search or None)
         if kind is None or bq.question.kind == kind]
counts = {s: sum(1 for bq in everything if bq.status == s) for s in STATUSES}
st.caption(tr("qbank.caption", total=len(everything), shown=len(shown),
              **{s: counts[s] for s in STATUSES}))
_table(shown)

to_review = [bq for bq in shown if bq.status in ("new", "stale")]
if to_review and st.button(tr("qbank.activate_shown", n=len(to_review)),
                           key="qbank_activate_shown"):
    for bq in to_review:
        set_question_status(bq.question.key, "active", user=user,
                            note=tr("qbank.bulk_review_note"))
    st.rerun()
if shown:
    st.subheader(tr("qbank.review"))
    by_key = {bq.question.key: bq for bq in shown}
    order = [bq.question.key for bq in to_review] + [k for k in by_key
                                                     if by_key[k] not in to_review]
    key = st.selectbox(tr("qbank.pick"), order, key="qbank_pick",
                       format_func=lambda k: f"{tr(f'qbank.state.{by_key[k].status}')} · "
                       f"{by_key[k].question.stem[:80]}", placeholder=tr("widgets.no_options"))
    if key is not None:
        _review(by_key[key], user)

st.subheader(tr("qbank.export_title"))
_export(shown)
