"""``procmine staffing``: the plan as JSON and on screen, the what-if, and its mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_queue_measures import random_tickets, write_tickets
from typer.testing import CliRunner

from procmine.cli.main import app
from procmine.core.errors import ProcmineError
from procmine.queue.measures import QueueFilter
from procmine.queue.staffing import staffing_plan, what_if
from procmine.store.event_store import EventStore

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A workspace whose store holds 3,000 random tickets of branches B1 and B2 over four
    days (Monday to Thursday)."""
    home = tmp_path / "workspace"
    write_tickets(EventStore(home), random_tickets(n=3000, seed=8))
    return home


def test_json_is_the_plan(home: Path) -> None:
    result = runner.invoke(app, ["staffing", "--home", str(home), "--target-wait", "300",
                                 "--target-share", "0.9", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    plan = staffing_plan(EventStore(home), QueueFilter(target_wait=300), target_share=0.9)
    assert data == json.loads(json.dumps(plan.to_dict()))
    assert data["target_seconds"] == 300 and data["target_share"] == 0.9
    assert {b["branch_id"] for b in data["branches"]} == {"B1", "B2"}
    assert {s["reason"] for s in data["shifts"]} <= {"shortfall", "surplus"}


def test_branch_narrows_the_plan(home: Path) -> None:
    result = runner.invoke(app, ["staffing", "--home", str(home), "--branch", "B2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {row["branch_id"] for row in data["intervals"]} == {"B2"}
    assert data["target_seconds"] == 600 and data["target_share"] == 0.8


def test_the_table_states_the_model(home: Path) -> None:
    result = runner.invoke(app, ["staffing", "--home", str(home), "--branch", "B1"])
    assert result.exit_code == 0, result.output
    assert "Staffing, branch B1: 80% within 600 s" in result.output
    assert "Model and assumptions" in result.output
    assert "erlang_a" in result.output  # about one in ten gives up


def test_what_if(home: Path) -> None:
    result = runner.invoke(app, ["staffing", "--home", str(home), "--branch", "B1",
                                 "--weekday", "2", "--at", "10:00", "--counters", "3",
                                 "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    plan = staffing_plan(EventStore(home), QueueFilter(branch="B1"))
    assert data == what_if(plan, "B1", 2, 600, 3).to_dict()
    assert data["counters"] == 3 and data["model"] == "erlang_a"
    screen = runner.invoke(app, ["staffing", "--home", str(home), "--branch", "B1",
                                 "--weekday", "2", "--at", "10:00", "--counters", "3"])
    assert screen.exit_code == 0 and "service level" in screen.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--weekday", "2", "--at", "10:00", "--counters", "3"], "needs --branch"),
        (["--branch", "B1", "--weekday", "2", "--counters", "3"], "needs --branch"),
        (["--branch", "B1", "--weekday", "2", "--at", "10:10", "--counters", "3"],
         "start of a 15-minute interval"),
        (["--branch", "B1", "--weekday", "2", "--at", "noon", "--counters", "3"], "HH:MM"),
        (["--branch", "B1", "--weekday", "7", "--at", "10:00", "--counters", "3"],
         "no interval 10:00 on weekday 7"),
    ],
)
def test_mistakes_are_messages(home: Path, args: list[str], message: str) -> None:
    # the CLI's main() prints a ProcmineError's message without a traceback
    result = runner.invoke(app, ["staffing", "--home", str(home), *args])
    assert result.exit_code != 0
    assert isinstance(result.exception, ProcmineError)
    assert message in str(result.exception)
