"""The monthly announcement: figures, fair ranks (standard times, large amounts, empirical
Bayes), the change against last month, and the mistakes a user can make."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from procmine.analysis.league import LEAGUE_COLUMNS, monthly_league
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.ingest.run import ingest_log
from procmine.store.event_store import EventStore

# --------------------------------------------------------------------------------------------------
# Fixtures: a generated demo log (two months) and small hand-built logs
# --------------------------------------------------------------------------------------------------


def _case(teller: str, business_type: str, seconds: float, *, branch: str = "B1",
          amount: float | None = None, error: bool = False) -> dict[str, Any]:
    return {"teller_id": teller, "branch_id": branch, "business_type": business_type,
            "seconds": round(seconds, 3), "amount": amount, "error": error}


def _ingest(store: EventStore, tmp_path: Path, cases: list[dict[str, Any]],
            month: str = "2026-03") -> EventStore:
    """One step per transaction, so its dwell time is exactly ``seconds``; 20 a day per teller
    from the first of ``month``."""
    first = datetime.strptime(month + "-01 08:30", "%Y-%m-%d %H:%M")
    seen: dict[str, int] = {}
    rows: dict[str, list[Any]] = {k: [] for k in (
        "case_id", "activity", "start_time", "end_time", "teller_id", "branch_id",
        "business_type", "amount", "error")}
    for i, case in enumerate(cases):
        k = seen.get(case["teller_id"], 0)
        seen[case["teller_id"]] = k + 1
        start = first + timedelta(days=k // 20, minutes=20 * (k % 20))
        rows["case_id"].append(f"{month}-{i:06d}")
        rows["activity"].append("Enter transaction")
        rows["start_time"].append(start)
        rows["end_time"].append(start + timedelta(milliseconds=round(case["seconds"] * 1000)))
        for key in ("teller_id", "branch_id", "business_type", "amount", "error"):
            rows[key].append(case[key])
    table = pa.table({
        **{k: pa.array(v) for k, v in rows.items() if k not in ("start_time", "end_time",
                                                                 "amount")},
        "start_time": pa.array(rows["start_time"], pa.timestamp("ms")),
        "end_time": pa.array(rows["end_time"], pa.timestamp("ms")),
        "amount": pa.array(rows["amount"], pa.float64()),
    })
    path = tmp_path / f"log-{month}-{len(list(tmp_path.glob('log-*')))}.parquet"
    pq.write_table(table, path)
    report = ingest_log(store, path)
    assert report.loaded == len(cases), report
    return store


def _row(league: pd.DataFrame, teller: str) -> pd.Series:
    row = league.set_index("teller_id").loc[teller]
    assert isinstance(row, pd.Series)
    return row


# --------------------------------------------------------------------------------------------------
# The figures
# --------------------------------------------------------------------------------------------------


def _transactions_in_pandas(store: EventStore, baseline: Baseline) -> pd.DataFrame:
    events = store.read_events(["case_id", "start_time", "end_time", "teller_id", "branch_id",
                                "business_type", "amount", "error"]).to_pandas()
    events["begin"] = events["start_time"].fillna(events["end_time"])
    tx = events.groupby("case_id").agg(
        teller_id=("teller_id", "first"), business_type=("business_type", "first"),
        started=("begin", "min"), ended=("end_time", "max"), error=("error", "max"),
        amount=("amount", "max"),
    )
    tx["dwell"] = (tx["ended"] - tx["started"]).dt.total_seconds()
    tx["standard"] = tx["business_type"].map(
        {b.code: b.standard_seconds for b in baseline})
    tx["month"] = tx["started"].dt.strftime("%Y-%m")
    return tx


def test_speed_index_and_volume_match_an_independent_computation(
    league_demo: tuple[EventStore, list[str]], baseline: Baseline
) -> None:
    store, months = league_demo
    league = monthly_league(store, baseline, months[1])
    assert list(league.columns) == list(LEAGUE_COLUMNS)
    tx = _transactions_in_pandas(store, baseline)
    tx = tx[tx["month"] == months[1]]
    per = tx.groupby("teller_id").agg(
        transactions=("dwell", "size"), errors=("error", "sum"),
        standard=("standard", "sum"), dwell=("dwell", "sum"),
    )
    got = league.set_index("teller_id").loc[per.index]
    assert len(league) == len(per) > 40
    assert (got["transactions"] == per["transactions"]).all()
    assert (got["errors"] == per["errors"]).all()
    np.testing.assert_allclose(got["standard_hours"], per["standard"] / 3600, rtol=1e-9)
    np.testing.assert_allclose(got["actual_hours"], per["dwell"] / 3600, rtol=1e-9)
    np.testing.assert_allclose(got["speed_index"], per["standard"] / per["dwell"], rtol=1e-9)
    np.testing.assert_allclose(got["error_rate"], per["errors"] / per["transactions"])

    # the large-amount allowance of each type, bank-wide: the extra time of its large ones
    tx = tx.assign(large=tx["amount"].fillna(0) >= 50_000)
    factors = {}
    for code, group in tx.groupby("business_type"):
        big, small = group[group["large"]], group[~group["large"]]
        if len(big) >= 10 and len(small) >= 10:
            ratio = (big["dwell"].sum() / big["standard"].sum()) / (
                small["dwell"].sum() / small["standard"].sum())
            factors[code] = max(1.0, ratio)
    assert factors["P17"] > 2  # large cash deposits take about three times the standard
    adjusted = tx["standard"] * np.where(tx["large"], tx["business_type"].map(factors).fillna(1),
                                         1)
    expected = adjusted.groupby(tx["teller_id"]).sum() / per["dwell"]
    np.testing.assert_allclose(got["speed_index_adjusted"], expected.loc[per.index], rtol=1e-9)
    assert league.attrs["method"]["large_amount_allowances"] == pytest.approx(
        {k: v for k, v in factors.items() if v > 1})


def test_ranks_are_one_to_n_within_each_branch_and_overall(
    league_demo: tuple[EventStore, list[str]], baseline: Baseline
) -> None:
    store, months = league_demo
    league = monthly_league(store, baseline, months[0])
    assert league["rank_overall"].tolist() == list(range(1, len(league) + 1))
    assert league["speed_index_shrunk"].is_monotonic_decreasing
    assert league["branch_id"].nunique() == 6
    for _, rows in league.groupby("branch_id"):
        assert sorted(rows["rank_in_branch"]) == list(range(1, len(rows) + 1))
        by_rank = rows.sort_values("rank_in_branch")
        assert by_rank["speed_index_shrunk"].is_monotonic_decreasing


def test_change_against_last_month(league_demo: tuple[EventStore, list[str]],
                                   baseline: Baseline) -> None:
    store, months = league_demo
    first = monthly_league(store, baseline, months[0])
    second = monthly_league(store, baseline, months[1])
    assert first["prev_rank_overall"].isna().all()  # no data the month before
    assert first["speed_index_change"].isna().all()
    both = second.merge(first, on="teller_id", suffixes=("", "_first"))
    assert len(both) == len(second)
    np.testing.assert_allclose(both["prev_speed_index_shrunk"], both["speed_index_shrunk_first"])
    assert (both["prev_rank_overall"] == both["rank_overall_first"]).all()
    np.testing.assert_allclose(both["speed_index_change"],
                               both["speed_index_shrunk"] - both["speed_index_shrunk_first"])
    assert (both["rank_change"] == both["rank_overall_first"] - both["rank_overall"]).all()
    assert (both["rank_change"] != 0).any()  # the demo tellers drift month to month


# --------------------------------------------------------------------------------------------------
# Fair ranks
# --------------------------------------------------------------------------------------------------


def _eb_cases(seed: int = 3) -> list[dict[str, Any]]:
    """Eight ordinary tellers and a fast one with 300 cash deposits each (lognormal noise), and
    a teller with 3 deposits at 2.2 times standard speed: the most extreme raw index."""
    rng = np.random.default_rng(seed)
    speeds = {"N1": 0.90, "N2": 0.95, "N3": 1.0, "N4": 1.0, "N5": 1.05, "N6": 1.1, "N7": 0.92,
              "N8": 0.98, "FAST": 1.3}
    cases = []
    for teller, speed in speeds.items():
        noise = np.exp(0.5 * rng.standard_normal(300))
        cases += [_case(teller, "P17", 120 / speed * float(x)) for x in noise]
    cases += [_case("TINY", "P17", 120 / 2.2) for _ in range(3)]
    return cases


def test_a_tiny_sample_does_not_top_the_table_but_a_large_fast_one_does(
    store: EventStore, tmp_path: Path, baseline: Baseline
) -> None:
    _ingest(store, tmp_path, _eb_cases())
    # the shrinkage on its own: every teller ranked (by default 3 transactions are not ranked)
    league = monthly_league(store, baseline, "2026-03", min_transactions=1)
    tiny, fast = _row(league, "TINY"), _row(league, "FAST")
    assert league["speed_index"].idxmax() == league.index[league["teller_id"] == "TINY"][0]
    assert tiny["speed_index"] == pytest.approx(2.2, rel=1e-3)
    assert fast["rank_overall"] == 1
    assert tiny["rank_overall"] > 1
    # both are pulled toward the bank, the 3-transaction teller much further (in log terms)
    bank = league.attrs["method"]["bank_speed_index"]

    def pull(row: pd.Series) -> float:
        return 1 - math.log(row["speed_index_shrunk"] / bank) / math.log(row["speed_index"] / bank)

    assert 0 < pull(fast) < 0.2
    assert pull(tiny) > 0.6
    assert pull(tiny) > 4 * pull(fast)
    # without shrinkage the tiny sample would top the table
    raw = monthly_league(store, baseline, "2026-03", prior_strength=0, min_transactions=1)
    assert _row(raw, "TINY")["rank_overall"] == 1
    np.testing.assert_allclose(raw["speed_index_shrunk"], raw["speed_index_adjusted"])


def test_the_empirical_bayes_fit_matches_its_formulas(
    store: EventStore, tmp_path: Path, baseline: Baseline
) -> None:
    cases = _eb_cases(seed=8)
    _ingest(store, tmp_path, cases)
    frame = pd.DataFrame(cases)
    per = frame.groupby("teller_id").agg(n=("seconds", "size"), dwell=("seconds", "sum"))
    per["y"] = np.log(per["dwell"] / (120 * per["n"]))  # one type: n_eff = n
    ratio = frame["seconds"] / 120 / frame["teller_id"].map(np.exp(per["y"]))
    sigma2 = float(((ratio - 1) ** 2).sum()) / (len(frame) - len(per))
    a = per["n"] / sigma2
    mu_fixed = (a * per["y"]).sum() / a.sum()
    q = (a * (per["y"] - mu_fixed) ** 2).sum()
    tau2 = (q - (len(per) - 1)) / (a.sum() - (a * a).sum() / a.sum())

    league = monthly_league(store, baseline, "2026-03")
    method = league.attrs["method"]
    assert method["within_variance"] == pytest.approx(sigma2, rel=1e-9)
    assert method["between_variance"] == pytest.approx(tau2, rel=1e-9)
    assert method["speed_prior_strength"] == pytest.approx(sigma2 / tau2, rel=1e-9)

    # a fixed prior strength k: theta = mu + n / (n + k) (y - mu), mu weighted by n / (n + k)
    k = 25.0
    fixed = monthly_league(store, baseline, "2026-03", prior_strength=k).set_index("teller_id")
    weight = per["n"] / (per["n"] + k)
    mu = (weight * per["y"]).sum() / weight.sum()
    expected = np.exp(-(mu + weight * (per["y"] - mu)))
    np.testing.assert_allclose(fixed.loc[per.index, "speed_index_shrunk"], expected, rtol=1e-9)
    # the same prior strength shrinks the error rates, beta-binomial toward the bank rate
    p = fixed["errors"].sum() / fixed["transactions"].sum()
    np.testing.assert_allclose(fixed["error_rate_shrunk"],
                               (fixed["errors"] + k * p) / (fixed["transactions"] + k))


def test_error_rates_are_shrunk_toward_the_bank_rate(
    store: EventStore, tmp_path: Path, baseline: Baseline
) -> None:
    cases = []
    for teller, errors in (("E1", 4), ("E2", 8), ("E3", 20), ("E4", 32)):
        cases += [_case(teller, "P17", 120, error=i < errors) for i in range(400)]
    cases += [_case("E5", "P17", 120, error=i == 0) for i in range(2)]  # 1 error in 2
    _ingest(store, tmp_path, cases)
    league = monthly_league(store, baseline, "2026-03")
    bank = 65 / 1602
    assert league.attrs["method"]["bank_error_rate"] == pytest.approx(bank)
    m = league.attrs["method"]["error_prior_strength"]
    assert 0 < m < 1000
    e5, e4 = _row(league, "E5"), _row(league, "E4")
    assert e5["error_rate"] == 0.5
    assert abs(e5["error_rate_shrunk"] - bank) < 0.1 * abs(0.5 - bank)
    assert e4["error_rate_shrunk"] == pytest.approx((32 + m * bank) / (400 + m))
    assert abs(e4["error_rate_shrunk"] - 0.08) < 0.01  # 400 transactions keep most of it


def test_harder_work_is_compared_on_standard_times_not_raw_means(
    store: EventStore, tmp_path: Path, baseline: Baseline
) -> None:
    assert baseline.standard_seconds("C41") == 2700 and baseline.standard_seconds("P17") == 120
    cases = [_case("CORP", "C41", 2700, branch="B1") for _ in range(30)]
    cases += [_case("CASH", "P17", 120, branch="B1") for _ in range(30)]
    cases += [_case("SLOW", code, baseline.standard_seconds(code) * (1.25 + 0.1 * (-1) ** (i // 2)),
                    branch="B2") for i, code in enumerate(["P17", "C41"] * 16)]
    _ingest(store, tmp_path, cases)
    league = monthly_league(store, baseline, "2026-03")
    corp, cash, slow = _row(league, "CORP"), _row(league, "CASH"), _row(league, "SLOW")
    assert corp["actual_hours"] / corp["transactions"] > 20 * (
        cash["actual_hours"] / cash["transactions"])  # raw means would rank CORP far behind
    assert corp["speed_index"] == pytest.approx(1.0) and cash["speed_index"] == pytest.approx(1.0)
    assert corp["speed_index_shrunk"] == pytest.approx(cash["speed_index_shrunk"])
    assert corp["rank_overall"] == cash["rank_overall"] == 1
    assert corp["rank_in_branch"] == cash["rank_in_branch"] == 1
    assert corp["standard_hours"] == pytest.approx(30 * 2700 / 3600)
    assert slow["rank_overall"] == 3 and slow["rank_in_branch"] == 1
    assert slow["speed_index"] == pytest.approx(0.8, rel=0.01)


def test_large_amounts_get_the_extra_time_they_take_bank_wide(
    store: EventStore, tmp_path: Path, baseline: Baseline
) -> None:
    cases = [_case("VIP", "P17", 360, amount=80_000) for _ in range(20)]
    cases += [_case("VIP", "P17", 120, amount=1_000) for _ in range(20)]
    cases += [_case("REG", "P17", 120, amount=1_000) for _ in range(40)]
    _ingest(store, tmp_path, cases)
    league = monthly_league(store, baseline, "2026-03")
    vip, reg = _row(league, "VIP"), _row(league, "REG")
    assert league.attrs["method"]["large_amount_allowances"] == pytest.approx({"P17": 3.0})
    assert vip["speed_index"] == pytest.approx(0.5)  # the raw standard knows no amounts
    assert vip["speed_index_adjusted"] == pytest.approx(1.0)
    assert reg["speed_index_adjusted"] == pytest.approx(1.0)
    assert vip["rank_overall"] == reg["rank_overall"] == 1
    plain = monthly_league(store, baseline, "2026-03", large_amount=None)
    assert _row(plain, "VIP")["rank_overall"] == 2
    assert plain.attrs["method"]["large_amount_allowances"] == {}


# --------------------------------------------------------------------------------------------------
# Mistakes
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("month", ["2026-13", "2026/10", "Oct 2026", "2026-1", "", "2026-00"])
def test_a_bad_month_string_is_a_clear_error(league_demo: tuple[EventStore, list[str]],
                                             baseline: Baseline, month: str) -> None:
    with pytest.raises(ProcmineError, match=r"expected YYYY-MM"):
        monthly_league(league_demo[0], baseline, month)


def test_a_month_without_data_names_the_months_with_data(
    league_demo: tuple[EventStore, list[str]], baseline: Baseline, store: EventStore
) -> None:
    with pytest.raises(ProcmineError, match=r"no teller transactions in 2025-01; months with "
                       r"data: 2026-09, 2026-10$"):
        monthly_league(league_demo[0], baseline, "2025-01")
    with pytest.raises(ProcmineError, match="no events"):
        monthly_league(store, baseline, "2026-09")  # an empty workspace
    with pytest.raises(ProcmineError, match="prior strength"):
        monthly_league(league_demo[0], baseline, "2026-09", prior_strength=-1)


# --------------------------------------------------------------------------------------------------
# A minimum of transactions to be ranked (issue 12, row 17)
# --------------------------------------------------------------------------------------------------


def test_a_teller_with_one_transaction_is_listed_but_not_ranked(
    store: EventStore, tmp_path: Path, baseline: Baseline
) -> None:
    """One one-step transaction of a hundredth of a second: the shrinkage alone let it top the
    bank; below the minimum of transactions it is listed, not ranked, and the others rank
    1..n, in the bank and in each branch."""
    cases = [*_eb_cases(), _case("ONE", "P17", 0.01, branch="B2")]
    _ingest(store, tmp_path, cases)
    league = monthly_league(store, baseline, "2026-03")
    one = _row(league, "ONE")
    assert one["transactions"] == 1 and not one["ranked"]
    assert pd.isna(one["rank_overall"]) and pd.isna(one["rank_in_branch"])
    assert one["speed_index"] == pytest.approx(12_000)  # its figures are still shown
    ranked = league[league["ranked"]]
    assert sorted(ranked["teller_id"]) == sorted({c["teller_id"] for c in _eb_cases()} - {"TINY"})
    assert ranked["rank_overall"].tolist() == list(range(1, 10))
    assert ranked["rank_in_branch"].tolist() == list(range(1, 10))  # all in B1
    assert _row(league, "FAST")["rank_overall"] == 1
    assert league["teller_id"].tolist()[-2:] == ["ONE", "TINY"]  # the unranked last
    assert league.attrs["method"]["min_transactions"] == 20
    # a lower minimum ranks the three-transaction teller, not the one-transaction one
    lower = monthly_league(store, baseline, "2026-03", min_transactions=3)
    assert _row(lower, "TINY")["ranked"] and not _row(lower, "ONE")["ranked"]
    assert lower.loc[lower["ranked"], "rank_overall"].tolist() == list(range(1, 11))


def test_the_minimum_is_checked_and_applies_to_last_month_too(
    league_demo: tuple[EventStore, list[str]], baseline: Baseline
) -> None:
    store, months = league_demo
    with pytest.raises(ProcmineError, match="minimum of transactions"):
        monthly_league(store, baseline, months[1], min_transactions=-1)
    counts = monthly_league(store, baseline, months[0])["transactions"]
    cut = int(counts.median())  # half the tellers fall below it
    first = monthly_league(store, baseline, months[0], min_transactions=cut)
    second = monthly_league(store, baseline, months[1], min_transactions=cut)
    assert (first["ranked"] == (first["transactions"] >= cut)).all()
    assert first.loc[first["ranked"], "rank_overall"].tolist() == list(
        range(1, int(first["ranked"].sum()) + 1))
    unranked_before = set(first.loc[~first["ranked"], "teller_id"])
    assert second.loc[second["teller_id"].isin(unranked_before), "prev_rank_overall"].isna().all()
    assert second.loc[~second["ranked"], "rank_change"].isna().all()


def test_the_exports_and_the_command_say_not_ranked(
    store: EventStore, tmp_path: Path, baseline: Baseline
) -> None:
    import json

    import typer
    from openpyxl import load_workbook
    from typer.testing import CliRunner

    from procmine.cli.analysis import league as league_command
    from procmine.reports.league import export_league_excel, export_league_html

    _ingest(store, tmp_path, [*_eb_cases(), _case("ONE", "P17", 0.01, branch="B2")])
    league = monthly_league(store, baseline, "2026-03")
    sheets = load_workbook(export_league_excel(league, tmp_path / "l.xlsx"))
    bank = sheets["全行"]
    rows = {bank.cell(r, 3).value: (bank.cell(r, 1).value, bank.cell(r, 2).value)
            for r in range(3, 3 + len(league))}
    assert rows["ONE"] == rows["TINY"] == ("未排名", "未排名")
    assert rows["FAST"] == (1, 1)
    assert sheets["B2"].cell(3, 1).value == "未排名"
    notes = [bank.cell(r, 1).value for r in range(4 + len(league), 9 + len(league))]
    assert "本月计入速度指数的业务不足 20 笔的柜员列出但不参与排名：笔数过少无法公平比较。" in notes
    page = export_league_html(league, tmp_path / "l.html", lang="en").read_text(encoding="utf-8")
    assert '<tr><td>not ranked</td><td>not ranked</td><td class="text">ONE</td>' in page
    assert "fewer than 20 transactions" in page

    app = typer.Typer()
    app.command("league")(league_command)
    runner = CliRunner()
    home = ["--month", "2026-03", "--home", str(store.home)]
    records = {r["teller_id"]: r for r in json.loads(
        runner.invoke(app, [*home, "--json"]).stdout)}
    assert (records["ONE"]["ranked"], records["ONE"]["rank_overall"]) == (False, None)
    assert (records["FAST"]["ranked"], records["FAST"]["rank_overall"]) == (True, 1)
    lower = json.loads(runner.invoke(app, [*home, "--json", "--min-transactions", "3"]).stdout)
    assert [r["teller_id"] for r in lower if not r["ranked"]] == ["ONE"]
    table = runner.invoke(app, [*home, "--lang", "en"], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert table.stdout.count("not ranked") == 2 * 2 + 1  # two cells each, and the summary
    assert "2 tellers had fewer than 20 transactions this month" in table.stdout
    assert "--min-transactions" in runner.invoke(app, ["--help"]).output
