"""The language walk's tools: every text a page shows (from an AppTest run), and the classifier
that tells a label in the wrong language from data and codes.

:func:`page_texts` reads the element tree of one run: titles, headers, captions, markdown,
alerts, metric labels and deltas, widget labels, helps, placeholders and options (as the
``format_func`` shows them), buttons and links, tab, expander and popover labels, the column
headers of every table (the ``column_config`` label where one is set) and the cells of its
text columns, and of each plotly chart the titles (chart, axes, legend, colour bar), the trace
names, the annotations and the category labels of its axes. Each text comes with what it is
(``kind``), so that a failure says where to look.

:func:`latin_words` is the Chinese interface's check: the Latin words (two letters or more) of a
text that are not a code, a unit, a format or an established name, once the data in it (user
names, ...) is taken out. :func:`cjk_runs` is the English interface's: its Chinese characters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block

__all__ = ["ALLOWED_CJK", "ALLOWED_WORDS", "Text", "cjk_runs", "latin_words", "page_texts",
           "without"]


@dataclass(frozen=True)
class Text:
    """A text a page shows: what it is (``kind``: ``title``, ``column``, ``cell:<header>``,
    ``chart trace``, ...) and the text."""

    kind: str
    text: str


# --- the classifier -----------------------------------------------------------------------------

# Words a Chinese page may show as they are: formats and standards known by their names, the
# bank's own abbreviations, statistics' short names, units, and the product's name.
ALLOWED_WORDS = frozenset({
    # formats, files and standards
    "CSV", "Excel", "HTML", "JSON", "BPMN", "PNML", "XES", "XES.gz", "Moodle", "GIFT", "Aiken",
    "XML", "YAML", "Markdown", "Parquet", "PDF", "PNG", "SVG", "UTF-8", "UTC",
    "csv", "xlsx", "json", "html", "xes", "xml", "gift", "txt", "parquet", "md", "yaml",
    # the bank's abbreviations
    "SOP", "SOPs", "SLA", "VIP", "PIN", "ATM", "ID", "IDs", "POS", "KPI",
    # statistics, queueing and mining: names of methods and models
    "p90", "p50", "p95", "Erlang", "Beta", "Mann-Whitney", "Petri", "IMd", "pm4py",
    # units
    "s", "ms", "min", "h", "MB", "KB", "GB",
    # names
    "procmine", "English", "git", "NUL",
})

# On an English page: the language switch names Chinese in Chinese.
ALLOWED_CJK = frozenset({"中文"})

# Codes: business types (P17, C44), branches (B04), SOP ids (SOP-P17), versions (v2, 2.0a),
# question keys (Q-P17-003), tellers' ids.
_CODE = re.compile(r"^(?:[A-Z]{1,3}\d+[A-Za-z]?|SOP-[A-Z]+\d*|[A-Z]{1,3}-[A-Z]?\d+(?:-\d+)*"
                   r"|v\d+|[0-9a-f]*\d[0-9a-f]*)$")
# A word: letters and digits, joined by one of . _ - ' (a code like auth.sign_in is one word).
_WORD = re.compile(r"[A-Za-z0-9]+(?:[._'-][A-Za-z0-9]+)*")
# Markup a reader never sees: links' targets, icons, HTML tags, markdown emphasis.
_MARKUP = (
    re.compile(r"\]\([^)]*\)"),                    # [text](target) keeps the text
    re.compile(r":material/[a-z_]+:"),             # icons
    re.compile(r":[a-z-]+\[([^\]]*)\]"),           # :red[text], :blue-badge[text] -> text
    re.compile(r"`[^`]*`"),                        # code spans: what the user types, as it is
    re.compile(r"(?<![\w-])--[a-z][a-z-]*"),      # a command line option
    re.compile(r"<[^>]+>"),                        # html tags
    re.compile(r"https?://\S+"),                   # addresses
)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]+")


def without(text: str, data: Iterable[str]) -> str:
    """``text`` with each data string (longest first) blanked out, where it stands as a whole:
    the user ``teller`` in "teller 0101", not in "tellers_eligible".

    >>> without("teller 0101 · tellers_eligible", ["teller"])
    '  0101 · tellers_eligible'
    """
    for value in sorted({d for d in data if d}, key=len, reverse=True):
        if value in text:
            text = re.sub(rf"(?<![A-Za-z0-9_]){re.escape(value)}(?![A-Za-z0-9_])", " ", text)
    return text


def _visible(text: str) -> str:
    for pattern in _MARKUP:
        text = pattern.sub(lambda m: " " + (m.group(1) if m.groups() else "") + " ", text)
    return text


def latin_words(text: str, data: Iterable[str] = ()) -> list[str]:
    """The Latin words in ``text`` that a Chinese page should not show: two letters or more,
    neither a code, a unit, a format or an allowed name, once the ``data`` strings are taken
    out.

    >>> latin_words("P17 点钞：中位用时 70 s，参考 30 秒（2.3 倍），SOP-P17，导出 CSV")
    []
    >>> latin_words("Submitted for review")
    ['Submitted', 'for', 'review']
    >>> latin_words("柜员 Wang Fang 的 Count cash", data=["Wang Fang"])
    ['Count', 'cash']
    """
    found = []
    for word in _WORD.findall(_visible(without(text, data))):
        letters = sum(c.isalpha() for c in word)
        if letters < 2 or word in ALLOWED_WORDS or _CODE.match(word):
            continue
        if re.fullmatch(r"[\d.,]+[A-Za-z]{1,3}", word) and word.lstrip("0123456789.,") in \
                ALLOWED_WORDS:
            continue   # 12s, 3.5min
        if sum(c.isdigit() for c in word) >= max(3, letters):
            continue   # an identifier: a batch, a data version, a commit, a timestamp, 1.1e-63
        found.append(word)
    return found


def cjk_runs(text: str, data: Iterable[str] = ()) -> list[str]:
    """The runs of Chinese characters (and full-width punctuation) in ``text``, once the
    ``data`` strings are taken out: what an English page should not show.

    >>> cjk_runs("Median 70 s (P17 点钞)", data=["点钞"])
    []
    >>> cjk_runs("中位用时 70 s")
    ['中位用时']
    """
    return [run for run in _CJK.findall(without(text, data)) if run not in ALLOWED_CJK]


# --- the collector ------------------------------------------------------------------------------

_LABELLED = ("label", "help", "placeholder")
_WIDGETS = {"selectbox", "radio", "multiselect", "button", "download_button", "page_link",
            "link_button", "checkbox", "text_input", "text_area", "number_input", "slider",
            "select_slider", "date_input", "file_uploader", "time_input", "button_group",
            "toggle", "color_picker", "menu_button", "date_time_input"}


def page_texts(at: AppTest, *, sidebar: bool = False) -> list[Text]:
    """Every text the last run of ``at`` shows in its main area (and in its sidebar too when
    ``sidebar``), in page order."""
    root = at._tree
    areas = [root.main] + ([root.sidebar] if sidebar else [])
    out: list[Text] = []
    for area in areas:
        for node in area:
            out.extend(_node_texts(node))
    return [t for t in out if t.text.strip()]


def _node_texts(node: Any) -> Iterator[Text]:
    proto = getattr(node, "proto", None)
    if isinstance(node, Block):
        if node.type in ("expander", "status", "tab"):
            yield Text(node.type, node.proto.label)
        elif node.type == "popover":
            yield Text("popover", node.proto.popover.label)
            yield Text("popover help", node.proto.popover.help)
        elif node.type == "dialog":
            yield Text("dialog", node.proto.dialog.title)
        return
    kind = getattr(node, "type", "")
    if kind == "plotly_chart":
        yield from _chart_texts(json.loads(proto.spec))
    elif kind == "dataframe":
        yield from _table_texts(node)
    elif kind == "table":
        yield from _frame_texts(node.value, {})
    elif kind in ("markdown", "title", "header", "subheader", "caption", "text", "latex",
                  "divider", "heading"):
        yield Text(kind, proto.body)
        yield Text(f"{kind} help", proto.help)
    elif kind in ("error", "warning", "info", "success", "alert", "exception", "toast"):
        yield Text(kind, getattr(proto, "body", "") or getattr(proto, "message", ""))
    elif kind == "metric":
        for field in ("label", "body", "delta", "help", "delta_description"):
            yield Text(f"metric {field}", getattr(proto, field))
    elif kind in _WIDGETS or hasattr(proto, "label"):
        for field in _LABELLED:
            yield Text(f"{kind} {field}", str(getattr(proto, field, "") or ""))
        for option in getattr(proto, "options", ()):
            yield Text(f"{kind} option", option)
        for caption in getattr(proto, "captions", ()):
            yield Text(f"{kind} caption", caption)
    elif kind in ("progress", "spinner"):
        yield Text(kind, proto.text)


def _chart_texts(spec: dict[str, Any]) -> Iterator[Text]:
    layout = spec.get("layout", {})
    yield Text("chart title", _title(layout.get("title")))
    for name, axis in layout.items():
        if re.fullmatch(r"[xy]axis\d*", name) and isinstance(axis, dict):
            yield Text("chart axis title", _title(axis.get("title")))
            for tick in axis.get("ticktext", ()) or ():
                yield Text("chart tick", str(tick))
    legend = layout.get("legend") or {}
    yield Text("chart legend title", _title(legend.get("title")))
    for note in layout.get("annotations", ()) or ():
        yield Text("chart annotation", str(note.get("text", "")))
    for trace in spec.get("data", ()):
        yield Text("chart trace", str(trace.get("name", "") or ""))
        for axis in ("x", "y"):
            values = trace.get(axis)
            if isinstance(values, list):
                yield from (Text("chart category", v) for v in values if isinstance(v, str))
        bar = (trace.get("marker") or {}).get("colorbar") or {}
        yield Text("chart colour bar", _title(bar.get("title")))


def _title(title: object) -> str:
    if isinstance(title, dict):
        return str(title.get("text", "") or "")
    return str(title or "")


def _table_texts(node: Any) -> Iterator[Text]:
    config = json.loads(node.proto.columns) if node.proto.columns else {}
    frame = node.value
    order = list(node.proto.column_order)
    if order:
        frame = frame[[c for c in order if c in frame.columns]]
    yield from _frame_texts(frame, config)


def _frame_texts(frame: pd.DataFrame, config: dict[str, Any]) -> Iterator[Text]:
    hidden_index = (config.get("_index") or {}).get("hidden", True)
    columns: list[tuple[str, pd.Series]] = [(str(c), frame[c]) for c in frame.columns
                                            if not isinstance(frame[c], pd.DataFrame)]
    if not hidden_index and frame.index.dtype == object:
        columns.insert(0, ("_index", pd.Series(frame.index)))
    for name, series in columns:
        setting = config.get(name) or config.get(f"_pos:{name}") or {}
        if setting.get("hidden"):
            continue
        header = str(setting.get("label") or name)
        if name != "_index":
            yield Text("column", header)
        if series.dtype == object or isinstance(series.dtype, pd.StringDtype):
            for value in series.dropna().unique():
                if isinstance(value, str):
                    yield Text(f"cell:{header}", value)
                elif isinstance(value, list | tuple):
                    yield from (Text(f"cell:{header}", str(v)) for v in value)
