"""Files the pages offer for download, made inert first (:func:`procmine.safe_csv`): a value
from the logs such as ``=1+1`` reaches the user's spreadsheet as text, never as a formula."""

from __future__ import annotations

from pathlib import Path

from procmine import safe_csv

__all__ = ["quarantine_csv"]


def quarantine_csv(path: str | Path) -> bytes:
    """A batch's quarantine file as the bytes to download: every field through
    :func:`procmine.safe_cell` (the file itself keeps the source's values as written)."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    return safe_csv(text).encode("utf-8")
