"""The rules a queue ticket is checked against, defined once (like :mod:`procmine.ingest.rules`
for events): why a ticket is quarantined, in order of precedence.

A ticket with several problems is filed under the rule of lowest precedence (the first ``WHEN``
of :func:`ticket_reason_case`). ``malformed_line`` is decided by the CSV reader before any rule
sees the line, and ``duplicate`` after the check, among the tickets that passed it (so a
ticket the store already holds stays ``already_in_store`` even when the file repeats it).

The check reads these columns of a typed ticket (see :mod:`procmine.ingest.tickets`): the
canonical values, ``<column>__text`` (the text a timestamp or amount was read from, after the
mapping's missing values), ``out_of_order`` (a stage before an earlier one, after the
midnight roll-over) and ``row_hash``; and the temp table ``stored_hashes``.

Example:
    >>> list(TICKET_REASONS)[:3]
    ['missing_ticket_id', 'missing_arrival_time', 'control_character']
    >>> "WHEN outcome = 'skip' THEN 'outcome_excluded'" in ticket_reason_case()
    True
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Final

from procmine.core.schema import OUTCOMES, TICKET_COLUMNS
from procmine.core.sql import lit as _lit
from procmine.ingest.rules import Plausibility, QuarantineRule, control_in
from procmine.io.tickets import SKIP

__all__ = [
    "TICKET_IDENTIFIERS",
    "TICKET_REASONS",
    "TICKET_RULES",
    "TICKET_TIMESTAMPS",
    "ticket_reason_case",
]

#: The ticket's timestamp columns, in stage order.
TICKET_TIMESTAMPS: Final = tuple(c for c, t in TICKET_COLUMNS.items() if t == "TIMESTAMP")

#: Identifier columns in which a control character quarantines the ticket.
TICKET_IDENTIFIERS: Final = ("ticket_id", "branch_id", "teller_id", "business_type")

_OUTCOMES: Final = ", ".join(_lit(o) for o in OUTCOMES)


def _failed(column: str) -> str:
    return f"({column} IS NULL AND {column}__text IS NOT NULL)"


#: The quarantine rules of tickets, in the order reports list them.
TICKET_RULES: Final[tuple[QuarantineRule, ...]] = (
    QuarantineRule("missing_ticket_id", 1,
                   "the ticket (call) id is empty, or a part of a composite id is",
                   "ticket_id IS NULL"),
    QuarantineRule("missing_arrival_time", 2, "the arrival (ticket taken) time is empty",
                   "arrival_time__text IS NULL"),
    QuarantineRule("control_character", 3,
                   "a control character (NUL, tab, line break...) in an id or business type",
                   control_in(TICKET_IDENTIFIERS)),
    QuarantineRule("unknown_outcome", 4,
                   "an outcome that is empty or not one of served, abandoned, no_show, "
                   "transferred (map it under values.outcome)",
                   f"outcome IS NULL OR outcome NOT IN ({_OUTCOMES}, {_lit(SKIP)})"),
    QuarantineRule("outcome_excluded", 5,
                   "an outcome the mapping sets aside (skip), e.g. a test or phantom call",
                   f"outcome = {_lit(SKIP)}"),
    QuarantineRule("bad_timestamp", 6, "a time (or date) that cannot be read",
                   " OR ".join(_failed(c) for c in TICKET_TIMESTAMPS)),
    QuarantineRule("implausible_time", 7,
                   "a time outside the plausible window (see earliest, --latest-days)",
                   " OR ".join(f"({c} < {{earliest}} OR {c} >= {{latest}})"
                               for c in TICKET_TIMESTAMPS)),
    QuarantineRule("stage_out_of_order", 8,
                   "a stage (queue, call, service start or end) before an earlier one",
                   "out_of_order"),
    QuarantineRule("missing_service_start", 9,
                   "served or transferred, but no service start",
                   "outcome IN ('served', 'transferred') AND service_start IS NULL"),
    QuarantineRule("bad_amount", 10, "an amount that is not a number", _failed("amount")),
    QuarantineRule("already_in_store", 11,
                   "the ticket is already in the store (ingested before)",
                   "row_hash IN (SELECT row_hash FROM stored_hashes)"),
    QuarantineRule("duplicate", 12, "an exact copy of another row of the same file", None),
    QuarantineRule("malformed_line", 0, "a line the CSV reader could not split", None),
)

#: Why a ticket is quarantined (code -> sentence), in the order reports list them.
TICKET_REASONS: Final[dict[str, str]] = {r.code: r.message for r in TICKET_RULES}


def ticket_reason_case(off: Collection[str] = (), limits: Plausibility | None = None,
                       today: date | None = None) -> str:
    """The SQL ``CASE`` giving a typed ticket its reason (NULL for a good one); the rules
    named in ``off`` do not apply (no service start mapped, nothing stored yet)."""
    values = (limits or Plausibility()).values(today or date.today())
    whens = []
    for rule in sorted(TICKET_RULES, key=lambda r: r.precedence):
        if rule.condition is None:
            continue
        condition = "false" if rule.code in off else rule.condition
        for name, value in values.items():
            condition = condition.replace("{" + name + "}", value)
        whens.append(f"    WHEN {condition} THEN {_lit(rule.code)}")
    return "CASE\n" + "\n".join(whens) + "\nEND"
