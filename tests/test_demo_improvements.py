"""The demo workspace's improvement register (procmine.demo.improvements): the items
build_demo_workspace opens on the demo log's findings, their statuses, links and due days, once
only, and the escalation report of the demo workspace."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from demo_kit import copy_demo_workspace
from openpyxl import load_workbook

from procmine import (
    build_demo_workspace,
    escalated_items,
    export_escalation_excel,
    seed_demo_improvements,
)
from procmine.analysis.bottlenecks import find_bottlenecks
from procmine.app.appdb import DB_URL_ENV
from procmine.app.auth import get_user
from procmine.core.baseline import load_baseline
from procmine.demo.training import DEMO_PAPER
from procmine.improve.items import ImprovementItem
from procmine.improve.register import list_items
from procmine.improve.subjects import finding_key
from procmine.sop.links import workspace_references
from procmine.store.event_store import EventStore
from procmine.training.papers import list_papers


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, ImprovementItem]]:
    """A demo workspace (its own app database: no PROCMINE_DB_URL) and its items by key."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(DB_URL_ENV, raising=False)
        home = tmp_path_factory.mktemp("demo-register") / "workspace"
        copy_demo_workspace(tmp_path_factory, home)
        ops = get_user("ops", home)
        assert ops is not None
        items = list_items(user=ops, home=home)
    return home, {i.subject.key: i for i in items}


ESCALATED = "finding|step|branch||B06|P28|Enter transaction|"
RETRAINING = "finding|step|teller|0102|B01|P18|Enter transaction|"
OVERDUE = "finding|step|teller|0602|B06|P17|Count cash|"


def test_the_demo_items_and_their_statuses(demo: tuple[Path, dict[str, ImprovementItem]]
                                           ) -> None:
    home, items = demo
    today = date.today()
    assert sorted(items) == sorted([ESCALATED, RETRAINING, OVERDUE])
    escalated, retraining, overdue = items[ESCALATED], items[RETRAINING], items[OVERDUE]
    assert (escalated.status, escalated.decision, escalated.cause, escalated.review_group) == (
        "accepted", "escalate", "system", "domestic-settlement")
    assert "B06" in escalated.branch_action and escalated.proposed_change
    assert [(e.username, e.to_status) for e in escalated.events] == [
        ("ops", "proposed"), ("settlement", "accepted")]
    assert (retraining.status, retraining.decision, retraining.cause) == (
        "in_progress", "retrain", "training")
    paper = next(p for p in list_papers(home=home) if p.title == DEMO_PAPER)
    assert [(link.kind, link.ref) for link in retraining.links] == [("paper", str(paper.id))]
    assert [e.username for e in retraining.events] == ["reviewer", "reviewer2", "reviewer",
                                                       "reviewer"]
    assert (overdue.status, overdue.decision, overdue.cause) == ("proposed", None, "procedure")
    assert overdue.overdue(today) and not escalated.overdue(today)
    assert not retraining.overdue(today)
    # the evidence is the demo log's, frozen as it stood: its last day and its figures
    assert {i.subject.as_of for i in items.values()} == {date(2026, 10, 31)}
    store = EventStore(home)
    live = next(f for f in find_bottlenecks(store, load_baseline(),
                                            step_references=workspace_references(home))
                if finding_key(f) == RETRAINING)
    assert retraining.subject.figures["cases"] == live.cases > 100
    assert retraining.subject.hours_per_month == pytest.approx(live.monthly_teller_hours)
    assert overdue.due_on == today - timedelta(days=5)


def test_seeded_once(demo: tuple[Path, dict[str, ImprovementItem]],
                     monkeypatch: pytest.MonkeyPatch) -> None:
    home, items = demo
    monkeypatch.delenv(DB_URL_ENV, raising=False)
    assert seed_demo_improvements(home) == []
    assert build_demo_workspace(home) is None
    ops = get_user("ops", home)
    assert ops is not None
    assert sorted(i.id for i in list_items(user=ops, home=home)) == sorted(
        i.id for i in items.values())


def test_the_demo_escalation_report(demo: tuple[Path, dict[str, ImprovementItem]],
                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, items = demo
    monkeypatch.delenv(DB_URL_ENV, raising=False)
    escalated = escalated_items(items.values())
    assert [i.subject.key for i in escalated] == [ESCALATED]
    book = load_workbook(export_escalation_excel(escalated, tmp_path / "esc.xlsx", "zh-CN",
                                                 home=home))
    sheet = book["上报事项"]
    header = [c.value for c in sheet[5]]
    rows = [dict(zip(header, (c.value for c in row), strict=True))
            for row in sheet.iter_rows(min_row=6)]
    assert len(rows) == 1
    row = rows[0]
    assert (row["网点"], row["业务类型"], row["原因"], row["决定"], row["状态"]) == (
        "B06", "P28 代缴水电煤气费", "系统", "上报上级行", "已采纳")
    assert row["倍数"] == pytest.approx(items[ESCALATED].subject.figures["ratio"])
    assert row["网点已自行采取的措施"] == items[ESCALATED].branch_action
    assert sheet["B2"].value == 1 and sheet["F2"].value == 0
