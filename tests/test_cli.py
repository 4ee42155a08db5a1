"""The command line: every command has help and is in the README; --json prints what it says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from procmine.cli.main import app

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _commands(group: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(name, command) for every leaf command; typer ships its own click, so duck-type groups."""
    found = []
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        if hasattr(command, "commands"):
            found += _commands(command, full + " ")
        else:
            found.append((full, command))
    return found


COMMANDS = _commands(get_command(app))


def test_the_foundation_commands_exist() -> None:
    names = {name for name, _ in COMMANDS}
    assert {"demo-data", "ingest", "baseline show", "info", "demo-workspace"} <= names


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_has_help_and_is_in_the_readme(name: str, command: Any) -> None:
    assert command.help and len(command.help.strip()) > 20
    result = runner.invoke(app, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output
    assert f"procmine {name}" in (REPO / "README.md").read_text(encoding="utf-8")


def test_ingest_json_reports_counts_and_quarantine(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text(
        "case_id,activity,end_time,business_type\n"
        "1,Count cash,2026-09-01 09:00:00,P17\n"
        "1,Print voucher,2026-09-01 09:01:00,P17\n"
        "2,Count cash,not a time,P17\n"
        "3,Count cash,2026-09-01 09:03:00,Q99\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["ingest", str(log), "--json", "--home", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["read"], data["loaded"], data["quarantined"]) == (4, 2, 2)
    assert data["reasons"] == {"bad_timestamp": 1, "unknown_business_type": 1}
    assert Path(data["quarantine_file"]).exists()

    info = runner.invoke(app, ["info", "--json", "--home", str(tmp_path / "ws")])
    summary = json.loads(info.stdout)
    assert summary["events"] == 2 and summary["cases"] == 1
    assert summary["quarantine_reasons"] == {"bad_timestamp": 1, "unknown_business_type": 1}


def test_a_user_mistake_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "procmine.cli", "ingest", str(tmp_path / "nope.csv"),
         "--home", str(tmp_path / "ws")],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 2
    # rich wraps the message at the terminal width: a long temporary path moves the break
    assert "error:" in result.stderr and "no such file" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_baseline_show_json_and_a_bank_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["baseline", "show", "--json"])
    records = json.loads(result.stdout)
    assert len(records) == 58
    assert records[16] == {
        "business_type": "P17", "name_zh": "活期现金存款",
        "name_en": "Current-account cash deposit",
        "group": "personal_cash", "standard_seconds": 120.0, "review_group": "accounting-and-cash",
    }
    own = tmp_path / "own.csv"
    own.write_text("business_type,standard_seconds\nA1,60\n", encoding="utf-8")
    result = runner.invoke(app, ["baseline", "show", "--json", "--baseline", str(own)])
    assert [r["business_type"] for r in json.loads(result.stdout)] == ["A1"]


def test_demo_data_then_demo_workspace(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo-data", str(tmp_path / "demo"), "--events", "3000",
                                 "--seed", "5", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (tmp_path / "demo" / "events.csv").exists()
    assert (tmp_path / "demo" / "truth.json").exists()
    ingest = runner.invoke(app, ["ingest", str(tmp_path / "demo" / "events.csv"), "--json",
                                 "--home", str(tmp_path / "ws")])
    assert json.loads(ingest.stdout)["loaded"] == data["events"]


def test_demo_data_with_revisions_lists_them_in_the_truth(tmp_path: Path) -> None:
    result = runner.invoke(app, [
        "demo-data", str(tmp_path), "--events", "5000", "--seed", "5", "--json",
        "--revision", "P18:Count cash:0.7:2026-10-12",
        "--revision", "P17:Enter transaction:1.2:2026-09-15:B01=2026-09-15,B02=2026-10-01",
    ])
    assert result.exit_code == 0, result.output
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert [(r["business_type"], r["activity"], r["factor"], r["effective"], r["branches"])
            for r in truth["revisions"]] == [
        ("P18", "Count cash", 0.7, "2026-10-12", None),
        ("P17", "Enter transaction", 1.2, "2026-09-15",
         {"B01": "2026-09-15", "B02": "2026-10-01"}),
    ]
    assert "command" not in truth
    plain = runner.invoke(app, ["demo-data", str(tmp_path / "plain"), "--events", "5000"])
    assert plain.exit_code == 0, plain.output
    plain_truth = json.loads((tmp_path / "plain" / "truth.json").read_text(encoding="utf-8"))
    assert plain_truth["revisions"] == [] and plain_truth["seed"] == 7


def test_demo_data_bundled_writes_the_bundled_files(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo-data", str(tmp_path), "--bundled", "--json"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo_events.parquet",
                                                          "demo_truth.json"]
    written = json.loads((tmp_path / "demo_truth.json").read_text(encoding="utf-8"))
    bundled = json.loads((REPO / "event_logs" / "demo_truth.json").read_text(encoding="utf-8"))
    if "deviations" not in bundled:  # written before the deviations' truth, same events
        del written["deviations"]
    assert written == bundled
    assert written["command"] == "procmine demo-data event_logs --bundled"


@pytest.mark.parametrize(("args", "message"), [
    (["--revision", "P18:Count cash:fast:2026-10-12"], "factor 'fast' is not a number"),
    (["--revision", "P18:Count csh:0.7:2026-10-12"], "'Count csh' is not a step of P18"),
    (["--bundled", "--events", "5000"], "--bundled fixes every setting"),
])
def test_demo_data_bad_options_are_a_message(tmp_path: Path, args: list[str],
                                             message: str) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "procmine.cli", "demo-data", str(tmp_path / "out"), *args],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 2
    assert "error:" in result.stderr and message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
