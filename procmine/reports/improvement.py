"""The escalation report for the superior bank: the items escalated, with their evidence, their
cost in teller hours a month, what the branch did itself and their status, as a workbook and a
printable page, in Chinese or English.

The report writes what it is given, by number (callers pass the escalated items:
:func:`escalated_items` picks them, decision "escalate" and not rejected) and says in its
summary which statuses and decisions it holds. For each item: its number, when and by whom it
was opened, the branch and business type, what was found (the frozen summary,
:meth:`Subject.summary_in`), the evidence figures as they were when the item was opened
(median, reference, ratio and its 95% interval, cases, the data's period and the day it ran to;
a queue shortfall: its weekday, hours and windows; a deviation from the SOP: its kind, step,
rate against the other tellers' and transactions), the teller hours a month it costs, the
cause, the proposed change, what the branch did itself, the owning review group, owner, due
day, status and the re-measurement when there is one. The summary on top: how many items,
their teller hours a month, how many are overdue, the report's date.

* :func:`export_escalation_excel`: a sheet of the items (one row each, the header frozen, the
  overdue rows filled red) and a sheet of each item's history (date, who, action, from, to,
  note). Every cell goes through :func:`~procmine.reports.safe.safe_cell`: a name or a text
  typed in the register that starts with ``=`` is written as text.
* :func:`export_escalation_html`: one self-contained page (styles inline; A4 landscape, the
  table header repeated on each printed page): the title, the summary, one table, then each
  item's evidence and history under it. Every value is escaped.

Example:
    >>> from openpyxl import load_workbook
    >>> from procmine.improve.register import list_items
    >>> from procmine.app.auth import get_user
    >>> items = escalated_items(list_items(user=get_user("ops", home), home=home))
    >>> [(i.subject.branch_id, i.status) for i in items]
    [('B06', 'accepted')]
    >>> book = load_workbook(export_escalation_excel(items, "escalations.xlsx", "en", home=home))
    >>> book.sheetnames
    ['escalations', 'item history']
    >>> page = export_escalation_html(items, "escalations.html", "zh-CN", home=home)
    >>> "上报上级行" in page.read_text(encoding="utf-8")
    True
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from procmine.app.i18n import business_type_name, normalize_language, t
from procmine.core.baseline import Baseline, load_baseline
from procmine.improve.items import CAUSES, DECISIONS, STATUSES, ImprovementItem
from procmine.improve.register import causes
from procmine.reports.page import PAGE_CSS
from procmine.reports.safe import remove_control, safe_cell, safe_sheet_name

__all__ = ["escalated_items", "escalation_rows", "export_escalation_excel",
           "export_escalation_html"]

# key: (number format, column width); labels: improve.report.col.<key>
_COLUMNS: dict[str, tuple[str, float]] = {
    "id": ("0", 6),
    "opened": ("yyyy-mm-dd", 11),
    "created_by": ("@", 11),
    "branch": ("@", 8),
    "business_type": ("@", 16),
    "found": ("@", 40),
    "median": ("#,##0", 10),
    "reference": ("#,##0", 10),
    "ratio": ("0.00", 8),
    "ratio_ci": ("@", 12),
    "cases": ("#,##0", 8),
    "period": ("@", 18),
    "queue": ("@", 24),
    "deviation": ("@", 36),
    "hours": ("#,##0.0", 11),
    "cause": ("@", 12),
    "proposed": ("@", 32),
    "branch_action": ("@", 32),
    "decision": ("@", 14),
    "group": ("@", 16),
    "owner": ("@", 11),
    "due": ("yyyy-mm-dd", 11),
    "status": ("@", 12),
    "measurement": ("@", 36),
}
#: The page's table (the rest of an item's figures follow under it).
_TABLE_COLUMNS = ("id", "opened", "branch", "business_type", "found", "hours", "ratio", "cause",
                  "group", "owner", "due", "status")
_HISTORY_COLUMNS = ("id", "at", "who", "action", "from", "to", "note")
_HISTORY_WIDTHS = (6, 17, 12, 12, 14, 14, 60)


def escalated_items(items: Iterable[ImprovementItem]) -> list[ImprovementItem]:
    """The items for the superior bank: decided as escalate and not rejected, by number.

    Example:
        >>> escalated_items([])
        []
    """
    return sorted((i for i in items if i.decision == "escalate" and i.status != "rejected"),
                  key=lambda i: i.id)


# -- the values ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Context:
    lang: str
    baseline: Baseline
    cause_names: Mapping[str, str]
    today: date


def _context(items: Sequence[ImprovementItem], lang: str, home: Path | None,
             baseline: Baseline | None, today: date | None) -> _Context:
    lang = normalize_language(lang)
    names = {c: t(f"improve.cause.{c}", lang) for c in CAUSES}
    if any(i.cause not in names for i in items):  # a cause of the bank's own
        names.update({code: (en if lang == "en" else zh) for code, zh, en in causes(home)})
    return _Context(lang, baseline or load_baseline(), names, today or date.today())


def _number(value: Any) -> float | None:
    """A figure as a float, None when missing or not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _ratio_ci(figures: Mapping[str, Any]) -> str | None:
    ci = figures.get("ratio_ci")
    if not ci or len(ci) != 2:
        return None
    low, high = _number(ci[0]), _number(ci[1])
    return None if low is None or high is None else f"{low:.2f}–{high:.2f}"


def _period(item: ImprovementItem, lang: str) -> str | None:
    as_of = item.subject.as_of.isoformat() if item.subject.as_of else None
    days = _number(item.subject.figures.get("period_days"))
    if days and as_of:
        return t("improve.report.period", lang, days=f"{days:.0f}", as_of=as_of)
    if as_of:
        return t("improve.report.as_of", lang, as_of=as_of)
    return None


_SHIFT_KEYS = ("branch_id", "weekday", "start", "end", "counters", "reason", "text", "kind")


def _queue(item: ImprovementItem, lang: str) -> str | None:
    """A shortfall's own figures: weekday, hours, windows (and the branch's queue figures)."""
    if item.subject.source != "queue":
        return None
    figures = item.subject.figures
    weekday = figures.get("weekday")
    line = t("improve.report.queue_line", lang,
             weekday=t(f"improve.weekday.{weekday}", lang) if weekday else "",
             start=figures.get("start", ""), end=figures.get("end", ""),
             counters=figures.get("counters", ""))
    extra = [f"{k} {_plain_text(v)}" for k, v in sorted(figures.items())
             if k not in _SHIFT_KEYS and isinstance(v, int | float | str) and v != ""]
    return "; ".join([line, *extra])


def _deviation(item: ImprovementItem, lang: str) -> str | None:
    """A deviation's own figures: kind, step, transactions deviating, rate (against the other
    tellers'), the SOP version, and how many transactions the evidence lists."""
    if item.subject.source != "conformance":
        return None
    figures = item.subject.figures
    step = str(figures.get("activity") or "")
    if lang == "zh-CN" and figures.get("step_name_zh"):
        step = str(figures["step_name_zh"])
    rate, peer = _number(figures.get("rate")), _number(figures.get("peer_rate"))
    line = t("improve.report.deviation_line", lang,
             kind=t(f"improve.deviation.{figures.get('deviation')}", lang), step=step,
             deviating=figures.get("deviating", ""), cases=figures.get("cases", ""),
             rate=f"{rate:.1%}" if rate is not None else "–", sop=figures.get("sop") or "–")
    if figures.get("scope") == "teller" and peer is not None:
        line += t("improve.report.deviation_peer", lang, rate=f"{peer:.1%}")
    if figures.get("control"):
        line += t("improve.report.deviation_control", lang)
    return line


def _plain_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _measurement(item: ImprovementItem, lang: str) -> str | None:
    if not item.measurement:
        return None
    text = item.measurement.get("text")
    if isinstance(text, Mapping):
        return str(text.get(lang) or text.get("en") or "") or None
    return str(text) if text else None


def _type(code: str | None, ctx: _Context) -> str | None:
    if not code:
        return None
    return f"{code} {business_type_name(code, ctx.lang, ctx.baseline)}"


def _row(item: ImprovementItem, ctx: _Context) -> dict[str, Any]:
    """One item's values, by column (plain Python values; None where there is none)."""
    lang, figures = ctx.lang, item.subject.figures
    finding = item.subject.source == "finding"
    return {
        "id": item.id,
        "opened": item.created_at.date(),
        "created_by": item.created_by,
        "branch": item.subject.branch_id,
        "business_type": _type(item.subject.business_type, ctx),
        "found": item.subject.summary_in(lang),
        "median": _number(figures.get("median_seconds")) if finding else None,
        "reference": _number(figures.get("reference_seconds")) if finding else None,
        "ratio": _number(figures.get("ratio")) if finding else None,
        "ratio_ci": _ratio_ci(figures) if finding else None,
        "cases": (_number(figures.get("cases"))
                  if finding or item.subject.source == "conformance" else None),
        "period": _period(item, lang),
        "queue": _queue(item, lang),
        "deviation": _deviation(item, lang),
        "hours": item.subject.hours_per_month,
        "cause": ctx.cause_names.get(item.cause, item.cause),
        "proposed": item.proposed_change or None,
        "branch_action": item.branch_action or None,
        "decision": t(f"improve.decision.{item.decision}", lang) if item.decision else None,
        "group": t(f"review_groups.{item.review_group}", lang),
        "owner": item.owner or None,
        "due": item.due_on,
        "status": t(f"improve.status.{item.status}", lang),
        "measurement": _measurement(item, lang),
    }


def escalation_rows(items: Sequence[ImprovementItem], lang: str = "zh-CN", *,
                    home: Path | None = None, baseline: Baseline | None = None,
                    today: date | None = None) -> list[dict[str, Any]]:
    """The report's rows as the exports show them (labels in ``lang``), one per item, with
    ``overdue`` (open and past its due day on ``today``).

    Example:
        >>> from procmine.improve.register import list_items
        >>> from procmine.app.auth import get_user
        >>> row = escalation_rows(list_items(user=get_user("ops", home), home=home,
        ...                                  status="accepted"), "en", home=home)[0]
        >>> row["branch"], row["cause"], row["status"]
        ('B06', 'System', 'Accepted')
    """
    ctx = _context(items, lang, home, baseline, today)
    return [_row(i, ctx) | {"overdue": i.overdue(ctx.today)} for i in items]


def _labels(lang: str) -> dict[str, str]:
    return {key: t(f"improve.report.col.{key}", lang) for key in _COLUMNS}


def _summary(items: Sequence[ImprovementItem], ctx: _Context) -> list[tuple[str, Any]]:
    """(label, value) of the summary: items, teller hours a month, overdue, report date."""
    lang = ctx.lang
    return [
        (t("improve.report.count", lang), len(items)),
        (t("improve.report.hours_total", lang),
         round(sum(i.subject.hours_per_month for i in items), 1)),
        (t("improve.report.overdue", lang), sum(i.overdue(ctx.today) for i in items)),
        (t("improve.report.report_date", lang), ctx.today),
    ]


def _scope_line(items: Sequence[ImprovementItem], lang: str) -> str:
    """Which statuses and decisions the report holds (in the lifecycle's order)."""
    statuses = [t(f"improve.status.{s}", lang) for s in STATUSES
                if any(i.status == s for i in items)]
    decisions = [t(f"improve.decision.{d}", lang) for d in DECISIONS
                 if any(i.decision == d for i in items)]
    if any(i.decision is None for i in items):
        decisions.append(t("improve.report.undecided", lang))
    sep = "、" if lang == "zh-CN" else ", "
    return t("improve.report.scope", lang, statuses=sep.join(statuses) or "–",
             decisions=sep.join(decisions) or "–")


def _history(items: Sequence[ImprovementItem], lang: str) -> list[tuple[Any, ...]]:
    """One row per change of each item: number, when (UTC), who, action, from, to, note."""
    def status(value: str | None) -> str | None:
        return t(f"improve.status.{value}", lang) if value else None

    return [(item.id, e.at.strftime("%Y-%m-%d %H:%M"), e.username,
             t(f"improve.report.action.{e.action}", lang), status(e.from_status),
             status(e.to_status), e.note_in(lang) or None)
            for item in items for e in item.events]


# -- Excel ---------------------------------------------------------------------------------------

_RED = "FCE4E4"


def export_escalation_excel(items: Sequence[ImprovementItem], path: str | Path,
                            lang: str = "zh-CN", *, home: Path | None = None,
                            baseline: Baseline | None = None, today: date | None = None) -> Path:
    """The escalated items as a workbook: a sheet of the items (title, summary, then one row an
    item under a frozen header; overdue rows filled red) and a sheet of their history. ``home``
    names the register's workspace (for the bank's own causes), ``today`` the report's date
    (overdue is judged on it).

    Example:
        >>> from openpyxl import load_workbook
        >>> sheet = load_workbook(export_escalation_excel([], "none.xlsx", "en"))["escalations"]
        >>> sheet["A6"].value
        'No escalated items.'
    """
    from openpyxl import Workbook

    items = sorted(items, key=lambda i: i.id)
    ctx = _context(items, lang, home, baseline, today)
    workbook = Workbook()
    used: set[str] = set()
    sheet = workbook.active
    sheet.title = safe_sheet_name(t("improve.report.sheet_items", ctx.lang), used)
    _items_sheet(sheet, items, ctx)
    history = workbook.create_sheet(safe_sheet_name(t("improve.report.sheet_history", ctx.lang),
                                                    used))
    _history_sheet(history, items, ctx.lang)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(target)
    return target


def _header(sheet: Any, row: int, labels: Sequence[str], widths: Sequence[float]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    fill = PatternFill("solid", start_color="305496", end_color="305496")
    for j, (label, width) in enumerate(zip(labels, widths, strict=True), start=1):
        cell = sheet.cell(row=row, column=j, value=safe_cell(label))
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(j)].width = width + 2
    sheet.row_dimensions[row].height = 32
    sheet.print_title_rows = f"{row}:{row}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def _items_sheet(sheet: Any, items: Sequence[ImprovementItem], ctx: _Context) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    lang, keys = ctx.lang, list(_COLUMNS)
    sheet.cell(row=1, column=1, value=safe_cell(t("improve.report.title", lang))).font = Font(
        bold=True, size=14)
    for j, (label, value) in enumerate(_summary(items, ctx)):
        sheet.cell(row=2, column=2 * j + 1, value=safe_cell(label)).font = Font(bold=True)
        sheet.cell(row=2, column=2 * j + 2, value=safe_cell(value)).alignment = Alignment(
            horizontal="left")
    sheet.cell(row=2, column=8).number_format = "yyyy-mm-dd"
    sheet.cell(row=3, column=1, value=safe_cell(_scope_line(items, lang))).font = Font(
        italic=True, color="595959")
    _header(sheet, 5, [_labels(lang)[k] for k in keys], [_COLUMNS[k][1] for k in keys])
    sheet.freeze_panes = "B6"
    if not items:
        sheet.cell(row=6, column=1, value=safe_cell(t("improve.report.empty", lang)))
        sheet.merge_cells(start_row=6, start_column=1, end_row=6, end_column=len(keys))
        return
    red = PatternFill("solid", start_color=_RED, end_color=_RED)
    wrap = Alignment(wrap_text=True, vertical="top")
    for i, item in enumerate(items, start=6):
        record, overdue = _row(item, ctx), item.overdue(ctx.today)
        for j, key in enumerate(keys, start=1):
            cell = sheet.cell(row=i, column=j, value=safe_cell(record[key]))
            cell.number_format = _COLUMNS[key][0]
            cell.alignment = wrap
            if overdue:
                cell.fill = red


def _history_sheet(sheet: Any, items: Sequence[ImprovementItem], lang: str) -> None:
    from openpyxl.styles import Alignment

    labels = [t(f"improve.report.hist.{k}", lang) for k in _HISTORY_COLUMNS]
    _header(sheet, 1, labels, _HISTORY_WIDTHS)
    sheet.freeze_panes = "A2"
    rows = _history(items, lang)
    if not rows:
        sheet.cell(row=2, column=1, value=safe_cell(t("improve.report.empty", lang)))
        return
    wrap = Alignment(wrap_text=True, vertical="top")
    for i, row in enumerate(rows, start=2):
        for j, value in enumerate(row, start=1):
            sheet.cell(row=i, column=j, value=safe_cell(value)).alignment = wrap


# -- HTML ----------------------------------------------------------------------------------------

_CSS = PAGE_CSS + """
h2 { font-size: 16px; margin: 24px 0 6px; color: var(--head); }
p.meta { color: #595959; margin: 0 0 12px; }
ul.summary { list-style: none; padding: 0; margin: 0 0 12px; display: flex; gap: 24px; }
ul.summary b { font-size: 18px; display: block; }
td { padding: 4px 6px; border: 1px solid var(--line); vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.nowrap { white-space: nowrap; }
tr.overdue td { background-color: #fce4e4; }
dl { display: grid; grid-template-columns: 14em 1fr; gap: 2px 12px; margin: 0 0 8px; }
dt { color: #595959; } dd { margin: 0; white-space: pre-wrap; }
p.empty { font-size: 16px; padding: 24px; border: 1px dashed var(--line); }
@media print {
  section.item { break-inside: avoid; page-break-inside: avoid; }
  section.items { break-before: page; page-break-before: always; }
}
"""


def _cell(key: str, value: Any) -> str:
    """A value as the page's cell text (escaped)."""
    if value is None:
        return "–"
    if isinstance(value, float):
        spec = _COLUMNS.get(key, ("",))[0]
        return f"{value:,.1f}" if spec == "#,##0.0" else (
            f"{value:.2f}" if spec == "0.00" else f"{value:,.0f}")
    if isinstance(value, date):
        return value.isoformat()
    return html.escape(remove_control(str(value)))


_NUM_TD = '<td class="num">'
#: The table's short columns, kept on one line.
_NOWRAP = ("id", "opened", "branch", "ratio", "hours", "cause", "owner", "due", "status")


def _html_table(records: Sequence[dict[str, Any]], labels: Mapping[str, str]) -> str:
    head = "".join(('<th class="nowrap">' if k in _NOWRAP else "<th>")
                   + f"{html.escape(labels[k])}</th>" for k in _TABLE_COLUMNS)
    body = []
    for record in records:
        cells = "".join(
            (_NUM_TD if isinstance(record[k], int | float) else
             '<td class="nowrap">' if k in _NOWRAP else "<td>")
            + f"{_cell(k, record[k])}</td>" for k in _TABLE_COLUMNS)
        klass = ' class="overdue"' if record["overdue"] else ""
        body.append(f'<tr id="row-{record["id"]}"{klass}>{cells}</tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _html_item(item: ImprovementItem, record: Mapping[str, Any], labels: Mapping[str, str],
               lang: str) -> str:
    """One item's evidence and history, under the table."""
    title = t("improve.report.item_title", lang, id=item.id,
              branch=record["branch"] or "–")
    shown = [k for k in _COLUMNS if k not in ("id",) and record[k] is not None]
    fields = "".join(f"<dt>{html.escape(labels[k])}</dt><dd>{_cell(k, record[k])}</dd>"
                     for k in shown)
    rows = _history([item], lang)
    history = ""
    if rows:
        head = "".join(f"<th>{html.escape(t(f'improve.report.hist.{k}', lang))}</th>"
                       for k in _HISTORY_COLUMNS[1:])
        body = "".join("<tr>" + "".join(f"<td>{_cell('', v)}</td>" for v in row[1:]) + "</tr>"
                       for row in rows)
        history = (f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return (f'<section class="item" id="item-{item.id}"><h2>{html.escape(title)}</h2>'
            f"<dl>{fields}</dl>{history}</section>")


def export_escalation_html(items: Sequence[ImprovementItem], path: str | Path,
                           lang: str = "zh-CN", *, home: Path | None = None,
                           baseline: Baseline | None = None, today: date | None = None) -> Path:
    """The escalated items as one self-contained printable page: the title, the summary, one
    table of the items, then each item's evidence and history (see the module).

    Example:
        >>> page = export_escalation_html([], "none.html", "en")
        >>> "No escalated items." in page.read_text(encoding="utf-8")
        True
    """
    items = sorted(items, key=lambda i: i.id)
    ctx = _context(items, lang, home, baseline, today)
    lang, labels = ctx.lang, _labels(ctx.lang)
    title = t("improve.report.title", lang)
    summary = "".join(f"<li>{html.escape(label)}<b>{_cell('hours', value)}</b></li>"
                      for label, value in _summary(items, ctx))
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{lang}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{html.escape(_scope_line(items, lang))}</p>',
        f'<ul class="summary">{summary}</ul>',
    ]
    if not items:
        parts.append(f'<p class="empty">{html.escape(t("improve.report.empty", lang))}</p>')
    else:
        records = [_row(i, ctx) | {"overdue": i.overdue(ctx.today)} for i in items]
        parts.append(_html_table(records, labels))
        parts.append('<section class="items">')
        parts += [_html_item(i, r, labels, lang) for i, r in zip(items, records, strict=True)]
        parts.append("</section>")
    parts.append("</body></html>")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return target
