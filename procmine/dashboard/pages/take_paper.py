"""Take a paper (tellers): the papers assigned to me with their state; start one; answer it
question by question, each answer saved the moment it is given (a dropped connection or a
reload loses nothing: the open attempt comes back with its answers); the time left, refreshed;
submit after a confirmation; the result with the right answers of the items missed.

While the attempt is open the SOP pages are shut (closed book: ``session.guard``).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import streamlit as st

from procmine import (
    AttemptItem,
    AttemptResult,
    AttemptView,
    ProcmineError,
    User,
    attempt_result,
    open_attempt,
    papers_for_teller,
    save_answer,
    start_attempt,
    submit_attempt,
)
from procmine.dashboard import session
from procmine.dashboard.components import quiz
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import tr

_RESULT = "take_result"
_CONFIRM = "take_confirm"
_ERROR = "take_error"
_SAVED = "take_saved"
_OPEN = "take_open"
_RAN = "take_ran_at"


def _key(view: AttemptView, item: AttemptItem) -> str:
    return f"take_{view.id}_{item.position}"


def _save(attempt_id: int, item: AttemptItem, key: str) -> None:
    """The widget's callback: save this answer at once (before the page runs again)."""
    user = session.current_user()
    if user is None:
        return
    shown = quiz.read(item.kind, len(item.choice_ids), key)
    if shown is None:
        st.session_state[_SAVED] = ("incomplete", item.position)
        return
    try:
        save_answer(attempt_id, item.position, [item.choice_ids[i] for i in shown], user=user)
    except ProcmineError as exc:
        st.session_state[_ERROR] = session.error(exc)
    else:
        st.session_state[_SAVED] = ("saved", item.position)


@st.fragment(run_every=10)
def _clock(deadline: datetime) -> None:
    """The time left, refreshed every ten seconds. Once it is up the whole page runs again at
    most every ten seconds, until the library has graded the attempt (after a short grace)."""
    now = datetime.now(UTC)
    left = int((deadline - now).total_seconds())
    if left > 0:
        st.metric(tr("take.time_left"), f"{left // 60:d}:{left % 60:02d}")
        return
    st.warning(tr("take.time_up"))
    last = st.session_state.get(_RAN)
    if isinstance(last, datetime) and (now - last).total_seconds() >= 9:
        st.rerun()   # from the timer only: a full run has just set _RAN


def _attempt(view: AttemptView, user: User) -> None:
    st.session_state[_OPEN] = view.id   # to show its result should its time run out
    st.subheader(plain(view.title))
    top = st.columns([1, 1, 2])
    with top[0]:
        _clock(view.deadline_at)
    top[1].metric(tr("take.answered"), f"{view.answered} / {len(view.items)}")
    top[2].info(tr("take.closed_book"))
    saved = st.session_state.pop(_SAVED, None)
    if saved and saved[0] == "incomplete":
        st.caption(tr("take.order_incomplete"))
    for n, item in enumerate(view.items, start=1):
        with st.container(border=True):
            st.markdown(f"**{n}.** {plain(item.stem)}")
            st.caption(tr(f"quiz.kind.{item.kind}"))
            chosen = None
            if item.response is not None:
                chosen = [item.choice_ids.index(c) for c in item.response
                          if c in item.choice_ids]
            key = _key(view, item)
            quiz.draw(item.kind, item.choices, chosen, key,
                      on_change=functools.partial(_save, view.id, item, key))
    if st.button(tr("take.submit"), type="primary", key="take_submit"):
        st.session_state[_CONFIRM] = view.id
    if st.session_state.get(_CONFIRM) == view.id:
        missing = len(view.items) - view.answered
        st.warning(tr("take.confirm", missing=missing) if missing else tr("take.confirm_all"))
        yes, no = st.columns(2)
        if yes.button(tr("take.confirm_submit"), type="primary", key="take_confirm_yes"):
            try:
                result = submit_attempt(view.id, user=user)
            except ProcmineError as exc:
                st.error(plain(session.error(exc)))
                return
            st.session_state.pop(_CONFIRM, None)
            st.session_state.pop(_OPEN, None)
            st.session_state[_RESULT] = result.id
            st.rerun()
        if no.button(tr("take.keep_going"), key="take_confirm_no"):
            st.session_state.pop(_CONFIRM, None)
            st.rerun()


def _result(result: AttemptResult) -> None:
    st.subheader(tr("take.result_of", title=plain(result.title)))
    cols = st.columns(3)
    cols[0].metric(tr("take.score"), f"{result.score or 0:.1f}")
    cols[1].metric(tr("take.passed"), tr("training.yes") if result.passed else tr("training.no"))
    cols[2].metric(tr("take.expert"), tr("training.yes") if result.expert else tr("training.no"))
    missed = [i for i in result.items if i.credit < 1]
    if not missed:
        st.success(tr("take.all_right"))
    for item in missed:
        with st.container(border=True):
            st.markdown(f"**{item.position}.** {plain(item.stem)}")
            st.markdown(tr("take.your_answer", answer=plain(" / ".join(item.response_texts))
                           or tr("take.no_answer")))
            st.markdown(tr("take.right_answer", answer=plain(" / ".join(item.right_texts))))
            st.caption(tr("take.credit", credit=f"{item.credit:.0%}"))
    if st.button(tr("take.back"), key="take_back"):
        st.session_state.pop(_RESULT, None)
        st.rerun()


def _papers(user: User, teller_id: str) -> None:
    papers = papers_for_teller(teller_id)
    if not papers:
        st.info(tr("take.none"))
        return
    st.caption(tr("take.caption"))
    for tp in papers:
        paper = tp.paper
        with st.container(border=True):
            left, right = st.columns([4, 1], vertical_alignment="center")
            left.markdown(f"**{plain(paper.title)}** · {tr(f'take.state.{tp.state}')}")
            left.caption(tr("take.rules", questions=len(paper.questions),
                            minutes=paper.time_limit_minutes, passing=f"{paper.pass_mark:g}",
                            expert=f"{paper.expert_mark:g}",
                            due=str(paper.due_on) if paper.due_on else "–"))
            if tp.state in ("to_do", "overdue"):
                if right.button(tr("take.start"), key=f"take_start_{paper.id}", type="primary"):
                    try:
                        start_attempt(paper.id, user=user)
                    except ProcmineError as exc:
                        st.error(plain(session.error(exc)))
                    else:
                        st.rerun()
            elif tp.state == "done" and tp.attempt_id is not None:
                left.caption(tr("take.your_score", score=f"{tp.score or 0:.1f}"))
                if right.button(tr("take.view_result"), key=f"take_view_{paper.id}"):
                    st.session_state[_RESULT] = tp.attempt_id
                    st.rerun()


user = session.guard(__file__)
st.session_state[_RAN] = datetime.now(UTC)
st.title(tr("take.title"))
if not user.teller_id:
    st.info(tr("my_figures.no_teller_id"))
    st.stop()
if error := st.session_state.pop(_ERROR, None):
    st.error(tr("common.error", message=plain(error)))
view = open_attempt(user.teller_id)
if view is not None:
    _attempt(view, user)
    st.stop()
if (ended := st.session_state.pop(_OPEN, None)) is not None:
    # the attempt this session was showing is over (its time ran out): its result
    st.session_state[_RESULT] = ended
    st.info(tr("take.expired"))
if (result_id := st.session_state.get(_RESULT)) is not None:
    try:
        _result(attempt_result(result_id, user=user))
    except ProcmineError as exc:
        st.session_state.pop(_RESULT, None)
        st.error(plain(session.error(exc)))
    st.divider()
_papers(user, user.teller_id)
