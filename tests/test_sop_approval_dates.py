"""The reviewer chooses an approval's dates (issue 17): the effective date and the branches'
adoption dates, the draft's by default; a date that has passed is refused with its code, never
moved to the day of approval. And the command line's --effective and --adopt."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from procmine import (
    DEMO_PASSWORD,
    SopLibrary,
    WorkflowError,
    error_text,
    review_standing,
    seed_demo_users,
    set_adoption,
    set_fields,
)
from procmine.cli.main import app
from tests.test_sop_library import ALICE, BOB, SOP_TEXT

DRAFT_DAY = date(2026, 10, 1)  # the day the draft is written and approved


def _library(home: Path, *, adoption: dict[str, date] | None = None) -> SopLibrary:
    """A library with SOP-P17 in review: effective 2026-10-12 (and the adoption dates)."""
    seed = home / "seed"
    seed.mkdir(parents=True)
    (seed / "SOP-P17.md").write_text(SOP_TEXT, encoding="utf-8")
    library = SopLibrary.open(home, seed=seed)
    head = library.current("SOP-P17")
    text = set_fields(head.sop.text.replace("叫号，", "叫号后，"), effective=date(2026, 10, 12))
    if adoption:
        text = set_adoption(text, adoption)
    library.save("SOP-P17", text, user=ALICE, note="Wording", base=head.commit, today=DRAFT_DAY)
    library.submit("SOP-P17", user=ALICE, today=DRAFT_DAY)
    return library


def test_approval_keeps_the_drafts_dates_by_default(tmp_path: Path) -> None:
    library = _library(tmp_path, adoption={"B01": date(2026, 10, 5)})
    approved = library.approve("SOP-P17", user=BOB, today=DRAFT_DAY)
    assert approved.sop.effective == date(2026, 10, 12)
    assert approved.sop.adoption == {"B01": date(2026, 10, 5)}
    assert approved.sop.review_due == date(2027, 3, 1)  # after the effective date: kept


def test_the_reviewer_chooses_the_effective_and_adoption_dates(tmp_path: Path) -> None:
    library = _library(tmp_path, adoption={"B01": date(2026, 10, 5), "B04": date(2026, 10, 19)})
    approved = library.approve("SOP-P17", user=BOB, today=DRAFT_DAY,
                               effective=date(2027, 4, 1),
                               adoption={"B04": date(2027, 5, 3), "B06": date(2027, 4, 20)})
    sop = approved.sop
    assert sop.effective == date(2027, 4, 1)
    # B01 keeps the draft's date; B04 gets the reviewer's; B06 is added
    assert sop.adoption == {"B01": date(2026, 10, 5), "B04": date(2027, 5, 3),
                            "B06": date(2027, 4, 20)}
    # the review date was not after the new effective date: a year after it
    assert sop.review_due == date(2028, 4, 1)
    assert library.in_force("SOP-P17", date(2027, 4, 25), branch="B06") == approved
    assert library.in_force("SOP-P17", date(2027, 4, 25), branch="B04").sop.version == "1.2"  # type: ignore[union-attr]


def test_a_date_that_has_passed_is_refused_with_its_code(tmp_path: Path) -> None:
    library = _library(tmp_path, adoption={"B01": date(2026, 10, 5)})
    # the draft's own date has passed on the day of approval: refused, not moved
    with pytest.raises(WorkflowError) as caught:
        library.approve("SOP-P17", user=BOB, today=date(2026, 10, 20))
    assert caught.value.code == "sop.effective_passed"
    assert caught.value.params == {"sop_id": "SOP-P17", "day": "2026-10-12",
                                   "today": "2026-10-20"}
    assert error_text(caught.value, "zh-CN") == (
        "SOP-P17 的生效日期 2026-10-12 已过，请选择今天（2026-10-20）或以后的日期")
    assert error_text(caught.value, "en") == (
        "SOP-P17: the effective date 2026-10-12 has passed; choose today (2026-10-20) or later")
    # a chosen effective date that has passed, too
    with pytest.raises(WorkflowError) as caught:
        library.approve("SOP-P17", user=BOB, today=DRAFT_DAY, effective=date(2026, 9, 30))
    assert caught.value.params["day"] == "2026-09-30"
    # the draft's B01 date has passed on 2026-10-06 even though the chosen effective has not
    with pytest.raises(WorkflowError) as caught:
        library.approve("SOP-P17", user=BOB, today=date(2026, 10, 6))
    assert caught.value.code == "sop.adoption_passed"
    assert caught.value.params["branch"] == "B01"
    assert "B01" in error_text(caught.value, "zh-CN")
    # nothing was approved; today itself is allowed
    assert library.current("SOP-P17").sop.status == "in_review"
    approved = library.approve("SOP-P17", user=BOB, today=date(2026, 10, 6),
                               adoption={"B01": date(2026, 10, 6)})
    assert approved.sop.adoption == {"B01": date(2026, 10, 6)}


def test_review_standing_marks_overdue() -> None:
    assert review_standing(date(2026, 10, 16), date(2026, 12, 5)) == ("overdue", 50)
    assert review_standing(date(2026, 12, 5), date(2026, 12, 5)) == ("today", 0)
    assert review_standing(date(2026, 12, 7), date(2026, 12, 5)) == ("due_in", 2)


def test_the_command_line_approves_on_the_chosen_dates(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    seed_demo_users(home)
    library = _library(home, adoption={"B01": date(2026, 10, 5)})
    runner = CliRunner()
    base = ["sop", "approve", "SOP-P17", "--user", "reviewer2", "--password-stdin",
            "--home", str(home), "--today", "2026-10-01"]
    refused = runner.invoke(app, [*base, "--effective", "2026-09-01"], input=DEMO_PASSWORD)
    assert isinstance(refused.exception, WorkflowError)
    assert "2026-09-01 has passed" in str(refused.exception)
    bad = runner.invoke(app, [*base, "--adopt", "B01:2026-11-01"], input=DEMO_PASSWORD)
    assert bad.exit_code != 0 and "BRANCH=YYYY-MM-DD" in str(bad.exception)
    done = runner.invoke(app, [*base, "--effective", "2026-11-02", "--adopt", "B01=2026-10-20",
                               "--adopt", "B02=2026-12-01", "--json"], input=DEMO_PASSWORD)
    assert done.exit_code == 0, done.output
    sop = library.current("SOP-P17").sop
    assert (sop.status, sop.effective) == ("approved", date(2026, 11, 2))
    assert sop.adoption == {"B01": date(2026, 10, 20), "B02": date(2026, 12, 1)}
