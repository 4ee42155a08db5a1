"""The one way a page draws a table: columns sized from their content and labels, so that none
is cut off at the right.

Streamlit's grid sizes a column it knows nothing about from the first rows it draws, and a
table whose columns add up to more than the page scrolls sideways with its last columns out of
sight. :func:`show` measures each column instead (its label and its values as the grid shows
them; a Chinese character counts as two Latin ones), gives it that width in pixels, and when the
whole table is wider than the room it has (``room``: the page's width at 1280 px beside the
menu; a half for a table in one of two columns) it narrows the long text columns first and lets
their text wrap onto a second line. A table that still does not fit scrolls sideways with its
key columns (teller, type, step, name; else the first column) pinned on the left.

A table with more columns than its place takes shows its main ones and the rest on demand
(``extra``: a switch above it shows them all, and then it scrolls with its keys pinned); a
compact table in a narrow place has fewer or shorter columns (read at a glance; scrolling is
the last resort). ``tests/test_browser_layout.py`` checks every page at 1440x900 and 1280x720.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import pandas as pd
import streamlit as st

from procmine.dashboard.session import tr

__all__ = ["HALF", "KEYS", "ROOM", "edit", "fitted_config", "show", "text_width"]

#: The room a table has across the page (the main area at 1280x720 beside the menu) and in one
#: of two columns, in pixels.
ROOM = 800
HALF = 390
#: Columns that name a row: pinned on the left when the table has to scroll.
KEYS = frozenset({"teller_id", "business_type", "activity", "step", "name", "sop", "sop_id",
                  "branch_id", "case_id", "key"})

_CHAR = 7.0          # one Latin character (a digit) of the grid's 14 px font; Chinese 14
_PAD = 18            # a cell's padding
_HEADER_PAD = 24     # a header's padding
_MIN, _MAX = 48, 340
_WRAP_WIDTH = 150    # a long text column narrowed to wrap
_LAST = 80           # ... and, when that is not enough, any text column
_WRAP_ROW = 68       # Streamlit wraps a cell's text in rows taller than 4rem
_SAMPLE = 300


def text_width(text: object) -> int:
    """The width of ``text`` in Latin characters: a wide (Chinese) character counts two.

    Example:
        >>> text_width("点钞"), text_width("Count cash"), text_width("0101 点钞")
        (4, 10, 9)
    """
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in str(text))


def _shown(value: Any, fmt: str | None) -> str:
    """A value as the grid shows it (near enough to measure it)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "✓"
    if isinstance(value, int | float):
        if fmt == "percent":
            return f"{float(value) * 100:.2f}%"
        if fmt and "%" in fmt:
            try:
                return fmt % value
            except (TypeError, ValueError):
                return str(value)
        return f"{value:.4f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    return str(value)


def _as_dict(setting: Any) -> dict[str, Any]:
    if setting is None:
        return {}
    if isinstance(setting, str):
        return {"label": setting}
    return dict(setting)


def _fmt(setting: Mapping[str, Any]) -> str | None:
    options = setting.get("type_config") or {}
    fmt = options.get("format") if isinstance(options, Mapping) else None
    return str(fmt) if fmt else None


def _natural(column: pd.Series, label: str, fmt: str | None) -> tuple[int, int, bool]:
    """(header px, content px, is text) of one column."""
    values = column.head(_SAMPLE).tolist()
    widest = max((text_width(_shown(v, fmt)) for v in values), default=0)
    text = not pd.api.types.is_numeric_dtype(column)
    return (math.ceil(text_width(label) * _CHAR) + _HEADER_PAD,
            math.ceil(widest * _CHAR) + _PAD, text)


def fitted_config(frame: pd.DataFrame, config: Mapping[str, Any] | None = None, *,
                  room: int = ROOM, keys: Iterable[str] = ()) -> tuple[dict[str, Any], bool]:
    """``column_config`` for ``frame`` with each column's width (and the key columns pinned when
    the table cannot fit ``room``), and whether its rows should wrap their text. A width set in
    ``config`` is kept; a column ``config`` hides (None) stays hidden."""
    config = dict(config or {})
    names = [c for c in frame.columns if not (c in config and config[c] is None)]
    settings: dict[str, dict[str, Any]] = {}
    sizes: dict[str, list[int]] = {}
    for name in names:
        setting = _as_dict(config.get(name))
        label = str(setting.get("label") or name)
        header, content, text = _natural(frame[name], label, _fmt(setting))
        fixed = setting.get("width")
        width = fixed if isinstance(fixed, int) else max(_MIN, min(_MAX, max(header, content)))
        settings[name] = setting
        sizes[name] = [width, header, content, int(text and not isinstance(fixed, int))]
    over = sum(s[0] for s in sizes.values()) - room
    # the widest text first, just as much as the table is too wide (fewest lines wrapped);
    # then, if that was not enough, every text column down to its label or _LAST
    for floor in (min(_WRAP_WIDTH, room // 4), _LAST):
        for name in sorted(names, key=lambda n: -sizes[n][0]):
            width, header, content, is_text = sizes[name]
            cut = min(over, width - max(header, floor)) if is_text else 0
            if cut > 0:
                sizes[name][0] = width - cut
                over -= cut
    wrap = any(is_text and content > width for width, _, content, is_text in sizes.values())
    scrolls = sum(s[0] for s in sizes.values()) > room
    pinned = set(keys) or ({n for n in names if n in KEYS} or set(names[:1]))
    out: dict[str, Any] = {**config}
    for name in names:
        setting = settings[name]
        setting["width"] = sizes[name][0]
        if scrolls and name in pinned and "pinned" not in setting:
            setting["pinned"] = True
        out[name] = setting
    return out, wrap


def show(data: Any, config: Mapping[str, Any] | None = None, *, room: int = ROOM,
         keys: Iterable[str] = (), height: int | Literal["auto"] = "auto",
         extra: Sequence[str] = (), extra_key: str = "", **options: Any) -> Any:
    """Draw ``data`` (a frame, its ``Styler``, or a list of row dicts) as a fitted table, no
    index, across its container; ``options`` go to ``st.dataframe`` (``key``, ...).

    ``extra``: columns shown only when the user asks for all of them (a switch above the
    table, its widget key ``extra_key``): a table that would not fit its place shows its main
    columns, and scrolls sideways with its keys pinned when all are asked for."""
    styler = data if type(data).__name__ == "Styler" else None   # frame.style (its .data)
    frame = styler.data if styler is not None else (
        data if isinstance(data, pd.DataFrame) else pd.DataFrame(data))
    hidden = [c for c in extra if c in frame.columns]
    if hidden and not st.toggle(tr("tables.all_columns"), key=extra_key or None):
        config = {**(config or {}), **dict.fromkeys(hidden)}
    column_config, wrap = fitted_config(frame, config, room=room, keys=keys)
    if wrap:
        options.setdefault("row_height", _WRAP_ROW)
        if isinstance(height, int):
            height = max(height, min(720, _WRAP_ROW * len(frame) + 40))
    return st.dataframe(styler if styler is not None else frame, hide_index=True,
                        width="stretch", height=height, column_config=column_config, **options)


def edit(frame: pd.DataFrame, config: Mapping[str, Any] | None = None, *, room: int = ROOM,
         **options: Any) -> Any:
    """``st.data_editor`` with :func:`show`'s widths; its edited frame."""
    column_config, _ = fitted_config(frame, config, room=room)
    return st.data_editor(frame, hide_index=True, width="stretch", column_config=column_config,
                          **options)
