"""Resource limits: each hostile file is built here, small, and refused against a scaled-down limit
with a message naming the limit and how to raise it; the store stays as it was (no batch, no
batch file, no partial file, no quarantine file)."""

from __future__ import annotations

import gzip
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from procmine.cli.main import app
from procmine.core.errors import ProcmineError
from procmine.core.limits import Limits, current_limits, use_limits
from procmine.ingest.run import ingest_log
from procmine.io.eventlog import load_column_map
from procmine.io.excel import read_excel_table
from procmine.io.xes import read_xes_table
from procmine.store.event_store import EventStore

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def stored(store: EventStore) -> tuple[list[Any], list[str]]:
    """What the store holds: its batch history and the files of its batch and quarantine folders."""
    files = sorted(
        f"{folder.name}/{p.name}"
        for folder in (store.events_dir, store.quarantine_dir) if folder.exists()
        for p in folder.iterdir()
    )
    return store.batches(), files


def seeded(store: EventStore, tmp_path: Path) -> tuple[list[Any], list[str]]:
    """The store after one good ingest, so that "unchanged" is not just "empty"."""
    good = tmp_path / "good.csv"
    good.write_text("case_id,activity,end_time\nC1,Open,2026-09-01 10:00:00\n", encoding="utf-8")
    ingest_log(store, good)
    before = stored(store)
    assert len(before[0]) == 1 and before[1] == [f"events/{before[0][0]['batch_id']}.parquet"]
    return before


# ---------------------------------------------------------------------------------------------
# Excel: a cell at XFD1048576 (row 4 of issue 12)

_CELL = '<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'
_HEAD = "".join(_CELL.format(ref=f"{c}1", text=t)
                for c, t in zip("ABC", ("case_id", "activity", "end_time"), strict=True))
_ROW2 = "".join(_CELL.format(ref=f"{c}2", text=t)
                for c, t in zip("ABC", ("C1", "Open", "2026-09-01 10:00:00"), strict=True))
_FAR = '<row r="1048576">' + _CELL.format(ref="XFD1048576", text="x") + "</row>"


def write_xlsx(path: Path, dimension: str, far_cell: bool) -> Path:
    """A workbook written by hand with zipfile: one sheet, a header, one row, maybe a far cell."""
    rows = f'<row r="1">{_HEAD}</row><row r="2">{_ROW2}</row>' + (_FAR if far_cell else "")
    main = "http://schemas.openxmlformats.org"
    rel = f"{main}/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": (
            f'<Types xmlns="{main}/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
            'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.worksheet+xml"/></Types>'),
        "_rels/.rels": (
            f'<Relationships xmlns="{main}/package/2006/relationships"><Relationship Id="rId1" '
            f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<workbook xmlns="{main}/spreadsheetml/2006/main" xmlns:r="{rel}"><sheets>'
            '<sheet name="log" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{main}/package/2006/relationships"><Relationship Id="rId1" '
            f'Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
        "xl/worksheets/sheet1.xml": (
            f'<worksheet xmlns="{main}/spreadsheetml/2006/main"><dimension ref="{dimension}"/>'
            f"<sheetData>{rows}</sheetData></worksheet>"),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, '<?xml version="1.0" encoding="UTF-8"?>' + text)
    return path


def test_a_plain_handwritten_workbook_loads(store: EventStore, tmp_path: Path) -> None:
    report = ingest_log(store, write_xlsx(tmp_path / "ok.xlsx", "A1:C2", far_cell=False))
    assert (report.read, report.loaded, report.quarantined) == (1, 1, 0)


@pytest.mark.parametrize(("dimension", "far_cell"), [
    ("A1:XFD1048576", True),   # as Excel would declare it
    ("A1:C2", True),           # the dimension lies; the cell reference does not
    ("A1:XFD1048576", False),  # only the declared range is huge
])
def test_xlsx_with_a_cell_at_xfd1048576_is_refused_before_reading(
    store: EventStore, tmp_path: Path, dimension: str, far_cell: bool,
) -> None:
    before = seeded(store, tmp_path)
    bomb = write_xlsx(tmp_path / "bomb.xlsx", dimension, far_cell)
    assert bomb.stat().st_size < 5_000
    with pytest.raises(ProcmineError) as refused:
        ingest_log(store, bomb)
    message = str(refused.value)
    assert "reaches column XFD (16,384 columns)" in message
    assert "max_columns = 500" in message and "--max-columns" in message
    assert "PROCMINE_MAX_COLUMNS" in message
    assert stored(store) == before
    # Over the column limit raised, the cell limit still holds.
    with use_limits(Limits(max_columns=20_000)), pytest.raises(ProcmineError) as refused:
        ingest_log(store, bomb)
    assert "A1:XFD1048576 holds 1,048,576 rows x 16,384 columns = 17,179,869,184 cells" in str(
        refused.value)
    assert "max_cells = 5,000,000" in str(refused.value) and "--max-cells" in str(refused.value)
    assert stored(store) == before


def test_excel_reader_that_aborts_takes_only_its_own_process(tmp_path: Path) -> None:
    """With both size checks lifted, the reader aborts (a failed 512 GB allocation in Rust) in
    its own memory-capped process; this process gets a ProcmineError and carries on."""
    bomb = write_xlsx(tmp_path / "bomb.xlsx", "A1:XFD1048576", far_cell=True)
    lifted = Limits(max_columns=20_000, max_cells=10**12, max_reader_mb=2048)
    with pytest.raises(ProcmineError) as refused:
        read_excel_table(bomb, limits=lifted)
    message = str(refused.value)
    assert "the Excel reader stopped" in message and "max_reader_mb = 2,048" in message
    ok = write_xlsx(tmp_path / "ok.xlsx", "A1:C2", far_cell=False)
    assert read_excel_table(ok, limits=lifted).to_pydict() == {
        "_row": [2], "case_id": ["C1"], "activity": ["Open"], "end_time": ["2026-09-01 10:00:00"]}


# ---------------------------------------------------------------------------------------------
# XES: decompressed size and attribute keys (row 5)

_EVENT = (b'<event><string key="concept:name" value="Open"/>'
          b'<date key="time:timestamp" value="2026-09-01T10:00:00"/></event>\n')


def write_gzip_bomb(path: Path, megabytes: int) -> Path:
    """An .xes.gz whose XML text is ``megabytes`` MB of the same event (it compresses ~1000:1)."""
    block = _EVENT * ((1 << 20) // len(_EVENT))
    with gzip.open(path, "wb", compresslevel=6) as out:
        out.write(b'<log><trace><string key="concept:name" value="C1"/>\n')
        for _ in range(megabytes):
            out.write(block)
        out.write(b"</trace></log>\n")
    return path


def test_gzip_bomb_is_refused_at_the_decompressed_limit(store: EventStore, tmp_path: Path) -> None:
    before = seeded(store, tmp_path)
    bomb = write_gzip_bomb(tmp_path / "bomb.xes.gz", megabytes=50)
    assert bomb.stat().st_size < 1 << 20  # under a megabyte on disk
    with use_limits(Limits(max_decompressed_mb=10)), pytest.raises(ProcmineError) as refused:
        ingest_log(store, bomb)
    message = str(refused.value)
    assert "bomb.xes.gz: the XML text expands to more than 10 MB" in message
    assert "max_decompressed_mb = 10" in message and "--max-decompressed-mb" in message
    assert stored(store) == before


def write_many_keys(path: Path, keys: int) -> Path:
    """One trace of ``keys`` events, each with its own attribute key."""
    events = "".join(
        f'<event><string key="concept:name" value="Open"/><date key="time:timestamp" '
        f'value="2026-09-01T10:00:00"/><string key="k{i}" value="v"/></event>'
        for i in range(keys)
    )
    path.write_text(f'<log><trace><string key="concept:name" value="C1"/>{events}</trace></log>',
                    encoding="utf-8")
    return path


def test_xes_with_2000_attribute_keys_is_refused(store: EventStore, tmp_path: Path) -> None:
    before = seeded(store, tmp_path)
    wide = write_many_keys(tmp_path / "wide.xes", 2_000)
    with pytest.raises(ProcmineError) as refused:
        read_xes_table(wide, limits=Limits(max_columns=500))
    assert "wide.xes: more than 500 distinct attribute keys" in str(refused.value)
    assert "max_columns = 500" in str(refused.value)
    with use_limits(Limits(max_columns=500)), pytest.raises(ProcmineError, match="max_columns"):
        ingest_log(store, wide)
    assert stored(store) == before


def test_the_general_xes_reader_counts_keys_too(tmp_path: Path) -> None:
    """A DOCTYPE with an internal subset sends the file to the general (lxml) reader."""
    wide = write_many_keys(tmp_path / "wide.xes", 600)
    wide.write_text('<!DOCTYPE log [<!ENTITY x "y">]>' + wide.read_text(encoding="utf-8"),
                    encoding="utf-8")
    with pytest.raises(ProcmineError, match="more than 500 distinct attribute keys"):
        read_xes_table(wide, limits=Limits(max_columns=500))
    assert read_xes_table(wide, limits=Limits(max_columns=700)).table.num_columns == 604


def test_cli_ingest_limits_refuse_and_can_be_raised(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    wide = write_many_keys(tmp_path / "wide.xes", 150)
    refused = runner.invoke(app, ["ingest", str(wide), "--home", str(home), "--max-columns", "100"])
    assert isinstance(refused.exception, ProcmineError)  # main() prints it without traceback
    assert "more than 100 distinct attribute keys" in str(refused.exception)
    assert "max_columns = 100" in str(refused.exception)
    assert EventStore(home).batches() == []
    loaded = runner.invoke(app, ["ingest", str(wide), "--home", str(home), "--max-columns", "200",
                                 "--json"])
    assert loaded.exit_code == 0, loaded.output
    assert [b["loaded"] for b in EventStore(home).batches()] == [150]


# ---------------------------------------------------------------------------------------------
# Mapping files: aliases and size (row 5)

LAUGHS = "\n".join(
    ["columns: {case_id: JRNL_NO}", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{b}: &{b} [*{a},*{a},*{a},*{a},*{a},*{a},*{a},*{a},*{a}]"
       for a, b in zip("abcdefgh", "bcdefghi", strict=True)]
) + "\n"


def test_yaml_alias_bomb_as_map_is_refused(tmp_path: Path) -> None:
    assert len(LAUGHS) < 700
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(LAUGHS, encoding="utf-8")
    with pytest.raises(ProcmineError) as refused:
        load_column_map(bomb)
    assert "bomb.yaml: line 2: YAML anchors and aliases" in str(refused.value)
    home = tmp_path / "ws"
    log = tmp_path / "log.csv"
    log.write_text("JRNL_NO,activity,end_time\nC1,Open,2026-09-01 10:00:00\n", encoding="utf-8")
    result = runner.invoke(app, ["ingest", str(log), "--map", str(bomb), "--home", str(home)])
    assert isinstance(result.exception, ProcmineError)
    assert "anchors and aliases" in str(result.exception)
    assert EventStore(home).batches() == []


def test_a_harmless_alias_is_refused_too(tmp_path: Path) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  case_id: &id JRNL_NO\n  instance: *id\n", encoding="utf-8")
    with pytest.raises(ProcmineError, match="line 2: YAML anchors and aliases"):
        load_column_map(mapping)


def test_mapping_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  case_id: JRNL_NO\n" + "# padding\n" * 300, encoding="utf-8")
    with pytest.raises(ProcmineError) as refused:
        load_column_map(mapping, limits=Limits(max_map_kb=2))
    assert "map.yaml: the mapping file is larger than 2 KB" in str(refused.value)
    assert "PROCMINE_MAX_MAP_KB" in str(refused.value)
    assert load_column_map(mapping, limits=Limits(max_map_kb=4)).columns == {"case_id": "JRNL_NO"}


# ---------------------------------------------------------------------------------------------
# Uploads, and the limits themselves


def test_upload_size_is_capped_by_streamlit_and_by_procmine() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] == Limits().max_upload_mb == 200
    with pytest.raises(ProcmineError, match=r"log.csv: the upload is 201.0 MB; the limit is "
                                             r"max_upload_mb = 200"):
        Limits().check_upload("log.csv", 201 << 20)
    Limits().check_upload("log.csv", 200 << 20)


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROCMINE_MAX_COLUMNS", "3")
    monkeypatch.setenv("PROCMINE_MAX_DECOMPRESSED_MB", "4_096")
    assert current_limits() == Limits(max_columns=3, max_decompressed_mb=4096)
    with use_limits(Limits()):
        assert current_limits().max_columns == 500
    monkeypatch.setenv("PROCMINE_MAX_CELLS", "lots")
    with pytest.raises(ProcmineError, match="PROCMINE_MAX_CELLS='lots' is not a whole number"):
        current_limits()
    monkeypatch.setenv("PROCMINE_MAX_CELLS", "0")
    with pytest.raises(ProcmineError, match="max_cells must be a positive whole number"):
        current_limits()


def test_a_mapping_nested_thousands_deep_is_a_clear_error(tmp_path: Path) -> None:
    """A property test found it: PyYAML composes nested blocks recursively, so 5,000 levels of
    ``[`` were a RecursionError traceback."""
    path = tmp_path / "deep.yaml"
    path.write_text("columns: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(ProcmineError, match="nested too deeply"):
        load_column_map(path)
