"""Ticket mapping files: how a queue-system export maps onto the canonical ticket columns.

A queue system (or a call centre's switch) exports one row per ticket (or call). Its mapping
file says ``kind: tickets`` and maps each canonical ticket column
(:data:`procmine.core.schema.TICKET_COLUMNS`) to a column of the file, or to a rule over
several: ``{join: [a, b], sep: "-"}`` (a composite key: the values joined, missing when any
part is) or ``{first: [a, b]}`` (the first value that is not missing, in order). Values in
``missing`` mean "did not happen / unknown" in any column; ``values`` maps a column's source
values (the outcome's onto :data:`~procmine.core.schema.OUTCOMES`, or ``skip``: the row is
set aside as ``outcome_excluded``); ``constants`` fills a column the file lacks. Times come
as full timestamps (``timestamp_format``, ISO 8601 when absent) or as times of day beside a
``date`` column (``date_format``, ``time_format``): a stage that reads more than 12 hours
before an earlier one of the same ticket is then on the next day (the ingest rolls it over
midnight). ``earliest`` moves the plausibility bound of old exports, and
``stage_tolerance_seconds`` lets one stage read a few seconds before an earlier one (two
systems whose clocks differ by a second) without the row being out of order.

The file is read like an event mapping (:func:`procmine.io.eventlog.read_map_document`: size
cap, no YAML anchors or aliases); :func:`read_map_kind` tells a command which ingest to run.

Example:
    >>> from pathlib import Path
    >>> _ = Path("calls.yaml").write_text(
    ...     "kind: tickets\\ncolumns:\\n  ticket_id: {join: [line, call], sep: '-'}\\n"
    ...     "  arrival_time: entry\\n  queue_start: {first: [q_start, s_start]}\\n"
    ...     "  outcome: outcome\\nmissing: ['0:00:00']\\n"
    ...     "values:\\n  outcome: {AGENT: served, HANG: abandoned, PHANTOM: skip}\\n")
    >>> read_map_kind("calls.yaml")
    'tickets'
    >>> m = load_ticket_map("calls.yaml")
    >>> m.columns["ticket_id"].sources, m.columns["queue_start"].kind, m.missing
    (('line', 'call'), 'first', ('0:00:00',))
    >>> sorted(m.source_columns())
    ['call', 'entry', 'line', 'outcome', 'q_start', 's_start']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from procmine.core.errors import ProcmineError
from procmine.core.limits import Limits
from procmine.core.schema import OUTCOMES, TICKET_COLUMNS, TICKET_REQUIRED
from procmine.io.eventlog import (
    check_dialect,
    map_kind,
    map_setting,
    read_map_document,
    shown,
)

__all__ = [
    "SKIP",
    "ColumnRule",
    "TicketMap",
    "load_ticket_map",
    "read_map_kind",
]

#: The outcome value a mapping gives rows to set aside (quarantined as ``outcome_excluded``).
SKIP: Final = "skip"

_SETTINGS: Final = (
    "kind", "columns", "delimiter", "encoding", "date", "date_format", "time_format",
    "timestamp_format", "missing", "values", "constants", "earliest", "stage_tolerance_seconds",
)
_TEXT_COLUMNS: Final = tuple(c for c, t in TICKET_COLUMNS.items() if t == "VARCHAR")


@dataclass(frozen=True)
class ColumnRule:
    """Where a canonical ticket column comes from: one source column (``kind="column"``),
    several joined with ``sep`` (``"join"``), or the first of several that has a value
    (``"first"``)."""

    kind: str
    sources: tuple[str, ...]
    sep: str = ""

    def describe(self) -> str:
        """The rule as the ingest report shows it (``a``, ``a + b``, ``first(a, b)``)."""
        if self.kind == "join":
            return " + ".join(self.sources)
        if self.kind == "first":
            return f"first({', '.join(self.sources)})"
        return self.sources[0]


@dataclass(frozen=True)
class TicketMap:
    """A ticket mapping file (see the module)."""

    columns: dict[str, ColumnRule]
    date: str | None = None
    date_format: str = "%Y-%m-%d"
    time_format: str | None = None
    timestamp_format: str | None = None
    missing: tuple[str, ...] = ()
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    earliest: dt.date | None = None
    stage_tolerance_seconds: float = 0.0
    delimiter: str | None = None
    encoding: str | None = None
    source: Path | None = None

    def source_columns(self) -> set[str]:
        """Every column of the file the mapping reads."""
        names = {c for rule in self.columns.values() for c in rule.sources}
        return names | ({self.date} if self.date else set())

    def check_file_columns(self, path: Path, names: Iterable[str]) -> None:
        """Refuse a file that lacks a column the mapping names."""
        have = tuple(names)
        lacking = sorted(self.source_columns() - set(have))
        if lacking:
            where = f" (mapping {self.source})" if self.source else ""
            raise ProcmineError(
                f"{path}: column(s) {', '.join(lacking)} named in the mapping{where} are not "
                f"in the file; the file has: {', '.join(have)}"
            )

    def describe(self) -> dict[str, str]:
        """Canonical column -> where it comes from (the report's ``mapping``)."""
        shown_map = {c: rule.describe() for c, rule in self.columns.items()}
        shown_map.update({c: f"= {v}" for c, v in self.constants.items()})
        return shown_map


def read_map_kind(path: str | Path, *, limits: Limits | None = None) -> str:
    """``events`` or ``tickets``: the record kind a mapping file describes (``kind:``).

    Example:
        >>> from pathlib import Path
        >>> _ = Path("events.yaml").write_text("columns: {case_id: JRNL_NO}\\n")
        >>> read_map_kind("events.yaml")
        'events'
    """
    source, data = read_map_document(path, limits)
    return map_kind(source, data)


def load_ticket_map(path: str | Path, *, limits: Limits | None = None) -> TicketMap:
    """Read a ticket mapping file (``kind: tickets``; see the module for the format).

    Raises ProcmineError for a file that is not a ticket mapping, an unknown setting or
    canonical column, a malformed rule, an outcome value mapped to something that is not an
    outcome, and a required column (ticket_id, arrival_time, outcome) left unmapped.
    """
    source, data = read_map_document(path, limits)
    if not isinstance(data, dict) or map_kind(source, data) != "tickets":
        raise ProcmineError(
            f"{source}: not a ticket mapping (it needs 'kind: tickets'); an event-log mapping "
            "is read by load_column_map"
        )
    unknown = sorted({str(k) for k in data} - set(_SETTINGS))
    if unknown:
        raise ProcmineError(f"{source}: unknown setting(s) {', '.join(unknown)}; expected "
                            f"{', '.join(_SETTINGS)}")
    if not isinstance(data.get("columns"), dict):
        raise ProcmineError(f"{source}: the mapping needs a 'columns:' section (canonical "
                            "ticket column: column in the file, or a join/first rule)")
    columns = {str(k): _rule(source, k, v) for k, v in data["columns"].items()
               if v is not None and v != ""}
    constants = _constants(source, data.get("constants"), columns)
    for required in TICKET_REQUIRED:
        if required not in columns and not (required == "outcome" and required in constants):
            raise ProcmineError(f"{source}: columns.{required} is required (a ticket needs "
                                f"{', '.join(TICKET_REQUIRED)})")
    text = {name: map_setting(source, data, name) for name in (
        "delimiter", "encoding", "date", "date_format", "time_format", "timestamp_format")}
    check_dialect(source, text["encoding"], text["delimiter"])
    if text["date"] and text["timestamp_format"]:
        raise ProcmineError(f"{source}: give either date (+ time_format: the time columns "
                            "hold times of day) or timestamp_format, not both")
    return TicketMap(
        columns=columns,
        date=text["date"],
        date_format=text["date_format"] or "%Y-%m-%d",
        time_format=(text["time_format"] or "%H:%M:%S") if text["date"] else None,
        timestamp_format=text["timestamp_format"],
        missing=_missing(source, data.get("missing")),
        values=_values(source, data.get("values"), columns),
        constants=constants,
        earliest=_earliest(source, data.get("earliest")),
        stage_tolerance_seconds=_tolerance(source, data.get("stage_tolerance_seconds")),
        delimiter=text["delimiter"],
        encoding=text["encoding"],
        source=source,
    )


def _canonical(source: Path, where: str, key: object) -> str:
    if key not in TICKET_COLUMNS:
        raise ProcmineError(f"{source}: {where}.{key} is not a canonical ticket column; "
                            f"expected one of {', '.join(TICKET_COLUMNS)}")
    return str(key)


def _names(source: Path, where: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ProcmineError(f"{source}: {where} must be a list of column names, not "
                            f"{shown(value)}")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, str | int) or not str(item).strip():
            raise ProcmineError(
                f"{source}: {where}: {item!r} is not a column name; quote names YAML reads "
                "otherwise (YAML reads no, yes, on, off as true/false)")
    return tuple(str(v) for v in value)


def _rule(source: Path, key: object, value: object) -> ColumnRule:
    """One entry of ``columns``: a column name, ``{join: [...], sep}`` or ``{first: [...]}``."""
    name = _canonical(source, "columns", key)
    where = f"columns.{name}"
    if isinstance(value, str | int) and not isinstance(value, bool):
        return ColumnRule("column", (str(value),))
    if isinstance(value, bool):
        raise ProcmineError(f"{source}: {where} is true/false; quote the column name (YAML "
                            "reads no, yes, on, off as true/false)")
    if isinstance(value, dict):
        kinds = [k for k in ("join", "first") if k in value]
        extra = set(value) - {"join", "first", "sep"}
        if len(kinds) != 1 or extra or ("sep" in value and kinds != ["join"]):
            raise ProcmineError(f"{source}: {where} must be a column name, {{join: [...], "
                                "sep: ...}} or {first: [...]}")
        sep = value.get("sep", "")
        if not isinstance(sep, str):
            raise ProcmineError(f"{source}: {where}.sep must be text (quote it)")
        return ColumnRule(kinds[0], _names(source, f"{where}.{kinds[0]}", value[kinds[0]]),
                          sep)
    raise ProcmineError(f"{source}: {where} must name a column of the file, not {shown(value)}")


def _constants(source: Path, value: object, columns: dict[str, ColumnRule]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProcmineError(f"{source}: constants must be a mapping (column: value)")
    result = {}
    for key, v in value.items():
        name = _canonical(source, "constants", key)
        if TICKET_COLUMNS[name] == "TIMESTAMP" or name == "ticket_id":
            raise ProcmineError(f"{source}: constants.{name}: a constant cannot stand for "
                                "an id or a time")
        if name in columns:
            raise ProcmineError(f"{source}: constants.{name}: the column is mapped already")
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise ProcmineError(f"{source}: constants.{name} must be one value, not "
                                f"{shown(v)}")
        if name == "outcome" and v not in OUTCOMES:
            raise ProcmineError(f"{source}: constants.outcome {v!r} is not an outcome; "
                                f"expected one of {', '.join(OUTCOMES)}")
        result[name] = str(v)
    return result


def _missing(source: Path, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise ProcmineError(
            f"{source}: missing must be a list of texts, each quoted (YAML reads 1:00:00 "
            f"unquoted as a number), not {shown(value)}")
    return tuple(items)


def _values(source: Path, value: object, columns: dict[str, ColumnRule]
            ) -> dict[str, dict[str, str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProcmineError(f"{source}: values must be a mapping (column: {{source value: "
                            "canonical value}})")
    result: dict[str, dict[str, str]] = {}
    for key, table in value.items():
        name = _canonical(source, "values", key)
        if name not in columns or name not in _TEXT_COLUMNS:
            raise ProcmineError(f"{source}: values.{name}: only a text column the mapping "
                                "reads from the file can have a value map")
        if not isinstance(table, dict):
            raise ProcmineError(f"{source}: values.{name} must be a mapping (source value: "
                                "canonical value)")
        pairs: dict[str, str] = {}
        for raw, target in table.items():
            if isinstance(raw, bool) or isinstance(target, bool) or not isinstance(
                    raw, str | int) or not isinstance(target, str | int):
                raise ProcmineError(f"{source}: values.{name}: {raw!r}: {target!r}: quote "
                                    "both sides (YAML reads yes/no as true/false)")
            if name == "outcome" and target not in (*OUTCOMES, SKIP):
                raise ProcmineError(
                    f"{source}: values.outcome.{raw}: {target!r} is not an outcome; "
                    f"expected one of {', '.join(OUTCOMES)} or {SKIP} (set the row aside)")
            pairs[str(raw)] = str(target)
        result[name] = pairs
    return result


def _earliest(source: Path, value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ProcmineError(f"{source}: earliest must be a date (YYYY-MM-DD), not "
                            f"{value!r}") from None


def _tolerance(source: Path, value: object) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ProcmineError(f"{source}: stage_tolerance_seconds must be a number of seconds "
                            f"(0 or more), not {shown(value)}")
    return float(value)
