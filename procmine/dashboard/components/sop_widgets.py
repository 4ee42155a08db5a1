"""Pieces the SOP pages share: labels, the SOP picker, the side-by-side diff table, the
document drawn with each step's standard time and findings beside it, the editor's preview, and
the search."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from datetime import date

import pandas as pd
import streamlit as st

from procmine import (
    LintReport,
    Sop,
    SopError,
    SopVersion,
    condition_text,
    matches_query,
    render_sop,
    side_by_side,
    split_front_matter,
)
from procmine.dashboard.components.names import step_matches
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import error, lang, tr

__all__ = [
    "days_left",
    "diff_html",
    "matches",
    "pick_sop",
    "render_body",
    "show_diff",
    "show_document",
    "show_preview",
    "sop_label",
    "split_by_steps",
    "version_label",
]

_HEADING = re.compile(r"^(#{1,6})\s")
_ANCHOR = re.compile(r"\{:?\s*#([A-Za-z0-9_-]+)\s*\}\s*$")
_COLOURS = {"changed": "#fff3bf", "added": "#d3f9d8", "removed": "#ffe3e3", "gap": "#f1f3f5"}
_DIFF_STYLE = (
    "<style>"
    "table.pm-diff{border-collapse:collapse;width:100%;font-family:ui-monospace,monospace;"
    "font-size:0.8rem;table-layout:fixed}"
    "table.pm-diff th{background:#e9ecef;text-align:left;padding:4px 6px}"
    "table.pm-diff td{padding:1px 6px;white-space:pre-wrap;word-break:break-word;"
    "vertical-align:top;border-bottom:1px solid #f1f3f5}"
    + "".join(f"table.pm-diff tr.pm-{kind} td{{background:{colour}}}"
              for kind, colour in _COLOURS.items())
    + "</style>"
)


def sop_label(sop: Sop) -> str:
    """``SOP-P17 活期现金存款`` in the session's language."""
    return f"{sop.id} {sop.title_in(lang())}"


def version_label(version: SopVersion) -> str:
    """``1.3 · draft · 2026-11-02 · ab12cd34``."""
    return (f"{version.sop.version} · {tr(f'sop_status.{version.sop.status}')} · "
            f"{version.when:%Y-%m-%d} · {version.short}")


def pick_sop(sops: Sequence[Sop], key: str, label: str | None = None,
             default: str | None = None, *, placeholder: str | None = None) -> Sop | None:
    """A select box of SOPs (by id, titled in the session's language), on ``default`` at
    first if given, else on the first SOP, or on none with a ``placeholder`` (the user
    chooses); None when empty or none is chosen."""
    if not sops:
        return None
    by_id = {s.id: s for s in sops}
    ids = list(by_id)
    first = None if placeholder is not None else 0
    chosen = st.selectbox(label or tr("sops.open"), ids, key=key,
                          index=ids.index(default) if default in by_id else first,
                          format_func=lambda i: sop_label(by_id[i]),
                          placeholder=placeholder or tr("widgets.no_options"))
    return by_id.get(chosen) if chosen is not None else None


def matches(sop: Sop, query: str) -> bool:
    """Whether a search text occurs in the SOP's id, titles, business types, step ids or step
    names in Chinese or English (case-insensitive; every word must occur:
    :func:`procmine.matches_query`), or a step's activity names it in the glossary."""
    if matches_query(sop, query):
        return True
    return bool(query.split()) and any(step_matches(s.activity, query) for s in sop.steps)


def diff_html(rows: Iterable[tuple[str, str, str]], left: str, right: str) -> str:
    """The rows of :func:`procmine.side_by_side` as an HTML table: changed lines
    yellow, added green, removed red, skipped unchanged lines as a grey row."""
    body = []
    for kind, old, new in rows:
        if kind == "gap":
            body.append('<tr class="pm-gap"><td>⋯</td><td>⋯</td></tr>')
            continue
        body.append(f'<tr class="pm-{kind}"><td>{html.escape(old)}</td>'
                    f"<td>{html.escape(new)}</td></tr>")
    return (f'{_DIFF_STYLE}<table class="pm-diff"><thead><tr><th>{html.escape(left)}</th>'
            f"<th>{html.escape(right)}</th></tr></thead><tbody>{''.join(body)}</tbody></table>")


def show_diff(old: str, new: str, left: str, right: str) -> None:
    """Draw two texts side by side (only the changed lines and their context)."""
    rows = side_by_side(old, new)
    if not rows:
        st.info(tr("diff.same"))
        return
    st.html(diff_html(rows, left, right))


def split_by_steps(body: str, step_ids: Iterable[str]) -> list[tuple[str | None, str]]:
    """The body cut into pieces: (step id, the step's section) for each step heading (up to
    the next heading of the same or a higher level) and (None, text) for what lies between."""
    wanted = set(step_ids)
    pieces: list[tuple[str | None, list[str]]] = [(None, [])]
    level = 0
    in_fence = False
    for line in body.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line)
        if heading:
            anchor = _ANCHOR.search(line)
            depth = len(heading.group(1))
            if anchor and anchor.group(1) in wanted:
                pieces.append((anchor.group(1), [line]))
                level = depth
                continue
            if pieces[-1][0] is not None and depth <= level:
                pieces.append((None, [line]))
                continue
        pieces[-1][1].append(line)
    return [(step, "\n".join(lines)) for step, lines in pieces if any(x.strip() for x in lines)]


def _step_note(sop: Sop, step_id: str, findings: pd.DataFrame | None) -> None:
    step = sop.step(step_id)
    st.markdown(f"**{tr('view.standard', seconds=f'{step.standard_seconds:g}')}**")
    if step.conditional and step.when:
        st.caption(tr("view.when", when=plain(step.when_in(lang()))))
    if step.conditional and step.required_when is not None:
        st.caption(tr("view.required_when",
                      condition=plain(condition_text(step.required_when, lang()))))
    if findings is None:
        return
    row = findings[findings["step_id"] == step_id]
    n = int(row["findings"].iloc[0]) if len(row) else 0
    if n == 0:
        st.caption(tr("view.no_findings"))
        return
    hours = float(row["monthly_teller_hours"].iloc[0])
    st.markdown(f":red[{tr('view.findings', n=n, hours=f'{hours:.1f}')}]")
    tellers, branches = str(row["tellers"].iloc[0]), str(row["branches"].iloc[0])
    if tellers:
        st.caption(tr("view.tellers", tellers=plain(tellers)))
    if branches:
        st.caption(tr("view.branches", branches=plain(branches)))


def render_body(body: str) -> str:
    """An SOP body as HTML; text markdown cannot render is shown as it is."""
    try:
        return render_sop(body)
    except Exception:  # markdown raises on malformed extension syntax while one types
        return f"<pre>{html.escape(body)}</pre>"


def show_preview(text: str, report: LintReport) -> None:
    """A text being edited, rendered (its body, after the front matter), under a warning when
    its checks found errors; a front matter that cannot be read is said instead."""
    if report.errors:
        st.warning(tr("editor.has_errors", n=len(report.errors)))
    try:
        body = split_front_matter(text)[1]
    except SopError as exc:
        st.warning(plain(error(exc)))
    else:
        st.html(render_body(body))


def show_document(sop: Sop, findings: pd.DataFrame | None) -> None:
    """The SOP rendered, each step's section with its standard time and its findings beside
    it (``findings``: one row per step, as ``procmine.findings_by_step`` gives)."""
    st.caption(tr("view.meta", types=plain(", ".join(sop.business_types)),
                  group=tr(f"review_groups.{sop.owner_group}"), version=sop.version,
                  status=tr(f"sop_status.{sop.status}"), effective=str(sop.effective)))
    for step_id, text in split_by_steps(sop.body, (s.id for s in sop.steps)):
        if step_id is None:
            st.html(render_body(text))
            continue
        left, right = st.columns([3, 1], vertical_alignment="top")
        with left:
            st.html(render_body(text))
        with right, st.container(border=True):
            _step_note(sop, step_id, findings)


def days_left(due: date | None, today: date) -> int | None:
    """Days from ``today`` to a review date (negative: overdue)."""
    return (due - today).days if due else None
