"""The escalation report for the superior bank: the items escalated, with their evidence, their
cost in teller hours a month, what the branch did itself and their status, as a workbook and a
printable page, in Chinese or English.

To be built (issue 15).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from procmine.improve.items import ImprovementItem

__all__ = ["export_escalation_excel", "export_escalation_html"]


def export_escalation_excel(items: Sequence[ImprovementItem], path: str | Path,
                            lang: str = "zh-CN") -> Path:
    """The escalated items as a workbook (see the module)."""
    raise NotImplementedError


def export_escalation_html(items: Sequence[ImprovementItem], path: str | Path,
                           lang: str = "zh-CN") -> Path:
    """The escalated items as one self-contained printable page (see the module)."""
    raise NotImplementedError
