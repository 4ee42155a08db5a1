"""Reading the demo generator's data files: CSV tables shipped inside the package.

The activity vocabulary (``activities.csv``) and the business type profiles (``profiles.csv``)
are data, not code: one row per step name, one row per business type. They are read as package
resources (:mod:`importlib.resources`), so an installed wheel has them too. Every value is
checked on the way in; a bad file is a :class:`~procmine.core.errors.ProcmineError` that names
the file, the line and the field, and says what was expected.

Example:
    >>> table = read_table("profiles.csv", ("profile", "weight", "steps"))
    >>> line, row = next(iter(table))
    >>> line, row["profile"], number(table, line, row, "weight")
    (2, 'P01', 1.5)
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from procmine.core.errors import ProcmineError

__all__ = ["DataFileError", "Table", "number", "read_table", "text", "yes_no"]


class DataFileError(ProcmineError):
    """A demo data file cannot be used; the message names the file, line and field."""


@dataclass(frozen=True)
class Table:
    """The rows of one data file, each with its line number (the header is line 1)."""

    source: str
    rows: tuple[tuple[int, dict[str, str]], ...]

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        return iter(self.rows)

    def error(self, line: int, field: str, message: str) -> DataFileError:
        """The error for a bad value: ``FILE: line N: field F ...``."""
        return DataFileError(f"{self.source}: line {line}: field {field} {message}")


def read_table(name: str, columns: Sequence[str], path: Path | None = None) -> Table:
    """The rows of the data file ``name`` bundled in ``procmine.demo`` (or of ``path``).

    The header must hold every name of ``columns``; values are stripped of surrounding spaces.
    """
    source = str(path) if path is not None else name
    try:
        if path is not None:
            content = Path(path).read_text(encoding="utf-8")
        else:
            content = resources.files("procmine.demo").joinpath(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{source}: cannot read the demo data file ({exc})") from exc
    reader = csv.DictReader(io.StringIO(content))
    header = [h.strip() for h in reader.fieldnames or ()]
    reader.fieldnames = header
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataFileError(f"{source}: line 1: the columns {', '.join(missing)} are missing; "
                            f"expected {', '.join(columns)}")
    rows = []
    for line, row in enumerate(reader, start=2):
        if None in row:
            raise DataFileError(f"{source}: line {line}: more values than the header has columns "
                                "(a comma inside a value needs quotes)")
        rows.append((line, {k: (v or "").strip() for k, v in row.items()}))
    if not rows:
        raise DataFileError(f"{source}: the file has no rows")
    return Table(source, tuple(rows))


def text(table: Table, line: int, row: dict[str, str], field: str) -> str:
    """A value that must not be empty."""
    value = row[field]
    if not value:
        raise table.error(line, field, "is empty")
    return value


def number(table: Table, line: int, row: dict[str, str], field: str, *,
           minimum: float = 0.0, inclusive: bool = False, maximum: float = math.inf) -> float:
    """A finite number above ``minimum`` (or at least it, when ``inclusive``) and at most
    ``maximum``."""
    value = row[field]
    try:
        result = float(value)
    except ValueError:
        raise table.error(line, field, f"is {value!r}, expected a number") from None
    low_ok = result >= minimum if inclusive else result > minimum
    if not (math.isfinite(result) and low_ok and result <= maximum):
        bound = f"{'at least' if inclusive else 'above'} {minimum:g}"
        if math.isfinite(maximum):
            bound += f" and at most {maximum:g}"
        raise table.error(line, field, f"is {value!r}, expected a number {bound}")
    return result


def yes_no(table: Table, line: int, row: dict[str, str], field: str) -> bool:
    """``yes`` or ``no``."""
    value = row[field]
    if value not in ("yes", "no"):
        raise table.error(line, field, f"is {value!r}, expected yes or no")
    return value == "yes"
