"""A branch finding says which of its tellers count (issue 17): only those with enough cases
at the step are judged on their own, so "3 of 3 tellers slow" above a table of 7 said too
little, and a month in which no teller has enough cases printed "0/0 tellers". The page, the
library's summary and the command line word it with the finding's own counts; the league on
the command line shows the corrected error rate beside the raw one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from apptest import app_as
from demo_kit import copy_demo_workspace
from findings_kit import made_finding
from typer.testing import CliRunner

from procmine import (
    EventStore,
    Finding,
    SopLibrary,
    activity_names,
    explain_finding,
    linked_findings,
    load_baseline,
    monthly_league,
    months_with_data,
    t,
)
from procmine.cli.main import app
from procmine.dashboard import data

ZH, EN = "zh-CN", "en"
MIN_CASES = 30   # the page's and the command's default
runner = CliRunner()


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("branch-findings") / "ws"
    copy_demo_workspace(tmp_path_factory, home)
    return home


def _branch_findings(home: Path, month: str | None) -> list[Finding]:
    found = linked_findings(EventStore(home), load_baseline(), SopLibrary.open(home),
                            ratio=1.5, min_cases=MIN_CASES, q=0.05, month=month)
    return [f for f in found if f.scope == "branch"]


def _latest(home: Path) -> str:
    return months_with_data(EventStore(home))[-1]


def test_the_summary_counts_only_the_tellers_with_enough_cases() -> None:
    some = made_finding(scope="branch", teller_id=None, tellers_flagged=("0102", "0105"),
                        tellers_eligible=3)
    assert some.who_in(EN) == "Branch B01, 2 of the 3 tellers with enough cases slow"
    assert some.who_in(ZH) == "网点 B01（样本足够的 3 名柜员中 2 名偏慢）"
    none = made_finding(scope="branch", teller_id=None, tellers_eligible=0)
    assert none.who_in(EN) == "Branch B01 (no teller with enough cases: judged as a whole)"
    assert "0/0" not in none.summary_in(EN) and "0 名" not in none.summary_in(ZH)


def _cli(home: Path, *args: str) -> Any:
    result = runner.invoke(app, [*args, "--home", str(home)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("whole", [False, True], ids=["latest month", "every month"])
def test_the_command_line_words_a_branch_finding_with_its_counts(demo_home: Path,
                                                                 whole: bool) -> None:
    month = [] if whole else ["--month", _latest(demo_home)]
    period = "all months" if whole else _latest(demo_home)
    found = json.loads(_cli(demo_home, "bottlenecks", *month, "--json").stdout)
    branches = [(rank, f) for rank, f in enumerate(found, start=1) if f["scope"] == "branch"]
    assert branches   # the demo has one in each: none eligible in October, two overall
    out = _cli(demo_home, "bottlenecks", *month).stdout
    text = " ".join(out.split())
    assert "0/0" not in out
    assert (f"eligible tellers: a branch's tellers with at least {MIN_CASES} cases at the "
            f"step in {period}") in text
    for rank, f in branches:
        flagged, eligible = len(f["tellers_flagged"]), f["tellers_eligible"]
        assert eligible == (2 if whole else 0)   # the counts the wording is checked against
        who = (f"{f['branch_id']} ({flagged} of {eligible} eligible tellers slow)" if eligible
               else f"{f['branch_id']} (no teller with enough cases)")
        assert f"{rank} step" in text and who in text
        explained = " ".join(_cli(demo_home, "bottlenecks", *month, "--explain",
                                  str(rank)).stdout.split())
        listed = len(f["evidence"]["tellers"])
        assert listed > max(eligible, 1)   # the table lists more tellers than count
        if eligible:
            assert (f"{flagged} of the {eligible} tellers with at least {MIN_CASES} cases at "
                    f"the step are slow ({listed} tellers in the table below): "
                    f"{', '.join(f['tellers_flagged'])}") in explained
        else:
            assert (f"no teller of the branch has at least {MIN_CASES} cases at the step in "
                    f"{period}: the branch is judged as a whole ({listed} tellers in the table "
                    "below)") in explained


@pytest.mark.parametrize("whole", [False, True], ids=["latest month", "every month"])
def test_the_page_says_which_tellers_of_a_branch_count(
        demo_home: Path, monkeypatch: pytest.MonkeyPatch, whole: bool) -> None:
    monkeypatch.setenv("PROCMINE_HOME", str(demo_home))
    month = None if whole else _latest(demo_home)
    [finding] = _branch_findings(demo_home, month)
    monkeypatch.setattr(data, "findings", lambda month, ratio, min_cases, q: [finding])
    at = app_as("operations", demo_home)
    if whole:
        at.session_state["period_month"] = "whole"
    at.run()
    at.switch_page("procmine/dashboard/pages/bottlenecks.py").run()
    assert not at.exception, at.exception
    listed = len(explain_finding(EventStore(demo_home), finding, month)["tellers"])
    if whole:
        note = t("bottlenecks.tellers_counted", ZH, min=MIN_CASES, shown=listed,
                 flagged=len(finding.tellers_flagged), eligible=finding.tellers_eligible)
    else:
        label = t("period.latest", ZH, month=t("period.month", ZH, year=month[:4],
                                               month=t(f"period.m{int(month[5:])}", ZH)))
        note = t("bottlenecks.tellers_none_counted", ZH, min=MIN_CASES, shown=listed,
                 period=label)
    assert note in [c.value for c in at.caption]
    assert str(listed) in note and f"{MIN_CASES}" in note
    step = activity_names(SopLibrary.open(demo_home)).name(finding.activity, ZH)
    assert at.subheader[0].value.replace("\\", "") == finding.summary_in(ZH, step=step)


def test_the_league_shows_the_corrected_error_rate_beside_the_raw(demo_home: Path) -> None:
    month = _latest(demo_home)
    league = monthly_league(EventStore(demo_home), load_baseline(), month)
    out = _cli(demo_home, "league", "--month", month, "--lang", "en").stdout
    assert max(len(line) for line in out.splitlines()) <= 80
    rows = {cells[2]: cells for line in out.splitlines() if line.startswith("│")
            for cells in [[c.strip() for c in line.split("│")]] if cells[2]}
    assert len(rows) == len(league) == 48
    for teller, raw, corrected in zip(league["teller_id"], league["error_rate"],
                                      league["error_rate_shrunk"], strict=True):
        assert rows[teller][5] == f"{raw:.1%}/{corrected:.2%}"
    # the corrected rates differ from the raw ones: the column is not a copy
    assert league["error_rate"].round(4).tolist() != league["error_rate_shrunk"].round(4).tolist()
