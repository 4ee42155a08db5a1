"""Activity display names (:mod:`procmine.sop.activity_names`): the SOP step's name wins over the
glossary, the glossary over the log name; the glossary is seeded with the library and read with
errors that name the line; the names are cached until the library or the glossary changes."""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from apptest import app_as
from demo_kit import copy_demo_workspace
from rich.cells import cell_len
from streamlit.testing.v1 import AppTest
from test_cli_width import NARROW, _headers, runner

from procmine import (
    LOG_NAME_COLUMN,
    Editor,
    ProcmineError,
    SopLibrary,
    activity_names,
    bundled_sops_dir,
    error_text,
    glossary_path,
    read_glossary,
    t,
)
from procmine.cli.main import app
from procmine.demo.activities import ACTIVITIES

GLOSSARY = "activity,zh,en\n"


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    """An SOP folder with SOP-P17 (it names Count cash 点钞) and a glossary that names Count
    cash otherwise, and Print statement, which no SOP governs."""
    folder = tmp_path / "seed"
    folder.mkdir()
    shutil.copyfile(bundled_sops_dir() / "SOP-P17.md", folder / "SOP-P17.md")
    (folder / "activities.csv").write_text(
        GLOSSARY + "Count cash,数钱,Cash count\nPrint statement,打印回单,Print the statement\n",
        encoding="utf-8")
    return folder


def test_the_sop_step_wins_then_the_glossary_then_the_log_name(tmp_path: Path, seed: Path) -> None:
    library = SopLibrary.open(tmp_path / "home", seed=seed)
    names = activity_names(library)
    assert names.name("Count cash", "zh-CN") == "点钞"  # the SOP's heading, not the glossary's
    assert names.name("Count cash", "en") == "Count cash"  # the SOP's activity
    assert names.source["Count cash"] == "sop"
    assert names.name("Print statement", "zh-CN") == "打印回单"
    assert names.name("Print statement", "en") == "Print the statement"
    assert names.source["Print statement"] == "glossary"
    assert names.name("Made-up step", "zh-CN") == names.name("Made-up step", "en") == "Made-up step"
    assert "Made-up step" not in names.source
    assert names.label("Print statement", "zh-CN") == "打印回单 (Print the statement)"
    assert names.label("Made-up step", "en") == "Made-up step"


def test_a_renamed_step_shows_once_its_version_is_approved(tmp_path: Path, seed: Path) -> None:
    library = SopLibrary.open(tmp_path / "home", seed=seed)
    alice = Editor("alice", "reviewer", "accounting-and-cash", "Alice Li")
    bob = Editor("bob", "reviewer", "accounting-and-cash", "Bob Wang")
    head = library.current("SOP-P17")
    text = head.sop.text.replace("### 6. 点钞 Count cash", "### 6. 清点现金 Count cash")
    library.save("SOP-P17", text, user=alice, note="Rename the step", base=head.commit)
    assert activity_names(library).name("Count cash", "zh-CN") == "点钞"  # a draft: not yet
    library.submit("SOP-P17", user=alice)
    library.approve("SOP-P17", user=bob, today=date(2026, 11, 2), effective=date(2026, 11, 2))
    assert activity_names(library).name("Count cash", "zh-CN") == "清点现金"  # a new head


def test_the_glossary_is_seeded_with_the_library_and_read_from_there(
        tmp_path: Path, seed: Path) -> None:
    library = SopLibrary.open(tmp_path / "home", seed=seed)
    assert glossary_path(library) == library.root / "activities.csv"
    assert library.ids() == ["SOP-P17"]  # the glossary is no SOP
    assert library.pending_edits() == []  # committed with the seed
    # the bank edits the glossary: the names follow (cached by the file's modification time)
    assert activity_names(library).name("Print statement", "zh") == "打印回单"
    path = library.root / "activities.csv"
    path.write_text(GLOSSARY + "Print statement,打印流水,\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    edited = activity_names(library)
    assert edited.name("Print statement", "zh") == "打印流水"
    assert edited.name("Print statement", "en") == "Print statement"  # empty en: the log name


def test_a_library_seeded_before_the_glossary_reads_the_bundled_one(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    shutil.copyfile(bundled_sops_dir() / "SOP-P18.md", folder / "SOP-P18.md")
    library = SopLibrary.open(tmp_path / "home", seed=folder)
    assert glossary_path(library) == bundled_sops_dir() / "activities.csv"
    assert activity_names(library).name("Stamp confiscated notes", "zh-CN") == "加盖假币戳记"


def test_the_bundled_glossary_names_every_demo_activity_and_every_sop_step() -> None:
    rows = list(csv.DictReader((bundled_sops_dir() / "activities.csv").open(encoding="utf-8")))
    assert [list(r) for r in rows[:1]] == [["activity", "zh", "en"]]
    glossary = read_glossary(bundled_sops_dir() / "activities.csv")
    assert set(glossary) == set(ACTIVITIES)
    assert {a: g["zh"] for a, g in glossary.items()} == {a: v.name_zh for a, v in
                                                         ACTIVITIES.items()}
    # for the demo the English name is the log name (the CLI's default output stays as it was)
    assert all(g["en"] == a for a, g in glossary.items())
    names = activity_names(None)
    assert names.name("Second-person recount", "zh-CN") == "双人复点"
    assert names.source["Second-person recount"] == "sop"


@pytest.mark.parametrize(("body", "code", "line", "words"), [
    ("Count cash,点钞,\nCount cash,数钱,\n", "glossary.duplicate", 3, "already named on line 2"),
    ("Count cash,点钞,\n\nPrint statement,,\n", "glossary.empty_zh", 4, "no Chinese name"),
    (",点钞,\n", "glossary.empty_activity", 2, "the activity is empty"),
])
def test_a_bad_glossary_row_is_refused_with_its_line(
        tmp_path: Path, body: str, code: str, line: int, words: str) -> None:
    path = tmp_path / "activities.csv"
    path.write_text(GLOSSARY + body, encoding="utf-8")
    with pytest.raises(ProcmineError) as caught:
        read_glossary(path)
    assert caught.value.code == code
    assert caught.value.params["line"] == line
    assert str(caught.value).startswith(f"activities.csv, line {line}: ")
    assert words in str(caught.value)
    assert f"第 {line} 行" in error_text(caught.value, "zh-CN")


def test_a_glossary_with_other_columns_or_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "activities.csv"
    path.write_text("step,chinese\nCount cash,点钞\n", encoding="utf-8")
    with pytest.raises(ProcmineError, match="line 1: the columns must be activity,zh,en"):
        read_glossary(path)
    path.write_bytes(GLOSSARY.encode() + "Count cash,点钞,\n".encode("gb18030"))
    with pytest.raises(ProcmineError, match="not UTF-8") as caught:
        read_glossary(path)
    assert caught.value.code == "glossary.encoding"
    # a UTF-8 file saved by Excel (with a byte-order mark) reads
    path.write_bytes(b"\xef\xbb\xbf" + (GLOSSARY + "Count cash,点钞,\n").encode())
    assert read_glossary(path) == {"Count cash": {"zh": "点钞", "en": "Count cash"}}


def test_frame_and_series_map_activity_columns_and_keep_the_log_name() -> None:
    names = activity_names(None)
    table = pd.DataFrame({"business_type": ["P17", "P17", "P18"],
                          "activity": ["Count cash", "Print statement", None],
                          "median_seconds": [30.0, 12.0, 5.0]})
    shown = names.frame(table, "zh-CN", keep_log_name=True)
    assert shown.columns.tolist() == ["business_type", "activity", "median_seconds",
                                      LOG_NAME_COLUMN]
    assert shown["activity"].tolist()[:2] == ["点钞", "打印流水/回单"]
    assert pd.isna(shown["activity"].iloc[2])
    assert shown[LOG_NAME_COLUMN].tolist()[:2] == ["Count cash", "Print statement"]
    assert table["activity"].iloc[0] == "Count cash"  # the caller's frame is left as it was
    edges = pd.DataFrame({"source": ["Count cash"], "target": ["See off"]})
    assert names.frame(edges, "zh", ("source", "target")).values.tolist() == [["点钞", "送别客户"]]
    assert names.series(["Count cash"], "en").tolist() == ["Count cash"]
    assert names.matches("Count cash", "点钞") and names.matches("Count cash", "count")
    assert not names.matches("See off", "点钞")


# -- the dashboard and the command line in Chinese, on the demo workspace -------------------------

ENGLISH = sorted(ACTIVITIES, key=len, reverse=True)  # every step name the demo log uses
CHINESE = {v.name_zh for v in ACTIVITIES.values()}


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("names-workspace") / "workspace"
    copy_demo_workspace(tmp_path_factory, home)
    return home


@pytest.fixture
def home(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("PROCMINE_HOME", str(demo_home))
    yield demo_home


def _page(home: Path, script: str, **state: Any) -> AppTest:
    at = app_as("operations", home, timeout=180)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(script).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _shown(at: AppTest) -> list[str]:
    """Every text the page shows in a table, a chart (labels, hovers) or as markdown."""
    texts = [str(v) for frame in at.dataframe for v in frame.value.astype(str).to_numpy().ravel()]
    texts += [str(frame_column) for frame in at.dataframe for frame_column in frame.value.columns]
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        for trace in spec["data"]:
            for key in ("x", "y", "text", "customdata", "name"):
                value = trace.get(key)
                if key == "customdata" and trace.get("meta") == "steps":
                    # the discovered model's hover: the step's name, then the log's (the name
                    # its BPMN and PNML downloads carry), kept on purpose
                    value = [row[:1] + row[2:] for row in value]
                texts += [json.dumps(value, ensure_ascii=False)] if value is not None else []
    texts += [m.value for m in at.markdown] + [s.value for s in at.subheader]
    return texts


def _english_steps(texts: list[str]) -> set[str]:
    return {name for name in ENGLISH for text in texts if name in text}


def _chinese_steps(texts: list[str]) -> set[str]:
    return {name for name in CHINESE for text in texts if name in text}


@pytest.mark.parametrize("script", ["procmine/dashboard/pages/bottlenecks.py",
                                    "procmine/dashboard/pages/process_map.py",
                                    "procmine/dashboard/pages/conformance.py"])
def test_the_pages_in_chinese_name_every_step_in_chinese(home: Path, script: str) -> None:
    # the process map's Discovered model section opened: its steps are named too
    at = _page(home, script, pmodel_open=True)
    texts = _shown(at)
    assert _english_steps(texts) == set()
    found = _chinese_steps(texts)
    assert len(found) >= 3, found
    if script.endswith("process_map.py"):
        assert {"叫号", "录入交易", "送别客户"} <= found  # every P17 transaction has them


def test_the_process_map_in_english_keeps_the_log_names(home: Path) -> None:
    at = _page(home, "procmine/dashboard/pages/process_map.py", pmodel_open=True)
    at.radio(key="lang_switch").set_value("en").run()
    assert not at.exception
    texts = _shown(at)
    assert {"Call number", "Enter transaction", "See off"} <= _english_steps(texts)
    assert _chinese_steps(texts) == set()


def test_the_sop_library_search_finds_a_step_by_its_chinese_name(home: Path) -> None:
    at = _page(home, "procmine/dashboard/pages/sop_library.py")
    at.text_input(key="sops_search").set_value("双人复点").run()
    assert not at.exception
    listed = {str(v) for v in at.dataframe[0].value.to_numpy().ravel()
              if str(v).startswith("SOP-")}
    assert listed == {"SOP-C44", "SOP-C45", "SOP-P17", "SOP-P18", "SOP-P19", "SOP-P20",
                      "SOP-P21"}  # the SOPs with a second-person recount step


@pytest.mark.parametrize("args", [["bottlenecks"], ["map", "--type", "P17"],
                                  ["variants", "--type", "P18", "--top", "3"],
                                  ["conformance", "--type", "P18"],
                                  ["sop", "findings", "SOP-P18"], ["sop", "coverage"],
                                  ["sop", "effects", "SOP-P18"]], ids=" ".join)
def test_the_cli_with_lang_zh_names_the_steps_in_chinese_in_80_columns(
        demo_home: Path, args: list[str]) -> None:
    english = runner.invoke(app, [*args, "--home", str(demo_home)], env=NARROW)
    chinese = runner.invoke(app, [*args, "--lang", "zh", "--home", str(demo_home)], env=NARROW)
    assert english.exit_code == 0 and chinese.exit_code == 0, chinese.output
    assert _chinese_steps([english.stdout]) == set()
    assert _chinese_steps([chinese.stdout]), chinese.stdout
    assert _english_steps([chinese.stdout]) == set(), chinese.stdout
    assert max(cell_len(line) for line in chinese.stdout.splitlines()) <= 80, chinese.stdout
    assert not [h for h in _headers(chinese.stdout) if "…" in h], chinese.stdout
    # the environment sets the default
    by_env = runner.invoke(app, [*args, "--home", str(demo_home)],
                           env={**NARROW, "PROCMINE_LANG": "zh"})
    assert by_env.stdout == chinese.stdout


def test_the_slow_steps_search_finds_a_step_in_either_language(home: Path) -> None:
    at = _page(home, "procmine/dashboard/pages/bottlenecks.py")
    what = t("bottlenecks.what", "zh-CN")
    before = list(at.dataframe[0].value[what])
    step = next(name for name in sorted(CHINESE, key=len, reverse=True)
                if any(name in cell for cell in before))
    logged = next(a for a, v in ACTIVITIES.items() if v.name_zh == step)
    at.text_input(key="bn_step_query").set_value(step).run()
    assert not at.exception
    found = list(at.dataframe[0].value[what])
    assert found and all(step in cell for cell in found)
    assert found == [cell for cell in before if step in cell]
    at.text_input(key="bn_step_query").set_value(logged.lower()).run()
    assert list(at.dataframe[0].value[what]) == found


def test_a_broken_glossary_is_reported_with_its_line_and_the_page_goes_on(home: Path) -> None:
    path = home / "sops" / "activities.csv"
    kept = path.read_bytes()
    try:
        path.write_text(GLOSSARY + "Print statement,打印流水,\nPrint statement,打印回单,\n",
                        encoding="utf-8")
        at = _page(home, "procmine/dashboard/pages/process_map.py")
        assert [w.value for w in at.warning] == [t(
            "error.glossary.duplicate", "zh-CN", file="activities.csv", line=3,
            activity="Print statement", first=2)]
        assert {"叫号", "点钞"} <= _chinese_steps(_shown(at))  # the SOPs' names still
    finally:
        path.write_bytes(kept)
