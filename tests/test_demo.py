"""Tests for procmine.demo.generator: the demo event-log generator and the truth it writes."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from procmine.core.baseline import load_baseline
from procmine.core.schema import CANONICAL_COLUMNS
from procmine.demo import (
    ACTIVITIES,
    ACTIVITY_NAMES,
    BUNDLED_DEMO_COMMAND,
    DemoConfig,
    DemoError,
    Revision,
    bundled_demo_config,
    generate_demo_log,
    parse_revision,
    steps_for_type,
    write_demo_data,
)

EVENTS = 150_000


@pytest.fixture(scope="module")
def demo() -> tuple[pa.Table, dict]:
    return generate_demo_log(DemoConfig(events=EVENTS, seed=7))


@pytest.fixture(scope="module")
def frame(demo: tuple[pa.Table, dict]) -> pd.DataFrame:
    df = demo[0].to_pandas()
    df["seconds"] = (df["end_time"] - df["start_time"]).dt.total_seconds()
    return df


@pytest.fixture(scope="module")
def cases(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.groupby("case_id", sort=False).agg(
        business_type=("business_type", "first"),
        teller_id=("teller_id", "first"),
        branch_id=("branch_id", "first"),
        ticket_time=("ticket_time", "first"),
        call_time=("call_time", "first"),
        first_start=("start_time", "min"),
        last_end=("end_time", "max"),
        amount=("amount", "first"),
        error=("error", "first"),
        rows=("activity", "size"),
    )


# --- shape and vocabulary -------------------------------------------------------------------------


def test_columns_are_canonical_with_expected_types(demo: tuple[pa.Table, dict]) -> None:
    table = demo[0]
    assert table.column_names == list(CANONICAL_COLUMNS)
    assert table.schema.field("teller_id").type == pa.string()
    assert table.schema.field("start_time").type == pa.timestamp("ms")
    assert table.schema.field("amount").type == pa.float64()
    assert table.schema.field("error").type == pa.bool_()
    assert table.column("case_id").null_count == 0
    assert table.column("end_time").null_count == 0


def test_activities_come_from_the_vocabulary(frame: pd.DataFrame) -> None:
    used = set(frame["activity"].unique())
    assert used <= set(ACTIVITY_NAMES)
    assert {"Call number", "Verify identity", "Count cash", "Supervisor authorization"} <= used
    assert tuple(ACTIVITIES) == ACTIVITY_NAMES
    assert all(
        a.actor in {"teller", "customer", "supervisor", "second_staff"} for a in ACTIVITIES.values()
    )


def test_steps_for_type_shares_sum_to_one_and_follow_the_skeleton() -> None:
    baseline = load_baseline()
    for code in baseline.codes:
        steps = steps_for_type(code, baseline)
        assert sum(s.share for s in steps) == pytest.approx(1.0, abs=1e-9), code
        assert all(s.share > 0 for s in steps), code
        assert steps[0].name == "Call number" and steps[-1].name == "See off", code
        assert {s.name for s in steps} <= set(ACTIVITY_NAMES), code
    names = {code: [s.name for s in steps_for_type(code, baseline)] for code in baseline.codes}
    assert "Count cash" in names["P17"] and "Count cash" not in names["P26"]
    assert {"Risk assessment", "Dual recording (audio-video)"} <= set(names["P32"])
    assert {"Risk assessment", "Dual recording (audio-video)"} <= set(names["P33"])
    assert "Verify seal impression" in names["C47"]
    assert "Issue card" in names["P01"]
    assert "Counterfeit confiscation certificate" in names["P25"]
    for sensitive in ("P03", "P08", "P12", "P19", "P22", "P25"):
        assert "Supervisor authorization" in names[sensitive], sensitive
    assert "Supervisor authorization" not in names["P17"]  # only when the cash is large
    with pytest.raises(DemoError, match="X99"):
        steps_for_type("X99", baseline)


# --- volume and mix -------------------------------------------------------------------------------


@pytest.mark.parametrize("events", [20_000, 60_000, EVENTS])
def test_event_count_is_within_five_percent(events: int) -> None:
    table, truth = generate_demo_log(DemoConfig(events=events, seed=11))
    assert abs(table.num_rows - events) / events < 0.05
    assert truth["events"] == table.num_rows
    assert truth["transactions"] == len(pc_unique(table, "case_id"))


def pc_unique(table: pa.Table, column: str) -> list[str]:
    return table.column(column).unique().to_pylist()


def test_all_58_types_appear_at_20000_events() -> None:
    table, _ = generate_demo_log(DemoConfig(events=20_000, seed=3))
    assert set(pc_unique(table, "business_type")) == set(load_baseline().codes)


def test_cash_deposit_and_withdrawal_dominate(cases: pd.DataFrame) -> None:
    share = cases["business_type"].value_counts(normalize=True)
    assert list(share.index[:2]) == ["P17", "P18"]
    assert 0.22 < share["P17"] < 0.28
    assert 0.17 < share["P18"] < 0.23
    assert share.get("C41", 0) < 0.01


def test_windows_and_segments_are_consistent(frame: pd.DataFrame) -> None:
    corporate_types = frame["business_type"].str.startswith("C")
    assert (frame.loc[corporate_types, "window_type"] == "corporate").all()
    assert (frame.loc[corporate_types, "segment"] == "corporate").all()
    assert (frame.loc[~corporate_types, "window_type"] != "corporate").all()
    personal = frame[~corporate_types].drop_duplicates("case_id")
    vip_share = personal.groupby("segment")["window_type"].apply(lambda s: (s == "vip").mean())
    assert vip_share["private"] > 0.8 and vip_share["mass"] < 0.1


def test_teller_ids_are_zero_padded_strings(frame: pd.DataFrame) -> None:
    tellers = frame["teller_id"].unique()
    assert len(tellers) == 6 * 8
    assert all(isinstance(t, str) and re.fullmatch(r"\d{4}", t) for t in tellers)
    assert "0101" in tellers and "0608" in tellers
    assert set(frame["branch_id"].unique()) == {f"B{i:02d}" for i in range(1, 7)}
    assert frame["case_id"].str.fullmatch(r"T\d{6}-\d{7}").all()


# --- time -----------------------------------------------------------------------------------------


def test_steps_are_ordered_and_do_not_overlap_within_a_case(frame: pd.DataFrame) -> None:
    assert (frame["start_time"] <= frame["end_time"]).all()
    ordered = frame.sort_values(["case_id", "start_time"], kind="stable")
    previous_end = ordered.groupby("case_id")["end_time"].shift()
    assert (ordered["start_time"] >= previous_end).where(previous_end.notna(), True).all()
    # the table comes in case order, steps in time order
    same_case = frame["case_id"].eq(frame["case_id"].shift())
    assert (frame["start_time"] >= frame["end_time"].shift()).where(same_case, True).all()


def test_a_teller_serves_one_customer_at_a_time(cases: pd.DataFrame) -> None:
    by_teller = cases.sort_values(["teller_id", "call_time"])
    previous_end = by_teller.groupby("teller_id")["last_end"].shift()
    ok = (by_teller["call_time"] >= previous_end).where(previous_end.notna(), True)
    assert ok.all()


def test_queue_times_precede_the_service(cases: pd.DataFrame) -> None:
    assert (cases["ticket_time"] <= cases["call_time"]).all()
    assert (cases["call_time"] <= cases["first_start"]).all()
    lead = (cases["first_start"] - cases["call_time"]).dt.total_seconds()
    assert lead.median() < 10
    opening = cases["ticket_time"].dt.hour * 60 + cases["ticket_time"].dt.minute
    assert (opening >= 8 * 60 + 30).all() and (opening < 17 * 60).all()
    wait = (cases["call_time"] - cases["ticket_time"]).dt.total_seconds() / 60
    by_hour = wait.groupby(cases["call_time"].dt.hour).median()
    assert by_hour[10] > 1.5 * by_hour[14]  # the morning peak
    # the wait is the queue's own: many find a teller free, the others wait their turn
    assert 3 < wait.mean() < 25
    assert 0.2 < (wait == 0).mean() < 0.6


def test_business_days_only_across_at_least_two_months(cases: pd.DataFrame, demo) -> None:
    days = pd.to_datetime(cases["call_time"]).dt.normalize().unique()
    assert all(pd.Timestamp(d).day_of_week < 6 for d in days)
    months = {(d.year, d.month) for d in pd.DatetimeIndex(days)}
    assert len(months) >= 2
    assert len(demo[1]["span"]["months"]) == len(months)


def test_supervisor_authorization_waits_for_the_supervisor(frame: pd.DataFrame) -> None:
    gap = (frame["start_time"] - frame["end_time"].shift()).dt.total_seconds()
    gap = gap.where(frame["case_id"].eq(frame["case_id"].shift()))
    is_auth = frame["activity"] == "Supervisor authorization"
    assert gap[is_auth].median() > 20
    assert gap[~is_auth].median() < 5


# --- conditions, errors, deviations ---------------------------------------------------------------


def test_large_cash_brings_recount_and_authorization(frame: pd.DataFrame) -> None:
    acts = frame.groupby("case_id")["activity"].agg(set)
    first = frame.drop_duplicates("case_id").set_index("case_id")
    large_deposit = first.index[(first["business_type"] == "P17") & (first["amount"] >= 50_000)]
    small_deposit = first.index[(first["business_type"] == "P17") & (first["amount"] < 50_000)]
    assert len(large_deposit) > 20
    for step in ("Second-person recount", "Supervisor authorization", "Verify identity"):
        assert all(step in acts[c] for c in large_deposit), step
    assert not any("Second-person recount" in acts[c] for c in small_deposit)
    p19 = first[first["business_type"] == "P19"]
    assert len(p19) > 0 and (p19["amount"] >= 50_000).all()
    assert (first.loc[first["business_type"] == "P18", "amount"] >= 50_000).mean() > 0.005
    assert first.loc[first["business_type"] == "P13", "amount"].isna().all()


def test_case_attributes_are_constant_within_a_case(frame: pd.DataFrame) -> None:
    per_case = frame.groupby("case_id")[
        ["teller_id", "business_type", "error", "ticket_time", "call_time", "window_type"]
    ].nunique()
    assert (per_case == 1).all().all()


def test_error_rework_and_skip_rates_match_the_spec(
    frame: pd.DataFrame, cases: pd.DataFrame, demo
) -> None:
    truth = demo[1]
    assert 0.01 <= cases["error"].mean() <= 0.02
    reversed_cases = frame.loc[frame["activity"] == "Reverse transaction", "case_id"].unique()
    assert cases.loc[reversed_cases, "error"].all()

    # rework: the same activity twice in a row
    repeat = frame["case_id"].eq(frame["case_id"].shift()) & frame["activity"].eq(
        frame["activity"].shift()
    )
    rework_rate = frame.loc[repeat, "case_id"].nunique() / len(cases)
    assert 0.02 <= rework_rate <= 0.04
    assert rework_rate == pytest.approx(truth["rates"]["rework"], abs=1e-4)
    assert frame.groupby("case_id")["activity"].value_counts().max() == 2

    # skipped: a step of the type's standard path is missing
    baseline = load_baseline()
    standard = {c: {s.name for s in steps_for_type(c, baseline)} for c in baseline.codes}
    acts = frame.groupby("case_id")["activity"].agg(set)
    missing = pd.Series(
        [len(standard[t] - acts[c]) for c, t in cases["business_type"].items()],
        index=cases.index,
    )
    assert missing.max() == 1
    assert 0.006 <= (missing == 1).mean() <= 0.014
    skipped_steps = {
        step
        for c in missing.index[missing == 1]
        for step in standard[cases.at[c, "business_type"]]
        if step not in acts[c]
    }
    assert skipped_steps <= {"Greet and check ticket", "Ask need", "See off"}


# --- injected slow steps --------------------------------------------------------------------------


def test_truth_lists_six_teller_and_one_branch_slow_step(demo) -> None:
    truth = demo[1]
    assert truth["seed"] == 7
    assert truth["config"]["events"] == EVENTS
    slow = truth["slow_steps"]
    assert [s["scope"] for s in slow] == ["teller"] * 6 + ["branch"]
    assert len({s["teller_id"] for s in slow[:6]}) == 6
    keys = {"scope", "teller_id", "branch_id", "business_type", "activity", "factor", "cases"}
    for s in slow:
        assert keys <= set(s)
        assert s["activity"] in ACTIVITIES
        assert s["cases"] >= 30
    assert all(2.0 <= s["factor"] <= 3.0 for s in slow[:6])
    assert slow[6]["teller_id"] is None and slow[6]["factor"] == 2.0


def test_injected_slow_steps_are_detectable_by_medians(frame: pd.DataFrame, demo) -> None:
    for s in demo[1]["slow_steps"]:
        same = frame[
            (frame["business_type"] == s["business_type"]) & (frame["activity"] == s["activity"])
        ]
        key = "teller_id" if s["scope"] == "teller" else "branch_id"
        mine = same.loc[same[key] == s[key], "seconds"]
        others = same.loc[same[key] != s[key], "seconds"]
        assert mine.size >= 30, s
        assert mine.median() >= 1.7 * others.median(), s


def test_ordinary_tellers_are_not_far_from_the_bank_median(frame: pd.DataFrame, demo) -> None:
    injected = {(s["teller_id"], s["business_type"], s["activity"]) for s in demo[1]["slow_steps"]}
    p17 = frame[(frame["business_type"] == "P17") & (frame["activity"] == "Enter transaction")]
    bank = p17["seconds"].median()
    per_teller = p17.groupby("teller_id")["seconds"].agg(["median", "size"])
    ordinary = [
        t
        for t in per_teller.index
        if (t, "P17", "Enter transaction") not in injected and per_teller.at[t, "size"] >= 30
    ]
    assert len(ordinary) > 20
    assert (per_teller.loc[ordinary, "median"] < 1.6 * bank).all()


# --- determinism, files, progress -----------------------------------------------------------------


def test_same_seed_gives_identical_output_and_another_seed_differs() -> None:
    config = DemoConfig(events=30_000, seed=21)
    first, truth_1 = generate_demo_log(config)
    second, truth_2 = generate_demo_log(DemoConfig(events=30_000, seed=21))
    assert first.equals(second)
    assert truth_1 == truth_2
    other, truth_3 = generate_demo_log(DemoConfig(events=30_000, seed=22))
    assert not first.equals(other)
    assert truth_1["slow_steps"] != truth_3["slow_steps"]


def test_write_csv_and_truth(tmp_path: Path) -> None:
    calls: list[float] = []
    result = write_demo_data(
        tmp_path / "out", DemoConfig(events=40_000, seed=5), progress=calls.append
    )
    assert result.events_path == tmp_path / "out" / "events.csv"
    assert calls[0] == 0.0 and calls[-1] == 1.0
    assert calls == sorted(calls)
    header = result.events_path.read_text(encoding="utf-8").splitlines()[:2]
    assert header[0].replace('"', "").split(",") == list(CANONICAL_COLUMNS)
    assert re.search(r',"\d{4}","B\d\d",', header[1])  # teller_id quoted as text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", header[1])
    read = pacsv.read_csv(
        result.events_path,
        convert_options=pacsv.ConvertOptions(column_types={"teller_id": pa.string()}),
    )
    assert read.num_rows == result.events
    assert all(t.startswith("0") for t in read.column("teller_id").unique().to_pylist())
    truth = json.loads(result.truth_path.read_text(encoding="utf-8"))
    assert truth["events"] == result.events and truth["transactions"] == result.cases
    assert set(truth) >= {"seed", "events", "slow_steps", "config"}
    assert truth["config"]["start"] == "2026-09-01"
    assert result.first_day >= date(2026, 9, 1)
    assert not list((tmp_path / "out").glob(".*partial"))
    # the same data as in memory
    table, _ = generate_demo_log(DemoConfig(events=40_000, seed=5))
    assert read.column("case_id").to_pylist() == table.column("case_id").to_pylist()


def test_write_parquet(tmp_path: Path) -> None:
    result = write_demo_data(tmp_path, DemoConfig(events=10_000, seed=2), fmt="parquet")
    table = pq.read_table(result.events_path)
    assert table.column_names == list(CANONICAL_COLUMNS)
    assert table.num_rows == result.events
    assert table.schema.field("teller_id").type == pa.string()


def test_bad_settings_give_a_readable_error(tmp_path: Path) -> None:
    with pytest.raises(DemoError, match="branches"):
        generate_demo_log(DemoConfig(events=1_000, branches=0))
    with pytest.raises(DemoError, match="xlsx"):
        write_demo_data(tmp_path, DemoConfig(events=1_000), fmt="xlsx")


def test_small_and_odd_configurations_still_work() -> None:
    table, truth = generate_demo_log(
        DemoConfig(events=3_000, seed=1, branches=2, tellers_per_branch=2, start=date(2027, 1, 3))
    )
    assert table.num_rows > 2_500
    assert len(set(pc_unique(table, "teller_id"))) <= 4
    starts = np.array(table.column("start_time").to_pylist(), dtype="datetime64[ms]")
    assert starts.min() >= np.datetime64("2027-01-04")  # 3 Jan 2027 is a Sunday
    assert len(truth["slow_steps"]) <= 7


# --- SOP revisions --------------------------------------------------------------------------------

FIRST, SECOND = date(2026, 9, 21), date(2026, 10, 12)
EARLY, LATE, NEVER = ["B01", "B02", "B03"], ["B04", "B05"], ["B06"]
STAGGERED = Revision(
    "P18", "Count cash", 0.7, FIRST,
    branches={**dict.fromkeys(EARLY, FIRST), **dict.fromkeys(LATE, SECOND)},
)


def step_frame(table: pa.Table) -> pd.DataFrame:
    df = table.select(["business_type", "activity", "branch_id", "teller_id", "start_time",
                       "end_time", "call_time"]).to_pandas()
    df["seconds"] = (df["end_time"] - df["start_time"]).dt.total_seconds()
    df["day"] = df["call_time"].dt.date
    return df


@pytest.fixture(scope="module")
def staggered() -> tuple[pd.DataFrame, dict]:
    # Slow steps are left out: this log isolates the revision's effect (the two do not meet:
    # see test_no_slow_step_falls_on_a_revised_step). 600,000 events give every compared
    # cell more than 1,000 steps.
    table, truth = generate_demo_log(DemoConfig(events=600_000, seed=3, slow_steps=0,
                                                branch_slow_steps=0, revisions=(STAGGERED,)))
    return step_frame(table), truth


def ratio(later: pd.Series, earlier: pd.Series) -> float:
    assert len(later) >= 1_000 and len(earlier) >= 1_000  # the tolerance below assumes it
    return float(later.median() / earlier.median())


# Tolerance: a step's log-seconds have a standard deviation of about 0.57 for "Count cash" (its
# time grows with the amount) and 0.4 for other steps; the median of n such times has a standard
# error of about 1.25 * sd / sqrt(n) on the log scale, so a ratio of two medians of >= 1,000
# steps each has one of at most 1.25 * 0.57 * sqrt(2 / 1000) = 0.032. +-10% is three of them;
# the tellers' monthly speed drift (about 1% over the log) stays well inside. Across seeds 1-6
# at 400,000 and 600,000 events the adopters' ratio ranged 0.67-0.73 (factor 0.7).
TOLERANCE = 0.10


def test_a_revised_step_gets_faster_from_each_branchs_adoption_date(staggered) -> None:
    df, _ = staggered
    step = df[(df["business_type"] == "P18") & (df["activity"] == "Count cash")]
    early, late = step[step["branch_id"].isin(EARLY)], step[step["branch_id"].isin(LATE)]
    assert ratio(early.loc[early["day"] >= FIRST, "seconds"],
                 early.loc[early["day"] < FIRST, "seconds"]) == pytest.approx(0.7, rel=TOLERANCE)
    assert ratio(late.loc[late["day"] >= SECOND, "seconds"],
                 late.loc[late["day"] < FIRST, "seconds"]) == pytest.approx(0.7, rel=TOLERANCE)

    # branches not yet on it (B04-B05 until their date, B06 never) keep their times
    not_yet = step[~step["branch_id"].isin(EARLY)
                   & ~(step["branch_id"].isin(LATE) & (step["day"] >= SECOND))]
    assert ratio(not_yet.loc[not_yet["day"] >= FIRST, "seconds"],
                 not_yet.loc[not_yet["day"] < FIRST, "seconds"]) == pytest.approx(
        1.0, rel=TOLERANCE)

    # difference-in-differences while only the early branches are on it
    between = (step["day"] >= FIRST) & (step["day"] < SECOND)
    before = step["day"] < FIRST
    treated = step["branch_id"].isin(EARLY)
    did = ratio(step.loc[treated & between, "seconds"], step.loc[treated & before, "seconds"]) / (
        ratio(step.loc[~treated & between, "seconds"], step.loc[~treated & before, "seconds"]))
    assert did == pytest.approx(0.7, rel=TOLERANCE)


def test_a_revision_leaves_the_other_steps_alone(staggered) -> None:
    df, _ = staggered
    early = df[df["branch_id"].isin(EARLY)]
    after = early["day"] >= FIRST
    others = [(s.name, "P18") for s in steps_for_type("P18", load_baseline())
              if s.name != "Count cash"] + [("Count cash", "P17")]
    for activity, code in others:
        same = (early["activity"] == activity) & (early["business_type"] == code)
        assert ratio(early.loc[same & after, "seconds"], early.loc[same & ~after, "seconds"]
                     ) == pytest.approx(1.0, rel=TOLERANCE), (code, activity)


def test_truth_lists_the_revisions(staggered) -> None:
    _, truth = staggered
    dates = {**dict.fromkeys(EARLY, "2026-09-21"), **dict.fromkeys(LATE, "2026-10-12")}
    assert truth["revisions"] == [{
        "business_type": "P18", "activity": "Count cash", "factor": 0.7,
        "effective": "2026-09-21", "branches": dates, "cases": truth["revisions"][0]["cases"],
    }]
    assert truth["revisions"][0]["cases"] > 3_000
    assert json.loads(json.dumps(truth)) == truth  # JSON-ready
    days = [date.fromisoformat(d) for d in truth["span"]["days"]]
    assert len(days) == truth["span"]["business_days"] and days == sorted(days)


def test_the_revision_multiplies_exactly_the_steps_on_it() -> None:
    # The same log with and without the revision (slow steps off, so that both draw the same
    # random numbers): the revised rows take 0.7 times as long, to the millisecond; every other
    # row is unchanged. A teller serves the same customers in the same order in both.
    revision = Revision("P18", "Count cash", 0.7, FIRST,
                        branches={"B01": FIRST, "B02": SECOND})
    plain, _ = generate_demo_log(DemoConfig(events=60_000, seed=4, slow_steps=0,
                                            branch_slow_steps=0))
    revised, truth = generate_demo_log(DemoConfig(events=60_000, seed=4, slow_steps=0,
                                                  branch_slow_steps=0, revisions=(revision,)))
    a, b = (step_frame(t).sort_values(["teller_id", "call_time"], kind="stable")
            .reset_index(drop=True) for t in (plain, revised))
    assert (a["activity"] == b["activity"]).all() and (a["day"] == b["day"]).all()
    adoption = a["branch_id"].map({"B01": FIRST, "B02": SECOND})
    on = ((a["business_type"] == "P18") & (a["activity"] == "Count cash")
          & adoption.notna() & (a["day"] >= adoption))
    assert on.sum() > 100 and on.sum() < (a["activity"] == "Count cash").sum() / 4
    plain_ms = (a["seconds"] * 1000).round()
    revised_ms = (b["seconds"] * 1000).round()
    assert (revised_ms[~on] == plain_ms[~on]).all()
    assert ((revised_ms[on] - 0.7 * plain_ms[on]).abs() <= 1.0).all()
    cases = b.loc[on].groupby(["teller_id", "call_time"]).ngroups
    assert truth["revisions"][0]["cases"] == cases


def test_no_slow_step_falls_on_a_revised_step() -> None:
    everywhere = Revision("P17", "Count cash", 0.8, FIRST)
    for seed in (1, 2, 7):
        plain = generate_demo_log(DemoConfig(events=20_000, seed=seed))[1]["slow_steps"]
        revised = generate_demo_log(DemoConfig(events=20_000, seed=seed,
                                               revisions=(everywhere, STAGGERED)))[1]
        pairs = {(s["business_type"], s["activity"]) for s in revised["slow_steps"]}
        assert not pairs & {("P17", "Count cash"), ("P18", "Count cash")}, seed
        assert len(revised["slow_steps"]) == len(plain)


def test_a_revision_without_branches_applies_everywhere_from_its_date() -> None:
    revision = parse_revision("P18:Count cash:0.5:2026-10-01")
    assert revision.branches is None and revision.adoption("B06") == date(2026, 10, 1)
    table, truth = generate_demo_log(DemoConfig(events=60_000, seed=9, revisions=(revision,)))
    df = step_frame(table)
    step = df[(df["business_type"] == "P18") & (df["activity"] == "Count cash")]
    after = step["day"] >= date(2026, 10, 1)
    for branch in ("B01", "B06"):
        mine = step["branch_id"] == branch
        change = step.loc[mine & after, "seconds"].median() / step.loc[
            mine & ~after, "seconds"].median()
        assert 0.35 < change < 0.65, branch  # one branch: about 100 steps a side, so wider
    assert truth["revisions"][0]["branches"] is None


def test_parse_revision_reads_the_command_line_form() -> None:
    r = parse_revision(" P18 : Count cash : 0.7 : 2026-10-12 : B01=2026-10-05, B02=2026-10-19 ")
    assert r == Revision("P18", "Count cash", 0.7, date(2026, 10, 12),
                         {"B01": date(2026, 10, 5), "B02": date(2026, 10, 19)})
    assert r.adoption("B02") == date(2026, 10, 19) and r.adoption("B03") is None
    with pytest.raises(TypeError):
        r.branches["B03"] = date(2026, 10, 1)  # type: ignore[index]


@pytest.mark.parametrize(("text", "message"), [
    ("P18:Count cash:0.7", "expected TYPE:ACTIVITY:FACTOR:DATE"),
    ("P18:Count cash:0.7:2026-10-12:B01=2026-10-05:x", "expected TYPE:ACTIVITY:FACTOR:DATE"),
    ("P18::0.7:2026-10-12", "expected TYPE:ACTIVITY:FACTOR:DATE"),
    ("P18:Count cash:fast:2026-10-12", "factor 'fast' is not a number"),
    ("P18:Count cash:0:2026-10-12", "expected a number above 0"),
    ("P18:Count cash:-0.7:2026-10-12", "expected a number above 0"),
    ("P18:Count cash:nan:2026-10-12", "expected a number above 0"),
    ("P18:Count cash:0.7:12/10/2026", "effective date '12/10/2026' is not a date"),
    ("P18:Count cash:0.7:2026-10-12:B01", "should read BRANCH=DATE"),
    ("P18:Count cash:0.7:2026-10-12:", "should read BRANCH=DATE"),
    ("P18:Count cash:0.7:2026-10-12:B01=2026-13-01", "the date of B01 '2026-13-01' is not a"),
    ("P18:Count cash:0.7:2026-10-12:B01=2026-10-01,B01=2026-10-02", "B01 is given twice"),
])
def test_a_bad_revision_text_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(DemoError, match=re.escape(message)):
        parse_revision(text)


def test_a_revision_the_log_cannot_have_is_refused() -> None:
    def config(revision: Revision) -> DemoConfig:
        return DemoConfig(events=1_000, revisions=(revision,))

    with pytest.raises(DemoError, match="business type 'X99' is not in the baseline"):
        generate_demo_log(config(Revision("X99", "Count cash", 0.7, FIRST)))
    with pytest.raises(DemoError, match="'Count cash' is not a step of P26; its steps are: "
                                        "Call number"):
        generate_demo_log(config(Revision("P26", "Count cash", 0.7, FIRST)))
    with pytest.raises(DemoError, match="branch B07, B09 is not in the log, which has B01 to B06"):
        generate_demo_log(config(Revision("P18", "Count cash", 0.7, FIRST,
                                          {"B07": FIRST, "B09": FIRST, "B01": FIRST})))
    with pytest.raises(DemoError, match="effective '2026-09-21' is not a date"):
        Revision("P18", "Count cash", 0.7, "2026-09-21")  # type: ignore[arg-type]
    with pytest.raises(DemoError, match="branches must map branch ids to dates"):
        Revision("P18", "Count cash", 0.7, FIRST, {"B01": "2026-09-21"})  # type: ignore[dict-item]
    with pytest.raises(DemoError, match=re.escape("factor '0.7' is not a number")):
        Revision("P18", "Count cash", "0.7", FIRST)  # type: ignore[arg-type]
    # a conditional step of the type may be revised too (recount of large cash)
    table, _ = generate_demo_log(config(Revision("P18", "Second-person recount", 0.9, FIRST)))
    assert table.num_rows > 500


# --- the bundled log ------------------------------------------------------------------------------

BUNDLED = Path(__file__).resolve().parents[1] / "event_logs"


def test_the_bundled_log_is_what_its_command_writes() -> None:
    truth = json.loads((BUNDLED / "demo_truth.json").read_text(encoding="utf-8"))
    assert truth["command"] == BUNDLED_DEMO_COMMAND == "procmine demo-data event_logs --bundled"
    table, generated = generate_demo_log(bundled_demo_config())
    if "deviations" not in truth:  # written before the deviations' truth: its events are the same
        del generated["deviations"]
    assert {k: v for k, v in truth.items() if k != "command"} == generated
    assert pq.read_table(BUNDLED / "demo_events.parquet").equals(table)
    assert (BUNDLED / "demo_events.parquet").stat().st_size < 3_000_000


def test_the_bundled_log_tells_one_revision_story() -> None:
    truth = json.loads((BUNDLED / "demo_truth.json").read_text(encoding="utf-8"))
    [story] = truth["revisions"]
    assert (story["business_type"], story["activity"], story["factor"]) == ("P18", "Count cash",
                                                                           0.7)
    adoption = {b: date.fromisoformat(d) for b, d in story["branches"].items()}
    first = {adoption[b] for b in ("B01", "B02", "B03")}
    second = {adoption[b] for b in ("B04", "B05", "B06")}
    assert len(first) == len(second) == 1
    (d1,), (d2,) = first, second
    assert d1 < d2 and story["effective"] == d1.isoformat()
    # sampled days before, between and after the two dates
    days = [date.fromisoformat(d) for d in truth["span"]["days"]]
    assert truth["span"]["sampled_days"] is True
    assert [sum(d < d1 for d in days), sum(d1 <= d < d2 for d in days),
            sum(d >= d2 for d in days)] == [3, 3, 3]
    assert not {(s["business_type"], s["activity"]) for s in truth["slow_steps"]} & {
        ("P18", "Count cash")}

    df = step_frame(pq.read_table(BUNDLED / "demo_events.parquet"))
    step = df[(df["business_type"] == "P18") & (df["activity"] == "Count cash")]
    early = step["branch_id"].isin(["B01", "B02", "B03"])
    # about 570-780 steps a cell: a ratio's standard error is about 0.04, so +-12%
    change = step.loc[early & (step["day"] >= d1), "seconds"].median() / step.loc[
        early & (step["day"] < d1), "seconds"].median()
    waiting = step.loc[~early & (step["day"] >= d1) & (step["day"] < d2), "seconds"].median() / (
        step.loc[~early & (step["day"] < d1), "seconds"].median())
    assert change == pytest.approx(0.7, rel=0.12)
    assert waiting == pytest.approx(1.0, rel=0.12)


def test_a_missing_bundled_log_names_the_command(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from procmine.core import paths
    from procmine.core.errors import ProcmineError
    from procmine.demo import workspace as workspace

    monkeypatch.setattr(paths, "_BUNDLED", tmp_path)
    with pytest.raises(ProcmineError, match=re.escape(f"'{BUNDLED_DEMO_COMMAND}'")):
        workspace.bundled_demo_log()


# -- the demo workspace stays a demo (issue 12, row 2) ------------------------------------------

def _demo_cli(args: list[str]) -> object:
    from typer.testing import CliRunner

    from procmine.cli.main import app

    return CliRunner().invoke(app, args)


@pytest.fixture
def _own_app_database(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from procmine.app import appdb

    monkeypatch.delenv(appdb.DB_URL_ENV, raising=False)
    yield
    appdb.close_engines()


def _real_workspace(tmp_path: Path) -> Path:
    from procmine.ingest.run import ingest_log
    from procmine.store.event_store import EventStore

    home = tmp_path / "bank"
    log = tmp_path / "log.csv"
    log.write_text("case_id,activity,end_time,business_type\n"
                   "1,Count cash,2026-09-01 09:00:00,P17\n"
                   "1,Print voucher,2026-09-01 09:01:00,P17\n", encoding="utf-8")
    ingest_log(EventStore(home), log, baseline=load_baseline())
    return home


def test_demo_workspace_marks_the_workspace_it_built(demo_workspace: dict) -> None:
    from procmine.app.auth import list_users
    from procmine.demo.workspace import DEMO_MARKER, build_demo_workspace, is_demo_workspace

    home = demo_workspace["home"]
    assert (home / DEMO_MARKER).is_file() and is_demo_workspace(home)
    assert {u.username for u in list_users(home)} == {
        "manager", "ops", "reviewer", "reviewer2", "settlement", "teller", "trainer"}
    assert build_demo_workspace(home) is None  # built already: completed, not refused
    assert [v.action for v in demo_workspace["library"].history("SOP-P18")][:1] == ["approve"]


def test_demo_sop_history_is_in_the_order_the_versions_came_in_force(
        demo_workspace: dict) -> None:
    """Issue 17: the seeded 2.0 was dated the day the workspace was built, after 3.0."""
    history = demo_workspace["library"].history("SOP-P18")
    assert [(v.action, v.sop.version) for v in history] == [
        ("approve", "3.0"), ("submit", "3.0"), ("save", "3.0"), ("seed", "2.0")]
    days = [v.when.date() for v in reversed(history)]
    assert days == sorted(days)
    assert days[0] <= history[-1].sop.effective < days[1]
    # the revision keeps its dates: approved a week before the pilot branches adopt it
    assert history[0].sop.effective == date(2026, 9, 21)
    assert history[0].when.date() == date(2026, 9, 14)


@pytest.mark.usefixtures("_own_app_database")
def test_demo_workspace_leaves_a_workspace_with_real_data_alone(tmp_path: Path) -> None:
    from procmine.app.auth import list_users
    from procmine.demo.workspace import DEMO_MARKER, NotADemoWorkspace, is_demo_workspace
    from procmine.sop.repository import has_library
    from procmine.store.event_store import EventStore

    home = _real_workspace(tmp_path)
    before = EventStore(home).info().events
    result = _demo_cli(["demo-workspace", "--home", str(home)])
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    message = " ".join(result.output.split())  # type: ignore[attr-defined]
    assert "is not a demo workspace: it holds events in its store" in message
    assert "nothing was changed" in message
    assert list_users(home) == []
    assert not has_library(home)
    assert not (home / DEMO_MARKER).exists() and not is_demo_workspace(home)
    assert EventStore(home).info().events == before == 2
    forced = _demo_cli(["demo-workspace", "--force", "--home", str(home)])
    assert isinstance(forced.exception, NotADemoWorkspace)  # type: ignore[attr-defined]
    assert EventStore(home).info().events == 2


@pytest.mark.usefixtures("_own_app_database")
def test_demo_workspace_adds_no_demo_user_beside_real_users(tmp_path: Path) -> None:
    from procmine.app.auth import add_user, list_users
    from procmine.demo.workspace import NotADemoWorkspace, build_demo_workspace

    home = tmp_path / "bank"
    add_user("admin", "a-real-admin-pass", "operations", home=home)
    with pytest.raises(NotADemoWorkspace, match="it holds users in its app database"):
        build_demo_workspace(home)
    assert [u.username for u in list_users(home)] == ["admin"]


@pytest.mark.usefixtures("_own_app_database")
def test_demo_workspace_never_seeds_a_shared_database(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from procmine.app import appdb
    from procmine.app.auth import list_users
    from procmine.demo.workspace import DEMO_MARKER, is_demo_workspace
    from procmine.store.event_store import EventStore

    monkeypatch.setenv(appdb.DB_URL_ENV, f"sqlite:///{tmp_path / 'shared.db'}")
    home = tmp_path / "fresh"
    result = _demo_cli(["demo-workspace", "--home", str(home)])
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "PROCMINE_DB_URL is set" in " ".join(result.output.split())  # type: ignore[attr-defined]
    assert list_users() == []
    assert not (home / DEMO_MARKER).exists()
    assert EventStore(home).is_empty()
    home.mkdir(parents=True, exist_ok=True)
    (home / DEMO_MARKER).write_text("copied by hand", encoding="utf-8")
    assert not is_demo_workspace(home)  # a shared database is never a demo's
