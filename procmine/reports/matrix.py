"""The teller x business type matrix as an Excel workbook: one sheet per branch.

:func:`procmine.analysis.matrix.teller_type_matrix` builds the cells; :func:`export_matrix_excel`
writes them for the branches: each sheet holds one branch's tellers (rows) x the business types
its tellers did (columns), each cell the median counter dwell time in seconds. Below the header,
a row gives each type's name and a row its standard time, so a reader compares a cell with its
standard in the same column. A cell is filled by its ratio to the standard (:data:`RATIO_BANDS`:
green faster, none near it, orange slower, red much slower); a cell with too few transactions
holds the words "too few (n)" on grey, never a number; a teller who did no transaction of a
type leaves the cell empty. A legend under the table says all of this in the workbook's
language. Every value goes through :func:`~procmine.reports.safe.safe_cell` and every sheet
name through :func:`~procmine.reports.safe.safe_sheet_name`.

Example:
    >>> from openpyxl import load_workbook
    >>> from procmine.analysis.matrix import teller_type_matrix
    >>> cells = teller_type_matrix(store, baseline, month="2026-10")
    >>> export_matrix_excel(cells, "matrix-2026-10.xlsx", baseline, period="2026-10", lang="en")
    PosixPath('matrix-2026-10.xlsx')
    >>> load_workbook("matrix-2026-10.xlsx").sheetnames
    ['B01', 'B02', 'B03', 'B04', 'B05', 'B06']
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Final

import pandas as pd

from procmine.analysis.matrix import MIN_MATRIX_CASES, type_order
from procmine.app.i18n import normalize_language, t
from procmine.core.baseline import Baseline
from procmine.reports.safe import safe_cell, safe_sheet_name

__all__ = ["RATIO_BANDS", "TOO_FEW_FILL", "export_matrix_excel", "ratio_band"]

#: (upper bound of the ratio to the standard, fill colour, legend key): a cell's fill is that
#: of the first band whose bound its ratio is below.
RATIO_BANDS: Final[tuple[tuple[float, str | None, str], ...]] = (
    (0.9, "C6EFCE", "matrix.legend_fast"),
    (1.1, None, "matrix.legend_normal"),
    (1.5, "FFD8A8", "matrix.legend_slow"),
    (math.inf, "F4A6A6", "matrix.legend_very_slow"),
)

#: The fill of a cell with too few transactions.
TOO_FEW_FILL: Final = "D9D9D9"

_HEAD_FILL: Final = "305496"
_FIRST_ROW: Final = 5   # title, header, type names, standards; the tellers from row 5


def ratio_band(ratio: float | None) -> tuple[str | None, str]:
    """The fill colour and legend key of a ratio to the standard (no fill without a ratio).

    Example:
        >>> ratio_band(1.62), ratio_band(1.0)
        (('F4A6A6', 'matrix.legend_very_slow'), (None, 'matrix.legend_normal'))
    """
    if ratio is None or not math.isfinite(ratio):
        return None, "matrix.no_standard"
    return next((fill, key) for bound, fill, key in RATIO_BANDS if ratio < bound)


def _branches(cells: pd.DataFrame, lang: str) -> list[tuple[str, pd.DataFrame]]:
    """(sheet title, the branch's cells), by branch; cells without a branch last."""
    named = cells["branch_id"].astype("string")
    out = [(str(b), cells[named == b]) for b in sorted(named.dropna().unique())]
    if named.isna().any():
        out.append((t("matrix.no_branch", lang), cells[named.isna()]))
    return out


def _value(cell: Any, lang: str) -> tuple[Any, str | None]:
    """What a grid cell (a row of the cells, or None) holds and its fill: the median, "too few
    (n)" on grey, or nothing."""
    if cell is None:
        return None, None
    if not bool(cell.enough):
        return t("matrix.too_few_cell", lang, cases=int(cell.cases)), TOO_FEW_FILL
    fill, _ = ratio_band(None if pd.isna(cell.ratio) else float(cell.ratio))
    return round(float(cell.median_seconds)), fill


def _legend(min_cases: int, lang: str) -> list[tuple[str, str | None]]:
    """The legend's lines, each with the fill it explains."""
    lines: list[tuple[str, str | None]] = [(t("matrix.legend", lang), None)]
    lines += [(t(key, lang), fill) for _, fill, key in RATIO_BANDS]
    lines.append((t("matrix.legend_too_few", lang, min=min_cases), TOO_FEW_FILL))
    lines.append((t("matrix.legend_empty", lang), None))
    return lines


def _write_sheet(sheet: Any, rows: pd.DataFrame, title: str, baseline: Baseline | None,
                 min_cases: int, lang: str) -> None:
    """One branch's grid: title, header (types), type names, standards, tellers, legend."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    def fill(colour: str) -> PatternFill:
        return PatternFill("solid", start_color=colour, end_color=colour)

    types = type_order(rows["business_type"], baseline.codes if baseline is not None else None)
    tellers = sorted(str(c) for c in rows["teller_id"].unique())
    by_key = {(str(r.teller_id), str(r.business_type)): r
              for r in rows.itertuples(index=False)}
    standards = rows.groupby("business_type")["standard_seconds"].first()
    sheet.cell(row=1, column=1, value=safe_cell(title)).font = Font(bold=True, size=13)
    heads = [(2, t("matrix.teller", lang)), (3, t("matrix.business_type", lang)),
             (4, t("matrix.standard", lang))]
    for row, text in heads:
        sheet.cell(row=row, column=1, value=safe_cell(text)).font = Font(bold=True)
    sheet.column_dimensions["A"].width = 16
    for j, code in enumerate(types, start=2):
        head = sheet.cell(row=2, column=j, value=safe_cell(code))
        head.font, head.fill = Font(bold=True, color="FFFFFF"), fill(_HEAD_FILL)
        head.alignment = Alignment(horizontal="center")
        name = baseline[code].name(lang) if baseline is not None and code in baseline else ""
        named = sheet.cell(row=3, column=j, value=safe_cell(name))
        named.alignment = Alignment(wrap_text=True, vertical="top")
        named.font = Font(size=8)
        standard = standards.get(code)
        cell = sheet.cell(row=4, column=j, value=None if pd.isna(standard) else float(standard))
        cell.font, cell.number_format = Font(italic=True), "0"
        sheet.column_dimensions[get_column_letter(j)].width = 11
    sheet.row_dimensions[3].height = 42
    for i, teller in enumerate(tellers, start=_FIRST_ROW):
        sheet.cell(row=i, column=1, value=safe_cell(teller)).font = Font(bold=True)
        for j, code in enumerate(types, start=2):
            record = by_key.get((teller, code))
            value, colour = _value(record, lang)
            cell = sheet.cell(row=i, column=j, value=safe_cell(value))
            cell.number_format = "0"
            cell.alignment = Alignment(horizontal="right")
            if colour is not None:
                cell.fill = fill(colour)
    below = _FIRST_ROW + len(tellers) + 1
    for offset, (text, colour) in enumerate(_legend(min_cases, lang)):
        cell = sheet.cell(row=below + offset, column=1, value=safe_cell(text))
        cell.font = Font(bold=offset == 0, color="404040")
        if colour is not None:
            sheet.cell(row=below + offset, column=2).fill = fill(colour)
    sheet.freeze_panes = sheet.cell(row=_FIRST_ROW, column=2).coordinate
    sheet.page_setup.orientation = "landscape"
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0


def export_matrix_excel(cells: pd.DataFrame, path: str | Path,
                        baseline: Baseline | None = None, *, period: str | None = None,
                        lang: str = "zh-CN", min_cases: int | None = None) -> Path:
    """Write the matrix (:func:`~procmine.analysis.matrix.teller_type_matrix`'s cells) as a
    workbook with one sheet per branch: tellers x the branch's business types, median seconds,
    the types' names (from ``baseline``) and standard times above, fills by the ratio to the
    standard, too-few cells marked, a legend below. ``period`` (e.g. the month) goes into each
    sheet's title; ``min_cases`` into the legend (by default the one the cells were built
    with). A workbook of no cells has one sheet saying so.

    Example:
        >>> from openpyxl import load_workbook
        >>> from procmine.analysis.matrix import teller_type_matrix
        >>> cells = teller_type_matrix(store, baseline, branch="B02", month="2026-10")
        >>> path = export_matrix_excel(cells, "b02.xlsx", baseline, period="2026-10", lang="en")
        >>> sheet = load_workbook(path)["B02"]
        >>> sheet["A2"].value, sheet["A4"].value, sheet["A5"].value
        ('Teller', 'Standard (s)', '0201')
    """
    from openpyxl import Workbook

    lang = normalize_language(lang)
    least = int(min_cases if min_cases is not None
                else cells.attrs.get("min_cases", MIN_MATRIX_CASES))
    label = period or t("matrix.whole_period", lang)
    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    sections = _branches(cells, lang)
    if not sections:
        sheet = workbook.create_sheet(safe_sheet_name(t("matrix.title", lang), used))
        sheet.cell(row=1, column=1, value=safe_cell(t("matrix.empty", lang)))
    for branch, rows in sections:
        sheet = workbook.create_sheet(safe_sheet_name(branch, used))
        _write_sheet(sheet, rows, t("matrix.sheet_title", lang, period=label, branch=branch),
                     baseline, least, lang)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(target)
    return target
