"""The rules a row is checked against, defined once: why a row is quarantined, and what is worth
a look on a row that is loaded.

Each quarantine rule has a code (what the report, the quarantine file and the message catalogue
call it), a precedence, the sentence the command line prints, and the SQL condition that finds
it on a typed row. A row with several problems is filed under the rule of lowest precedence:
:func:`reason_case` turns the rules into the SQL ``CASE`` of the check (first ``WHEN`` wins),
and :func:`check_select` puts it around the typed rows. Two rules are decided outside the
``CASE``: ``malformed_line`` by the CSV reader, before any rule sees the line, and
``duplicate`` after the check, among the rows that passed it (:mod:`procmine.ingest.copies`),
so a row already in the store stays ``already_in_store`` even when the file holds it twice.

Three rules judge plausibility rather than form, with limits a user can change
(:class:`Plausibility`; ``procmine ingest --earliest --latest-days --max-step-hours``): a
timestamp before 2000 or later than the day after the ingest (``implausible_time``: a
9999-12-31 or 1900-01-01 from a default value in a core-banking export), a step longer than
8 hours (``step_too_long``: a counter step is minutes; a day-long one is a clock or a missing
close), and a control character in an id, business type or activity (``control_character``:
NUL, vertical tab and the like break exports and pages, and no real id holds one).

The check reads these columns of a typed row (see :mod:`procmine.ingest.typing`): the canonical
values, ``<column>__text`` (the source text) of the converted columns, ``lifecycle``,
``unmatched_start`` (after lifecycle pairing) and ``row_hash``; the temp table
``stored_hashes`` and, with a baseline, the ENUM type ``baseline_code``.

Example:
    >>> from procmine.ingest.rules import QUARANTINE_REASONS
    >>> list(QUARANTINE_REASONS)[:2]
    ['missing_case_id', 'missing_activity']
    >>> QUARANTINE_REASONS["bad_amount"]
    'an amount that is not a number'
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from procmine.core.errors import ProcmineError
from procmine.core.schema import TIMESTAMP_COLUMNS
from procmine.core.sql import lit as _lit
from procmine.ingest.state import SourceColumns

__all__ = [
    "CONTROL_PATTERN",
    "CONVERTED_COLUMNS",
    "IDENTIFIER_COLUMNS",
    "LOAD_WARNINGS",
    "QUARANTINE_REASONS",
    "QUARANTINE_RULES",
    "WARNINGS",
    "LoadWarning",
    "Plausibility",
    "QuarantineRule",
    "check_select",
    "control_in",
    "reason_case",
]

#: Canonical columns converted from text; a value that does not convert is a reason.
CONVERTED_COLUMNS: Final[tuple[str, ...]] = (*TIMESTAMP_COLUMNS, "amount", "error")


@dataclass(frozen=True)
class QuarantineRule:
    """Why a row is quarantined: ``condition`` is true on a typed row that breaks the rule
    (None where the rule is decided outside the check's ``CASE``)."""

    code: str
    precedence: int
    message: str
    condition: str | None


@dataclass(frozen=True)
class LoadWarning:
    """A row that is loaded but worth a look: ``condition`` is true on such a row."""

    code: str
    message: str
    condition: str


def _failed(column: str) -> str:
    """The column's source text is there, but it did not convert."""
    return f"({column} IS NULL AND {column}__text IS NOT NULL)"


#: Identifier columns in which a control character quarantines the row.
IDENTIFIER_COLUMNS: Final[tuple[str, ...]] = (
    "case_id", "teller_id", "branch_id", "business_type", "activity",
)

#: C0 controls (NUL, tab, vertical tab, line breaks...), DEL and the C1 controls (an RE2
#: pattern as a SQL literal).
CONTROL_PATTERN: Final = r"'[\x{00}-\x{1F}\x{7F}-\x{9F}]'"


def control_in(columns: Collection[str]) -> str:
    """SQL: a control character in any of ``columns``. One match over their concatenation
    (``concat`` reads NULL as empty) costs a fifth of a match per column on five columns, and
    finds the same rows: the pattern is one character, which no joint can make."""
    return f"regexp_matches(concat({', '.join(columns)}), {CONTROL_PATTERN})"


@dataclass(frozen=True)
class Plausibility:
    """The limits of a plausible row: every timestamp on or after ``earliest`` and before
    the end of the day ``latest_days`` after the ingest date, and no step (end - start)
    longer than ``max_step_hours``.

    Example:
        >>> limits = Plausibility(earliest=date(2020, 1, 1), latest_days=0)
        >>> limits.latest(date(2026, 10, 5))
        datetime.date(2026, 10, 6)
    """

    earliest: date = date(2000, 1, 1)
    latest_days: int = 1
    max_step_hours: float = 8.0

    def __post_init__(self) -> None:
        if self.latest_days < 0:
            raise ProcmineError(f"latest_days must be 0 or more, not {self.latest_days}")
        if not self.max_step_hours > 0:
            raise ProcmineError(
                f"max_step_hours must be a positive number of hours, not {self.max_step_hours}"
            )

    def latest(self, today: date) -> date:
        """The first day (midnight) that is too late for a row ingested on ``today``."""
        return today + timedelta(days=self.latest_days + 1)

    def values(self, today: date) -> dict[str, str]:
        """The SQL literals the rules' conditions use."""
        if self.earliest >= self.latest(today):
            raise ProcmineError(
                f"the earliest plausible date {self.earliest} is not before the latest "
                f"{self.latest(today)}"
            )
        return {
            "earliest": f"TIMESTAMP '{self.earliest.isoformat()}'",
            "latest": f"TIMESTAMP '{self.latest(today).isoformat()}'",
            "max_step_seconds": repr(float(self.max_step_hours) * 3600.0),
        }


def _outside_window(column: str) -> str:
    return f"({column} < {{earliest}} OR {column} >= {{latest}})"


#: The quarantine rules, in the order reports list them. A condition may name the limits of
#: :class:`Plausibility` as ``{earliest}``, ``{latest}`` and ``{max_step_seconds}``.
QUARANTINE_RULES: Final[tuple[QuarantineRule, ...]] = (
    QuarantineRule("missing_case_id", 1, "the case (transaction) id is empty",
                   "case_id IS NULL"),
    QuarantineRule("missing_activity", 2, "the activity (step) name is empty",
                   "activity IS NULL"),
    QuarantineRule("missing_end_time", 3, "the end (completion) time is empty",
                   "end_time__text IS NULL"),
    QuarantineRule("control_character", 4,
                   "a control character (NUL, tab, line break...) in an id, business type "
                   "or activity",
                   control_in(IDENTIFIER_COLUMNS)),
    QuarantineRule("lifecycle_not_used", 5, "lifecycle transition other than start/complete",
                   "lifecycle IS NOT NULL AND lifecycle NOT IN ('start', 'complete')"),
    QuarantineRule("unmatched_start", 6, "a start event with no matching complete event",
                   "unmatched_start"),
    QuarantineRule("bad_timestamp", 7, "a timestamp that cannot be read",
                   " OR ".join(_failed(c) for c in TIMESTAMP_COLUMNS)),
    QuarantineRule("implausible_time", 8,
                   "a timestamp outside the plausible window (see --earliest, --latest-days)",
                   " OR ".join(_outside_window(c) for c in TIMESTAMP_COLUMNS)),
    QuarantineRule("bad_amount", 9, "an amount that is not a number", _failed("amount")),
    QuarantineRule("bad_error_flag", 10, "an error/reversal flag that is not yes/no",
                   _failed("error")),
    QuarantineRule("end_before_start", 11, "the step ends before it starts",
                   "start_time > end_time"),
    QuarantineRule("step_too_long", 12,
                   "the step lasts longer than the maximum (see --max-step-hours)",
                   "epoch(end_time) - epoch(start_time) > {max_step_seconds}"),
    QuarantineRule("unknown_business_type", 13, "a business type that is not in the baseline",
                   "business_type IS NOT NULL AND "
                   "try_cast(business_type AS baseline_code) IS NULL"),
    QuarantineRule("duplicate", 15, "an exact copy of another row of the same file", None),
    QuarantineRule("already_in_store", 14, "the row is already in the store (ingested before)",
                   "row_hash IN (SELECT row_hash FROM stored_hashes)"),
    QuarantineRule("malformed_line", 0, "a line the CSV reader could not split", None),
)

#: Why a row is quarantined (code -> sentence), in the order reports list them.
QUARANTINE_REASONS: Final[dict[str, str]] = {r.code: r.message for r in QUARANTINE_RULES}

#: Rows that are loaded but worth a look, in the order reports list them.
LOAD_WARNINGS: Final[tuple[LoadWarning, ...]] = (
    LoadWarning("missing_teller", "no teller on the row (loaded with the teller unknown)",
                "teller_id IS NULL"),
    LoadWarning("unmatched_complete",
                "a complete event with no start event (loaded without a start time)",
                "unmatched_complete"),
)

#: Warning code -> sentence.
WARNINGS: Final[dict[str, str]] = {w.code: w.message for w in LOAD_WARNINGS}


def _fill(condition: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        condition = condition.replace("{" + name + "}", value)
    return condition


def reason_case(off: Collection[str] = (), limits: Plausibility | None = None,
                today: date | None = None) -> str:
    """The SQL ``CASE`` giving a typed row its reason (NULL for a good row): the rules with a
    condition, by precedence; those named in ``off`` do not apply to this source (no baseline,
    no lifecycle column, nothing stored yet) and never match. ``limits`` (the defaults when
    None) bound the plausible times of a row ingested on ``today`` (the local date when None).

    Example:
        >>> print(reason_case().splitlines()[1].strip())
        WHEN case_id IS NULL THEN 'missing_case_id'
        >>> case = reason_case(limits=Plausibility(max_step_hours=2), today=date(2026, 10, 5))
        >>> "end_time >= TIMESTAMP '2026-10-07'" in case, "> 7200.0 THEN" in case
        (True, True)
    """
    values = (limits or Plausibility()).values(today or date.today())
    checked = sorted((r for r in QUARANTINE_RULES if r.condition is not None),
                     key=lambda r: r.precedence)
    whens = "\n".join(
        f"    WHEN {'false' if r.code in off else _fill(r.condition, values)} "
        f"THEN {_lit(r.code)}"
        for r in checked if r.condition is not None
    )
    return f"CASE\n{whens}\nEND"


def check_select(rows: str, columns: SourceColumns, off: Collection[str], paired: bool,
                 limits: Plausibility | None = None) -> str:
    """``rows`` with each row's quarantine reason (NULL when good) and content hash.

    A bad row keeps the source text of its typed columns (``<column>__raw``), so the
    quarantine shows what the file said; a good row keeps only the typed values. ``paired``:
    the rows come from lifecycle pairing and carry ``unmatched_start``/``unmatched_complete``.
    """
    if not paired:
        off = {*off, "unmatched_start"}
    unmatched_complete = "" if paired else ", false AS unmatched_complete"
    texts = ", ".join(
        [f"{c}__text" for c in CONVERTED_COLUMNS]
        + [f"__src_{i}" for i in range(len(columns.record))]
    )
    raws = ", ".join(
        f"CASE WHEN reason IS NOT NULL THEN {c}__text END AS {c}__raw"
        for c in CONVERTED_COLUMNS
    )
    if not columns.has_unmapped:
        texts += ", record_hash"  # equal to row_hash: written once
    return f"""
        SELECT * EXCLUDE ({texts}), {raws},
            CASE WHEN reason IS NOT NULL THEN {columns.line_hash()} END AS line_hash,
            CASE WHEN reason IS NOT NULL THEN {columns.line_key()} END AS line_key FROM (
        SELECT *, {reason_case(off, limits)} AS reason{unmatched_complete}
        FROM {rows})
    """
