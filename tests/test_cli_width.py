"""The command line in an 80-column terminal, on the demo workspace: tables that fit (no header
cut to an ellipsis, no line wider than the terminal), help without a stray ``<bool>`` and with
its paragraphs reflowed, ``--json`` on every read command, sensible defaults."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer
from demo_kit import copy_demo_workspace
from rich.cells import cell_len
from typer.testing import CliRunner

from procmine import SopLibrary, add_user, months_with_data
from procmine.cli.common import Column, fit_table, print_table
from procmine.cli.main import app
from procmine.store.event_store import EventStore

runner = CliRunner()
NARROW = {"COLUMNS": "80"}
PASSWORD = "a-long-password"

# every command that reads (the workspace's data, library, register or training room)
READ = [
    ["league"], ["league", "--month", "2026-09"], ["bottlenecks"], ["queue"], ["staffing"],
    ["diversion"], ["windows"], ["matrix"], ["map"], ["variants"], ["conformance"], ["info"],
    ["user", "list"], ["user", "audit"], ["sop", "list"], ["sop", "history", "SOP-P18"],
    ["sop", "due", "--within", "400"], ["sop", "findings", "SOP-P18"], ["sop", "coverage"],
    ["sop", "effects", "SOP-P18"], ["sop", "lint"], ["batch", "list"], ["quiz", "list"],
    ["quiz", "results"], ["spotcheck", "list", "--as", "trainer"], ["spotcheck", "due"],
    ["improve", "list", "--as", "ops"], ["improve", "causes"],
]
WIDE = [["league"], ["sop", "list"], ["sop", "history", "SOP-P18"],
        ["sop", "findings", "SOP-P18"], ["sop", "coverage"], ["sop", "effects", "SOP-P18"],
        ["batch", "list"], ["spotcheck", "list", "--as", "trainer"], ["staffing"],
        ["user", "list"], ["user", "audit"], ["quiz", "list"]]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workspace (its log, users, SOP library and training room)."""
    home = tmp_path_factory.mktemp("width") / "ws"
    copy_demo_workspace(tmp_path_factory, home)
    return home


def _run(home: Path, args: list[str], env: dict[str, str] | None = None) -> Any:
    result = runner.invoke(app, [*args, "--home", str(home)], env=env or NARROW)
    assert result.exit_code == 0, (args, result.output)
    return result


def _tables(output: str) -> list[list[str]]:
    """The column headers of every table in ``output``: a rich table's head sits between its
    ``┏`` and ``┡`` lines; a header wrapped over several lines is joined again."""
    tables: list[list[list[str]]] = []
    inside = False
    for line in output.splitlines():
        if line.startswith("┏"):
            inside = True
            tables.append([])
        elif line.startswith("┡"):
            inside = False
        elif inside:
            tables[-1].append([cell.strip() for cell in line.strip().strip("┃").split("┃")])
    return [[_joined([part for part in parts if part]) for parts in zip(*lines, strict=True)]
            for lines in tables]


def _joined(parts: list[str]) -> str:
    """A wrapped header's lines joined again: by a space between words, by nothing where
    Chinese was wrapped between characters or a closing bracket was carried over."""
    text = ""
    for part in parts:
        cjk = bool(text) and (ord(text[-1]) > 0x2E80 or ord(part[0]) > 0x2E80)
        text += part if not text or cjk or part[0] in ")）" else " " + part
    return text


def _headers(output: str) -> list[str]:
    return [h for table in _tables(output) for h in table]


def _head_lines(output: str) -> list[int]:
    """How many lines each table's head takes."""
    counts, inside = [], False
    for line in output.splitlines():
        if line.startswith("┏"):
            inside = True
            counts.append(0)
        elif line.startswith("┡"):
            inside = False
        elif inside:
            counts[-1] += 1
    return counts


@pytest.mark.parametrize("args", READ, ids=" ".join)
def test_every_read_command_fits_80_columns(home: Path, args: list[str]) -> None:
    output = _run(home, args).stdout
    lines = output.splitlines()
    assert lines, args
    if args != ["sop", "lint"]:  # lint's file:line paths stay whole, to be copied
        assert max(cell_len(line) for line in lines) <= 80, output
    headers = _headers(output)
    assert not [h for h in headers if "…" in h], output
    if args[0] in ("league", "sop", "batch", "quiz", "spotcheck") and args[1:2] != ["lint"]:
        assert headers, f"{args}: no table printed"


@pytest.mark.parametrize("args", WIDE, ids=" ".join)
def test_wide_prints_every_column_whole(home: Path, args: list[str]) -> None:
    compact = _headers(_run(home, args).stdout)
    wide = _run(home, [*args, "--wide"]).stdout
    headers = _headers(wide)
    assert not [h for h in headers if "…" in h]
    # (a Chinese header wrapped at its space joins again without it: compare without spaces)
    assert {h.replace(" ", "") for h in compact} <= {h.replace(" ", "") for h in headers}
    assert set(_head_lines(wide)) == {1}  # no header wrapped: every column at its full width


def test_the_league_in_80_columns_shows_its_essential_columns_and_more_when_wide(
        home: Path) -> None:
    narrow = _run(home, ["league", "--month", "2026-10", "--lang", "en"]).stdout
    assert _headers(narrow) == ["Bank rank", "Teller", "Branch", "Transactions",
                                "Error rate raw/corrected", "Speed index (ranked)",
                                "Rank change"]
    assert len(_head_lines(narrow)) == 1 and _head_lines(narrow)[0] <= 3  # headers wrap, whole
    wide = _run(home, ["league", "--month", "2026-10", "--lang", "en", "--wide"]).stdout
    assert _headers(wide) == ["Bank rank", "Teller", "Branch", "Branch rank", "Transactions",
                              "Standard hours", "Errors", "Error rate raw/corrected",
                              "Speed index",
                              "Speed index (ranked)", "Rank change"]
    # the same tellers in the same order either way
    def tellers(text: str) -> list[str]:
        return [line.split("│")[2].strip() for line in text.splitlines()
                if line.startswith("│") and line.split("│")[2].strip()]
    assert tellers(narrow) == tellers(wide)
    assert len(tellers(wide)) == len(json.loads(_run(
        home, ["league", "--month", "2026-10", "--json"]).stdout))


def test_league_without_month_takes_the_latest_month_and_says_which(home: Path) -> None:
    months = months_with_data(EventStore(home))
    assert months == ["2026-09", "2026-10"]
    shown = _run(home, ["league", "--lang", "en"])
    assert shown.stdout.startswith("No --month: the latest month in the data, 2026-10.")
    assert "2026-10 Monthly announcement" in shown.stdout
    zh = _run(home, ["league"]).stdout
    assert "未指定 --month：取数据中最近的月份 2026-10。" in zh
    default = _run(home, ["league", "--json"])
    assert "2026-10" in default.stderr  # the note goes to stderr: stdout stays JSON
    explicit = _run(home, ["league", "--month", "2026-10", "--json"])
    a, b = json.loads(default.stdout), json.loads(explicit.stdout)
    # the same announcement (floats up to the last bits of DuckDB's parallel sums)
    assert [(r["teller_id"], r["rank_overall"], r["rank_change"]) for r in a] == [
        (r["teller_id"], r["rank_overall"], r["rank_change"]) for r in b]
    assert a == [{k: pytest.approx(v, rel=1e-12) if isinstance(v, float) else v
                  for k, v in r.items()} for r in b]
    assert {r["month"] for r in json.loads(default.stdout)} == {"2026-10"}


@pytest.mark.parametrize("args", [*READ, ["improve", "report", "--as", "ops"]],
                         ids=" ".join)
def test_json_parses_for_every_read_command(home: Path, args: list[str]) -> None:
    data = json.loads(_run(home, [*args, "--json"]).stdout)
    assert isinstance(data, list | dict)
    assert data or args[:2] == ["improve", "report"]


def test_baseline_show_and_check_in_json_and_80_columns(tmp_path: Path) -> None:
    from procmine import load_baseline

    bundled = load_baseline()
    own = tmp_path / "own.csv"
    frame = pd.DataFrame(bundled.to_records())
    frame.loc[0, "standard_seconds"] = 999
    frame.iloc[:-1].to_csv(own, index=False)
    checked = json.loads(runner.invoke(app, ["baseline", "check", str(own), "--json"]).stdout)
    assert (checked["types"], checked["added"]) == (57, [])
    assert checked["left_out"] == [bundled.codes[-1]]
    assert checked["standard_changed"] == [bundled.codes[0]]
    shown = json.loads(runner.invoke(app, ["baseline", "show", "--json"], env=NARROW).stdout)
    assert len(shown) == len(bundled) == 58
    text = runner.invoke(app, ["baseline", "show"], env=NARROW).stdout
    assert max(cell_len(line) for line in text.splitlines()) <= 80
    assert not [h for h in _headers(text) if "…" in h]


def _commands(group: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    found = [(path, group)]
    for name, sub in getattr(group, "commands", {}).items():
        found += _commands(sub, [*path, name])
    return found


COMMANDS = _commands(typer.main.get_command(app), [])


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "-")
def test_help_has_no_bool_and_keeps_no_source_line_breaks(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"], env=NARROW)
    assert result.exit_code == 0
    assert "<bool>" not in result.output
    assert max(cell_len(line) for line in result.output.splitlines()) <= 80


def test_help_paragraphs_run_to_the_terminals_width() -> None:
    """The league's docstring breaks its lines at 95 columns in the source; the help fills 80
    (a source line break kept would leave a short line in mid-paragraph)."""
    text = runner.invoke(app, ["league", "--help"], env=NARROW).output
    assert "Speed index = sum of standard times / sum of actual counter times (above 1:" in text
    assert "Ranks use it shrunk toward the bank level (empirical Bayes), so a" in text
    flags = [line for line in runner.invoke(app, ["bottlenecks", "--help"], env=NARROW)
             .output.splitlines() if "--json" in line or "--sop" in line]
    assert flags and all("<bool>" not in line for line in flags)


def test_sop_show_prints_the_version_in_force_and_the_draft_with_draft(
        home: Path, tmp_path: Path) -> None:
    library = SopLibrary.open(home)
    today = datetime.now(UTC).date()
    in_force = library.in_force("SOP-P17", today)
    assert in_force is not None
    shown = _run(home, ["sop", "show", "SOP-P17"])
    assert shown.stdout == in_force.sop.text
    assert f"SOP-P17 {in_force.sop.version}: the version in force since" in shown.stderr
    # a draft on top: show keeps printing the version in force, --draft the draft
    add_user("li", PASSWORD, "reviewer", home=home, review_group=in_force.sop.owner_group)
    edited = tmp_path / "SOP-P17.md"
    edited.write_text(shown.stdout.replace("唱收", "唱收（大声）", 1), encoding="utf-8")
    saved = runner.invoke(app, ["sop", "save", "SOP-P17", str(edited), "--user", "li",
                                "--password-stdin", "--note", "aloud", "--home", str(home),
                                "--json"], input=PASSWORD + "\n")
    assert saved.exit_code == 0, saved.output
    draft = json.loads(saved.stdout)
    assert draft["status"] == "draft"
    assert _run(home, ["sop", "show", "SOP-P17"]).stdout == in_force.sop.text
    latest = SopLibrary.open(home).current("SOP-P17")
    assert (latest.commit, latest.sop.status) == (draft["commit"], "draft")
    assert _run(home, ["sop", "show", "SOP-P17", "--draft"]).stdout == latest.sop.text
    assert "唱收（大声）" in latest.sop.text and "唱收（大声）" not in in_force.sop.text
    data = json.loads(_run(home, ["sop", "show", "SOP-P17", "--json"]).stdout)
    assert (data["version"], data["status"], data["commit"]) == (
        in_force.sop.version, "approved", in_force.commit)
    assert data["text"] == in_force.sop.text and data["in_force_on"] == today.isoformat()
    data = json.loads(_run(home, ["sop", "show", "SOP-P17", "--draft", "--json"]).stdout)
    assert (data["version"], data["status"], data["commit"]) == (
        draft["version"], "draft", draft["commit"])
    assert "唱收（大声）" in data["text"] and data["in_force_on"] is None
    # before the first version: a clear error
    early = runner.invoke(app, ["sop", "show", "SOP-P17", "--as-of", "2000-01-01",
                                "--home", str(home)])
    assert "no version of SOP-P17 was in force on 2000-01-01" in str(early.exception)
    history = json.loads(_run(home, ["sop", "history", "SOP-P17", "--json"]).stdout)
    diff = json.loads(_run(home, ["sop", "diff", "SOP-P17", history[1]["commit"],
                                  history[0]["commit"], "--json"]).stdout)
    assert "+" in diff["diff"] and "唱收（大声）" in diff["diff"]


def test_sop_coverage_says_when_it_cuts_a_list(home: Path) -> None:
    data = json.loads(_run(home, ["sop", "coverage", "--json"]).stdout)
    uncovered = data["uncovered_types"]
    assert len(uncovered) > 20
    cut = _run(home, ["sop", "coverage"]).stdout
    assert f"Business types no SOP covers: {len(uncovered)}" in " ".join(cut.split())
    assert f"... and {len(uncovered) - 20} more; --all lists them all." in cut
    every = _run(home, ["sop", "coverage", "--all"]).stdout
    assert "more; --all" not in every
    last = uncovered[-1]
    assert f"│ {last['business_type']} " in every and f"│ {last['business_type']} " not in cut


def test_sop_findings_and_effects_are_tables_with_the_figures_of_the_json(home: Path) -> None:
    found = json.loads(_run(home, ["sop", "findings", "SOP-P18", "--json"]).stdout)
    slow = [r for r in found if r["findings"]]
    assert slow
    text = _run(home, ["sop", "findings", "SOP-P18"]).stdout
    assert "┏" in text and "step_id" not in text  # a table, not pandas' to_string
    row = next(line for line in text.splitlines() if f" {slow[0]['findings']} │" in line
               and f"{slow[0]['monthly_teller_hours']:.2f}" in line)
    assert row.startswith("│")
    effects = json.loads(_run(home, ["sop", "effects", "SOP-P18", "--json"]).stdout)
    text = _run(home, ["sop", "effects", "SOP-P18", "--wide"]).stdout
    first = effects[0]
    line = next(line for line in text.splitlines() if f"│ {first['activity']} " in line)
    assert f"{first['change']:+.1%}" in line and f"{first['n_before']:,}" in line


def test_fit_table_keeps_keys_and_numbers_whole_and_wraps_headers_between_words() -> None:
    columns = [Column("teller", "key"), Column("a long explanation"),
               Column("transactions counted", "num"), Column("extra", essential=False)]
    rows = [["0101", "word " * 30, "12,345", "x" * 50]]
    table = fit_table("t", columns, rows, width=40)
    assert [c.header for c in table.columns] == ["teller", "a long explanation",
                                                  "transactions counted"]
    from io import StringIO

    from rich.console import Console
    buffer = StringIO()
    print_table(table, Console(file=buffer, width=40))
    text = buffer.getvalue()
    assert max(cell_len(line) for line in text.splitlines()) <= 40
    assert "0101" in text and "12,345" in text
    assert _headers(text) == ["teller", "a long explanation", "transactions counted"]
    wide = fit_table("t", columns, rows, wide=True, width=40)
    assert len(wide.columns) == 4
    buffer = StringIO()
    print_table(wide, Console(file=buffer, width=40))
    assert "x" * 50 in buffer.getvalue()
