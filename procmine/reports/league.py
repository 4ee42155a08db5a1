"""The monthly announcement as a document: a formatted Excel workbook and a printable HTML page.

:func:`procmine.analysis.league.monthly_league` builds the table; this module writes it for
the people it is announced to. Both exports hold the bank-wide table first (by bank rank), then
one table per branch (by branch rank), with the column headers in Chinese or English
(:func:`column_labels`), the speed indexes coloured from red (slowest) through yellow (the
median) to green (fastest), and the method (what the speed index is, how few transactions are
shrunk toward the bank, the large-amount allowances of the month) in notes below the tables.

* :func:`export_league_excel`: one sheet per table, a title row with the month, a bold filled
  header frozen in place, number formats and a colour scale on the speed indexes; it prints
  landscape, one page wide.
* :func:`export_league_html`: one self-contained page (styles inline, no external assets) that
  prints the same offline; each branch starts a new printed page (print it to PDF from the
  browser).

Example:
    >>> from procmine.analysis.league import monthly_league
    >>> from procmine.reports.league import export_league_excel, export_league_html
    >>> league = monthly_league(store, baseline, "2026-10")
    >>> export_league_excel(league, "league-2026-10.xlsx", lang="en")
    PosixPath('league-2026-10.xlsx')
    >>> export_league_html(league, "league-2026-10.html", "2026-10", "en")
    PosixPath('league-2026-10.html')
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd

from procmine.analysis.error_rates import error_prior
from procmine.analysis.league import league_records
from procmine.app.i18n import normalize_language, t
from procmine.reports.page import PAGE_CSS
from procmine.reports.safe import remove_control, safe_cell, safe_sheet_name

__all__ = ["add_spot_checks", "column_labels", "export_league_excel", "export_league_html"]

# --------------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------------

# key: (zh-CN, en, Excel number format, column width)
_COLUMNS: dict[str, tuple[str, str, str, float]] = {
    "teller_id": ("柜员号", "Teller", "@", 10),
    "branch_id": ("网点", "Branch", "@", 10),
    "transactions": ("业务笔数", "Transactions", "#,##0", 11),
    "standard_hours": ("标准工时(小时)", "Standard hours", "#,##0.0", 13),
    "actual_hours": ("实际用时(小时)", "Actual hours", "#,##0.0", 13),
    "errors": ("差错笔数", "Errors", "#,##0", 9),
    # two decimals: errors are rare (about 1%), and the corrected rates sit close together
    "error_rate": ("差错率(原始)", "Error rate (raw)", "0.00%", 11),
    "error_rate_shrunk": ("差错率(校正)", "Error rate (corrected)", "0.00%", 12),
    "speed_index": ("速度指数", "Speed index", "0.00", 10),
    "speed_index_adjusted": ("速度指数(含大额)", "Speed index (large amounts)", "0.00", 13),
    "speed_index_shrunk": ("速度指数(排名用)", "Speed index (ranked)", "0.00", 13),
    "ranked": ("参与排名", "Ranked", "@", 9),
    "rank_in_branch": ("网点排名", "Branch rank", "0", 9),
    "rank_overall": ("全行排名", "Bank rank", "0", 9),
    "prev_speed_index_shrunk": ("上月速度指数", "Last month's index", "0.00", 12),
    "prev_rank_overall": ("上月全行排名", "Last month's rank", "0", 11),
    "speed_index_change": ("指数变化", "Index change", "+0.00;-0.00;0.00", 10),
    "rank_change": ("名次变化", "Rank change", "+0;-0;0", 9),
    "spot_checks": ("本月抽查次数", "Spot checks", "#,##0", 10),
    "spot_checks_passed": ("抽查通过次数", "Spot checks passed", "#,##0", 10),
}

#: The columns the exports show, in order (the month is in the title).
_EXPORT_COLUMNS: tuple[str, ...] = (
    "rank_overall", "rank_in_branch", "teller_id", "branch_id", "transactions",
    "standard_hours", "actual_hours", "errors", "error_rate", "error_rate_shrunk",
    "speed_index", "speed_index_adjusted", "speed_index_shrunk",
    "prev_speed_index_shrunk", "speed_index_change", "prev_rank_overall", "rank_change",
)
_INDEX_COLUMNS = ("speed_index", "speed_index_adjusted", "speed_index_shrunk")
#: The month's spot checks of each teller, shown after the league's own columns when the
#: table carries them (:func:`add_spot_checks`).
_SPOT_CHECK_COLUMNS: tuple[str, ...] = ("spot_checks", "spot_checks_passed")

_WORDS = {
    "zh-CN": {"bank": "全行", "no_branch": "未知网点", "branch": "网点",
              "tellers": "名柜员"},
    "en": {"bank": "All branches", "no_branch": "No branch", "branch": "Branch",
           "tellers": "tellers"},
}


def column_labels(lang: str = "zh-CN") -> dict[str, str]:
    """The column headers of the league table in ``lang`` (zh-CN or en), by column name.

    Example:
        >>> column_labels("en")["speed_index_shrunk"]
        'Speed index (ranked)'
    """
    en = normalize_language(lang) == "en"
    labels = {key: (spec[1] if en else spec[0]) for key, spec in _COLUMNS.items()}
    labels["month"] = "Month" if en else "月份"
    return labels


def add_spot_checks(league: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """The league with the month's spot checks of each teller: ``spot_checks`` (how many) and
    ``spot_checks_passed`` (how many found nothing done wrongly or skipped), 0 for a teller
    not checked. ``summary`` is :func:`procmine.training.spotchecks.spot_check_summary` of the
    same month (columns teller_id, checks, passed); the exports then show both columns.

    Example:
        >>> from procmine.analysis.league import monthly_league
        >>> league = monthly_league(store, baseline, "2026-10")
        >>> checks = pd.DataFrame({"teller_id": ["0101"], "checks": [2], "passed": [1]})
        >>> shown = add_spot_checks(league, checks).set_index("teller_id")
        >>> shown.loc["0101", ["spot_checks", "spot_checks_passed"]].tolist()
        [2, 1]
        >>> int(shown["spot_checks"].sum()), len(shown) == len(league)
        (2, True)
    """
    counts = summary.reindex(columns=["teller_id", "checks", "passed"]).copy()
    counts["teller_id"] = counts["teller_id"].astype(str)
    counts = counts.groupby("teller_id", as_index=False)[["checks", "passed"]].sum()
    counts = counts.rename(columns={"checks": "spot_checks", "passed": "spot_checks_passed"})
    merged = league.drop(columns=[c for c in _SPOT_CHECK_COLUMNS if c in league.columns])
    keys = merged["teller_id"].astype(str)
    by_teller = counts.set_index("teller_id")
    for column in _SPOT_CHECK_COLUMNS:
        merged[column] = keys.map(by_teller[column]).fillna(0).astype("int64").to_numpy()
    merged.attrs = dict(league.attrs)
    return merged


def _columns(league: pd.DataFrame) -> tuple[str, ...]:
    """The columns an export shows: the league's, then the spot checks when it carries them."""
    if all(c in league.columns for c in _SPOT_CHECK_COLUMNS):
        return _EXPORT_COLUMNS + _SPOT_CHECK_COLUMNS
    return _EXPORT_COLUMNS


def _method_note(league: pd.DataFrame, lang: str) -> list[str]:
    method: dict[str, Any] = league.attrs.get("method", {})
    k = method.get("speed_prior_strength")
    allow = method.get("large_amount_allowances") or {}
    amount = method.get("large_amount")
    if normalize_language(lang) == "en":
        lines = [
            "Speed index = sum of standard times / sum of actual counter times (above 1 is "
            "faster than standard); harder business types carry longer standard times.",
            "Ranks use the speed index shrunk toward the bank level by empirical Bayes, so a "
            "teller with few transactions does not top or bottom the table by chance "
            + (f"(prior weight {k:.0f} transactions)." if k is not None
               else "(this month: full pooling)."),
            *_error_note(league, "en"),
        ]
        if amount is not None and allow:
            lines.append(
                f"Transactions of {amount:,.0f} CNY or more get a longer standard time, by the "
                "bank-wide extra time of their type: "
                + ", ".join(f"{c} ×{f:.2f}" for c, f in allow.items()) + "."
            )
        lines += _not_ranked_note(method, "en")
        if "spot_checks" in league.columns:
            lines.append("Spot checks: a trainer or supervisor watched the teller work through "
                         "an SOP this month; passed when no step was done wrongly or skipped.")
    else:
        lines = [
            "速度指数 = 标准时间合计 ÷ 实际办理时间合计（大于 1 表示快于标准）；"
            "复杂业务的标准时间更长，因此按标准工时折算比较。",
            "排名依据经验贝叶斯校正后的速度指数：业务笔数少的柜员向全行水平收缩，"
            "避免偶然因素造成名次大起大落"
            + (f"（先验权重 {k:.0f} 笔）。" if k is not None else "（本月完全合并）。"),
            *_error_note(league, "zh-CN"),
        ]
        if amount is not None and allow:
            lines.append(
                f"金额 {amount:,.0f} 元及以上的交易按全行同类业务的实际额外耗时延长标准时间："
                + "，".join(f"{c} ×{f:.2f}" for c, f in allow.items()) + "。"
            )
        lines += _not_ranked_note(method, "zh-CN")
        if "spot_checks" in league.columns:
            lines.append("抽查：本月培训员或主管现场观察柜员按 SOP 办理业务的次数；"
                         "无步骤做错或遗漏即为通过。")
    return lines


def _error_note(league: pd.DataFrame, lang: str) -> list[str]:
    """How the error rates were corrected (raw and corrected stand side by side)."""
    prior = error_prior(league)
    if prior["bank_error_rate"] is None:
        return []
    bank = f"{prior['bank_error_rate']:.2%}"
    if prior["prior_weight"] is None:
        return [t("errors.caption_pooled", lang, bank=bank)]
    return [t("errors.caption", lang, bank=bank, weight=f"{prior['prior_weight']:,.0f}",
              median=f"{prior['median_transactions']:,.0f}", share=f"{prior['own_share']:.0%}")]


def _not_ranked_note(method: dict[str, Any], lang: str) -> list[str]:
    """The minimum of transactions to be ranked, as a note (none when every teller ranks)."""
    least = method.get("min_transactions")
    return [t("league.not_ranked_note", lang, min=least)] if least and least > 1 else []


def _records(rows: pd.DataFrame, lang: str) -> list[dict[str, Any]]:
    """The exported columns of ``rows`` as plain values, "not ranked" in the rank cells of the
    tellers not ranked."""
    word = t("league.not_ranked", lang)
    flags = rows["ranked"] if "ranked" in rows.columns else pd.Series(True, index=rows.index)
    return [r | {"rank_overall": word, "rank_in_branch": word} if flag is False else r
            for r, flag in zip(league_records(rows, _columns(rows)),
                               flags.astype(bool).tolist(), strict=True)]


def _month_of(league: pd.DataFrame, month: str | None) -> str:
    if month:
        return month
    if "month" in league.columns and len(league):
        return str(league["month"].iloc[0])
    return str(league.attrs.get("method", {}).get("month", ""))


def _sections(league: pd.DataFrame, lang: str) -> list[tuple[str, pd.DataFrame]]:
    """(title, rows): the bank first (by bank rank), then each branch (by branch rank)."""
    words = _WORDS[normalize_language(lang)]
    sections = [(words["bank"], league.sort_values(["rank_overall", "teller_id"],
                                                   na_position="last"))]
    branches = league["branch_id"].astype("string").fillna(words["no_branch"])
    for branch in sorted(branches.unique()):
        rows = league[branches == branch].sort_values(["rank_in_branch", "teller_id"],
                                                      na_position="last")
        sections.append((str(branch), rows))
    return sections


# --------------------------------------------------------------------------------------------------
# Excel
# --------------------------------------------------------------------------------------------------

def export_league_excel(league: pd.DataFrame, path: str | Path, lang: str = "zh-CN") -> Path:
    """Write the league as a formatted workbook: the bank-wide sheet first, then one sheet per
    branch; a title row with the month, a bold filled header frozen in place, number formats and
    a colour scale on the speed indexes, and the method in notes below the table. Every cell
    goes through :func:`~procmine.reports.safe.safe_cell` and every sheet name through
    :func:`~procmine.reports.safe.safe_sheet_name`: an id like ``=1+1`` is written as text.

    Example:
        >>> from openpyxl import load_workbook
        >>> from procmine.analysis.league import monthly_league
        >>> league = monthly_league(store, baseline, "2026-10")
        >>> export_league_excel(league, "league-2026-10.xlsx", lang="en")
        PosixPath('league-2026-10.xlsx')
        >>> load_workbook("league-2026-10.xlsx").sheetnames
        ['All branches', 'B01', 'B02', 'B03', 'B04', 'B05', 'B06']
    """
    from openpyxl import Workbook
    from openpyxl.formatting.rule import ColorScaleRule
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    lang = normalize_language(lang)
    target = Path(path)
    month = _month_of(league, None)
    labels = column_labels(lang)
    title_text = t("nav.announcement", lang)
    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", start_color="305496", end_color="305496")
    thin = Side(style="thin", color="BFBFBF")
    note = _method_note(league, lang)
    columns = _columns(league)
    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for section, rows in _sections(league, lang):
        sheet = workbook.create_sheet(safe_sheet_name(section, used))
        ncols = len(columns)
        title_cell = sheet.cell(row=1, column=1,
                                value=safe_cell(f"{month} {title_text} · {section}"))
        title_cell.font = Font(bold=True, size=14)
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
        for j, key in enumerate(columns, start=1):
            cell = sheet.cell(row=2, column=j, value=safe_cell(labels[key]))
            cell.font = header_font
            cell.fill = header_fill
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.border = Border(bottom=thin)
            sheet.column_dimensions[get_column_letter(j)].width = _COLUMNS[key][3] + 2
        sheet.row_dimensions[2].height = 32
        for i, record in enumerate(_records(rows, lang), start=3):
            for j, key in enumerate(columns, start=1):
                cell = sheet.cell(row=i, column=j, value=safe_cell(record[key]))
                cell.number_format = _COLUMNS[key][2]
                cell.border = Border(bottom=thin)
        last = 2 + len(rows)
        if len(rows):
            for key in _INDEX_COLUMNS:
                letter = get_column_letter(columns.index(key) + 1)
                sheet.conditional_formatting.add(
                    f"{letter}3:{letter}{last}",
                    ColorScaleRule(start_type="min", start_color="F8696B",
                                   mid_type="percentile", mid_value=50, mid_color="FFEB84",
                                   end_type="max", end_color="63BE7B"),
                )
        for offset, line in enumerate(note, start=2):
            sheet.cell(row=last + offset, column=1, value=safe_cell(line)).font = Font(
                italic=True, color="595959")
        sheet.freeze_panes = "D3"
        sheet.print_title_rows = "2:2"
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
    target.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(target)
    return target


# --------------------------------------------------------------------------------------------------
# HTML (printable; print to PDF from the browser)
# --------------------------------------------------------------------------------------------------

_CSS = PAGE_CSS + """
h2 { font-size: 17px; margin: 28px 0 8px; color: var(--head); }
p.meta { color: #595959; margin: 0 0 16px; }
td { padding: 4px 6px; border: 1px solid var(--line); text-align: right;
     font-variant-numeric: tabular-nums; }
td.text { text-align: left; }
tbody tr:nth-child(even) td { background-color: #f6f8fc; }
ol.notes { color: #595959; font-size: 12px; padding-left: 18px; }
@media print {
  section.branch { break-before: page; page-break-before: always; }
  h2 { margin-top: 0; }
  .noprint { display: none; }
}
"""


def _scale_colour(value: float, low: float, mid: float, high: float) -> str:
    """Red (slowest) through yellow (median) to green (fastest), like Excel's 3-colour scale."""
    stops = ((0xF8, 0x69, 0x6B), (0xFF, 0xEB, 0x84), (0x63, 0xBE, 0x7B))
    if value <= mid:
        frac, a, b = ((value - low) / (mid - low) if mid > low else 1.0), stops[0], stops[1]
    else:
        frac, a, b = ((value - mid) / (high - mid) if high > mid else 1.0), stops[1], stops[2]
    frac = min(max(frac, 0.0), 1.0)
    rgb = (round(x + (y - x) * frac) for x, y in zip(a, b, strict=True))
    return "#" + "".join(f"{c:02X}" for c in rgb)


def _format(key: str, value: Any) -> str:
    """A plain value (:func:`~procmine.analysis.league.league_records`) as the cell's text."""
    if value is None:
        return "–"
    if isinstance(value, str):  # an id, or "not ranked" in a rank column
        return html.escape(remove_control(value))
    spec = _COLUMNS[key][2]
    if spec == "0.00%":
        return f"{value:.2%}"
    if spec == "0.00":
        return f"{value:.2f}"
    if spec.startswith("+0.00"):
        return "0.00" if round(value, 2) == 0 else f"{value:+.2f}"
    if spec.startswith("+0;"):
        return "0" if int(value) == 0 else f"{int(value):+d}"
    if spec == "#,##0.0":
        return f"{value:,.1f}"
    if spec in ("#,##0", "0"):
        return f"{int(value):,d}"
    return html.escape(remove_control(str(value)))


def _html_table(rows: pd.DataFrame, labels: dict[str, str],
                scales: dict[str, tuple[float, float, float]], lang: str) -> str:
    head = "".join(f"<th>{html.escape(labels[k])}</th>" for k in _columns(rows))
    body = []
    for record in _records(rows, lang):
        cells = []
        for key, value in record.items():
            text = _format(key, value)
            klass = ' class="text"' if key in ("teller_id", "branch_id") else ""
            style = ""
            if key in scales and value is not None:
                style = f' style="background-color:{_scale_colour(value, *scales[key])}"'
            cells.append(f"<td{klass}{style}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def export_league_html(league: pd.DataFrame, path: str | Path, month: str | None = None,
                       lang: str = "zh-CN") -> Path:
    """Write the league as one self-contained HTML page to print (or save as PDF): the
    bank-wide table, then one table per branch, each branch starting a new printed page.

    No external assets: the styles are inline, so the page prints the same offline.

    Example:
        >>> from procmine.analysis.league import monthly_league
        >>> league = monthly_league(store, baseline, "2026-10")
        >>> page = export_league_html(league, "league-2026-10.html", "2026-10", "en")
        >>> page.read_text(encoding="utf-8").count("<table")  # the bank, then six branches
        7
    """
    lang = normalize_language(lang)
    target = Path(path)
    month = _month_of(league, month)
    labels = column_labels(lang)
    words = _WORDS[lang]
    title = f"{month} {t('nav.announcement', lang)}"
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{lang}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{len(league)} {html.escape(words["tellers"])}</p>',
    ]
    for n, (section, rows) in enumerate(_sections(league, lang)):
        scales = {}
        for key in _INDEX_COLUMNS:
            values = rows[key].dropna().astype(float)
            if len(values):
                scales[key] = (float(values.min()), float(values.median()), float(values.max()))
        heading = section if n == 0 else f"{words['branch']} {section}"
        klass = "bank" if n == 0 else "branch"
        parts.append(f'<section class="{klass}"><h2>{html.escape(remove_control(heading))}</h2>')
        parts.append(_html_table(rows, labels, scales, lang))
        parts.append("</section>")
    parts.append('<ol class="notes">' + "".join(
        f"<li>{html.escape(line)}</li>" for line in _method_note(league, lang)
    ) + "</ol>")
    parts.append("</body></html>")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return target
