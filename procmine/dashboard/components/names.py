"""Step names on the pages: every activity a table, chart, hover or download shows goes
through here, so a step reads the same everywhere in the session's language (the SOP step's
name, else the glossary's, else the log's: :func:`procmine.activity_names`).

The library's frames keep the log's activity; a page or component maps a frame's step columns
(:data:`STEP_COLUMNS`) with :func:`step_frame` just before drawing it, a single value with
:func:`step_label` (one value after another: :func:`namer`), a search with
:func:`step_matches` (a query in either language, or the log name, finds the step). A
download keeps the log name in a trailing column (the skipped-control-steps CSV: "log step
name").

A glossary the bank broke (a duplicate row, an empty Chinese name) does not stop a page: the
error is shown once on each page it reaches, with its line, and the SOP names and log names
stand in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from procmine import (
    ActivityNames,
    Finding,
    ProcmineError,
    Sop,
    activity_names,
    bundled_sops_dir,
    sops_folder,
    step_names,
)
from procmine.dashboard import data, session
from procmine.dashboard.session import lang

__all__ = [
    "STEP_COLUMNS",
    "finding_summary",
    "model_step",
    "namer",
    "names",
    "sop_step_labels",
    "step_frame",
    "step_label",
    "step_labels",
    "step_matches",
]

#: The columns of the library's frames that hold an activity.
STEP_COLUMNS: tuple[str, ...] = ("activity", "source", "target", "step", "from_activity",
                                 "to_activity", "next_activity", "previous_activity")


def names() -> ActivityNames:
    """The workspace's activity names (cached by the library head and the glossary's time);
    the bundled SOPs' and glossary's while the workspace has no SOP library (none is created
    here: a figure built outside a page, a widget's label read back by a test)."""
    if sops_folder() == bundled_sops_dir():
        return activity_names(None, strict=False)
    library = data.library()
    try:
        return activity_names(library)
    except ProcmineError as exc:
        ctx = get_script_run_ctx(suppress_warning=True)
        page = ctx.page_script_hash if ctx is not None else ""
        warned: set[str] = st.session_state.setdefault("_names_warned", set())
        if page not in warned:  # once on each page, not on every step of a table
            warned.add(page)
            st.warning(session.error(exc))
        return activity_names(library, strict=False)


def step_label(activity: object) -> str:
    """``activity``'s name in the session's language."""
    return namer()(activity)


def namer() -> Callable[[object], str]:
    """:func:`step_label` with the names and the language read once, for a figure or a table
    that names a step per row (reading the names checks the library's head each time)."""
    known = names()
    language = lang()
    return lambda activity: known.name(str(activity), language)


def step_labels(values: Iterable[object]) -> list[str]:
    """The names of a sequence of activities in the session's language."""
    name = namer()
    return [name(v) for v in values]


def step_matches(activity: object, query: str) -> bool:
    """Whether a search text finds ``activity`` (its log name or either language's name)."""
    return names().matches(str(activity), query)


def step_frame(frame: pd.DataFrame, columns: Sequence[str] = STEP_COLUMNS) -> pd.DataFrame:
    """``frame`` with its step columns named in the session's language (a copy)."""
    if not any(c in frame.columns for c in columns):
        return frame
    return names().frame(frame, lang(), columns)


def model_step(model: Any, activity: str) -> str:
    """The name of ``activity``'s step in a conformance reference model (the SOP version that
    governed the transaction), in the session's language; an activity the model has no step
    for (an extra step) or no model: the glossary's name."""
    named = model.step_name(activity, lang()) if model is not None else activity
    return named if named != activity else step_label(activity)


def finding_summary(finding: Finding, language: str | None = None) -> str:
    """A finding's one line with its step named in ``language`` (default: the session's)."""
    language = language or lang()
    step = names().name(finding.activity, language) if finding.activity else None
    return finding.summary_in(language, step=step)


def sop_step_labels(sop: Sop | str | None, language: str | None = None) -> dict[str, str]:
    """An SOP's steps as the pages show them, by step id: "n. name" (its number in the SOP and
    its name in ``language``, default the session's), never the id. ``sop``: the SOP, or its
    id (its latest approved version, else its latest); an SOP the library does not have: {}."""
    if isinstance(sop, str):
        library = data.library()
        if sop not in library.ids():
            return {}
        version = library.approved(sop) or library.current(sop)
        sop = version.sop
    if sop is None:
        return {}
    language = language or lang()
    which = "en" if language == "en" else "zh"
    known = step_names(sop)
    out = {}
    for i, step in enumerate(sop.steps, start=1):
        name = known.get(step.id, {}).get(which) or step.activity
        if name == step.activity:  # no name of the SOP's own: the glossary's
            name = names().name(step.activity, language)
        out[step.id] = f"{i}. {name}"
    return out
