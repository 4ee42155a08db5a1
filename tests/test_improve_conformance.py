"""Deviations from the SOP as improvement items: a teller who skips the control step "Count
cash" of SOP-P17 in half of their September transactions, an item on that deviation done on
1 October, and October's data: verified when the teller stopped skipping it (the rates before
and after counted by hand), not effective when nothing changed, flagged as a regression when
November's data brings the skipping back; ``procmine improve add --deviation 1`` opens an item
(the skip across the bank) and ``--deviation 2`` (the teller's) with the deviation's key and
the compliance group; the item page and the escalation report show the deviation.

The log is built by hand: branch B01, tellers 0101 (who skips), 0102 and 0103 (who never do);
each teller serves two P17 deposits a day on the 1st to the 20th of September, October and
November; a deposit is "Call number", "Count cash" (the SOP's control step), "Enter
transaction". The register runs on each app database."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from procmine.analysis.filters import Filters
from procmine.app.auth import User, add_user
from procmine.cli.main import app
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.improve.measure import deviation_rates, measure_item, two_proportion_p
from procmine.improve.refresh import refresh_register
from procmine.improve.register import get_item, list_items, open_item, set_status
from procmine.improve.subjects import deviation_subject
from procmine.ingest.run import ingest_log
from procmine.maps.conformance import conformance
from procmine.maps.deviations import DeviationFinding, deviation_findings
from procmine.sop.library import SopLibrary
from procmine.store.event_store import EventStore

PASSWORD = "a-long-test-password-1"
CHANGED = date(2026, 10, 1)
KEY = "conformance|skipped|teller|0101|B01|P17|Count cash"

SOP_TEXT = """\
---
id: SOP-P17
title: {zh: 活期现金存款, en: Current-account cash deposit}
business_types: [P17]
owner_group: accounting-and-cash
version: "1.0"
status: approved
effective: 2026-01-01
review_due: 2027-01-01
approved_by: zhao
steps:
  - id: call_number
    activity: Call number
    standard_seconds: 30
  - id: count_cash
    activity: Count cash
    control: true
    standard_seconds: 60
    controls: [当面点清]
  - id: enter_transaction
    activity: Enter transaction
    standard_seconds: 30
---
# 活期现金存款 Current-account cash deposit

## 操作步骤 Steps

### 1. 叫号 Call number {#call_number}

叫号，请客户到窗口。

### 2. 点钞 Count cash {#count_cash}

当面点清，唱收唱付。

### 3. 录入交易 Enter transaction {#enter_transaction}

在核心系统录入，核对金额。
"""

TELLERS = ("0101", "0102", "0103")


def _month_log(month: int, skipped: int) -> str:
    """One month's CSV: each teller two deposits a day on the 1st to the 20th (40 a month);
    teller 0101 skips "Count cash" in the first ``skipped`` of them."""
    lines = ["case_id,activity,start_time,end_time,teller_id,branch_id,business_type"]
    for teller in TELLERS:
        n = 0
        for day in range(1, 21):
            for hour in (9, 14):
                skip = teller == "0101" and n < skipped
                n += 1
                case = f"C{month:02d}{day:02d}{hour:02d}-{teller}"
                stamp = f"2026-{month:02d}-{day:02d} {hour:02d}"
                steps = [("Call number", "00:00", "00:20")]
                if not skip:
                    steps.append(("Count cash", "00:30", "01:30"))
                steps.append(("Enter transaction", "02:00", "02:40"))
                lines += [f"{case},{a},{stamp}:{s},{stamp}:{e},{teller},B01,P17"
                          for a, s, e in steps]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """September with 20 of 40 skipped; October fixed (2 of 40) or not (20 of 40); November
    back to 20 of 40 or still fixed (2 of 40)."""
    folder = tmp_path_factory.mktemp("conformance-logs")
    out = {}
    for name, month, skipped in (("sep", 9, 20), ("oct-fixed", 10, 2), ("oct-same", 10, 20),
                                 ("nov", 11, 20), ("nov-fixed", 11, 2)):
        path = folder / f"{name}.csv"
        path.write_text(_month_log(month, skipped), encoding="utf-8")
        out[name] = path
    return out


@pytest.fixture
def ops(own_app_db: None, home: Path) -> User:
    return add_user("o.ops", PASSWORD, "operations", home=home)


def _workspace(home: Path, batches: dict[str, Path], *names: str
               ) -> tuple[EventStore, SopLibrary]:
    seed = home.parent / "seed"
    seed.mkdir(exist_ok=True)
    (seed / "SOP-P17.md").write_text(SOP_TEXT, encoding="utf-8")
    library = SopLibrary.open(home, seed=seed)
    store = EventStore(home)
    for name in names:
        assert ingest_log(store, batches[name]).quarantined == 0
    return store, library


def _finding(store: EventStore, library: SopLibrary) -> DeviationFinding:
    found = [f for f in deviation_findings(conformance(store, library,
                                                       filters=Filters(end=date(2026, 9, 30))))
             if f.key() == KEY]
    assert len(found) == 1
    return found[0]


def _done_item(store: EventStore, library: SopLibrary, ops: User, home: Path) -> int:
    finding = _finding(store, library)
    subject = deviation_subject(finding, as_of=date(2026, 9, 30), store_version="v1")
    item = open_item(subject, user=ops, cause="training", review_group=finding.review_group,
                     proposed_change="Retrain 0101 on counting cash in front of the customer",
                     home=home)
    set_status(item.id, "accepted", user=ops, decision="retrain", home=home)
    set_status(item.id, "in_progress", user=ops, home=home)
    set_status(item.id, "done", user=ops, changed_on=CHANGED, home=home)
    return item.id


def test_the_finding_is_the_tellers_skipped_control_step(ops: User, home: Path,
                                                         batches: dict[str, Path]) -> None:
    store, library = _workspace(home, batches, "sep")
    finding = _finding(store, library)
    assert (finding.kind, finding.control_risk, finding.step_name_zh) == ("skipped", True, "点钞")
    assert (finding.deviating, finding.cases, finding.rate) == (20, 40, 0.5)
    assert finding.peer_rate == 0.0 and finding.review_group == "compliance-and-control"
    subject = deviation_subject(finding, as_of=date(2026, 9, 30), store_version="v1")
    item = open_item(subject, user=ops, cause="training", review_group=finding.review_group,
                     home=home)
    assert (item.subject.source, item.subject.key, item.review_group) == (
        "conformance", KEY, "compliance-and-control")
    assert (item.subject.branch_id, item.subject.business_type) == ("B01", "P17")
    assert item.subject.figures["deviation"] == "skipped"
    assert len(item.subject.figures["case_ids"]) == 20
    assert "0101" in item.subject.summary_in("zh-CN") and "点钞" in item.subject.summary_in(
        "zh-CN")
    assert [i.id for i in list_items(user=ops, home=home, source="conformance")] == [item.id]


def test_a_teller_who_stopped_skipping_is_verified(ops: User, home: Path, baseline: Baseline,
                                                   batches: dict[str, Path]) -> None:
    store, library = _workspace(home, batches, "sep")
    item_id = _done_item(store, library, ops, home)
    # no data after the change yet: nothing measured, the item stays done
    report = refresh_register(home, store=store, baseline=baseline, library=library)
    assert report.verified == [] and get_item(item_id, user=ops, home=home).status == "done"
    ingest_log(store, batches["oct-fixed"])
    report = refresh_register(home, store=store, baseline=baseline, library=library)
    assert report.verified == [item_id]
    item = get_item(item_id, user=ops, home=home)
    m: dict[str, Any] = item.measurement or {}
    assert item.status == "verified" and m["method"] == "deviation_rate"
    # by hand: September 20 of 0101's 40 deposits skipped the count, October 2 of 40
    assert (m["before"]["n"], m["before"]["deviating"], m["before"]["median"]) == (40, 20, 0.5)
    assert (m["after"]["n"], m["after"]["deviating"], m["after"]["median"]) == (40, 2, 0.05)
    assert (m["before"]["from"], m["before"]["to"]) == ("2026-09-01", "2026-09-30")
    assert (m["after"]["from"], m["after"]["to"]) == ("2026-10-01", "2026-10-20")
    assert m["measured_through"] == "2026-10-20"
    assert m["change"] == pytest.approx(-0.9)
    # the pooled two-proportion test: 22 of 80 overall, z = -0.45 / sqrt(.275 * .725 / 20)
    assert m["p_value"] == pytest.approx(two_proportion_p(20, 40, 2, 40))
    assert 1e-6 < m["p_value"] < 1e-5
    assert "50.0% → 5.0%" in m["text"]["en"] and "the change worked" in m["text"]["en"]
    assert "点钞" in m["text"]["zh-CN"]


def test_nothing_changed_is_not_effective(ops: User, home: Path, baseline: Baseline,
                                          batches: dict[str, Path]) -> None:
    store, library = _workspace(home, batches, "sep")
    item_id = _done_item(store, library, ops, home)
    ingest_log(store, batches["oct-same"])
    report = refresh_register(home, store=store, baseline=baseline, library=library)
    assert report.not_effective == [item_id]
    m: dict[str, Any] = get_item(item_id, user=ops, home=home).measurement or {}
    assert (m["before"]["deviating"], m["after"]["deviating"], m["after"]["n"]) == (20, 20, 40)
    assert m["change"] == 0.0 and m["p_value"] == pytest.approx(1.0)


def test_too_few_transactions_after_the_change_await_data(ops: User, home: Path,
                                                          baseline: Baseline,
                                                          batches: dict[str, Path]) -> None:
    store, library = _workspace(home, batches, "sep", "oct-fixed")
    item_id = _done_item(store, library, ops, home)
    item = get_item(item_id, user=ops, home=home)
    # 40 deposits after the change, 50 needed: no verdict yet
    measured = measure_item(item, store, baseline, library, min_cases=50)
    assert measured.verdict is None and measured.after["n"] == 40
    assert "awaiting data (40 after the change, 50 needed)" in measured.text["en"]
    # the peers' rate is not the teller's: the bank's rate of the skip, by hand
    bank = deviation_rates({**item.subject.figures, "scope": "bank"}, store, library,
                           date(2026, 9, 1), date(2026, 9, 30))
    assert (bank["n"], bank["deviating"]) == (120, 20)


def test_a_deviation_that_comes_back_is_a_regression(ops: User, home: Path,
                                                     baseline: Baseline,
                                                     batches: dict[str, Path]) -> None:
    store, library = _workspace(home, batches, "sep", "oct-fixed")
    item_id = _done_item(store, library, ops, home)
    assert refresh_register(home, store=store, baseline=baseline,
                            library=library).verified == [item_id]
    # checked again on the same data: nothing came back
    assert refresh_register(home, store=store, baseline=baseline,
                            library=library).regressions == []
    ingest_log(store, batches["nov"])
    report = refresh_register(home, store=store, baseline=baseline, library=library)
    assert report.regressions == [item_id] and report.measured == []
    item = get_item(item_id, user=ops, home=home)
    back: dict[str, Any] = item.regression or {}
    assert item.status == "verified" and back["key"] == KEY
    # after the measurement (through 20 October): 21 October to 19 November, 0101's November
    # deposits of the 1st to the 19th (38), the first 20 of them skipped
    assert (back["from"], back["to"]) == ("2026-10-21", "2026-11-19")
    assert (back["n"], back["deviating"]) == (38, 20)
    assert back["measured_rate"] == 0.05 and back["p_value"] < 0.05
    assert "52.6%" in back["text"]["en"] and "5.0%" in back["text"]["en"]


def test_a_deviation_that_stays_away_is_no_regression(ops: User, home: Path,
                                                      baseline: Baseline,
                                                      batches: dict[str, Path]) -> None:
    store, library = _workspace(home, batches, "sep", "oct-fixed")
    item_id = _done_item(store, library, ops, home)
    refresh_register(home, store=store, baseline=baseline, library=library)
    ingest_log(store, batches["nov-fixed"])  # 2 of 38 after the measurement, as in October
    report = refresh_register(home, store=store, baseline=baseline, library=library)
    assert report.regressions == []
    item = get_item(item_id, user=ops, home=home)
    assert item.status == "verified" and item.regression is None


def test_the_command_opens_an_item_on_deviation_1(ops: User, home: Path,
                                                  batches: dict[str, Path]) -> None:
    _workspace(home, batches, "sep")
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, ["improve", *args, "--home", str(home)],
                             env={"COLUMNS": "80"})

    # the numbers of procmine conformance: 1 the skip across the bank (20 of its 120 deposits,
    # over the 5 % a procedure-wide finding needs), 2 teller 0101's; both control risks
    result = run("add", "--deviation", "1", "--cause", "procedure", "--as", "o.ops", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["source"], data["key"], data["review_group"]) == (
        "conformance", "conformance|skipped|bank|||P17|Count cash", "compliance-and-control")
    result = run("add", "--deviation", "2", "--cause", "training", "--as", "o.ops", "--json")
    data = json.loads(result.stdout)
    assert (data["key"], data["review_group"]) == (KEY, "compliance-and-control")
    item = get_item(int(data["id"]), user=ops, home=home)
    assert item.subject.as_of == date(2026, 9, 20) and item.subject.figures["rate"] == 0.5
    # --group overrides the default; --type narrows as procmine conformance does
    result = run("add", "--deviation", "2", "--type", "P17", "--cause", "training",
                 "--group", "accounting-and-cash", "--as", "o.ops", "--json")
    data = json.loads(result.stdout)
    assert (data["key"], data["review_group"]) == (KEY, "accounting-and-cash")
    for args, said in ((("--deviation", "3"), "'procmine conformance' lists 2"),
                       (("--deviation", "1", "--finding", "1"), "give one of"),
                       (("--finding", "1", "--type", "P17"), "go with --deviation")):
        result = run("add", *args, "--cause", "training", "--as", "o.ops")
        assert isinstance(result.exception, ProcmineError), result.output
        assert said in str(result.exception)
    shown = run("show", str(item.id), "--as", "o.ops").stdout
    assert "deviation skipped" in shown and "rate 50.0%" in shown
    assert "transactions: C090109-0101, C090114-0101" in shown and "and 10 more" in shown
    assert max(len(line) for line in shown.splitlines()) <= 80


@pytest.mark.parametrize("app_db", ["sqlite"], indirect=True)
def test_the_item_page_shows_the_deviation_and_its_before_and_after(
        ops: User, home: Path, baseline: Baseline, batches: dict[str, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The item page (AppTest, in Chinese): the kind, the SOP's Chinese step name, the rate
    against the other tellers', the transactions, and the chart of the rate before and after."""
    import apptest
    from streamlit.testing.v1 import AppTest

    from procmine.app.auth import seed_demo_users
    from procmine.app.i18n import t

    store, library = _workspace(home, batches, "sep", "oct-fixed")
    item_id = _done_item(store, library, ops, home)
    refresh_register(home, store=store, baseline=baseline, library=library)
    seed_demo_users(home)
    monkeypatch.setenv("PROCMINE_HOME", str(home))
    at: AppTest = apptest.app_as("operations", home, timeout=180).run()
    at.query_params["item"] = str(item_id)
    at.switch_page("procmine/dashboard/pages/improvement_item.py").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("improve.fig.deviation", "zh-CN")] == "漏做步骤"
    assert metrics[t("improve.fig.step", "zh-CN")] == "点钞"
    assert metrics[t("improve.fig.rate", "zh-CN")] == "50.0%"
    assert metrics[t("improve.fig.deviating", "zh-CN")] == "20 / 40"
    assert any("C090109-0101" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == 1
    line = t("improve.item.verdict_line", "zh-CN", verdict=t("improve.verdict.verified",
                                                             "zh-CN"),
             before=40, after=40, change="-90.0%", p=f"{two_proportion_p(20, 40, 2, 40):.3g}")
    assert line in [s.value for s in at.success]


def test_the_escalation_report_shows_a_deviation(ops: User, home: Path,
                                                 batches: dict[str, Path],
                                                 tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from procmine.reports.improvement import (
        escalated_items,
        escalation_rows,
        export_escalation_excel,
        export_escalation_html,
    )

    store, library = _workspace(home, batches, "sep")
    finding = _finding(store, library)
    item = open_item(deviation_subject(finding, as_of=date(2026, 9, 30), store_version="v1"),
                     user=ops, cause="training", review_group=finding.review_group,
                     decision="escalate", home=home)
    items = escalated_items(list_items(user=ops, home=home))
    assert [i.id for i in items] == [item.id]
    (en,) = escalation_rows(items, "en", home=home)
    (zh,) = escalation_rows(items, "zh-CN", home=home)
    assert (en["branch"], en["cases"], en["hours"], en["ratio"]) == ("B01", 40, 0.0, None)
    assert en["found"] == finding.summary_in("en") and zh["found"] == finding.summary_in("zh-CN")
    assert en["deviation"] == ('Skipped step "Count cash": 20 of 40 transactions (50.0%), '
                               "SOP-P17@1.0; other tellers 0.0%; a control step")
    assert zh["deviation"] == ("漏做步骤「点钞」：20 笔 / 40 笔（50.0%），SOP-P17@1.0；"
                               "其他柜员 0.0%；控制步骤")
    assert (en["group"], zh["group"]) == ("Compliance and internal control", "合规与内控组")
    page = export_escalation_html(items, tmp_path / "esc.html", "zh-CN", home=home)
    text = page.read_text(encoding="utf-8")
    assert "漏做步骤「点钞」" in text and "0101" in text
    book = load_workbook(export_escalation_excel(items, tmp_path / "esc.xlsx", "en",
                                                 home=home))
    values = [c.value for row in book.worksheets[0].iter_rows() for c in row]
    assert en["deviation"] in values and finding.summary_in("en") in values


def test_the_default_group_of_a_deviation_is_its_own(ops: User, home: Path,
                                                     baseline: Baseline,
                                                     batches: dict[str, Path]) -> None:
    from procmine.improve.subjects import default_group

    store, library = _workspace(home, batches, "sep")
    assert default_group(_finding(store, library), library, baseline) == "compliance-and-control"
