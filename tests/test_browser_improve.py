"""The improvement register in a real browser (tests/browser_kit.py): ``ops`` opens an item on a
slow step from the Slow steps page's "act on this" button and assigns it to the
accounting-and-cash group on the item's page; ``reviewer`` finds it in the register, accepts it
(decision: revise the SOP) and links the SOP revision SOP-P18 3.0; the escalation report
downloads as a workbook (openpyxl reads the escalated items in it) and as a printable page (it
opens in the browser with its title). The register's database is checked after each step.
Screenshots go to tests/artifacts/improve-*.png."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_kit import ARTIFACTS, heading, pick, sign_in, wait_quiet
from demo_kit import copy_demo_workspace

from procmine import (
    EventStore,
    SopLibrary,
    activity_names,
    escalated_items,
    finding_key,
    get_user,
    linked_findings,
    list_improvements,
    load_baseline,
    months_with_data,
    t,
)

pytestmark = pytest.mark.browser
ZH = "zh-CN"


def zh(key: str, **fmt: object) -> str:
    return t(key, ZH, **fmt)


@pytest.fixture(scope="module")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo workspace of its own (the demo seeds a few items, one escalated)."""
    home = tmp_path_factory.mktemp("browser-improve")
    copy_demo_workspace(tmp_path_factory, home)
    return home




def _shot(page: object, name: str) -> None:
    wait_quiet(page)
    page.wait_for_timeout(800)  # type: ignore[attr-defined]  # charts and grids finish drawing
    page.screenshot(path=str(ARTIFACTS / f"improve-{name}.png"), full_page=True)  # type: ignore[attr-defined]


def _no_error(page: object) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0  # type: ignore[attr-defined]


def _ops_opens_and_assigns(page: object, server: str, home: Path) -> int:
    """``ops``: Slow steps, the first P18 finding with no open item, "act on this", the form;
    then on the item's page: assign to accounting-and-cash, owner ``reviewer``."""
    ops = get_user("ops", home)
    assert ops is not None
    store = EventStore(home)   # the page opens on the latest month
    found = linked_findings(store, load_baseline(), SopLibrary.open(home),
                            month=months_with_data(store)[-1])
    taken = {i.subject.key for i in list_improvements(user=ops, home=home) if i.is_open}
    index, finding = next((n, f) for n, f in enumerate(found)
                          if f.business_type == "P18" and finding_key(f) not in taken)
    before = {i.id for i in list_improvements(user=ops, home=home)}

    sign_in(page, server, "ops")
    heading(page, "overview.title")
    page.get_by_role("link", name=zh("nav.bottlenecks"), exact=True).first.click()  # type: ignore[attr-defined]
    heading(page, "bottlenecks.title")
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)  # type: ignore[attr-defined]
    # the step by the SOP's name (the page's words)
    summary = finding.summary_in(ZH, step=activity_names(SopLibrary.open(home)).name(
        finding.activity, ZH))
    pick(page, zh("bottlenecks.drill_down"), f"{index + 1}. {summary}")
    page.get_by_role("heading", name=summary).wait_for(timeout=60_000)  # type: ignore[attr-defined]
    wait_quiet(page)
    page.get_by_role("button", name=zh("act.button")).click()  # type: ignore[attr-defined]
    change = page.get_by_label(zh("improve.form.proposed_change"))  # type: ignore[attr-defined]
    change.wait_for(timeout=60_000)
    change.fill("录入前先由柜员复读账号，减少返工")
    _shot(page, "1-ops-act-on-finding")
    page.get_by_role("button", name=zh("improve.form.submit"), exact=True).click()  # type: ignore[attr-defined]
    heading(page, "improve.item.title")
    (item_id,) = [i.id for i in list_improvements(user=ops, home=home) if i.id not in before]
    page.get_by_text(zh("improve.form.opened", id=item_id)).wait_for(timeout=60_000)  # type: ignore[attr-defined]
    assert re.search(rf"[?&]item={item_id}\b", page.url)  # type: ignore[attr-defined]
    _no_error(page)
    _shot(page, "2-ops-item-opened")

    page.get_by_text(zh("improve.act.assign"), exact=True).first.click()  # type: ignore[attr-defined]
    pick(page, zh("improve.form.group"), zh("review_groups.accounting-and-cash"))
    pick(page, zh("improve.form.owner"), "reviewer", escape=False)   # it takes new names
    page.get_by_role("button", name=zh("improve.act.assign_submit")).click()  # type: ignore[attr-defined]
    page.get_by_text(zh("improve.act.assigned", id=item_id)).wait_for(timeout=60_000)  # type: ignore[attr-defined]
    _no_error(page)
    _shot(page, "3-ops-item-assigned")
    (item,) = [i for i in list_improvements(user=ops, home=home) if i.id == item_id]
    assert (item.subject.key, item.status, item.review_group, item.owner, item.created_by) == (
        finding_key(finding), "proposed", "accounting-and-cash", "reviewer", "ops")
    assert [e.action for e in item.events] == ["add", "assign"]
    return item_id


def _reviewer_accepts_and_links(page: object, server: str, home: Path, item_id: int) -> None:
    """``reviewer``: the register, the item, accept as "revise the SOP", link SOP-P18 3.0."""
    ops = get_user("ops", home)
    assert ops is not None
    sign_in(page, server, "reviewer")
    heading(page, "bottlenecks.title")
    page.get_by_role("link", name=zh("nav.improvements"), exact=True).first.click()  # type: ignore[attr-defined]
    heading(page, "improve.page.title")
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)  # type: ignore[attr-defined]
    _no_error(page)
    _shot(page, "4-reviewer-register")
    (item,) = [i for i in list_improvements(user=ops, home=home) if i.id == item_id]
    pick(page, zh("improve.page.pick_item"),
         f"#{item_id} · {zh('improve.status.proposed')} · {item.subject.summary_in(ZH)}")
    page.get_by_role("link", name=zh("improve.page.open_item")).click()  # type: ignore[attr-defined]
    heading(page, "improve.item.title")
    page.get_by_role("button", name=zh("improve.act.accept"), exact=True).wait_for(  # type: ignore[attr-defined]
        timeout=60_000)
    pick(page, zh("improve.act.decision"), zh("improve.decision.revise_sop"))
    page.get_by_role("button", name=zh("improve.act.accept"), exact=True).click()  # type: ignore[attr-defined]
    page.get_by_text(zh("improve.act.moved", id=item_id,  # type: ignore[attr-defined]
                        status=zh("improve.status.accepted"))).wait_for(timeout=60_000)
    _no_error(page)
    _shot(page, "5-reviewer-accepted")

    version = page.get_by_label(zh("improve.act.version"), exact=True)  # type: ignore[attr-defined]
    if not version.first.is_visible():
        page.get_by_text(zh("improve.act.link"), exact=True).first.click()  # type: ignore[attr-defined]
    pick(page, zh("improve.act.sop"), "SOP-P18")
    pick(page, zh("improve.act.version"), "3.0")
    page.get_by_role("button", name=zh("improve.act.link_sop_submit")).click()  # type: ignore[attr-defined]
    page.get_by_text(zh("improve.act.linked", kind=zh("improve.link.sop_revision"),  # type: ignore[attr-defined]
                        ref="SOP-P18@3.0")).wait_for(timeout=60_000)
    page.get_by_role("link", name=zh("improve.item.sop_history", sop="SOP-P18")).wait_for(  # type: ignore[attr-defined]
        timeout=30_000)
    _no_error(page)
    _shot(page, "6-reviewer-sop-linked")
    (item,) = [i for i in list_improvements(user=ops, home=home) if i.id == item_id]
    assert (item.status, item.decision, item.sop_revision()) == (
        "accepted", "revise_sop", ("SOP-P18", "3.0"))
    assert [(e.action, e.username) for e in item.events][-2:] == [
        ("status", "reviewer"), ("link", "reviewer")]


def _report_downloads(page: object, home: Path, tmp_path: Path) -> None:
    """The register's escalation report: the workbook names every escalated item, the page
    opens with its title."""
    from openpyxl import load_workbook

    ops = get_user("ops", home)
    assert ops is not None
    escalated = escalated_items(list_improvements(user=ops, home=home))
    assert escalated
    page.get_by_role("link", name=zh("improve.item.back")).click()  # type: ignore[attr-defined]
    heading(page, "improve.page.title")
    excel = page.get_by_role("button", name=zh("improve.page.download_excel"))  # type: ignore[attr-defined]
    excel.wait_for(timeout=60_000)
    wait_quiet(page)
    with page.expect_download(timeout=60_000) as caught:  # type: ignore[attr-defined]
        excel.click()
    workbook = tmp_path / caught.value.suggested_filename
    caught.value.save_as(workbook)
    assert workbook.suffix == ".xlsx"
    sheet = load_workbook(workbook).worksheets[0]
    cells = {str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None}
    for item in escalated:
        assert str(item.id) in cells
        assert item.subject.summary_in(ZH) in cells
    with page.expect_download(timeout=60_000) as caught:  # type: ignore[attr-defined]
        page.get_by_role("button", name=zh("improve.page.download_html")).click()  # type: ignore[attr-defined]
    printable = tmp_path / caught.value.suggested_filename
    caught.value.save_as(printable)
    _shot(page, "7-register-report")
    page.goto(printable.resolve().as_uri())  # type: ignore[attr-defined]
    title = zh("improve.report.title")
    page.get_by_role("heading", name=title, level=1).wait_for(timeout=30_000)  # type: ignore[attr-defined]
    assert page.title() == title  # type: ignore[attr-defined]
    for item in escalated:
        assert page.get_by_text(item.subject.summary_in(ZH)).count() >= 1  # type: ignore[attr-defined]
    page.screenshot(path=str(ARTIFACTS / "improve-8-report-printable.png"), full_page=True)  # type: ignore[attr-defined]


def test_ops_opens_and_assigns_reviewer_accepts_and_links_the_report_downloads(
        server: str, server_home: Path, browser: object, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 2200})  # type: ignore[attr-defined]
    try:
        item_id = _ops_opens_and_assigns(page, server, server_home)
    finally:
        page.close()
    page = browser.new_page(viewport={"width": 1440, "height": 2200},  # type: ignore[attr-defined]
                            accept_downloads=True)
    try:
        _reviewer_accepts_and_links(page, server, server_home, item_id)
        _report_downloads(page, server_home, tmp_path)
    finally:
        page.close()
