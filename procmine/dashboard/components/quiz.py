"""The widgets of a question, for a paper and for the review queue.

A question is drawn from its choices in the order shown to the teller; what the teller gives is
read back as indexes into that shown order (:func:`read`), which the page maps to the
question's stored choices. Kinds:

* ``single`` and ``truefalse``: a radio, nothing chosen at first;
* ``multiple``: one checkbox per choice (an answer with none ticked is an answer too);
* ``ordering``: a select box of the position (1..n) beside each item; the order counts once
  every position is given exactly once.

Every widget calls ``on_change`` when it changes, so the page saves each answer as it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from procmine.dashboard.components.text import plain
from procmine.dashboard.session import tr

__all__ = ["LETTERS", "draw", "read", "shown_texts"]

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _label(i: int, text: str) -> str:
    return f"{LETTERS[i % 26]}. {plain(text)}"


def draw(kind: str, choices: Sequence[str], chosen: Sequence[int] | None, key: str,
         on_change: Callable[[], None] | None = None, *, disabled: bool = False) -> None:
    """Draw the widget of a question whose ``choices`` are shown in this order; ``chosen`` is
    the answer given so far as indexes into them (None: not answered)."""
    n = len(choices)
    given = list(chosen) if chosen is not None else None
    if kind in ("single", "truefalse"):
        st.radio(tr("quiz.choose_one"), list(range(n)), key=key, on_change=on_change,
                 index=given[0] if given and 0 <= given[0] < n else None,
                 format_func=lambda i: _label(i, choices[i]), disabled=disabled,
                 label_visibility="collapsed")
    elif kind == "multiple":
        st.caption(tr("quiz.choose_all"))
        for i, text in enumerate(choices):
            st.checkbox(_label(i, text), value=bool(given and i in given), key=f"{key}_{i}",
                        on_change=on_change, disabled=disabled)
    elif kind == "ordering":
        st.caption(tr("quiz.order_hint", n=n))
        positions = list(range(1, n + 1))
        for i, text in enumerate(choices):
            left, right = st.columns([1, 5], vertical_alignment="center")
            with left:
                st.selectbox(tr("quiz.position_of", item=plain(text)), positions,
                             key=f"{key}_{i}", on_change=on_change, disabled=disabled,
                             index=given.index(i) if given and i in given else None,
                             placeholder="–", label_visibility="collapsed")
            right.markdown(plain(text))
    else:
        st.warning(tr("quiz.unknown_kind", kind=plain(kind)))


def read(kind: str, n: int, key: str) -> list[int] | None:
    """The answer the widgets of :func:`draw` hold now, as indexes into the shown choices (for
    ordering: the items in the teller's order); None when it is not a complete answer."""
    state = st.session_state
    if kind in ("single", "truefalse"):
        value = state.get(key)
        return None if value is None else [int(value)]
    if kind == "multiple":
        return [i for i in range(n) if state.get(f"{key}_{i}")]
    if kind == "ordering":
        positions = [state.get(f"{key}_{i}") for i in range(n)]
        if None in positions or len(set(positions)) != n:
            return None
        return sorted(range(n), key=lambda i: int(positions[i]))  # type: ignore[arg-type]
    return None


def shown_texts(choices: Sequence[str], indexes: Sequence[int]) -> list[str]:
    """The texts of some of the shown choices, lettered as the widget shows them."""
    return [_label(i, choices[i]) for i in indexes if 0 <= i < len(choices)]
