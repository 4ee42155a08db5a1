"""Tests for procmine.io.xes.read_xes_table: real logs against pm4py, and small hand-written
XES files for the edge cases."""

from __future__ import annotations

import gzip
import random
import warnings
from collections import Counter
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from procmine.core.errors import ProcmineError
from procmine.io import xes
from procmine.io.xes import XesReadResult, read_xes_table

REAL_LOGS = Path(__file__).resolve().parents[1].parent / "shared" / "real_logs"
BPI = REAL_LOGS / "BPI_Challenge_2012_W_Two_TS.xes.gz"
RECEIPT = REAL_LOGS / "receipt.xes"
NS = ' xmlns="http://www.xes-standard.org/"'


def _require(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"real log {path.name} not found in {REAL_LOGS} (../shared/real_logs absent)")


@cache
def _pm4py_frame(path: Path) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pm4py

        return pm4py.read_xes(str(path), show_progress_bar=False)


@cache
def _ours(path: Path) -> XesReadResult:
    return read_xes_table(path)


def _utc_us(values: pd.Series) -> pd.Series:
    """Timestamps (strings with offsets, or tz-aware datetimes) as UTC microseconds."""
    stamps = pd.to_datetime(values, utc=True, format="ISO8601")
    return (stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1)


def _multiset(columns: Iterable[pd.Series]) -> Counter[tuple[Any, ...]]:
    cleaned = [[None if pd.isna(v) else v for v in col.tolist()] for col in columns]
    return Counter(zip(*cleaned, strict=True))


def _compare_with_pm4py(path: Path, traces: int, events: int) -> None:
    res = _ours(path)
    ref = _pm4py_frame(path)
    ours = res.table.to_pandas()
    assert res.traces == traces
    assert res.events == events == res.table.num_rows == len(ref)
    assert set(res.table.column_names) - {"_row"} == set(ref.columns)

    # lifecycle counts
    assert ours["lifecycle:transition"].value_counts().to_dict() == (
        ref["lifecycle:transition"].value_counts().to_dict()
    )
    # the (case, activity, lifecycle, resource) rows as a multiset, then with the instant
    key = ["case:concept:name", "concept:name", "lifecycle:transition", "org:resource"]
    assert _multiset(ours[c] for c in key) == _multiset(ref[c] for c in key)
    assert _multiset([*(ours[c] for c in key), _utc_us(ours["time:timestamp"])]) == _multiset(
        [*(ref[c] for c in key), _utc_us(ref["time:timestamp"])]
    )
    # every column, value by value as a multiset, typed the way pm4py typed it
    for col in ref.columns:
        theirs = ref[col]
        mine = ours[col]
        if isinstance(theirs.dtype, pd.DatetimeTZDtype):
            assert _multiset([_utc_us(mine)]) == _multiset([_utc_us(theirs)]), col
        elif pd.api.types.is_numeric_dtype(theirs.dtype):
            assert _multiset([pd.to_numeric(mine)]) == _multiset([theirs]), col
        else:
            assert _multiset([mine]) == _multiset([theirs]), col


@pytest.mark.real_logs
def test_bpi2012_matches_pm4py() -> None:
    _require(BPI)
    _compare_with_pm4py(BPI, traces=8_616, events=118_604)
    counts = _ours(BPI).table.column("lifecycle:transition").value_counts().to_pylist()
    assert {c["values"]: c["counts"] for c in counts} == {"start": 59_302, "complete": 59_302}


@pytest.mark.real_logs
def test_receipt_matches_pm4py() -> None:
    _require(RECEIPT)
    _compare_with_pm4py(RECEIPT, traces=1_434, events=8_577)
    table = _ours(RECEIPT).table
    # log-level meta attributes (nested floats) and globals are not columns
    assert not any(name.startswith(("meta_", "Resource")) for name in table.column_names)
    assert table.column("case:enddate").null_count == 617


@pytest.mark.real_logs
def test_real_log_table_shape() -> None:
    _require(BPI)
    table = _ours(BPI).table
    assert table.column_names[0] == "_row"
    assert table.schema.field("_row").type == pa.int64()
    assert table.column("_row").to_pylist()[:3] == [1, 2, 3]
    assert table.column("_row")[-1].as_py() == 118_604
    assert all(pa.types.is_large_string(f.type) for f in table.schema if f.name != "_row")
    # the values are the file's text, unconverted
    first = table.slice(0, 1).to_pylist()[0]
    assert first["time:timestamp"] == "2011-12-30T14:14:47.813+02:00"
    assert first["case:variant-index"] == "7"
    assert first["org:resource"] == "10861.0"


@pytest.mark.real_logs
def test_progress_reports_fraction_of_compressed_bytes() -> None:
    _require(BPI)
    seen: list[float] = []
    read_xes_table(BPI, progress=seen.append)
    assert len(seen) >= 50  # about every 1 %
    assert seen == sorted(seen)
    assert 0.0 < seen[0] < 0.05
    assert seen[-1] == 1.0


# ---------------------------------------------------------------------------------------
# Hand-written files


def _write(tmp_path: Path, text: str, name: str = "log.xes", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    data = text.encode(encoding)
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def _log(body: str, ns: str = NS) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<!-- written by hand -->\n"
        f'<log xes.version="1.0"{ns}>\n'
        '  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>\n'
        '  <global scope="event"><string key="concept:name" value="UNKNOWN"/></global>\n'
        '  <global scope="trace"><string key="concept:name" value="UNKNOWN"/></global>\n'
        '  <classifier name="Activity" keys="concept:name"/>\n'
        '  <string key="creator" value="hand"/>\n'
        '  <float key="meta:mean" value="1.5"><float key="Resource1" value="2.0"/></float>\n'
        f"{body}"
        "</log>\n"
    )


SMALL = _log(
    """  <trace>
    <string key="concept:name" value="c1"/>
    <string key="branch" value="North"/>
    <event>
      <string key="concept:name" value="Open account"/>
      <string key="lifecycle:transition" value="start"/>
      <string key="org:resource" value="T01"/>
      <date key="time:timestamp" value="2024-03-01T09:00:00.000+01:00"/>
      <int key="ticket" value="17"/>
    </event>
    <event>
      <string key="concept:name" value="Open account"/>
      <string key="lifecycle:transition" value="complete"/>
      <date key="time:timestamp" value="2024-03-01T09:05:30.250+01:00"/>
      <boolean key="vip" value="true"/>
    </event>
  </trace>
  <trace>
    <string key="concept:name" value="c2"/>
    <event>
      <string key="concept:name" value="Deposit"/>
      <string key="lifecycle:transition" value="complete"/>
      <string key="org:resource" value="T02"/>
      <date key="time:timestamp" value="2024-03-01T10:00:00Z"/>
      <float key="amount" value="1e3"/>
      <id key="ref" value="a-b-c"/>
      <string key="note" value="cash">
        <string key="inner" value="not a column"/>
      </string>
      <list key="items">
        <values><string key="item" value="x"/></values>
      </list>
      <container key="box"><string key="content" value="y"/></container>
    </event>
  </trace>
"""
)


def test_small_log_columns_and_values(tmp_path: Path) -> None:
    res = read_xes_table(_write(tmp_path, SMALL))
    assert (res.traces, res.events) == (2, 3)
    t = res.table
    assert t.column_names == [
        "_row",
        "case:concept:name",
        "case:branch",
        "concept:name",
        "lifecycle:transition",
        "org:resource",
        "time:timestamp",
        "ticket",
        "vip",
        "amount",
        "ref",
        "note",
    ]
    assert t.column("_row").to_pylist() == [1, 2, 3]
    assert t.column("case:concept:name").to_pylist() == ["c1", "c1", "c2"]
    assert t.column("case:branch").to_pylist() == ["North", "North", None]
    assert t.column("org:resource").to_pylist() == ["T01", None, "T02"]  # missing -> null
    assert t.column("time:timestamp").to_pylist() == [
        "2024-03-01T09:00:00.000+01:00",
        "2024-03-01T09:05:30.250+01:00",
        "2024-03-01T10:00:00Z",
    ]
    assert t.column("ticket").to_pylist() == ["17", None, None]
    assert t.column("vip").to_pylist() == [None, "true", None]
    assert t.column("amount").to_pylist() == [None, None, "1e3"]
    assert t.column("note").to_pylist() == [None, None, "cash"]
    for absent in ("inner", "items", "item", "box", "content", "creator", "meta:mean", "Resource1"):
        assert absent not in t.column_names
        assert f"case:{absent}" not in t.column_names
    assert all(pa.types.is_large_string(f.type) for f in t.schema if f.name != "_row")


@pytest.mark.parametrize(
    "ns",
    ["", NS, ' xmlns="http://www.xes-standard.org"'],
    ids=["no-namespace", "namespace-slash", "namespace-no-slash"],
)
def test_namespaced_and_plain_files_read_the_same(tmp_path: Path, ns: str) -> None:
    text = SMALL.replace(f'<log xes.version="1.0"{NS}>', f'<log xes.version="1.0"{ns}>')
    assert (ns in text) if ns else ("xmlns" not in text)
    res = read_xes_table(_write(tmp_path, text))
    expected = read_xes_table(_write(tmp_path, SMALL, "ref.xes"))
    assert res.table.equals(expected.table)
    assert (res.traces, res.events) == (2, 3)


def test_prefixed_namespace(tmp_path: Path) -> None:
    text = SMALL.replace("<", "<xes:").replace("<xes:/", "</xes:").replace("<xes:?", "<?")
    text = text.replace("<xes:!--", "<!--").replace(NS, ' xmlns:xes="http://www.xes-standard.org/"')
    res = read_xes_table(_write(tmp_path, text))
    assert res.table.equals(read_xes_table(_write(tmp_path, SMALL, "ref.xes")).table)


def test_trace_attribute_on_every_event_even_when_written_after_events(tmp_path: Path) -> None:
    body = """  <trace>
    <event><string key="concept:name" value="a"/></event>
    <event><string key="concept:name" value="b"/></event>
    <event/>
    <string key="concept:name" value="late"/>
  </trace>
  <trace><string key="other" value="o"/></trace>
  <trace>
    <string key="concept:name" value="next"/>
    <event><string key="concept:name" value="c"/></event>
  </trace>
"""
    res = read_xes_table(_write(tmp_path, _log(body)))
    assert (res.traces, res.events) == (3, 4)
    assert res.table.column("case:concept:name").to_pylist() == ["late", "late", "late", "next"]
    assert res.table.column("concept:name").to_pylist() == ["a", "b", None, "c"]
    assert res.table.column("case:other").to_pylist() == [None] * 4  # trace without events


def test_duplicate_key_last_wins_and_event_key_clashing_with_case_column(tmp_path: Path) -> None:
    body = """  <trace>
    <string key="x" value="trace-x"/>
    <event>
      <string key="k" value="first"/>
      <string key="k" value="second"/>
      <string key="case:x" value="event-level"/>
      <string key="_row" value="bogus"/>
    </event>
  </trace>
"""
    t = read_xes_table(_write(tmp_path, _log(body))).table
    assert t.column("k").to_pylist() == ["second"]
    assert t.column("case:x").to_pylist() == ["trace-x"]
    assert t.column("_row").to_pylist() == [1]
    assert t.column_names.count("case:x") == 1 and t.column_names.count("_row") == 1


def test_xml_escapes_and_attribute_whitespace(tmp_path: Path) -> None:
    body = """  <trace><event>
    <string key="a" value="Tom &amp; Jerry &lt;3 &gt; &quot;q&quot; &apos;s&apos;"/>
    <string key="b" value="line&#10;break&#x9;tab"/>
    <string key="c" value="raw
newline	tab"/>
    <string key="d" value='single "quoted"'/>
    <string key="e" value="ünï €"/>
    <string key="f" value=""/>
    <string key="g" value="a > b"/>
  </event></trace>
"""
    row = read_xes_table(_write(tmp_path, _log(body))).table.to_pylist()[0]
    assert row["a"] == "Tom & Jerry <3 > \"q\" 's'"
    assert row["b"] == "line\nbreak\ttab"
    assert row["c"] == "raw newline tab"  # XML attribute-value normalisation
    assert row["d"] == 'single "quoted"'
    assert row["e"] == "ünï €"
    assert row["f"] == ""
    assert row["g"] == "a > b"


def test_gz_and_plain_give_equal_tables(tmp_path: Path) -> None:
    plain = read_xes_table(_write(tmp_path, SMALL, "log.xes"))
    packed = read_xes_table(_write(tmp_path, SMALL, "log.xes.gz"))
    assert packed.table.equals(plain.table)
    assert (packed.traces, packed.events) == (plain.traces, plain.events)


def test_other_encoding_and_bom(tmp_path: Path) -> None:
    latin = SMALL.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace("North", "Nörth")
    res = read_xes_table(_write(tmp_path, latin, encoding="iso-8859-1"))
    assert res.table.column("case:branch").to_pylist()[0] == "Nörth"
    bom = tmp_path / "bom.xes"
    bom.write_bytes(b"\xef\xbb\xbf" + SMALL.encode())
    assert read_xes_table(bom).table.equals(read_xes_table(_write(tmp_path, SMALL)).table)


def test_utf16_file(tmp_path: Path) -> None:
    text = SMALL.replace('encoding="UTF-8"', 'encoding="UTF-16"').replace("North", "Nörth €")
    path = tmp_path / "utf16.xes"
    path.write_bytes(text.encode("utf-16"))
    assert read_xes_table(path).table.column("case:branch").to_pylist()[0] == "Nörth €"


def test_internal_dtd_entities_are_resolved(tmp_path: Path) -> None:
    text = (
        '<?xml version="1.0"?>\n<!DOCTYPE log [<!ENTITY bank "Bank &amp; Trust">]>\n'
        '<log><trace><event><string key="org:group" value="&bank; ltd"/></event></trace></log>'
    )
    res = read_xes_table(_write(tmp_path, text))
    assert res.table.column("org:group").to_pylist() == ["Bank & Trust ltd"]


def test_many_distinct_keys(tmp_path: Path) -> None:
    events = "".join(
        "<event>"
        + "".join(f'<string key="k{(i * 7 + j) % 100}" value="v{i}.{j}"/>' for j in range(5))
        + "</event>"
        for i in range(300)
    )
    path = _write(tmp_path, f"<log><trace>{events}</trace></log>")
    res = read_xes_table(path)
    assert res.table.num_columns == 101
    assert res.table.column("k7").to_pylist()[1] == "v1.0"
    assert res.table.equals(xes._read_slow(path, None).table)


def test_empty_log(tmp_path: Path) -> None:
    res = read_xes_table(_write(tmp_path, _log("")))
    assert (res.traces, res.events) == (0, 0)
    assert res.table.column_names == ["_row"]
    assert res.table.num_rows == 0


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (SMALL.replace("</event>\n  </trace>\n  <trace>", "</trace>\n  <trace>", 1), None),
        (SMALL.replace('value="North"', 'value="North'), None),
        (SMALL.replace("<event>", "<event attr=>", 1), 13),
        (SMALL[: len(SMALL) // 2], None),
        (SMALL.replace('value="cash"', 'value="a & b"'), None),
        ("<", 1),
    ],
    ids=["tag-mismatch", "unclosed-quote", "bad-attribute", "truncated", "bare-amp", "lone-lt"],
)
def test_malformed_xml_raises_procmine_error(tmp_path: Path, text: str, line: int | None) -> None:
    path = _write(tmp_path, text, "broken.xes")
    with pytest.raises(ProcmineError) as info:
        read_xes_table(path)
    message = str(info.value)
    assert "broken.xes" in message
    assert "line" in message
    if line is not None:
        assert f"line {line}" in message


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ProcmineError, match=r"empty\.xes: empty file"):
        read_xes_table(_write(tmp_path, "", "empty.xes"))


def test_malformed_gz_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xes.gz"
    broken.write_bytes(gzip.compress(SMALL.encode())[:-30])
    with pytest.raises(ProcmineError, match=r"broken\.xes\.gz"):
        read_xes_table(broken)
    with pytest.raises(ProcmineError, match=r"missing\.xes: file not found"):
        read_xes_table(tmp_path / "missing.xes")


def test_root_must_be_log(tmp_path: Path) -> None:
    with pytest.raises(ProcmineError, match=r"notlog\.xes.*<trace>"):
        read_xes_table(_write(tmp_path, "<trace><event/></trace>", "notlog.xes"))


# ---------------------------------------------------------------------------------------
# The fast reader against the general lxml reader


def _random_log(rng: random.Random, quote: str = '"') -> str:
    keys = ["concept:name", "lifecycle:transition", "org:resource", "time:timestamp", "x"]
    values = ["a", "b c", "d&amp;e", "f&lt;g", "h > i", "", "ü", "2024-01-01T00:00:00+01:00"]
    parts = []
    for t in range(rng.randint(1, 30)):
        parts.append(f'  <trace>\n    <string key="concept:name" value="case {t}"/>\n')
        for _ in range(rng.randint(0, 6)):
            attrs = "".join(
                f"      <{rng.choice(['string', 'date', 'int'])} key={quote}{k}{quote}"
                f" value={quote}{rng.choice(values)}{quote}/>\n"
                for k in rng.sample(keys, rng.randint(0, len(keys)))
            )
            if rng.random() < 0.1:
                attrs += '      <!-- a "quoted" comment -->\n'
            parts.append(f"    <event>\n{attrs}    </event>\n")
        parts.append("  </trace>\n")
    return _log("".join(parts))


@pytest.mark.parametrize("seed", range(6))
def test_fast_reader_matches_general_reader_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    path = _write(tmp_path, _random_log(rng), "log.xes.gz" if seed % 2 else "log.xes")
    expected = xes._read_slow(path, None)
    for chunk in (1 << 18, 97, 31):
        monkeypatch.setattr(xes, "_MIN_CHUNK", chunk)
        monkeypatch.setattr(xes, "_MAX_CHUNK", max(chunk, 64))
        fast = xes._read_fast(path, None)  # raises if the fast reader declined
        assert fast.table.equals(expected.table), chunk
        assert (fast.traces, fast.events) == (expected.traces, expected.events)


def test_single_quoted_file_falls_back_to_general_reader(tmp_path: Path) -> None:
    rng = random.Random(42)
    double = read_xes_table(_write(tmp_path, _random_log(rng), "double.xes"))
    rng = random.Random(42)
    single_path = _write(tmp_path, _random_log(rng, quote="'"), "single.xes")
    with pytest.raises(xes._Unsupported):
        xes._read_fast(single_path, None)
    assert read_xes_table(single_path).table.equals(double.table)
