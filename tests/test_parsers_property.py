"""Property tests (hypothesis) over the CSV reader and the mapping loader (issue 12): whatever
text comes in, an ingest ends with every record loaded or quarantined, or with a clear
refusal (ProcmineError), never another exception; a mapping file gives a ColumnMap or a
ProcmineError."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from procmine.core.errors import ProcmineError
from procmine.ingest.run import ingest_log
from procmine.io.eventlog import ColumnMap, load_column_map
from procmine.store.event_store import EventStore

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# Field text: plain, with quotes, delimiters, spaces, Chinese, and control characters.
_CHARS = st.sampled_from([*"abcXYZ019 -:./", '"', ",", ";", "|", "\t", "\x00", "\x0b", "\x85",
                          "\r", "点", "钞"])
_FIELD = st.one_of(
    st.text(_CHARS, max_size=8),
    st.sampled_from(["2026-10-01 09:00:00", "2026-10-01 09:00:30", "9999-12-31 00:00:00",
                     "1999-01-01 00:00:00", "not a time", "", '"quoted, with comma"',
                     '"broken', 'in"side', '""', "P18", "0101"]),
)
_LINE = st.one_of(
    st.lists(_FIELD, min_size=0, max_size=6),
    st.just(["C1", "Open", "2026-10-01 09:00:00", "0101"]),
)


def _text(header: list[str], lines: list[list[str]], delimiter: str, blank: list[bool]) -> str:
    out = [delimiter.join(header)]
    for line, blank_after in zip(lines, blank, strict=False):
        out.append(delimiter.join(line))
        if blank_after:
            out.append("")
    return "\n".join(out) + "\n"


@SETTINGS
@given(
    lines=st.lists(_LINE, max_size=25),
    delimiter=st.sampled_from([",", ";", "|", "\t"]),
    blank=st.lists(st.booleans(), max_size=25),
    extra=st.booleans(),
)
@example(lines=[["0\r"]], delimiter=",", blank=[False], extra=False)  # DuckDB gave up: refused
@example(lines=[["C1", '"Open', "2026-10-01 09:00:00", "0101"],
                ["C2", "Open", "2026-10-01 09:00:00", "0101"]],
         delimiter=",", blank=[True], extra=False)
def test_any_csv_text_is_loaded_or_quarantined_or_refused_clearly(
    lines: list[list[str]], delimiter: str, blank: list[bool], extra: bool
) -> None:
    header = ["case_id", "activity", "end_time", "teller_id"] + (["note"] if extra else [])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.csv"
        path.write_text(_text(header, lines, delimiter, blank), encoding="utf-8")
        store = EventStore(Path(tmp) / "ws")
        try:
            report = ingest_log(store, path)
        except ProcmineError as exc:
            event(f"refused: {str(exc)[-60:]}")
            assert str(exc)  # a refusal says why
            assert store.is_empty()
            return
        event("quarantined" if report.quarantined else "loaded")
        assert report.reconciles
        assert report.read == report.loaded + report.quarantined
        assert report.read <= len(path.read_text(encoding="utf-8").split("\n"))
        assert len(store.read_events()) == report.loaded
        assert sum(report.reasons.values()) == report.quarantined


_YAML_VALUE: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 300), st.floats(allow_nan=False),
              st.text(max_size=6), st.sampled_from([",", "\t", "utf-8", "gb18030", "%Y-%m-%d",
                                                    "case_id", "JRNL_NO"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6,
)
_KEYS = st.sampled_from(["columns", "timestamp_format", "encoding", "delimiter", "other"])
_COLUMN_KEYS = st.sampled_from(["case_id", "activity", "end_time", "teller_id", "amount",
                                "lifecycle", "nonsense"])


@SETTINGS
@given(
    top=st.dictionaries(_KEYS, _YAML_VALUE, max_size=4),
    columns=st.one_of(st.none(), st.dictionaries(_COLUMN_KEYS, _YAML_VALUE, max_size=4)),
)
def test_any_mapping_gives_a_column_map_or_a_clear_error(
    top: dict[str, Any], columns: dict[str, Any] | None
) -> None:
    if columns is not None:
        top = {**top, "columns": columns}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "map.yaml"
        path.write_text(yaml.safe_dump(top, allow_unicode=True), encoding="utf-8")
        try:
            mapping = load_column_map(path)
        except ProcmineError as exc:
            assert str(path) in str(exc)
            return
    assert isinstance(mapping, ColumnMap)
    assert all(isinstance(v, str) for v in mapping.columns.values())
    for value in (mapping.timestamp_format, mapping.encoding, mapping.delimiter):
        assert value is None or isinstance(value, str)
    assert mapping.delimiter is None or len(mapping.delimiter) == 1


@SETTINGS
@given(st.text(st.sampled_from(list("ab:-[]{}*&!|>'\" \n\t#%@`")), max_size=40))
def test_any_mapping_text_gives_a_column_map_or_a_clear_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "map.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            assert isinstance(load_column_map(path), ColumnMap)
        except ProcmineError as exc:
            assert str(path) in str(exc)
