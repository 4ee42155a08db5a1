"""Reading event logs: formats, encodings and column mapping.

A source file is described by a :class:`SourceSpec` (what it is, how to decode it, which of its
columns feed which canonical column); ``procmine.ingest`` turns it into stored rows in one DuckDB
pass, checked against the rules of ``procmine.ingest.rules``. Nothing here iterates over rows in
Python, except the XES and Excel readers, which hand DuckDB one Arrow table.

Columns are found by name (canonical names, XES keys and common English and Chinese
synonyms) unless a mapping file names them. A mapping can also switch the detection off: an
optional canonical column set to null (``start_time: null``, ``~`` or an empty value) means the
log has no such column, so a column called ``start_time`` (or a synonym) is not picked up and
stays an ignored column; the events then have no start time (a completion-only log). A
required column (case_id, activity, end_time) set to null is an error.

Example:
    >>> from procmine.io.eventlog import describe_source
    >>> spec = describe_source("log.csv", ["Case ID", "Activity", "Timestamp", "Teller"])
    >>> spec.mapping["case_id"], spec.mapping["teller_id"], spec.format
    ('Case ID', 'Teller', 'csv')
    >>> names = ["case_id", "activity", "start_time", "end_time"]
    >>> sorted(describe_source("log.csv", names).mapping)
    ['activity', 'case_id', 'end_time', 'start_time']
    >>> no_start = ColumnMap(absent=frozenset({"start_time"}))
    >>> sorted(describe_source("log.csv", names, no_start).mapping)
    ['activity', 'case_id', 'end_time']
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from procmine.core.errors import ProcmineError
from procmine.core.limits import Limits, current_limits
from procmine.core.schema import CANONICAL_COLUMNS, REQUIRED_COLUMNS

__all__ = [
    "LIFECYCLE",
    "MAP_KINDS",
    "ColumnMap",
    "SourceSpec",
    "auto_map_columns",
    "check_dialect",
    "describe_source",
    "detect_encoding",
    "load_column_map",
    "map_kind",
    "map_setting",
    "read_map_document",
    "shown",
    "source_format",
    "unique_names",
]

#: Extra, non-canonical roles a column can play during ingest.
LIFECYCLE: Final = "lifecycle"
INSTANCE: Final = "instance"

# Column-name synonyms for auto-detection, most specific first. Names are compared after
# lower-casing and dropping spaces, dashes and underscores.
_SYNONYMS: Final[dict[str, tuple[str, ...]]] = {
    "case_id": (
        "case_id", "case:concept:name", "caseid", "case", "journal_no", "jrnl_no", "jrnlno",
        "txn_id", "transaction_id", "trace_id", "ticket_no", "流水号", "交易流水号", "业务流水号",
    ),
    "activity": (
        "activity", "concept:name", "activity_name", "step", "step_name", "task", "event",
        "步骤", "步骤名称", "活动", "环节",
    ),
    "start_time": (
        "start_time", "start_timestamp", "start", "step_begin", "begin_time", "starttime",
        "开始时间", "步骤开始时间",
    ),
    "end_time": (
        "end_time", "time:timestamp", "complete_timestamp", "end_timestamp", "complete_time",
        "completion_time", "timestamp", "step_end", "end", "endtime", "结束时间", "完成时间",
        "步骤结束时间",
    ),
    "teller_id": (
        "teller_id", "org:resource", "teller", "tlr_no", "tlrno", "resource", "operator",
        "user", "柜员号", "柜员", "操作员",
    ),
    "branch_id": ("branch_id", "branch", "brch_no", "brchno", "outlet", "网点号", "网点", "机构号"),
    "business_type": (
        "business_type", "txn_code", "transaction_type", "business_code", "biz_type",
        "业务类型", "交易码", "业务代码",
    ),
    "amount": ("amount", "txn_amt", "txnamt", "amt", "金额", "交易金额"),
    "error": ("error", "reversed", "is_error", "reversal", "差错", "冲正", "是否冲正"),
    "window_type": ("window_type", "window", "counter_type", "窗口类型", "窗口"),
    "segment": ("segment", "customer_segment", "customer_type", "客户类型", "客户分层"),
    "ticket_time": ("ticket_time", "ticket_taken", "取号时间"),
    "call_time": ("call_time", "called_time", "叫号时间"),
    LIFECYCLE: ("lifecycle:transition", "lifecycle", "transition", "event_type"),
    INSTANCE: ("concept:instance", "activity_instance", "instance"),
}

_FORMATS: Final[dict[str, str]] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xes": "xes",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
}


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


@dataclass(frozen=True)
class ColumnMap:
    """A column mapping as given in a ``--map`` YAML file: ``columns`` the canonical columns it
    names, ``absent`` the optional ones it declares absent (null: not detected by name)."""

    columns: dict[str, str] = field(default_factory=dict)
    absent: frozenset[str] = frozenset()
    timestamp_format: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    source: Path | None = None


class _PlainYamlLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases: a mapping file never needs them, and a few
    hundred bytes of nested aliases expand to gigabytes (the "billion laughs")."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            line = event.start_mark.line + 1 if event.start_mark else 0
            raise ProcmineError(
                f"{self.name}: line {line}: YAML anchors and aliases (&name, *name) are not "
                "allowed in a mapping file; write each value out"
            )
        return super().compose_node(parent, index)


def _read_yaml(source: Path, limits: Limits) -> Any:
    """The YAML document of a mapping file, refused over ``max_map_kb`` or with aliases."""
    cap = limits.max_map_kb << 10
    with source.open("rb") as fh:
        raw = fh.read(cap + 1)
    if len(raw) > cap:
        raise limits.exceeded(
            "max_map_kb", f"{source}: the mapping file is larger than {limits.max_map_kb:,} KB"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProcmineError(f"{source}: byte {exc.start} is not UTF-8 text",
                            code="mapping.not_utf8", file=Path(source).name) from None
    loader = _PlainYamlLoader(text)
    loader.name = str(source)
    try:
        return loader.get_single_data()
    except RecursionError:  # PyYAML composes nested blocks recursively
        raise ProcmineError(f"{source}: YAML nested too deeply; a mapping file is a flat list "
                            "of settings and columns", code="mapping.too_deep",
                            file=Path(source).name) from None
    finally:
        loader.dispose()


def read_map_document(path: str | Path, limits: Limits | None = None) -> tuple[Path, Any]:
    """The YAML document of a mapping file (events or tickets), refused over ``max_map_kb``,
    with anchors or aliases, or when it is not UTF-8 YAML."""
    source = Path(path)
    try:
        data = _read_yaml(source, limits if limits is not None else current_limits())
    except OSError as exc:
        raise ProcmineError(f"{source}: cannot read the mapping file ({exc.strerror})",
                            code="mapping.unreadable", file=source.name) from exc
    except UnicodeDecodeError:
        raise ProcmineError(f"{source}: the mapping file is not UTF-8 text",
                            code="mapping.not_utf8", file=source.name) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ProcmineError(f"{source}: {where}not valid YAML ({exc})", code="mapping.not_yaml",
                            file=source.name) from exc
    return source, data


#: The record kinds a mapping file can describe (``kind:``; events when absent).
MAP_KINDS: Final = ("events", "tickets")


def map_kind(source: Path, data: Any) -> str:
    """The ``kind`` of a mapping document: ``events`` (the default) or ``tickets``."""
    kind = data.get("kind", "events") if isinstance(data, dict) else "events"
    if kind is None or kind == "":
        return "events"
    if kind not in MAP_KINDS:
        raise ProcmineError(
            f"{source}: kind {kind!r} is not known; expected events (an event log, the "
            "default) or tickets (a queue-system export)", code="mapping.unknown_kind",
            file=source.name, kind=kind
        )
    return str(kind)


def load_column_map(path: str | Path, *, limits: Limits | None = None) -> ColumnMap:
    """Read a mapping file: ``columns`` (canonical name: source column) and optional settings.

    Example file::

        columns:
          case_id: JRNL_NO
          activity: STEP_NAME
          end_time: STEP_END
          start_time: null   # none: a completion-only log (not detected by name)
        timestamp_format: "%Y-%m-%d %H:%M:%S.%f"
        encoding: gb18030

    A canonical column left out is detected by name; an optional one set to null (``~`` or
    empty) is declared absent (:attr:`ColumnMap.absent`); a required one set to null is an
    error. A file larger than ``limits.max_map_kb`` or with YAML anchors or aliases is refused, and
    so is a ticket mapping (``kind: tickets``: see :mod:`procmine.io.tickets`).
    """
    source, data = read_map_document(path, limits)
    if map_kind(source, data) == "tickets":
        raise ProcmineError(
            f"{source}: this mapping says kind: tickets (a queue-system export); it is read "
            "by the ticket ingest (procmine ingest FILE --map MAP.yaml, or load_ticket_map "
            "and ingest_tickets), not as an event-log mapping", code="mapping.tickets",
            file=source.name
        )
    if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
        raise ProcmineError(
            f"{source}: the mapping needs a 'columns:' section (canonical name: column in the "
            "file)",
            code="mapping.no_columns", file=source.name
        )
    unknown_keys = {str(k) for k in data} - {"columns", "timestamp_format", "encoding",
                                              "delimiter", "kind"}
    if unknown_keys:
        raise ProcmineError(
            f"{source}: unknown setting(s) {', '.join(sorted(unknown_keys))}; expected columns, "
            "timestamp_format, encoding, delimiter", code="mapping.unknown_settings",
            file=source.name, settings=", ".join(sorted(unknown_keys))
        )
    known = set(CANONICAL_COLUMNS) | {LIFECYCLE, INSTANCE}
    columns: dict[str, str] = {}
    absent: set[str] = set()
    for key, value in data["columns"].items():
        if key not in known:
            raise ProcmineError(
                f"{source}: columns.{key} is not a canonical column; expected one of "
                f"{', '.join(sorted(known))}", code="mapping.not_canonical", file=source.name,
                key=key
            )
        if value is None or (isinstance(value, str) and value.strip() == ""):
            absent.add(_absent(source, str(key)))
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ProcmineError(
                f"{source}: columns.{key} must name one column of the file (text), "
                f"not {shown(value)}", code="mapping.not_one_column", file=source.name, key=key
            )
        columns[str(key)] = str(value)
    settings = {name: map_setting(source, data, name)
                for name in ("timestamp_format", "encoding", "delimiter")}
    encoding, delimiter = settings["encoding"], settings["delimiter"]
    check_dialect(source, encoding, delimiter)
    return ColumnMap(
        columns=columns,
        absent=frozenset(absent),
        timestamp_format=settings["timestamp_format"],
        encoding=encoding,
        delimiter=delimiter,
        source=source,
    )


def _absent(source: Path, key: str) -> str:
    """An optional canonical column a mapping sets to null; a required one is refused."""
    if key in REQUIRED_COLUMNS:
        raise ProcmineError(
            f"{source}: columns.{key} is null, but {key} is required (as are "
            f"{', '.join(c for c in REQUIRED_COLUMNS if c != key)}): name its column in the "
            "file, or leave the key out to find the column by name", code="mapping.required_null",
            file=source.name, key=key
        )
    return key


def check_dialect(source: Path, encoding: str | None, delimiter: str | None) -> None:
    """Refuse an encoding Python does not know and a delimiter that is not one character."""
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ProcmineError(f"{source}: encoding {encoding!r} is not known",
                                code="mapping.unknown_encoding", file=source.name,
                                encoding=encoding) from None
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n'):
        raise ProcmineError(
            f"{source}: delimiter must be one character (e.g. ',', ';', '|' or a tab, "
            f"written \"\\t\"), not {delimiter!r}", code="mapping.bad_delimiter",
            file=source.name
        )


def shown(value: object) -> str:
    """How a wrong value is named in a message (its type for a list, a mapping, a flag)."""
    kind = {list: "a list", dict: "a mapping", bool: "true/false"}.get(type(value))
    return kind or f"{value!r}"


def map_setting(source: Path, data: dict[str, object], name: str) -> str | None:
    """A text setting of the mapping file, None when absent or empty."""
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ProcmineError(
            f"{source}: {name} must be text (quote it in the YAML), not {shown(value)}",
            code="mapping.not_text", file=source.name, name=name
        )
    return value


def unique_names(raw: Iterable[str | None]) -> tuple[str, ...]:
    """Column names as the readers give them: trimmed, an empty one as ``column<i>``, a
    repeated one with ``_1``, ``_2``... (DuckDB's CSV reader does the same), so the first of
    two equal headers is the one a canonical column maps and the second is listed as ignored.

    Example:
        >>> unique_names(["case_id", " activity ", "", "case_id", "case_id_1"])
        ('case_id', 'activity', 'column2', 'case_id_1', 'case_id_1_1')
    """
    used: set[str] = set()
    names = []
    for i, value in enumerate(raw):
        name = (value or "").strip() or f"column{i}"
        unique, k = name, 0
        while unique in used:
            k += 1
            unique = f"{name}_{k}"
        used.add(unique)
        names.append(unique)
    return tuple(names)


def auto_map_columns(names: Iterable[str], skip: Iterable[str] = ()) -> dict[str, str]:
    """Guess which source column feeds each canonical column, from names and common synonyms;
    the canonical columns in ``skip`` (declared absent) are not looked for.

    Example:
        >>> auto_map_columns(["case:concept:name", "concept:name", "time:timestamp"])
        {'case_id': 'case:concept:name', 'activity': 'concept:name', 'end_time': 'time:timestamp'}
    """
    by_norm: dict[str, str] = {}
    for name in names:
        by_norm.setdefault(_norm(name), name)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    skipped = set(skip)
    for canonical, synonyms in _SYNONYMS.items():
        if canonical in skipped:
            continue
        for synonym in synonyms:
            column = by_norm.get(_norm(synonym))
            if column is not None and column not in taken:
                mapping[canonical] = column
                taken.add(column)
                break
    return mapping


def source_format(path: Path) -> str:
    """The format of a file from its name: csv, xes (also .xes.gz), parquet or xlsx."""
    name = path.name.lower()
    if name.endswith(".xes.gz"):
        return "xes"
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ProcmineError(
            f"{path}: unknown file type {path.suffix or '(none)'}; procmine reads .csv/.txt/.tsv, "
            ".xes, .xes.gz, .parquet and .xlsx", code="ingest.unknown_type", file=path.name,
            suffix=path.suffix or "-"
        )
    return fmt


def detect_encoding(path: Path, sample_bytes: int = 1 << 20) -> str:
    """Detect the text encoding of a CSV: ``utf-8`` (with or without BOM) or ``gb18030``.

    The first megabyte must decode; a multibyte character cut at the end of the sample is allowed.
    """
    with path.open("rb") as fh:
        sample = fh.read(sample_bytes)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            decoder.decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    raise ProcmineError(
        f"{path}: the text is neither UTF-8 nor GB18030; give the encoding in the mapping file "
        "(encoding: ...)", code="ingest.encoding", file=path.name
    )


@dataclass(frozen=True)
class SourceSpec:
    """One source file, ready for ingest to read."""

    path: Path
    format: str
    columns: tuple[str, ...]
    mapping: dict[str, str]
    encoding: str = "utf-8"
    delimiter: str | None = None
    timestamp_format: str | None = None
    #: For a CSV: the ``read_csv`` call (all columns as text) that the view ``src`` reads,
    #: there with ``store_rejects``; ingest may read it with some columns typed (its fast pass).
    csv_reader: str | None = None
    #: For a CSV: the file the reader reads (UTF-8) and the blank lines before its header.
    csv_path: Path | None = None
    csv_skip: int = 0
    #: Optional canonical columns the mapping declares absent (null): never filled, not even
    #: the start time a lifecycle log's start events would give.
    absent: frozenset[str] = frozenset()

    def column_for(self, canonical: str) -> str | None:
        return self.mapping.get(canonical)

    @property
    def has_lifecycle(self) -> bool:
        return LIFECYCLE in self.mapping

    def missing_required(self) -> list[str]:
        return [c for c in REQUIRED_COLUMNS if c not in self.mapping]


def describe_source(
    path: str | Path, columns: Iterable[str], column_map: ColumnMap | None = None, *,
    fmt: str | None = None, encoding: str = "utf-8", delimiter: str | None = None,
) -> SourceSpec:
    """Resolve the column mapping of a source whose column names are known.

    Mapped columns named in the mapping file must exist; canonical columns the mapping leaves out
    are auto-detected from the remaining names, except those it declares absent (null in the
    file: :attr:`ColumnMap.absent`), which stay unmapped. Raises ProcmineError when a required
    column (case_id, activity, end_time) cannot be found.
    """
    source = Path(path)
    names = tuple(columns)
    mapping: dict[str, str] = {}
    if column_map is not None:
        missing = [c for c in column_map.columns.values() if c not in names]
        if missing:
            where = f" (mapping {column_map.source})" if column_map.source else ""
            raise ProcmineError(
                f"{source}: column(s) {', '.join(missing)} named in the mapping{where} are not in "
                f"the file; the file has: {', '.join(names)}", code="ingest.mapped_missing",
                file=source.name, missing=", ".join(missing), columns=", ".join(names)
            )
        mapping.update(column_map.columns)
    absent = column_map.absent if column_map is not None else frozenset()
    remaining = [n for n in names if n not in mapping.values()]
    for canonical, column in auto_map_columns(remaining, skip=absent).items():
        mapping.setdefault(canonical, column)
    spec = SourceSpec(
        path=source,
        format=fmt or source_format(source),
        columns=names,
        mapping=mapping,
        encoding=(column_map.encoding if column_map and column_map.encoding else encoding),
        delimiter=(column_map.delimiter if column_map and column_map.delimiter else delimiter),
        timestamp_format=column_map.timestamp_format if column_map else None,
        absent=absent,
    )
    missing_required = spec.missing_required()
    if missing_required:
        raise ProcmineError(
            f"{source}: no column found for {', '.join(missing_required)}; the file has "
            f"{', '.join(names)}. Name them in a mapping file (--map), e.g. "
            f"'columns: {{{missing_required[0]}: YOUR_COLUMN}}'", code="ingest.no_column",
            file=source.name, missing=", ".join(missing_required), columns=", ".join(names)
        )
    return spec
