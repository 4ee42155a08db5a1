"""The escalation report (procmine.reports.improvement): the escalated items of a register as a
workbook and a printable page, in Chinese and English, with their frozen evidence, cost, what
the branch did itself, status, re-measurement and history; typed texts written inert; an empty
report that says so. On SQLite and PostgreSQL (``own_app_db``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from openpyxl import load_workbook

from procmine import (
    escalated_items,
    escalation_rows,
    export_escalation_excel,
    export_escalation_html,
)
from procmine.analysis.findings import Finding
from procmine.app.auth import add_user
from procmine.improve.items import ImprovementItem
from procmine.improve.register import (
    add_cause,
    list_items,
    open_item,
    record_measurement,
    set_status,
)
from procmine.improve.subjects import finding_subject, shortfall_subject

PASSWORD = "a-long-test-password-1"
TODAY = date(2026, 12, 1)
EVIL_OWNER = "=cmd|' /C calc'!A0"
EVIL_ACTION = "+HYPERLINK(\"http://x\") <script>alert(1)</script>"
B01_ACTION = "B01 网点安排两名柜员专门受理取款，等待系统改造"


def _finding(teller: str, branch: str, median: float, hours: float) -> Finding:
    return Finding(
        scope="teller", teller_id=teller, branch_id=branch, business_type="P18",
        activity="Enter transaction", cases=120, steps=130, median_seconds=median,
        p90_seconds=150.0, reference_seconds=30.0, reference_source="sop", ratio=median / 30,
        pace=1.0, excess_seconds=median - 30, time_lost_seconds=6500.0,
        monthly_teller_hours=hours, months=2.0, p_value=1e-6, q_value=1e-5,
        bank_median_seconds=31.0, branch_median_seconds=math.nan, sop="SOP-P18",
        sop_step="enter_transaction", sop_version="2.0", ratio_ci=(2.5, 3.0), period_days=61.0)


@dataclass
class Register:
    home: Path
    items: list[ImprovementItem] = field(default_factory=list)


@pytest.fixture
def register(own_app_db: None, home: Path) -> Register:
    """Three escalated items (an accepted finding, an overdue queue shortfall, a verified
    finding with a cause of the bank's own) and one retraining item that is not escalated."""
    ops = add_user("o.ops", PASSWORD, "operations", home=home)
    settle = add_user("r.settle", PASSWORD, "reviewer", review_group="domestic-settlement",
                      home=home)
    as_of = date(2026, 10, 31)
    b01 = open_item(finding_subject(_finding("0102", "B01", 84.0, 1.2), as_of=as_of,
                                    store_version="v1"),
                    user=ops, cause="system", review_group="domestic-settlement",
                    proposed_change="核心系统自动带出户名", owner="r.settle",
                    branch_action=B01_ACTION, due_on=date(2027, 1, 31), home=home)
    b01 = set_status(b01.id, "accepted", user=settle, decision="escalate", home=home)
    shortfall = shortfall_subject({"branch_id": "B02", "weekday": 1, "start": "09:00",
                                   "end": "10:30", "counters": 2, "reason": "shortfall"},
                                  as_of=as_of, store_version="v1",
                                  figures={"service_level": 0.62})
    queue = open_item(shortfall, user=ops, cause="staffing", review_group="domestic-settlement",
                      owner=EVIL_OWNER, branch_action=EVIL_ACTION, decision="escalate",
                      due_on=date(2026, 11, 20), home=home)
    add_cause("counter_layout", "柜台布局不合理", "Counter layout", user=ops, home=home)
    b03 = open_item(finding_subject(_finding("0305", "B03", 66.0, 0.8), as_of=as_of,
                                    store_version="v1"),
                    user=ops, cause="counter_layout", review_group="domestic-settlement",
                    decision="escalate", home=home)
    for status in ("accepted", "in_progress", "done"):
        b03 = set_status(b03.id, status, user=settle, home=home, changed_on=date(2026, 10, 1))
    b03 = record_measurement(b03.id, {"method": "before_after", "change": -0.3,
                                      "text": {"zh-CN": "复测：中位用时下降 30%",
                                               "en": "re-measured: median down 30%"}},
                             "verified", home=home)
    open_item(finding_subject(_finding("0107", "B01", 60.0, 0.7), as_of=as_of,
                              store_version="v1"),
              user=ops, cause="training", review_group="accounting-and-cash",
              decision="retrain", home=home)
    items = escalated_items(list_items(user=ops, home=home))
    assert [i.id for i in items] == [b01.id, queue.id, b03.id]
    return Register(home, items)


def _rows(sheet, first: int) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    header = [c.value for c in sheet[first - 1]]
    return [dict(zip(header, (c.value for c in row), strict=True))
            for row in sheet.iter_rows(min_row=first)]


def test_the_workbook_in_chinese(register: Register, tmp_path: Path) -> None:
    path = export_escalation_excel(register.items, tmp_path / "esc.xlsx", "zh-CN",
                                   home=register.home, today=TODAY)
    book = load_workbook(path)
    assert book.sheetnames == ["上报事项", "处理记录"]
    sheet = book["上报事项"]
    assert sheet["A1"].value == "上报上级行的整改事项"
    # the summary: three items, 2.0 teller hours a month, one overdue (the shortfall), the date
    assert [sheet.cell(row=2, column=c).value for c in range(1, 8)] == [
        "事项数", 3, "每月柜员工时合计", 2.0, "逾期事项", 1, "报告日期"]
    assert sheet["H2"].value.date() == TODAY
    assert sheet["A3"].value == "包含状态：已提出、已采纳、已验证有效；决定：上报上级行"
    assert sheet.freeze_panes == "B6"
    b01, queue, b03 = _rows(sheet, 6)
    assert (b01["网点"], b01["业务类型"], b01["每月柜员工时"], b01["状态"]) == (
        "B01", "P18 活期现金取款", 1.2, "已采纳")
    assert b01["倍数"] == pytest.approx(2.8) and b01["倍数的95%区间"] == "2.50–3.00"
    assert (b01["中位用时(秒)"], b01["参考用时(秒)"], b01["笔数"]) == (84, 30, 120)
    assert b01["数据期间"] == "61 天，截至 2026-10-31"
    assert (b01["网点已自行采取的措施"], b01["原因"], b01["负责小组"]) == (
        B01_ACTION, "系统", "国内结算组")
    assert b01["发现的问题"].startswith("柜员 0102（B01），P18 Enter transaction")
    # the shortfall: its own figures, no median or ratio; typed texts written inert
    assert (queue["倍数"], queue["中位用时(秒)"], queue["每月柜员工时"]) == (None, None, 0)
    assert queue["排队数据"] == "周一 09:00-10:30，需增开 2 个窗口; service_level 0.62"
    assert queue["负责人"] == "'" + EVIL_OWNER
    assert queue["网点已自行采取的措施"] == "'" + EVIL_ACTION
    assert queue["状态"] == "已提出"
    assert sheet.cell(row=7, column=1).fill.start_color.rgb.endswith("FCE4E4")  # overdue
    assert sheet.cell(row=6, column=1).fill.fill_type is None
    # the bank's own cause by its name; the re-measurement in Chinese
    assert (b03["原因"], b03["状态"], b03["复测结果"]) == (
        "柜台布局不合理", "已验证有效", "复测：中位用时下降 30%")
    history = _rows(book["处理记录"], 2)
    assert len(history) == sum(len(i.events) for i in register.items) == 8
    assert [(h["操作"], h["原状态"], h["新状态"]) for h in history if h["编号"] == b03["编号"]] == [
        ("提出", None, "已提出"), ("变更状态", "已提出", "已采纳"),
        ("变更状态", "已采纳", "整改中"), ("变更状态", "整改中", "已完成，待复测"),
        ("复测", "已完成，待复测", "已验证有效")]


def test_the_workbook_in_english(register: Register, tmp_path: Path) -> None:
    path = export_escalation_excel(register.items, tmp_path / "esc.xlsx", "en",
                                   home=register.home, today=TODAY)
    book = load_workbook(path)
    assert book.sheetnames == ["escalations", "item history"]
    b01, queue, b03 = _rows(book["escalations"], 6)
    assert (b01["Status"], b01["Cause"], b01["Review group"], b01["Business type"]) == (
        "Accepted", "System", "Domestic settlement", "P18 Current-account cash withdrawal")
    assert queue["Queue figures"].startswith("Monday 09:00-10:30: 2 more windows needed")
    assert (b03["Cause"], b03["Re-measurement"]) == ("Counter layout",
                                                     "re-measured: median down 30%")
    assert b01["Data period"] == "61 days to 2026-10-31"


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.rows: dict[str, list[str]] = {}
        self._row: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "tr":
            self._row = dict(attrs).get("id")
            if self._row:
                self.rows[self._row] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._row and data.strip():
            self.rows[self._row].append(data.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def test_the_page_holds_the_same_figures(register: Register, tmp_path: Path) -> None:
    zh = _parse(export_escalation_html(register.items, tmp_path / "esc.html", "zh-CN",
                                       home=register.home, today=TODAY))
    first, queue, _ = register.items
    assert zh.rows[f"row-{first.id}"] == [
        str(first.id), first.created_at.date().isoformat(), "B01", "P18 活期现金取款",
        first.subject.summary_in("zh-CN"), "1.2", "2.80", "系统", "国内结算组", "r.settle",
        "2027-01-31", "已采纳"]
    assert zh.rows[f"row-{queue.id}"][-1] == "已提出"
    text = "".join(zh.text)
    for figure in ("上报上级行的整改事项", B01_ACTION, "2.50–3.00", "61 天，截至 2026-10-31",
                   "周一 09:00-10:30，需增开 2 个窗口", "复测：中位用时下降 30%", "柜台布局不合理",
                   EVIL_OWNER, EVIL_ACTION):
        assert figure in text, figure
    # a typed text is shown as it was typed, never run
    assert "script" not in zh.tags and zh.tags.count("table") == 1 + len(register.items)
    en = _parse(export_escalation_html(register.items, tmp_path / "esc-en.html", "en",
                                       home=register.home, today=TODAY))
    assert en.rows[f"row-{first.id}"][-1] == "Accepted"
    assert "Statuses included: Proposed, Accepted, Verified; decisions: Escalate to the " \
           "superior bank" in "".join(en.text)


def test_the_report_rows_and_the_filter(register: Register) -> None:
    rows = escalation_rows(register.items, "en", home=register.home, today=TODAY)
    assert [(r["branch"], r["overdue"], r["hours"]) for r in rows] == [
        ("B01", False, 1.2), ("B02", True, 0.0), ("B03", False, 0.8)]
    assert all(i.decision == "escalate" for i in register.items)


def test_an_empty_report_says_so(tmp_path: Path) -> None:
    book = load_workbook(export_escalation_excel([], tmp_path / "none.xlsx", "zh-CN",
                                                 today=TODAY))
    sheet = book["上报事项"]
    assert sheet["B2"].value == 0 and sheet["D2"].value == 0 and sheet["F2"].value == 0
    assert sheet["A6"].value == "没有上报上级行的事项。"
    assert book["处理记录"]["A2"].value == "没有上报上级行的事项。"
    page = _parse(export_escalation_html([], tmp_path / "none.html", "en", today=TODAY))
    assert "No escalated items." in "".join(page.text) and "table" not in page.tags
