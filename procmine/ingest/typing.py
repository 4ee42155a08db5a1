"""Typing: the SQL that turns the source's text into canonical values.

Every value is read as text and converted in DuckDB: timestamps with the format a sample of
the column shows (ISO 8601, with or without an offset, or the best of the usual export
formats; a mapping file can name it), amounts with thousands separators dropped, the
error/reversal flag from the words banks use for yes and no. A value that does not convert
becomes NULL next to its text (``<column>__text``), which is how the check tells a bad value
from an empty one (:mod:`procmine.ingest.rules`).

Formats are chosen on the first 20,000 records (the temp table ``src_sample``, read once).
Trimming every value costs as much as reading the file, so only columns whose sample shows
padding (fixed-width exports) are trimmed. For a clean CSV the reader can type ISO timestamps
and plain numbers itself, which is much cheaper (:meth:`ColumnTyping.fast_columns`).
"""

from __future__ import annotations

from typing import Final

import duckdb

from procmine.core.errors import ProcmineError
from procmine.core.schema import CANONICAL_COLUMNS, TIMESTAMP_COLUMNS
from procmine.core.sql import lit as _lit
from procmine.core.sql import quote as _q
from procmine.ingest.copies import with_hashes
from procmine.ingest.rules import CONVERTED_COLUMNS
from procmine.ingest.state import RunState
from procmine.io.eventlog import INSTANCE, LIFECYCLE

__all__ = ["FALSE_WORDS", "TIMESTAMP_FORMATS", "TRUE_WORDS", "ColumnTyping"]

#: Timestamp formats tried, in order, when a column is not ISO 8601 and no format is given.
TIMESTAMP_FORMATS: Final[tuple[str, ...]] = (
    "%Y/%m/%d %H:%M:%S.%f",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M:%S",
    "%d-%m-%Y %H:%M:%S",
    "%Y%m%d%H%M%S",
    "%Y%m%d %H:%M:%S",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
)

#: Words (lower-cased) of an error/reversal flag that mean yes, and no.
TRUE_WORDS: Final = ("1", "true", "t", "y", "yes", "是", "冲正", "差错", "reversed", "error")
FALSE_WORDS: Final = ("0", "false", "f", "n", "no", "否", "正常", "none", "ok")

_STRING_COLUMNS = tuple(c for c, t in CANONICAL_COLUMNS.items() if t == "VARCHAR")


class ColumnTyping:
    """The typing expressions of one source (the view ``src`` of ``state``)."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        self.spec = state.spec
        self._padded: set[str] | None = None
        self._sampled = False
        self._format_checked = False

    def text(self, canonical: str) -> str:
        """The column's text, NULL when empty; trimmed where the file pads values.

        Casts to time and number ignore surrounding spaces anyway. The CSV reader already
        reads empty fields as NULL.
        """
        column = self.spec.column_for(canonical)
        if column is None:
            return "CAST(NULL AS VARCHAR)"
        if column in self.padded_columns():
            return f"nullif(trim({_q(column)}), '')"
        if self.spec.format == "csv":
            return _q(column)
        return f"nullif({_q(column)}, '')"

    def sample(self) -> str:
        """The first 20,000 records, read once for the format checks (a query on ``src``
        sniffs a CSV again)."""
        if not self._sampled:
            self.state.con.execute(
                "CREATE TEMP TABLE src_sample AS SELECT * FROM src LIMIT 20000"
            )
            self._sampled = True
        return "src_sample"

    def padded_columns(self) -> set[str]:
        """Mapped columns whose sample has values with surrounding spaces or empty text."""
        if self._padded is None:
            columns = list(self.spec.mapping.values())
            checks = ", ".join(
                f"count(*) FILTER (WHERE {_q(c)} <> trim({_q(c)}) OR {_q(c)} = '')"
                for c in columns
            )
            counts = self.state.con.execute(f"SELECT {checks} FROM {self.sample()}").fetchall()[0]
            self._padded = {c for c, n in zip(columns, counts, strict=True) if n}
        return self._padded

    def timestamp_expr(self, canonical: str) -> str:
        column = self.spec.column_for(canonical)
        if column is None:
            return "CAST(NULL AS TIMESTAMP)"
        text = self.text(canonical)
        fmt = self.given_format() or self.detect_timestamp_format(column)
        if fmt == "iso":
            return f"try_cast({text} AS TIMESTAMP)"
        if fmt == "iso_offset":
            # Offsets (which change with daylight saving) are resolved to UTC.
            return f"CAST(try_cast({text} AS TIMESTAMPTZ) AS TIMESTAMP)"
        return f"try_strptime({text}, {_lit(fmt)})"

    def given_format(self) -> str | None:
        """The mapping's ``timestamp_format``, once DuckDB has accepted it as a format."""
        fmt = self.spec.timestamp_format
        if fmt is not None and not self._format_checked:
            try:
                self.state.con.execute(f"SELECT try_strptime('', {_lit(fmt)})").fetchall()
            except duckdb.Error as exc:
                raise ProcmineError(
                    f"{self.spec.path}: timestamp_format {fmt!r} of the mapping is not a "
                    f"format procmine can use ({str(exc).splitlines()[0]}); write it with "
                    "strptime codes, e.g. \"%Y-%m-%d %H:%M:%S\"", code="ingest.bad_format",
                    file=self.spec.path.name, format=fmt
                ) from None
            self._format_checked = True
        return fmt

    def detect_timestamp_format(self, column: str) -> str:
        """Pick the format that reads the most of a sample of the column: ISO 8601 when it
        reads all of it, else the best of the usual export formats."""
        con = self.state.con
        sample = (f"(SELECT trim({_q(column)}) AS v FROM {self.sample()} "
                  f"WHERE nullif(trim({_q(column)}), '') IS NOT NULL LIMIT 2000)")
        sampled, example, iso, with_offset = con.execute(
            "SELECT count(*), any_value(v), count(try_cast(v AS TIMESTAMPTZ)), "
            r"count(*) FILTER (WHERE regexp_matches(v, '(Z|[+-]\d\d:?\d\d)$')) "
            f"FROM {sample}"
        ).fetchall()[0]
        if not sampled:
            return "iso"
        if iso == sampled:
            return "iso_offset" if with_offset else "iso"
        candidates = TIMESTAMP_FORMATS
        parsed = con.execute(
            "SELECT " + ", ".join(f"count(try_strptime(v, {_lit(f)}))" for f in candidates)
            + f" FROM {sample}"
        ).fetchall()[0]
        best = max(range(len(candidates)), key=lambda i: (parsed[i], -i))  # ties: earlier wins
        if max(parsed[best], iso) < 0.5 * sampled:
            raise ProcmineError(
                f"{self.spec.path}: column {column!r} holds timestamps procmine cannot read "
                f"(e.g. {example!r}); give timestamp_format in a mapping file (--map), "
                "e.g. timestamp_format: \"%Y-%m-%d %H:%M:%S\"", code="ingest.bad_timestamps",
                file=self.spec.path.name, column=column, example=example
            )
        if iso >= parsed[best]:
            return "iso_offset" if with_offset else "iso"
        return candidates[best]

    def error_expr(self) -> str:
        text = self.text("error")
        trues = ", ".join(_lit(w) for w in TRUE_WORDS)
        falses = ", ".join(_lit(w) for w in FALSE_WORDS)
        if text.startswith("CAST(NULL"):
            return "CAST(NULL AS BOOLEAN)"
        return (
            f"CASE WHEN {text} IN ('0', '1') THEN {text} = '1' "  # the common case, no lower()
            f"WHEN lower({text}) IN ({trues}) THEN true "
            f"WHEN lower({text}) IN ({falses}) THEN false ELSE NULL END"
        )

    def amount_expr(self) -> str:
        return f"try_cast(replace({self.text('amount')}, ',', '') AS DOUBLE)"

    def fast_columns(self) -> frozenset[str]:
        """Canonical columns the CSV reader can type itself: ISO timestamps and plain numbers
        (as the sample shows them), unpadded; '1,234.5' or an offset would be rejected."""
        if self.spec.format != "csv":
            return frozenset()
        chosen = set()
        for canonical in (*TIMESTAMP_COLUMNS, "amount"):
            column = self.spec.column_for(canonical)
            if column is None or column in self.padded_columns():
                continue
            if canonical == "amount":
                plain = self.state.scalar(
                    f"SELECT count(*) FILTER (WHERE try_cast({_q(column)} AS DOUBLE) IS NULL) "
                    f"FROM {self.sample()} WHERE {_q(column)} IS NOT NULL"
                ) == 0
            else:
                plain = not self.spec.timestamp_format and (
                    self.detect_timestamp_format(column) == "iso")
            if plain:
                chosen.add(canonical)
        return frozenset(chosen)

    def stage_select(self, source: str = "src", read_typed: frozenset[str] = frozenset()) -> str:
        """Typed canonical columns from ``source``, with the text of the columns that are typed.

        ``read_typed`` names the canonical columns that ``source`` already reads typed (see
        ``IngestRun._fast_pass``): they pass through, and stand for their own text, which is
        empty exactly when the value is NULL and never fails to convert.
        """
        typed: dict[str, str] = {c: self.text(c) for c in _STRING_COLUMNS}
        typed.update({c: self.timestamp_expr(c) for c in TIMESTAMP_COLUMNS})
        typed["amount"] = self.amount_expr()
        typed["error"] = self.error_expr()
        texts = {c: self.text(c) for c in CONVERTED_COLUMNS}
        for canonical in read_typed:
            typed[canonical] = texts[canonical] = _q(self.spec.mapping[canonical])
        columns = self.state.columns
        inner = [f"{expr} AS {_q(name)}" for name, expr in typed.items()]
        inner += [f"{texts[c]} AS {_q(c + '__text')}" for c in CONVERTED_COLUMNS]
        inner.append(f"lower({self.text(LIFECYCLE)}) AS lifecycle")
        inner.append(f"{self.text(INSTANCE)} AS instance")
        row = "_row" if columns.numbered else "NULL"  # CSV lines are numbered later
        inner.append(f"CAST({row} AS BIGINT) AS src_row")
        # The source text passes through (no copy) for the hash of a quarantined record.
        inner += [f"{_q(c)} AS __src_{i}" for i, c in enumerate(columns.record)]
        return with_hashes(inner, source, columns)
