"""The timing baseline: a standard counter time for each business type.

The bundled baseline (``sops/baseline.csv``, 58 types) is the default; a bank can load its own file
with the same columns, of which only ``business_type`` and ``standard_seconds`` are required.

Example:
    >>> from procmine.core.baseline import load_baseline
    >>> baseline = load_baseline()
    >>> baseline.standard_seconds("P17")
    120.0
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from procmine.core.errors import ProcmineError
from procmine.core.paths import bundled_path

__all__ = [
    "REVIEW_GROUPS",
    "Baseline",
    "BaselineError",
    "BusinessType",
    "bundled_baseline_path",
    "load_baseline",
]

REVIEW_GROUPS = ("domestic-settlement", "accounting-and-cash", "compliance-and-control")

# Accepted spellings of the code column, for files exported from other systems.
_CODE_ALIASES = ("business_type", "code", "type_code", "txn_code")


class BaselineError(ProcmineError):
    """The baseline file cannot be used; the message names the file, line and field."""


@dataclass(frozen=True)
class BusinessType:
    """One business type of the baseline."""

    code: str
    standard_seconds: float
    name_zh: str = ""
    name_en: str = ""
    group: str = ""
    review_group: str = ""

    def name(self, lang: str = "zh") -> str:
        """The display name in ``lang`` ("zh" or "en"), falling back to the other, then the code."""
        first, second = (self.name_zh, self.name_en) if lang.startswith("zh") else (
            self.name_en,
            self.name_zh,
        )
        return first or second or self.code


@dataclass(frozen=True)
class Baseline:
    """The business types of a baseline, by code, in file order."""

    types: dict[str, BusinessType]
    source: Path

    def __contains__(self, code: object) -> bool:
        return code in self.types

    def __iter__(self) -> Iterator[BusinessType]:
        return iter(self.types.values())

    def __len__(self) -> int:
        return len(self.types)

    def __getitem__(self, code: str) -> BusinessType:
        return self.types[code]

    @property
    def codes(self) -> list[str]:
        return list(self.types)

    def standard_seconds(self, code: str) -> float:
        return self.types[code].standard_seconds

    def to_records(self) -> list[dict[str, object]]:
        """The baseline as plain records (for JSON output and data frames)."""
        return [
            {
                "business_type": t.code,
                "name_zh": t.name_zh,
                "name_en": t.name_en,
                "group": t.group,
                "standard_seconds": t.standard_seconds,
                "review_group": t.review_group,
            }
            for t in self
        ]


def bundled_baseline_path() -> Path:
    """The 58-type baseline shipped with procmine (``sops/baseline.csv`` in the repository; a
    package resource, see :mod:`procmine.core.paths`)."""
    return bundled_path("sops", "baseline.csv")


def load_baseline(path: str | Path | None = None) -> Baseline:
    """Load and validate a baseline file (the bundled 58 types when ``path`` is None).

    Raises BaselineError naming the file, line and field for a missing column, an empty or
    duplicated code, or a standard time that is not a positive number.
    """
    source = Path(path) if path is not None else bundled_baseline_path()
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise BaselineError(f"{source}: cannot read the baseline file ({exc.strerror})") from exc
    text = _decode(raw, source)
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    code_col = next((c for c in _CODE_ALIASES if c in header), None)
    if code_col is None or "standard_seconds" not in header:
        raise BaselineError(
            f"{source}: line 1: the baseline needs the columns business_type and "
            f"standard_seconds; found {', '.join(header) or 'no header'}"
        )
    types: dict[str, BusinessType] = {}
    for line, row in enumerate(reader, start=2):
        code = (row.get(code_col) or "").strip()
        if not code:
            raise BaselineError(f"{source}: line {line}: field {code_col} is empty")
        if code in types:
            raise BaselineError(f"{source}: line {line}: business type {code!r} appears twice")
        seconds_text = (row.get("standard_seconds") or "").strip()
        try:
            seconds = float(seconds_text)
        except ValueError:
            raise BaselineError(
                f"{source}: line {line}: field standard_seconds is {seconds_text!r}, "
                "expected a number of seconds"
            ) from None
        if not seconds > 0:
            raise BaselineError(
                f"{source}: line {line}: field standard_seconds is {seconds_text}, "
                "expected a positive number of seconds"
            )
        review_group = (row.get("review_group") or "").strip()
        if review_group and review_group not in REVIEW_GROUPS:
            raise BaselineError(
                f"{source}: line {line}: field review_group is {review_group!r}, "
                f"expected one of {', '.join(REVIEW_GROUPS)}"
            )
        types[code] = BusinessType(
            code=code,
            standard_seconds=seconds,
            name_zh=(row.get("name_zh") or "").strip(),
            name_en=(row.get("name_en") or "").strip(),
            group=(row.get("group") or "").strip(),
            review_group=review_group,
        )
    if not types:
        raise BaselineError(f"{source}: the baseline has no business types")
    return Baseline(types=types, source=source)


def _decode(raw: bytes, source: Path) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BaselineError(f"{source}: the file is neither UTF-8 nor GB18030 text")
