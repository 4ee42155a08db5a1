"""What every page and command can narrow the data to: a period, branches, business types,
tellers.

:class:`Filters` is a frozen value (empty means no restriction). It becomes SQL in two forms:
:meth:`Filters.where`, a WHERE clause over the transactions relation
(:mod:`procmine.analysis.transactions`) with ``$parameters``, and :meth:`Filters.sql`, the same
restriction with literal values, for view definitions (views take no parameters). A period is
a range of days, the end inclusive; a transaction belongs to the day it started.

Example:
    >>> Filters.for_month("2026-10", tellers=("0401",)).where()[0]
    'true AND started >= $start AND started < $end AND list_contains($tellers, teller_id)'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from procmine.core.months import last_day, parse_month
from procmine.core.sql import lit

__all__ = ["Filters"]


def _day_after(day: date) -> date | datetime:
    """The day after ``day``; the last instant of the calendar after its last day."""
    return day + timedelta(days=1) if day < date.max else datetime.max


@dataclass(frozen=True)
class Filters:
    """What every page can narrow the data to; empty means no restriction."""

    start: date | None = None
    end: date | None = None  # inclusive
    branches: tuple[str, ...] = field(default_factory=tuple)
    business_types: tuple[str, ...] = field(default_factory=tuple)
    tellers: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def for_month(cls, month: str, **kwargs: Any) -> Filters:
        """The filters of one calendar month given as ``YYYY-MM``
        (:func:`procmine.core.months.parse_month`).

        Example:
            >>> Filters.for_month("2026-10").end
            datetime.date(2026, 10, 31)
        """
        first = parse_month(month)
        return cls(start=first, end=last_day(first), **kwargs)

    def where(self) -> tuple[str, dict[str, Any]]:
        """A WHERE clause over the transactions relation, with its parameters."""
        clauses = ["true"]
        params: dict[str, Any] = {}
        if self.start is not None:
            clauses.append("started >= $start")
            params["start"] = self.start
        if self.end is not None:
            clauses.append("started < $end")
            params["end"] = _day_after(self.end)
        for name, column in (("branches", "branch_id"), ("business_types", "business_type"),
                             ("tellers", "teller_id")):
            values = getattr(self, name)
            if values:
                clauses.append(f"list_contains(${name}, {column})")
                params[name] = list(values)
        return " AND ".join(clauses), params

    def sql(self, time_column: str = "started", *, period: bool = True,
            types: bool = True, people: bool = True) -> str:
        """The same restriction as :meth:`where` with literal values (for view definitions)."""
        clauses = ["true"]
        if period and self.start is not None:
            clauses.append(f"{time_column} >= DATE '{self.start.isoformat()}'")
        if period and self.end is not None:
            after = _day_after(self.end)
            bound = (f"TIMESTAMP '{after.isoformat(sep=' ')}'" if isinstance(after, datetime)
                     else f"DATE '{after.isoformat()}'")
            clauses.append(f"{time_column} < {bound}")
        chosen = []
        if types:
            chosen.append((self.business_types, "business_type"))
        if people:
            chosen += [(self.branches, "branch_id"), (self.tellers, "teller_id")]
        for values, column in chosen:
            if values:
                clauses.append(f"{column} IN ({', '.join(lit(v) for v in values)})")
        return " AND ".join(clauses)
