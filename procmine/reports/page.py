"""What every printable report page shares: the bank's blue header table, CJK fonts, A4
landscape, table headers repeated and rows kept whole when printed. Each report adds its own
rules after these (:data:`PAGE_CSS` first in its ``<style>``)."""

from __future__ import annotations

from typing import Final

__all__ = ["PAGE_CSS"]

PAGE_CSS: Final[str] = """
:root { --head: #305496; --line: #d0d7e5; }
* { box-sizing: border-box; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", "Helvetica Neue",
       Arial, sans-serif; color: #1f1f1f; margin: 24px; font-size: 13px; }
h1 { font-size: 22px; margin: 0 0 4px; }
table { border-collapse: collapse; width: 100%; margin-bottom: 8px; }
th { background: var(--head); color: #fff; font-weight: 600; padding: 6px;
     border: 1px solid var(--head); text-align: center; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { margin: 0; font-size: 10px; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; page-break-inside: avoid; }
}
"""
