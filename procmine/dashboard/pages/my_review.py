"""My review (tellers): the questions I missed, back when FSRS says they are due, one at a time,
with the right answer after each; a right answer sends the question further away, a wrong one
brings it back soon. A short queue a day."""

from __future__ import annotations

import random

import streamlit as st

from procmine import ProcmineError, answer_review, review_queue
from procmine.dashboard import session
from procmine.dashboard.components import quiz
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import tr

_OUTCOME = "review_outcome"

user = session.guard(__file__)
st.title(tr("my_review.title"))
if not user.teller_id:
    st.info(tr("my_figures.no_teller_id"))
    st.stop()

shown = st.session_state.get(_OUTCOME)
if shown is not None:
    stem, outcome = shown
    st.markdown(f"**{plain(stem)}**")
    if outcome.correct:
        st.success(tr("my_review.right"))
    else:
        st.error(tr("my_review.wrong"))
    st.markdown(tr("take.right_answer", answer=plain(" / ".join(outcome.right_texts))))
    st.caption(tr("my_review.next_due", due=f"{outcome.next_due:%Y-%m-%d %H:%M}"))
    if st.button(tr("my_review.next"), type="primary", key="review_next"):
        st.session_state.pop(_OUTCOME, None)
        st.rerun()
    st.stop()

queue = review_queue(user.teller_id, user=user)
if not queue:
    st.success(tr("my_review.empty"))
    st.stop()
st.caption(tr("my_review.caption", n=len(queue)))
item = queue[0]
question = item.question
# the choices in an order of their own (an ordering question's items never in the right one)
ids = list(range(len(question.choices)))
random.Random(f"{user.teller_id}:{item.key}:{item.reviews}").shuffle(ids)
if question.kind == "ordering" and ids == sorted(ids) and len(ids) > 1:
    ids = ids[1:] + ids[:1]
key = f"review_{item.key}_{item.reviews}"
with st.container(border=True):
    st.markdown(f"**{plain(question.stem)}**")
    st.caption(tr(f"quiz.kind.{question.kind}"))
    quiz.draw(question.kind, [question.choices[i].text for i in ids], None, key)
if st.button(tr("my_review.check"), type="primary", key="review_check"):
    response = quiz.read(question.kind, len(ids), key)
    if response is None:
        st.warning(tr("my_review.answer_first"))
    else:
        try:
            outcome = answer_review(user.teller_id, item.key, [ids[i] for i in response],
                                    user=user)
        except ProcmineError as exc:
            st.error(plain(session.error(exc)))
        else:
            st.session_state[_OUTCOME] = (question.stem, outcome)
            st.rerun()
