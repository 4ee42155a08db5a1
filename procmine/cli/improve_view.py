"""How ``procmine improve`` shows the register on a terminal: the list, one item, a measurement.

On a terminal narrower than :data:`~procmine.cli.findings_view.WIDE_AT` columns (80 is the
usual), each item is a line (:func:`item_lines`) of its number, status, review group (its first
word), owner, due day (``!`` marks an open item past it) and teller hours a month, and what it
is about (the English summary of its frozen evidence) beside it when at least 40 columns are
left, else under it on at most two lines; no line is wider than the terminal. A wider
terminal gets the full table (:func:`items_table`): whole group names, cause, decision and
the whole summary, wrapped. :func:`item_text` writes one item (evidence, decision, links,
history, measurement, regression) as text of the terminal's width.

Example:
    >>> from procmine.improve.subjects import shortfall_subject
    >>> subject = shortfall_subject({"branch_id": "B01", "weekday": 1, "start": "09:00",
    ...                              "end": "10:30", "counters": 2, "reason": "shortfall"},
    ...                             as_of=date(2026, 10, 31), store_version="v1")
    >>> when = datetime(2026, 11, 2, tzinfo=UTC)
    >>> item = ImprovementItem(
    ...     id=7, created_at=when, created_by="ops", subject=subject, cause="staffing",
    ...     proposed_change="", review_group="compliance-and-control", owner="manager",
    ...     due_on=date(2026, 11, 30), decision=None, decision_reason="", branch_action="",
    ...     status="proposed", changed_on=None, measurement=None, measured_at=None,
    ...     regression=None, regression_at=None, updated_at=when)
    >>> for line in item_lines([item], 80, today=date(2026, 12, 5)):
    ...     print(line)
    #  status    group       owner    due          h/mo
    7  proposed  compliance  manager  2026-11-30!   0.0
        B01, Monday 09:00-10:30: 2 more windows needed to meet the waiting target
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Final

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.table import Table
from rich.text import Text

from procmine import Finding, ImprovementItem, finding_marks
from procmine import finding_key as finding_key_of

__all__ = [
    "OVERDUE_NOTE",
    "group_short",
    "item_lines",
    "item_text",
    "items_table",
    "measurement_line",
    "print_items",
    "wrap",
]

#: The mark of an open item past its due day, and what it means.
_OVERDUE: Final = "!"
OVERDUE_NOTE: Final = "! overdue: open and past its due day"
#: Below this many cells for the summary, it goes on a line of its own under the figures.
_MIN_WHAT: Final = 40  # fewer columns left: the summary goes on lines of its own
_WIDE_AT: Final = 120


def group_short(group: str) -> str:
    """A review group's first word (``accounting-and-cash``: ``accounting``)."""
    return group.split("-", 1)[0]


def wrap(text: str, width: int, hang: int = 0) -> list[str]:
    """``text`` in lines of at most ``width`` cells, broken between words (a longer word is
    folded); lines after the first are indented by ``hang`` cells."""
    width = max(width, 1)
    first, *rest = [line.plain.rstrip() for line in
                    Text(text).wrap(Console(width=width), width, overflow="fold")] or [""]
    if not rest or not hang or width - hang < 10:
        return [first, *rest]
    more = text.lstrip()[len(first.lstrip()):].strip()  # as written: no space added in Chinese
    return [first, *(" " * hang + part for part in wrap(more, width - hang))]


def _cut(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells, with ``...`` where it was cut."""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, max(width - 3, 0)).rstrip() + "..." if width > 3 else \
        set_cell_size(text, width)


def _due(item: ImprovementItem, today: date) -> str:
    if item.due_on is None:
        return "–"
    return item.due_on.isoformat() + (_OVERDUE if item.overdue(today) else "")


def _hours(item: ImprovementItem) -> str:
    return f"{item.subject.hours_per_month:,.1f}"


def item_lines(items: Sequence[ImprovementItem], width: int, *, today: date) -> list[str]:
    """The items' lines (see the module), each at most ``width`` cells."""
    head = ("#", "status", "group", "owner", "due", "h/mo")
    rows = [(str(i.id), i.status, group_short(i.review_group), _cut(i.owner or "–", 12),
             _due(i, today), _hours(i)) for i in items]
    sizes = [max(cell_len(r[k]) for r in [head, *rows]) for k in range(len(head))]
    right = (True, False, False, False, False, True)

    def cells(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(s) if r else v.ljust(s)
                         for v, s, r in zip(values, sizes, right, strict=True))

    room = width - sum(sizes) - 2 * len(sizes)
    if room < _MIN_WHAT:  # too narrow: the summary on its own line under the figures
        lines = [_cut(cells(head).rstrip(), width)]
        for item, row in zip(items, rows, strict=True):
            summary = wrap(item.subject.summary_in("en"), width - 4)
            lines += [_cut(cells(row).rstrip(), width),
                      *("    " + line for line in summary[:2])]
            if len(summary) > 2:  # at most two lines: `procmine improve show N` has it whole
                lines[-1] = "    " + _cut(summary[1] + " " + summary[2], width - 4)
        return lines
    lines = [cells(head) + "  what"]
    lines += [cells(row) + "  " + _cut(item.subject.summary_in("en"), room)
              for item, row in zip(items, rows, strict=True)]
    return [line.rstrip() for line in lines]


def items_table(items: Sequence[ImprovementItem], title: str, *, today: date) -> Table:
    """The full table of a wide terminal: every figure, whole group names and summaries."""
    view = Table(title=title)
    columns = (("#", "right"), ("status", "left"), ("group", "left"), ("owner", "left"),
               ("due", "left"), ("h/month", "right"), ("cause", "left"),
               ("decision", "left"), ("what", "left"))
    for header, justify in columns:
        view.add_column(header, justify=justify,  # type: ignore[arg-type]
                        no_wrap=header != "what", overflow="fold")
    for item in items:
        view.add_row(str(item.id), item.status, item.review_group, item.owner or "–",
                     _due(item, today), _hours(item), item.cause, item.decision or "–",
                     item.subject.summary_in("en"),
                     style="red" if item.overdue(today) else None)
    return view


def print_items(out: Console, items: Sequence[ImprovementItem], title: str, *,
                today: date) -> None:
    """The items for ``out``'s width: the table on a wide terminal, else one line each."""
    if out.width >= _WIDE_AT:
        out.print(items_table(items, title, today=today))
    else:
        for line in [*wrap(title, out.width), *item_lines(items, out.width, today=today)]:
            out.print(line, markup=False, highlight=False, soft_wrap=True)
    if any(i.overdue(today) for i in items):
        out.print(OVERDUE_NOTE, markup=False, highlight=False)


# -- one item ------------------------------------------------------------------------------------


def _number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if 0 < abs(value) < 0.01:
            return f"{value:.1g}"
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


#: The frozen figures ``show`` prints, in this order, when the evidence has them.
_FIGURES: Final = ("kind", "deviation", "scope", "teller_id", "branch_id", "business_type",
                   "activity", "step_id", "control", "cases", "deviating", "rate", "peer_rate",
                   "steps", "median_seconds", "reference_seconds", "ratio", "ratio_ci",
                   "q_value", "monthly_teller_hours", "period_days", "sop", "sop_version",
                   "sop_step", "weekday", "start", "end", "counters", "service_level",
                   "mean_wait_seconds_served", "p90_wait_seconds_served", "queued",
                   "abandonment_rate")


#: The transactions of a deviation ``show`` lists (``--json`` has them all).
_CASES_SHOWN: Final = 10


def _figures(figures: Mapping[str, Any]) -> str:
    parts = []
    for key in _FIGURES:
        value = figures.get(key)
        if value is None or value == "":
            continue
        if key == "ratio_ci" and isinstance(value, list | tuple):
            text = f"{value[0]:.2f}-{value[1]:.2f}"
        elif key in ("rate", "peer_rate") and isinstance(value, int | float):
            text = f"{value:.1%}"
        else:
            text = _number(value)
        parts.append(f"{key.replace('_', ' ')} {text}")
    return "; ".join(parts)


def measurement_line(item: ImprovementItem) -> str:
    """The item's re-measurement in one English line ("" when it was never measured)."""
    m = item.measurement
    if not m:
        return ""
    text = m.get("text")
    line = (text.get("en") or "") if isinstance(text, Mapping) else str(text or "")
    if not line:
        change = m.get("change")
        line = f"{m.get('method', 'measured')}: change " + (
            f"{float(change):+.1%}" if isinstance(change, int | float) else "–")
    verdict = m.get("verdict") or item.status
    return f"{line} ({verdict.replace('_', ' ')})" if verdict not in ("done", None) else line


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else "–"


def item_text(item: ImprovementItem, width: int, *, today: date) -> list[str]:
    """One item as text lines of at most ``width`` cells (see the module)."""
    s = item.subject
    due = _due(item, today) + (" (overdue)" if item.overdue(today) else "")
    lines = wrap(f"#{item.id} {item.status}: {s.summary_in('en')}", width, 2)
    facts = [
        f"group {item.review_group}; owner {item.owner or '–'}; due {due}",
        f"opened {_when(item.created_at)} by {item.created_by}; source {s.source}; "
        f"{_number(s.hours_per_month)} teller hours a month",
        f"cause {item.cause}; decision {item.decision or '– (not decided)'}"
        + (f" ({item.decision_reason})" if item.decision_reason else ""),
    ]
    if item.proposed_change:
        facts.append(f"proposed change: {item.proposed_change}")
    if item.branch_action:
        facts.append(f"what the branch did itself: {item.branch_action}")
    if item.changed_on:
        facts.append(f"changed on {item.changed_on.isoformat()}")
    as_of = s.as_of.isoformat() if s.as_of else "–"
    facts.append(f"evidence (frozen; data to {as_of}, store {s.store_version or '–'}): "
                 f"{_figures(s.figures)}")
    case_ids = s.figures.get("case_ids") if s.source == "conformance" else None
    if case_ids:
        shown = ", ".join(str(c) for c in case_ids[:_CASES_SHOWN])
        more = len(case_ids) - _CASES_SHOWN
        facts.append(f"transactions: {shown}" + (f" and {more} more" if more > 0 else ""))
    facts.append(f"key {s.key}")
    for fact in facts:
        lines += wrap("  " + fact, width, 4)
    if measured := measurement_line(item):
        lines += wrap(f"  measured {_when(item.measured_at)}: {measured}", width, 4)
    if item.regression:
        text = item.regression.get("text") or _figures(item.regression)
        lines += wrap(f"  regression {_when(item.regression_at)}: the finding came back: "
                      f"{text}", width, 4)
    lines += wrap("  links: " + (", ".join(f"{k.kind} {k.ref} ({k.added_by})"
                                           for k in item.links) or "none"), width, 4)
    lines.append(_cut("  history:", width))
    for e in item.events:
        move = f" {e.from_status or '–'} -> {e.to_status}" if e.from_status != e.to_status \
            else ""
        lines += wrap(f"    {_when(e.at)} {e.username} {e.action}{move}"
                      + (f": {e.note_in('en')}" if e.note else ""), width, 6)
    return lines


def register_lines(findings: Sequence[Finding], items: Sequence[ImprovementItem]) -> list[str]:
    """What ``procmine bottlenecks`` adds under its list: each finding (by its number) that has
    an open item in the improvement register, and each that came back after a verified item.

    Example:
        >>> register_lines([], [])
        []
    """
    marks = finding_marks(findings, items)
    lines = []
    for rank, finding in enumerate(findings, 1):
        mark = marks.get(finding_key_of(finding))
        if mark is None:
            continue
        if mark.regression and mark.latest_item is not None:
            lines.append(f"  {rank}: REGRESSION - came back after item #{mark.latest_item.id} "
                         "was verified")
        elif mark.open_item is not None:
            item = mark.open_item
            lines.append(f"  {rank}: item #{item.id}, {item.status.replace('_', ' ')}, "
                         f"{item.review_group}, due {item.due_on or '-'}")
    if lines:
        lines.insert(0, "In the improvement register (procmine improve show N):")
    return lines
