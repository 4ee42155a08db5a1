"""The training room's tables, labelled in the user's language.

The library's training frames share their column names (``teller_id``, ``participation``,
``difficulty``, ``acknowledged_at``, ...); each has a message ``tcol.<name>`` and, for shares and
numbers, a format (:data:`FORMATS`). :func:`show` draws a frame with every column it has so
labelled; a column without a message keeps its name. SOP steps (``step_id``, ``steps_wrong``,
``steps_skipped``, ``steps_observed`` beside a ``sop_id``) show as "n. name", not by id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from procmine.dashboard.components import tables
from procmine.dashboard.components.names import sop_step_labels, step_frame
from procmine.dashboard.session import tr

__all__ = ["FORMATS", "config", "show"]

#: number formats of the shared columns (shares as percent)
FORMATS: dict[str, str] = {
    "participation": "percent", "expert_rate": "percent", "pass_rate": "percent",
    "share": "percent", "missed_share": "percent", "best_score": "%.1f",
    "difficulty": "%.2f", "discrimination": "%.2f", "slow_ratio": "%.2f",
    "monthly_hours": "%.1f", "seconds": "%.0f",
}


def config(columns: Sequence[str]) -> dict[str, Any]:
    """``column_config`` labelling ``columns`` by their ``tcol.`` messages, with formats."""
    out: dict[str, Any] = {}
    for name in columns:
        key = f"tcol.{name}"
        label = tr(key)
        label = name if label == key else label   # a message missing: the column's name
        fmt = FORMATS.get(name)
        out[name] = st.column_config.NumberColumn(label, format=fmt) if fmt else label
    return out


def _cell(value: object) -> object:
    """Lists, tuples and dicts (steps, question keys, choice counts) as one readable text."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return value


#: the columns that hold an SOP's step ids (one, or a list) beside its ``sop_id``
STEP_ID_COLUMNS = ("step_id", "steps_wrong", "steps_skipped", "steps_observed")


def _step_names(frame: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """The step-id columns of ``frame`` as "n. name" of the row's SOP (an unknown step as it is)."""
    wanted = [c for c in STEP_ID_COLUMNS if c in names]
    if not wanted or "sop_id" not in frame.columns:
        return frame
    labels = {str(i): sop_step_labels(str(i)) for i in frame["sop_id"].dropna().unique()}
    out = frame.copy()
    for column in wanted:
        out[column] = [
            ([labels.get(str(sop), {}).get(str(v), str(v)) for v in value]
             if isinstance(value, (list, tuple))
             else labels.get(str(sop), {}).get(str(value), value))
            for sop, value in zip(frame["sop_id"], frame[column], strict=True)]
    return out


def show(frame: pd.DataFrame, columns: Sequence[str] | None = None, *,
         height: int | None = None) -> None:
    """Draw ``frame`` (its ``columns``, all by default) labelled and formatted."""
    names = [c for c in (columns or list(frame.columns)) if c in frame.columns]
    shown = step_frame(_step_names(frame, names)[names].copy())
    for name in names:
        if FORMATS.get(name) and shown[name].dtype == object:
            # a figure that has no value (None: too few takers) shows as an empty cell
            shown[name] = pd.to_numeric(shown[name], errors="coerce")
        elif shown[name].dtype == object:
            shown[name] = pd.Series([_cell(v) for v in shown[name]], index=shown.index,
                                    dtype=object)
    tables.show(shown, config(names), height=height or "auto")
