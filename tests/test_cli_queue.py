"""``procmine queue``: its JSON keys and values on the demo workspace (against pandas over the
demo's events), the table, ``--by`` groups, the period options and the mistakes it refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from demo_kit import copy_demo_workspace
from typer.testing import CliRunner

from procmine.cli.main import app
from procmine.core.errors import ProcmineError
from procmine.store.event_store import EventStore

runner = CliRunner()

KEYS = {
    "source", "tickets", "queued", "served", "transferred", "abandoned", "no_show",
    "abandonment_rate", "mean_wait_seconds_served", "median_wait_seconds_served",
    "p90_wait_seconds_served", "max_wait_seconds_served", "service_level",
    "mean_service_seconds", "occupancy", "transactions_per_teller_hour", "first_day",
    "last_day", "per_teller",
}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("cli-queue") / "workspace"
    copy_demo_workspace(tmp_path_factory, home)
    return home


@pytest.fixture(scope="module")
def cases(home: Path) -> pd.DataFrame:
    """The demo's tickets from its events, with pandas: one per case with a ticket time."""
    events = EventStore(home).read_events().to_pandas()
    events = events[events["case_id"].isin(events.loc[events["ticket_time"].notna(), "case_id"])]
    events["first"] = events["start_time"].fillna(events["end_time"])
    cases = events.groupby("case_id").agg(
        branch_id=("branch_id", "first"), teller_id=("teller_id", "first"),
        queued=("ticket_time", "min"), called=("call_time", "min"),
        start=("first", "min"), end=("end_time", "max"))
    cases["wait"] = (cases["called"] - cases["queued"]).dt.total_seconds().clip(lower=0)
    cases["service"] = (cases["end"] - cases["start"]).dt.total_seconds()
    return cases


def _json(home: Path, *args: str) -> Any:
    result = runner.invoke(app, ["queue", *args, "--source", "events", "--json",
                                 "--home", str(home)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_has_the_issues_keys_and_values(home: Path, cases: pd.DataFrame) -> None:
    b01 = cases[cases["branch_id"] == "B01"]
    data = _json(home, "--branch", "B01", "--target-wait", "300")
    assert set(data) == KEYS
    assert data["source"] == "events"
    assert data["tickets"] == data["served"] == len(b01) > 1000
    assert (data["abandoned"], data["abandonment_rate"]) == (0, 0.0)
    assert data["mean_wait_seconds_served"] == pytest.approx(b01["wait"].mean(), rel=1e-9)
    assert data["service_level"] == {"target_seconds": 300.0,
                                     "share": pytest.approx((b01["wait"] <= 300).mean())}
    assert data["mean_service_seconds"] == pytest.approx(b01["service"].mean(), rel=1e-9)
    tellers = b01.groupby("teller_id")["service"].agg(["size", "mean"])
    assert [set(t) for t in data["per_teller"]] == [
        {"teller_id", "served", "mean_service_seconds", "occupancy",
         "transactions_per_teller_hour"}] * len(tellers)
    assert [(t["teller_id"], t["served"]) for t in data["per_teller"]] == list(
        zip(tellers.index, tellers["size"], strict=True))
    assert [t["mean_service_seconds"] for t in data["per_teller"]] == pytest.approx(
        list(tellers["mean"]))
    assert data["first_day"] == b01["queued"].min().date().isoformat()


def test_period_options_take_whole_days(home: Path, cases: pd.DataFrame) -> None:
    data = _json(home, "--from", "2026-10-01", "--to", "2026-10-31")
    october = cases[cases["queued"].dt.strftime("%Y-%m") == "2026-10"]
    assert data["tickets"] == len(october)
    assert data["first_day"] >= "2026-10-01" and data["last_day"] <= "2026-10-31"


def test_by_gives_the_measures_per_group(home: Path, cases: pd.DataFrame) -> None:
    rows = _json(home, "--by", "branch_id", "--by", "weekday")
    assert {"branch_id", "weekday", "arrivals", "service_level", "occupancy"} <= set(rows[0])
    keyed = {(r["branch_id"], r["weekday"]): r for r in rows}
    counts = cases.groupby([cases["branch_id"], cases["queued"].dt.day_of_week + 1]).size()
    assert {k: r["arrivals"] for k, r in keyed.items()} == counts.to_dict()
    days = _json(home, "--by", "day", "--branch", "B03")
    assert days[0]["day"] == cases.loc[cases["branch_id"] == "B03", "queued"].min().date(
        ).isoformat()


def test_the_table_names_the_figures(home: Path) -> None:
    result = runner.invoke(app, ["queue", "--home", str(home), "--branch", "B02"],
                           env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    for text in ("abandonment rate (of those who queued)", "service level (wait <= 600 s)",
                 "teller occupancy", "0201"):
        assert text in result.stdout
    grouped = runner.invoke(app, ["queue", "--home", str(home), "--by", "window_type"],
                            env={"COLUMNS": "200"})
    assert grouped.exit_code == 0 and "vip" in grouped.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--by", "shop"], "cannot group the queue by 'shop'"),
    (["--source", "paper"], "ticket source 'paper'"),
    (["--from", "1 Oct"], "--from '1 Oct': expected a date YYYY-MM-DD"),
    (["--from", "2026-10-05", "--to", "2026-10-01"], "is empty"),
])
def test_mistakes_are_refused_with_a_message(home: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["queue", "--home", str(home), *args])
    assert result.exit_code != 0
    assert isinstance(result.exception, ProcmineError) and message in str(result.exception)
