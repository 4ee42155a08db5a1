"""Papers: built from active questions only, spread evenly over the chosen topics, frozen
copies that later bank edits do not change, marks and time limits checked, assignments to
tellers, branches or everyone (once each), and the papers a teller sees with their state. On
SQLite and PostgreSQL (``own_app_db``)."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from procmine.app.appdb import list_audit
from procmine.app.auth import User, add_user
from procmine.core.errors import ProcmineError
from procmine.sop.library import SopLibrary
from procmine.sop.repository import bundled_sops_dir
from procmine.training.attempts import start_attempt, submit_attempt
from procmine.training.bank import (
    edit_question,
    list_questions,
    set_question_status,
    sync_bank,
    sync_questions,
)
from procmine.training.exchange import regulation_bank
from procmine.training.papers import (
    assign_paper,
    build_paper,
    close_paper,
    get_paper,
    list_papers,
    papers_for_teller,
)
from procmine.training.question import REGULATIONS, Question, true_false
from procmine.training.roster import Trainee

PASSWORD = "s3cret-pass-x"
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ROSTER = [Trainee("0101", "B01", "z.li"), Trainee("0102", "B01"), Trainee("0201", "B02"),
          Trainee("0202", "B02"), Trainee("0301", "B03")]


def reg(area: str, n: int) -> Question:
    return Question(key=f"reg:{area}:{n:02d}", kind="truefalse", stem=f"{area} 第{n}题",
                    choices=true_false(n % 2 == 0), topic=f"regulation/{area}",
                    source="regulation", regulation=area)


def gen(sop_id: str, n: int) -> Question:
    return Question(key=f"gen:{sop_id}:1.0:s{n}:duration", kind="truefalse",
                    stem=f"{sop_id} 第{n}步", choices=true_false(True), topic=sop_id,
                    source="generated", sop_id=sop_id, sop_version="1.0", step_id=f"s{n}",
                    template="duration")


@pytest.fixture
def trainer(own_app_db: None, home: Path) -> User:
    return add_user("t.wang", PASSWORD, "trainer", home=home)


@pytest.fixture
def teller(own_app_db: None, home: Path) -> User:
    return add_user("z.li", PASSWORD, "teller", teller_id="0101", branch_id="B01", home=home)


@pytest.fixture
def bank(own_app_db: None, home: Path) -> None:
    """10 aml and 2 cash questions active, 3 aml new (not reviewed), 1 cash retired."""
    sync_questions([reg("aml", n) for n in range(10)] + [reg("cash", 0), reg("cash", 1)],
                   actor="sys", status="active", home=home)
    sync_questions([reg("aml", n) for n in range(10, 13)], actor="sys", home=home)
    sync_questions([reg("cash", 2)], actor="sys", status="retired", home=home)


def test_a_paper_spreads_its_questions_evenly_over_the_topics_from_active_ones_only(
        bank: None, trainer: User, home: Path) -> None:
    paper = build_paper(title="反洗钱与现金", user=trainer, regulations=["aml", "cash"],
                        count=6, seed=7, home=home)
    areas = [q.regulation for q in paper.questions]
    assert areas[:4] == ["aml", "cash", "aml", "cash"]  # round-robin while both last
    assert Counter(areas) == {"aml": 4, "cash": 2}
    keys = {q.key for q in paper.questions}
    assert len(keys) == 6
    assert all(int(k[-2:]) < 10 for k in keys if k.startswith("reg:aml"))  # not the new ones
    assert "reg:cash:02" not in keys  # nor the retired one
    assert (paper.status, paper.assigned, paper.selection["seed"]) == ("draft", 0, 7)
    again = build_paper(title="again", user=trainer, regulations=["aml", "cash"], count=6,
                        seed=7, home=home)
    assert [q.key for q in again.questions] == [q.key for q in paper.questions]
    with pytest.raises(ProcmineError, match=r"only 12 active questions on the chosen topics "
                                            r"\(aml, cash\); asked for 13"):
        build_paper(title="too many", user=trainer, regulations=["aml", "cash"], count=13,
                    home=home)
    assert [e.detail for e in list_audit(home, action="quiz.paper_build")][-1] == (
        f"paper {paper.id} '反洗钱与现金': 6 questions from aml, cash")


def test_a_paper_keeps_its_questions_when_the_bank_changes_later(
        bank: None, trainer: User, home: Path) -> None:
    paper = build_paper(title="现金", user=trainer, regulations=["cash"], count=2, home=home)
    before = get_paper(paper.id, home=home).questions
    edited = replace(reg("cash", 0), stem="改过的题干", choices=true_false(False))
    edit_question("reg:cash:00", edited, user=trainer, note="", home=home)
    set_question_status("reg:cash:01", "retired", user=trainer, home=home)
    after = get_paper(paper.id, home=home).questions
    assert after == before
    assert {q.stem for q in after} == {"cash 第0题", "cash 第1题"}
    frozen = next(q for q in after if q.key == "reg:cash:00")
    assert [c.text for c in frozen.correct_choices()] == ["正确"]


def test_marks_time_limits_and_roles_are_checked(bank: None, trainer: User, teller: User,
                                                 home: Path) -> None:
    def build(**kw: object) -> None:
        args: dict[str, object] = {"title": "t", "user": trainer, "regulations": ["aml"],
                                   "count": 2, "home": home}
        build_paper(**{**args, **kw})  # type: ignore[arg-type]

    with pytest.raises(ProcmineError, match="pass mark <= expert mark"):
        build(pass_mark=95.0, expert_mark=90.0)
    with pytest.raises(ProcmineError, match="0 < pass mark"):
        build(pass_mark=0.0)
    with pytest.raises(ProcmineError, match="expert mark <= 100"):
        build(expert_mark=100.5)
    with pytest.raises(ProcmineError, match=r"1 to 240 minutes \(got 241\)"):
        build(time_limit_minutes=241)
    with pytest.raises(ProcmineError, match=r"1 to 240 minutes \(got 0\)"):
        build(time_limit_minutes=0)
    with pytest.raises(ProcmineError, match="only a trainer or operations may build a paper"):
        build(user=teller)
    with pytest.raises(ProcmineError, match="unknown regulation area 'tax'"):
        build(regulations=["tax"])
    with pytest.raises(ProcmineError, match="choose the paper's SOPs"):
        build(regulations=[])
    with pytest.raises(ProcmineError, match="no active question on SOP-P71, savings in the bank"):
        build(sops=["SOP-P71"], regulations=["aml", "savings"])
    build(pass_mark=90.0, expert_mark=90.0, time_limit_minutes=240)  # the edges are allowed
    assert len(list_papers(home=home)) == 1


def test_review_groups_pick_the_sops_they_own(own_app_db: None, trainer: User,
                                              home: Path) -> None:
    # domestic-settlement owns SOP-C46, C47, P26, P27, P28 and P38 in the bundled library
    sync_questions([gen(s, n) for s in ("SOP-P26", "SOP-P38", "SOP-P17") for n in range(3)],
                   actor="sys", status="active", home=home)
    library = SopLibrary.open(home)
    paper = build_paper(title="结算", user=trainer, groups=["domestic-settlement"], count=6,
                        seed=1, library=library, home=home)
    assert Counter(q.sop_id for q in paper.questions) == {"SOP-P26": 3, "SOP-P38": 3}
    with pytest.raises(ProcmineError, match=r"only 6 active questions .*asked for 7"):
        build_paper(title="x", user=trainer, groups=["domestic-settlement"], count=7,
                    library=library, home=home)
    with pytest.raises(ProcmineError, match="unknown review group 'hr'"):
        build_paper(title="x", user=trainer, groups=["hr"], library=library, home=home)
    mixed = build_paper(title="混合", user=trainer, sops=["SOP-P17"],
                        groups=["domestic-settlement"], count=9, seed=2, library=library,
                        home=home)
    assert Counter(q.sop_id for q in mixed.questions) == {"SOP-P17": 3, "SOP-P26": 3,
                                                          "SOP-P38": 3}


def test_assigning_to_tellers_branches_or_everyone_is_done_once(
        bank: None, trainer: User, teller: User, home: Path) -> None:
    paper = build_paper(title="p", user=trainer, regulations=["aml"], count=3, home=home)
    with pytest.raises(ProcmineError, match="teller 9999 is not on the roster"):
        assign_paper(paper.id, user=trainer, roster=ROSTER, tellers=["9999"], home=home)
    with pytest.raises(ProcmineError, match="branch B09 has no teller on the roster"):
        assign_paper(paper.id, user=trainer, roster=ROSTER, branches=["B09"], home=home)
    with pytest.raises(ProcmineError, match="only a trainer or operations may assign"):
        assign_paper(paper.id, user=teller, roster=ROSTER, everyone=True, home=home)
    with pytest.raises(ProcmineError, match="choose the tellers"):
        assign_paper(paper.id, user=trainer, roster=ROSTER, home=home)
    assert get_paper(paper.id, home=home).status == "draft"
    assert assign_paper(paper.id, user=trainer, roster=ROSTER, tellers=["0301"],
                        branches=["B02"], home=home) == 3
    assert assign_paper(paper.id, user=trainer, roster=ROSTER, branches=["B02"],
                        home=home) == 0
    assert assign_paper(paper.id, user=trainer, roster=ROSTER, everyone=True, home=home) == 2
    after = get_paper(paper.id, home=home)
    assert (after.status, after.assigned) == ("assigned", 5)
    assert [e.detail for e in list_audit(home, action="quiz.paper_assign")] == [
        f"paper {paper.id}: 2 tellers (everyone)", f"paper {paper.id}: 0 tellers of B02",
        f"paper {paper.id}: 3 tellers of B02"]
    close_paper(paper.id, user=trainer, home=home)
    with pytest.raises(ProcmineError, match=f"paper {paper.id} is closed"):
        assign_paper(paper.id, user=trainer, roster=ROSTER, everyone=True, home=home)


def test_a_teller_sees_their_assigned_papers_with_their_state(
        bank: None, trainer: User, teller: User, home: Path) -> None:
    def paper(title: str, due_on: date | None = None) -> int:
        return build_paper(title=title, user=trainer, regulations=["aml"], count=2,
                           due_on=due_on, home=home).id

    draft = paper("draft")
    late, soon, taking, done = (paper("late", date(2026, 11, 1)), paper("soon", date(2026, 11, 2)),
                                paper("taking"), paper("done"))
    others = paper("others")
    for p in (late, soon, taking, done):
        assign_paper(p, user=trainer, roster=ROSTER, tellers=["0101"], home=home)
    assign_paper(others, user=trainer, roster=ROSTER, tellers=["0102"], home=home)
    finished = start_attempt(done, user=teller, home=home, now=NOW)
    result = submit_attempt(finished.id, user=teller, home=home, now=NOW)
    current = start_attempt(taking, user=teller, home=home, now=NOW)
    seen = {tp.paper.title: (tp.state, tp.attempt_id, tp.score)
            for tp in papers_for_teller("0101", home=home, now=NOW)}
    assert seen == {"late": ("overdue", None, None), "soon": ("to_do", None, None),
                    "taking": ("in_progress", current.id, None),
                    "done": ("done", finished.id, result.score)}
    assert draft not in {tp.paper.id for tp in papers_for_teller("0101", home=home, now=NOW)}
    close_paper(soon, user=trainer, home=home)
    states = {tp.paper.title: tp.state for tp in papers_for_teller("0101", home=home, now=NOW)}
    assert states["soon"] == "overdue"


def test_a_paper_from_the_synced_bank_draws_evenly_from_sops_and_regulation_areas(
        own_app_db: None, trainer: User, home: Path, tmp_path: Path) -> None:
    seed = tmp_path / "seed"
    seed.mkdir()
    for sop_id in ("SOP-P17", "SOP-P18"):
        shutil.copy(bundled_sops_dir() / f"{sop_id}.md", seed)
    library = SopLibrary.open(home, seed=seed)
    sync_bank(library, actor="sys", status="active", today=date(2026, 10, 1), home=home)
    regulation = list_questions(source="regulation", home=home)
    assert len(regulation) == len(regulation_bank()) > 0
    assert {b.question.regulation for b in regulation} == set(REGULATIONS)
    paper = build_paper(title="月度测试", user=trainer, sops=["SOP-P17", "SOP-P18"],
                        regulations=REGULATIONS, count=14, seed=2026, library=library,
                        home=home)
    topics = Counter(q.sop_id or q.regulation for q in paper.questions)
    assert topics == {"SOP-P17": 2, "SOP-P18": 2, **{area: 2 for area in REGULATIONS}}
    assert [q.sop_id or q.regulation for q in paper.questions[:7]] == [
        "SOP-P17", "SOP-P18", *REGULATIONS]
