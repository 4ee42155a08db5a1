"""Calendar months as the bank writes them: ``YYYY-MM``.

One place parses a month a user typed (CLI ``--month``, a page's month picker) and moves between
months, so that every analysis accepts the same text and rejects a bad one with the same message.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from procmine.core.errors import ProcmineError

__all__ = ["add_months", "last_day", "month_label", "parse_month"]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(month: str) -> date:
    """The first day of ``month`` (``YYYY-MM``); a :class:`ProcmineError` for anything else.

    Example:
        >>> parse_month("2026-10")
        datetime.date(2026, 10, 1)
    """
    match = _MONTH.match(month.strip()) if isinstance(month, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise ProcmineError(
            f"month {month!r} is not a month; expected YYYY-MM, for example 2026-10"
        )
    return date(int(match.group(1)), int(match.group(2)), 1)


def add_months(first: date, months: int) -> date:
    """The first day of the month ``months`` after (before, if negative) ``first``'s month.

    Example:
        >>> add_months(date(2026, 11, 1), 2)
        datetime.date(2027, 1, 1)
    """
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def last_day(first: date) -> date:
    """The last day of ``first``'s month.

    Example:
        >>> last_day(date(2028, 2, 1))
        datetime.date(2028, 2, 29)
    """
    if (first.year, first.month) == (9999, 12):  # the calendar's last month has no next
        return date(9999, 12, 31)
    return add_months(first.replace(day=1), 1) - timedelta(days=1)


def month_label(day: date) -> str:
    """``day``'s month as ``YYYY-MM``.

    Example:
        >>> month_label(date(2026, 3, 9))
        '2026-03'
    """
    return f"{day.year:04d}-{day.month:02d}"
