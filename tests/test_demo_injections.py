"""Tests for the demo generator's injections (issue 19): each is really in the log it writes.

Every injection is measured from the log itself with DuckDB (medians, gaps, days, columns), the
truth is checked against those measurements, and a log without the injection (the same seed)
shows that nothing else moved: the new draws come from streams of their own.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from procmine.cli.main import app
from procmine.core.baseline import load_baseline
from procmine.demo import (
    ACTIVITIES,
    DemoConfig,
    DemoError,
    generate_demo_log,
    parse_branch_start,
    parse_wrong_standard,
    write_bundled_demo,
    write_demo_data,
)
from procmine.demo.plan import make_plan

REPO = Path(__file__).resolve().parents[1]
SEED = 11
#: Conditional slow steps and waits need tellers with many cases: 24 tellers for 200,000 events.
GROUPS = DemoConfig(events=200_000, seed=SEED, branches=4, tellers_per_branch=6, slow_steps=2,
                    conditional_slow=2, waits=2)
PLAIN = DemoConfig(events=150_000, seed=SEED)
TRUTH_KEYS = ("conditional_slow_steps", "waits", "slow_overall", "wrong_standards", "habits",
              "completion_only", "period")

Log = tuple[duckdb.DuckDBPyConnection, dict[str, Any]]


def _log(config: DemoConfig) -> Log:
    """The log in DuckDB as ``e``: its rows with ``dur`` (seconds of the step) and ``gap``
    (seconds from the previous step's end to this step's start)."""
    table, truth = generate_demo_log(config)
    con = duckdb.connect()
    con.register("raw", table)
    con.execute("""
        CREATE TABLE e AS SELECT *,
            date_diff('millisecond', start_time, end_time) / 1000.0 AS dur,
            date_diff('millisecond', lag(end_time) OVER (PARTITION BY case_id ORDER BY start_time),
                      start_time) / 1000.0 AS gap
        FROM raw""")
    return con, truth


def _who(item: dict[str, Any]) -> tuple[str, str]:
    """The column and value that select an injected group's rows: its teller or its branch."""
    return ("teller_id", item["teller_id"]) if item["scope"] == "teller" else (
        "branch_id", item["branch_id"])


def _values(con: duckdb.DuckDBPyConnection, column: str, where: str,
            params: list[Any]) -> list[float]:
    return [r[0] for r in con.execute(f"SELECT {column} FROM e WHERE {where} ORDER BY 1",
                                      params).fetchall()]


@pytest.fixture(scope="module")
def groups() -> Log:
    return _log(GROUPS)


@pytest.fixture(scope="module")
def groups_without_waits() -> Log:
    return _log(replace(GROUPS, waits=0))


@pytest.fixture(scope="module")
def plain() -> Log:
    return _log(PLAIN)


# --- conditional slow steps: slow only from 15:00 ------------------------------------------------


def test_conditional_slow_steps_are_slow_only_from_15h(groups: Log) -> None:
    con, truth = groups
    items = truth["conditional_slow_steps"]
    assert len(items) == 2 and len({i["teller_id"] for i in items}) == 2
    for item in items:
        assert item["scope"] == "teller" and item["factor"] == 2.5
        assert item["condition"] == {"dimension": "hour_band", "value": "closing"}
        step = [item["business_type"], item["activity"]]
        rows = con.execute("""
            SELECT hour(start_time) >= 15 AS closing, median(dur), count(DISTINCT case_id)
            FROM e WHERE teller_id = ? AND business_type = ? AND activity = ?
            GROUP BY 1 ORDER BY 1""", [item["teller_id"], *step]).fetchall()
        (_, before, _), (_, after, cases) = rows
        assert 2.0 <= after / before <= 3.1
        assert item["cases"] == cases >= 30
        # the other tellers at that step are as fast after 15:00 as before
        injected = [i["teller_id"] for i in items] + [
            s["teller_id"] for s in truth["slow_steps"] if s["scope"] == "teller"]
        others = con.execute(f"""
            SELECT median(dur) FILTER (WHERE hour(start_time) >= 15)
                   / median(dur) FILTER (WHERE hour(start_time) < 15)
            FROM e WHERE business_type = ? AND activity = ?
              AND teller_id NOT IN ({", ".join("?" * len(injected))})""",
                             [*step, *injected]).fetchone()
        assert others is not None and 0.85 <= others[0] <= 1.2


def test_a_conditional_group_is_no_other_injected_group(groups: Log) -> None:
    _, truth = groups
    tellers = [s["teller_id"] for s in truth["slow_steps"] if s["scope"] == "teller"]
    tellers += [i["teller_id"] for i in truth["conditional_slow_steps"]]
    tellers += [w["teller_id"] for w in truth["waits"] if w["scope"] == "teller"]
    assert len(tellers) == len(set(tellers))


# --- waits before a step --------------------------------------------------------------------------


def test_waits_add_their_seconds_before_the_step_and_leave_the_step_alone(
        groups: Log, groups_without_waits: Log) -> None:
    con, truth = groups
    control, _ = groups_without_waits
    waits = truth["waits"]
    assert [w["scope"] for w in waits] == ["teller", "teller", "branch"]
    assert waits[2]["teller_id"] is None and all(w["extra_seconds"] == 120.0 for w in waits)
    for w in waits:
        column, value = _who(w)
        where = f"{column} = ? AND business_type = ? AND activity = ?"
        params = [value, w["business_type"], w["activity"]]
        # the same steps, each waited for 120 s longer; their own durations unchanged
        gaps, before = _values(con, "gap", where, params), _values(control, "gap", where, params)
        assert gaps == pytest.approx([g + 120.0 for g in before], abs=1e-9)
        assert _values(con, "dur", where, params) == _values(control, "dur", where, params)
        assert w["cases"] == con.execute(f"SELECT count(DISTINCT case_id) FROM e WHERE {where}",
                                         params).fetchone()[0] >= 60
        # measured against everyone else at that step: about 120 s more waiting
        row = con.execute(f"""
            SELECT median(gap) FILTER (WHERE {column} = ?)
                   - median(gap) FILTER (WHERE {column} <> ?)
            FROM e WHERE business_type = ? AND activity = ?""",
                          [value, value, w["business_type"], w["activity"]]).fetchone()
        assert row is not None and 100 <= row[0] <= 140


def test_waits_change_no_other_gap(groups: Log, groups_without_waits: Log) -> None:
    con, truth = groups
    control, _ = groups_without_waits
    outside = " AND ".join(
        f"NOT ({_who(w)[0]} = '{_who(w)[1]}' AND business_type = '{w['business_type']}'"
        f" AND activity = '{w['activity']}')" for w in truth["waits"])
    query = (f"SELECT teller_id, business_type, activity, gap FROM e WHERE gap IS NOT NULL "
             f"AND {outside} ORDER BY ALL")
    mine, theirs = con.execute(query).fetchall(), control.execute(query).fetchall()
    assert len(mine) > 150_000 and mine == theirs


# --- slow branches and tellers overall ------------------------------------------------------------


@pytest.fixture(scope="module")
def overall() -> Log:
    return _log(replace(PLAIN, slow_branch=1.3, slow_teller=1.5))


def test_a_slow_branch_and_a_slow_teller_are_slower_at_every_step(overall: Log,
                                                                  plain: Log) -> None:
    con, truth = overall
    control, _ = plain
    (branch, teller) = truth["slow_overall"]
    assert (branch["scope"], branch["teller_id"], branch["factor"]) == ("branch", None, 1.3)
    assert (teller["scope"], teller["factor"]) == ("teller", 1.5)
    assert teller["branch_id"] != branch["branch_id"]
    for item, low, high in ((branch, 1.15, 1.45), (teller, 1.3, 1.75)):
        column, value = _who(item)
        # every step of the group takes factor x as long as in the log without it
        ratio = con.execute(f"SELECT median(dur) FROM e WHERE {column} = ?", [value]).fetchone()
        before = control.execute(f"SELECT median(dur) FROM e WHERE {column} = ?",
                                 [value]).fetchone()
        assert ratio is not None and before is not None
        assert ratio[0] / before[0] == pytest.approx(item["factor"], rel=0.01)
        # measured against the others: the group's median at each type x step over theirs
        pace = con.execute(f"""
            WITH m AS (SELECT business_type, activity, {column} = ? AS mine, median(dur) AS md,
                              count(*) AS n
                       FROM e GROUP BY ALL)
            SELECT median(a.md / b.md) FROM m a JOIN m b USING (business_type, activity)
            WHERE a.mine AND NOT b.mine AND a.n >= 20""", [value]).fetchone()
        assert pace is not None and low <= pace[0] <= high
    # the other rows are those of the log without them
    query = (f"SELECT teller_id, business_type, activity, dur FROM e "
             f"WHERE branch_id <> '{branch['branch_id']}' AND teller_id <> '{teller['teller_id']}'"
             " ORDER BY ALL")
    assert con.execute(query).fetchall() == control.execute(query).fetchall()


# --- wrong standards ------------------------------------------------------------------------------


def test_a_wrong_standard_moves_the_whole_bank_on_its_type(plain: Log) -> None:
    con, truth = _log(replace(PLAIN, wrong_standards=(("P17", 2.0), ("P18", 0.5))))
    control, _ = plain
    assert truth["wrong_standards"] == [{"business_type": "P17", "factor": 2.0},
                                        {"business_type": "P18", "factor": 0.5}]
    baseline = load_baseline()
    query = """SELECT business_type, median(total) FROM (
                   SELECT case_id, business_type, sum(dur) AS total FROM e GROUP BY ALL)
               GROUP BY 1"""
    mine, theirs = dict(con.execute(query).fetchall()), dict(control.execute(query).fetchall())
    for code, factor in (("P17", 2.0), ("P18", 0.5)):
        # the bank's median transaction: factor x the standard time, factor x the log without it
        assert mine[code] / theirs[code] == pytest.approx(factor, rel=0.02)
        assert 0.85 * factor <= mine[code] / baseline.standard_seconds(code) <= 1.25 * factor
    assert all(mine[c] == theirs[c] for c in mine if c not in ("P17", "P18"))


# --- habits ---------------------------------------------------------------------------------------


def _habit_spread(con: duckdb.DuckDBPyConnection) -> tuple[float, float, float]:
    """Each teller's own factor at each teller step (their median over the bank's, against their
    own usual pace): its spread (sd of the log) and its 1% and 99% quantiles."""
    teller_steps = [a for a, spec in ACTIVITIES.items() if spec.actor == "teller"]
    row = con.execute(f"""
        WITH m AS (SELECT business_type, activity, median(dur) AS md FROM e GROUP BY ALL),
             x AS (SELECT teller_id, activity, median(dur / md) AS f FROM e
                   JOIN m USING (business_type, activity)
                   WHERE activity IN ({", ".join("?" * len(teller_steps))})
                   GROUP BY ALL HAVING count(*) >= 150),
             y AS (SELECT f / median(f) OVER (PARTITION BY teller_id) AS h FROM x)
        SELECT stddev(ln(h)), quantile_cont(h, 0.01), quantile_cont(h, 0.99) FROM y""",
                      teller_steps).fetchone()
    assert row is not None
    return row


def test_habits_spread_the_tellers_own_step_factors_and_inject_nothing() -> None:
    quiet = replace(PLAIN, slow_steps=0, branch_slow_steps=0)
    con, truth = _log(replace(quiet, habits=1.25))
    control, control_truth = _log(quiet)
    assert truth["habits"] == 1.25 and control_truth["habits"] is None
    assert truth["slow_steps"] == [] and not any(
        truth[k] for k in ("conditional_slow_steps", "waits", "slow_overall", "wrong_standards"))
    spread, low, high = _habit_spread(con)
    assert spread >= 0.09 and 0.7 <= low < 0.85 and 1.17 < high <= 1.43
    assert _habit_spread(control)[0] <= 0.075


# --- the period: N days from a mid-month start, a branch reporting later; completion-only ---------


@pytest.fixture(scope="module")
def period_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("period")
    config = DemoConfig(events=60_000, seed=SEED, start=date(2026, 9, 15), days=47,
                        branch_starts=(("B02", date(2026, 10, 1)),), completion_only=True)
    result = write_demo_data(out, config)
    return result.events_path, json.loads(result.truth_path.read_text(encoding="utf-8"))


def test_the_period_is_the_days_asked_for_per_branch(period_log: tuple[Path, dict]) -> None:
    path, truth = period_log
    con = duckdb.connect()
    rows = con.execute(f"""
        SELECT branch_id, min(end_time)::DATE, max(end_time)::DATE
        FROM read_csv('{path}', types={{'end_time': 'TIMESTAMP'}}) GROUP BY 1 ORDER BY 1
        """).fetchall()
    first, last = min(r[1] for r in rows), max(r[2] for r in rows)
    assert (first, last) == (date(2026, 9, 15), date(2026, 10, 31))
    assert truth["period"]["first_day"] == "2026-09-15"
    assert truth["period"]["last_day"] == "2026-10-31"
    assert truth["period"]["days"] == (last - first).days + 1 == 47
    assert truth["period"]["per_branch"] == {b: (hi - lo).days + 1 for b, lo, hi in rows}
    assert truth["period"]["per_branch"]["B02"] < 47 and rows[1][1] >= date(2026, 10, 1)
    assert truth["span"]["months"] == ["2026-09", "2026-10"]


def test_a_period_ending_on_a_sunday_ends_on_the_saturday_before() -> None:
    plan = make_plan(DemoConfig(events=20_000, seed=SEED, start=date(2026, 9, 16), days=47))
    assert plan.calendar.days[0] == date(2026, 9, 16)
    assert plan.calendar.days[-1] == date(2026, 10, 31)  # 1 November 2026 is a Sunday


def test_a_completion_only_log_has_no_start_time(period_log: tuple[Path, dict]) -> None:
    path, truth = period_log
    assert truth["completion_only"] is True
    header = pacsv.read_csv(path).column_names
    assert "start_time" not in header and "end_time" in header and "call_time" in header
    table, _ = generate_demo_log(DemoConfig(events=5_000, seed=SEED, completion_only=True))
    assert "start_time" not in table.column_names


def test_too_many_events_for_the_days_is_a_message() -> None:
    with pytest.raises(DemoError, match="cannot take 2,000,000 events"):
        make_plan(DemoConfig(events=2_000_000, seed=SEED, days=3))


# --- the settings, the command, and the log without injections -----------------------------------


def test_without_injections_the_truth_says_so_and_the_bundled_log_is_unchanged(
        tmp_path: Path) -> None:
    result = write_bundled_demo(tmp_path)
    bundled = REPO / "event_logs"
    assert result.events_path.read_bytes() == (bundled / "demo_events.parquet").read_bytes()
    truth = json.loads(result.truth_path.read_text(encoding="utf-8"))
    bundled_truth = json.loads((bundled / "demo_truth.json").read_text(encoding="utf-8"))
    if "deviations" not in bundled_truth:  # written before the deviations' truth, same events
        assert truth.pop("deviations")["injected"] == []
    assert truth == bundled_truth
    assert {k: truth[k] for k in TRUTH_KEYS[:-1]} == {
        "conditional_slow_steps": [], "waits": [], "slow_overall": [], "wrong_standards": [],
        "habits": None, "completion_only": False}
    assert truth["period"] == {"first_day": "2026-09-01", "last_day": "2026-10-31", "days": 61,
                               "per_branch": dict.fromkeys(
                                   [f"B0{b}" for b in range(1, 7)], 61)}
    assert "start_time" in pq.read_schema(result.events_path).names


@pytest.mark.parametrize(("config", "message"), [
    (DemoConfig(habits=0.9), "habits is 0.9, expected 1.0 or more"),
    (DemoConfig(slow_branch=0.0), "slow_branch is 0.0"),
    (DemoConfig(waits=-1), "waits is -1"),
    (DemoConfig(days=0), "days is 0"),
    (DemoConfig(wrong_standards=(("P99", 2.0),)), "'P99' is not in the baseline"),
    (DemoConfig(branch_starts=(("B09", date(2026, 10, 1)),)), "B09 is not in the log"),
    (DemoConfig(branch_starts=(("B02", date(2027, 1, 1)),)), "after the log's last day"),
])
def test_bad_settings_are_a_message(config: DemoConfig, message: str) -> None:
    with pytest.raises(DemoError, match=message):
        make_plan(config)


def test_pairs_may_come_as_a_mapping() -> None:
    config = DemoConfig(wrong_standards={"P17": 2.0}, branch_starts=[["B02", date(2026, 10, 1)]])
    assert config.wrong_standards == (("P17", 2.0),)
    assert config.branch_starts == (("B02", date(2026, 10, 1)),)


def test_the_command_line_forms() -> None:
    assert parse_wrong_standard(" P17 : 0.5 ") == ("P17", 0.5)
    assert parse_branch_start("B02=2026-10-01") == ("B02", date(2026, 10, 1))
    for text in ("P17", "P17:0", "P17:fast", ":2"):
        with pytest.raises(DemoError, match="expected TYPE:FACTOR"):
            parse_wrong_standard(text)
    with pytest.raises(DemoError, match="expected BRANCH=DATE"):
        parse_branch_start("B02")


def test_the_command_injects_every_case(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, [
        "demo-data", str(tmp_path), "--events", "30000", "--seed", "5", "--format", "parquet",
        "--conditional-slow", "1", "--waits", "1", "--wait-seconds", "90", "--slow-branch",
        "1.2", "--slow-teller", "1.5", "--wrong-standard", "P17:2", "--wrong-standard",
        "P13:0.5", "--habits", "1.2", "--start", "2026-09-16", "--days", "30",
        "--branch-start", "B03=2026-09-28", "--completion-only", "--slow-steps", "2",
        "--branch-slow-steps", "0"])
    assert result.exit_code == 0, result.output
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert len(truth["slow_steps"]) == 2
    assert len(truth["conditional_slow_steps"]) == 1
    assert [(w["scope"], w["extra_seconds"]) for w in truth["waits"]] == [
        ("teller", 90.0), ("branch", 90.0)]
    assert [(s["scope"], s["factor"]) for s in truth["slow_overall"]] == [
        ("branch", 1.2), ("teller", 1.5)]
    assert [w["business_type"] for w in truth["wrong_standards"]] == ["P17", "P13"]
    assert truth["habits"] == 1.2 and truth["completion_only"] is True
    assert truth["period"]["first_day"] == "2026-09-16"
    assert truth["period"]["per_branch"]["B03"] < truth["period"]["days"] <= 30
    assert "start_time" not in pq.read_schema(tmp_path / "events.parquet").names
    refused = runner.invoke(app, ["demo-data", str(tmp_path), "--bundled", "--waits", "1"])
    assert "--bundled fixes every setting" in str(refused.exception)
    bad = runner.invoke(app, ["demo-data", str(tmp_path), "--wrong-standard", "P17"])
    assert "expected TYPE:FACTOR" in str(bad.exception)


def test_the_truth_keys_are_always_there(groups: Log) -> None:
    _, truth = groups
    assert all(key in truth for key in TRUTH_KEYS)
