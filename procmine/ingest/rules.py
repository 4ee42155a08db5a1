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
from typing import Final

from procmine.core.schema import TIMESTAMP_COLUMNS
from procmine.core.sql import lit as _lit
from procmine.ingest.state import SourceColumns

__all__ = [
    "CONVERTED_COLUMNS",
    "LOAD_WARNINGS",
    "QUARANTINE_REASONS",
    "QUARANTINE_RULES",
    "WARNINGS",
    "LoadWarning",
    "QuarantineRule",
    "check_select",
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


#: The quarantine rules, in the order reports list them.
QUARANTINE_RULES: Final[tuple[QuarantineRule, ...]] = (
    QuarantineRule("missing_case_id", 1, "the case (transaction) id is empty",
                   "case_id IS NULL"),
    QuarantineRule("missing_activity", 2, "the activity (step) name is empty",
                   "activity IS NULL"),
    QuarantineRule("missing_end_time", 3, "the end (completion) time is empty",
                   "end_time__text IS NULL"),
    QuarantineRule("lifecycle_not_used", 4, "lifecycle transition other than start/complete",
                   "lifecycle IS NOT NULL AND lifecycle NOT IN ('start', 'complete')"),
    QuarantineRule("unmatched_start", 5, "a start event with no matching complete event",
                   "unmatched_start"),
    QuarantineRule("bad_timestamp", 6, "a timestamp that cannot be read",
                   " OR ".join(_failed(c) for c in TIMESTAMP_COLUMNS)),
    QuarantineRule("bad_amount", 7, "an amount that is not a number", _failed("amount")),
    QuarantineRule("bad_error_flag", 8, "an error/reversal flag that is not yes/no",
                   _failed("error")),
    QuarantineRule("end_before_start", 9, "the step ends before it starts",
                   "start_time > end_time"),
    QuarantineRule("unknown_business_type", 10, "a business type that is not in the baseline",
                   "business_type IS NOT NULL AND "
                   "try_cast(business_type AS baseline_code) IS NULL"),
    QuarantineRule("duplicate", 12, "an exact copy of another row of the same file", None),
    QuarantineRule("already_in_store", 11, "the row is already in the store (ingested before)",
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


def reason_case(off: Collection[str] = ()) -> str:
    """The SQL ``CASE`` giving a typed row its reason (NULL for a good row): the rules with a
    condition, by precedence; those named in ``off`` do not apply to this source (no baseline,
    no lifecycle column, nothing stored yet) and never match.

    Example:
        >>> print(reason_case().splitlines()[1].strip())
        WHEN case_id IS NULL THEN 'missing_case_id'
    """
    checked = sorted((r for r in QUARANTINE_RULES if r.condition is not None),
                     key=lambda r: r.precedence)
    whens = "\n".join(
        f"    WHEN {'false' if r.code in off else r.condition} THEN {_lit(r.code)}"
        for r in checked
    )
    return f"CASE\n{whens}\nEND"


def check_select(rows: str, columns: SourceColumns, off: Collection[str], paired: bool) -> str:
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
        SELECT *, {reason_case(off)} AS reason{unmatched_complete}
        FROM {rows})
    """
