"""Training results: participation, expert and pass rates (per paper, branch, month), expert
targets per person, item analysis (difficulty, the upper-lower D index, choice counts), weak
steps, a teller's loop to the slow steps and the tellers to re-test after a new SOP version."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from demo_kit import copy_demo_workspace
from sqlalchemy import select
from test_training_people import P17, REVIEWER, T0101, TRAINER, make_library, p17_version_2

from procmine.app.appdb import session_for
from procmine.core.baseline import Baseline
from procmine.sop.document import parse_sop
from procmine.sop.library import SopLibrary
from procmine.store.event_store import EventStore
from procmine.training.loop import on_new_version, retest_list, teller_loop
from procmine.training.question import Choice, Question, true_false
from procmine.training.results import (
    discrimination_index,
    expert_targets,
    item_analysis,
    monthly_rates,
    paper_results,
    weak_steps,
)
from procmine.training.roster import Trainee
from procmine.training.settings import AccessDenied, set_training_target
from procmine.training.spotchecks import add_spot_check
from procmine.training.tables import (
    AnswerRow,
    AssignmentRow,
    AttemptRow,
    PaperQuestionRow,
    PaperRow,
    QuestionRow,
)

pytestmark = pytest.mark.usefixtures("own_app_db")

# -- writing papers and attempts straight into the tables ----------------------------------------


def question(key: str, kind: str = "single", *, sop_id: str | None = None,
             step_id: str | None = None, choices: Sequence[Choice] | None = None) -> Question:
    picked = tuple(choices) if choices is not None else (
        true_false(True) if kind == "truefalse" else
        (Choice("对", 100.0), Choice("错一", 0.0), Choice("错二", 0.0)))
    return Question(key=key, kind=kind, stem=f"题目 {key}", choices=picked,
                    topic=sop_id or "regulation/aml",
                    source="generated" if sop_id else "regulation", sop_id=sop_id,
                    sop_version="1.0" if sop_id else None, step_id=step_id,
                    regulation=None if sop_id else "aml")


def make_paper(home: Path | None, questions: Sequence[Question], *, title: str = "试卷",
               due_on: date | None = None, created: date = date(2026, 10, 1),
               assigned: Sequence[tuple[str, str]] = ()) -> int:
    with session_for(home) as session:
        paper = PaperRow(title=title, created_by="trainer", due_on=due_on, pass_mark=60.0,
                         expert_mark=90.0, status="assigned",
                         created_at=datetime(created.year, created.month, created.day,
                                             tzinfo=UTC))
        session.add(paper)
        session.flush()
        for position, q in enumerate(questions, start=1):
            row = session.query(QuestionRow).filter_by(key=q.key).one_or_none()
            if row is None:
                row = QuestionRow(key=q.key, kind=q.kind, topic=q.topic, source=q.source,
                                  sop_id=q.sop_id, sop_version=q.sop_version,
                                  step_id=q.step_id, status="active",
                                  body=json.dumps(q.to_dict(), ensure_ascii=False))
                session.add(row)
                session.flush()
            session.add(PaperQuestionRow(paper_id=paper.id, position=position,
                                         question_id=row.id, question_key=q.key, revision=1,
                                         body=json.dumps(q.to_dict(), ensure_ascii=False)))
        for teller, branch in assigned:
            session.add(AssignmentRow(paper_id=paper.id, teller_id=teller, branch_id=branch,
                                      assigned_by="trainer"))
        return paper.id


def make_attempt(home: Path | None, paper_id: int, teller: str, branch: str | None,
                 score: float | None, answers: dict[int, tuple[list[int], float | None]], *,
                 status: str = "submitted", day: int = 10) -> int:
    """An attempt with answers {position: (response, credit)}."""
    started = datetime(2026, 10, day, 9, tzinfo=UTC)
    with session_for(home) as session:
        attempt = AttemptRow(paper_id=paper_id, teller_id=teller, branch_id=branch,
                             username=f"u{teller}", started_at=started,
                             deadline_at=started + timedelta(minutes=30),
                             submitted_at=None if status == "open" else started
                             + timedelta(minutes=20), status=status, score=score,
                             passed=None if score is None else score >= 60,
                             expert=None if score is None else score >= 90)
        session.add(attempt)
        session.flush()
        for position, (response, credit) in answers.items():
            session.add(AnswerRow(attempt_id=attempt.id, position=position,
                                  response=json.dumps(response), answered_at=started,
                                  credit=credit))
        return attempt.id


COUNT = question("gen:SOP-P17:1.0:count_cash:duration", sop_id="SOP-P17", step_id="count_cash")
ENTER = question("gen:SOP-P17:1.0:enter_transaction:control", "truefalse", sop_id="SOP-P17",
                 step_id="enter_transaction")
AML = question("reg:aml:large-cash", "truefalse")


@pytest.fixture
def paper(home: Path) -> int:
    """Paper 1 (due 31 October), assigned to 0101, 0102 (B01), 0103 and 0104 (B02): 0101 sat
    it twice (50, then 95), 0102 ran out of time at 70, 0103 scored exactly the expert mark
    (90), 0104 has an open attempt, 0105 (B02, not assigned) sat it and scored 40."""
    paper_id = make_paper(home, [COUNT, ENTER, AML], due_on=date(2026, 10, 31),
                          assigned=[("0101", "B01"), ("0102", "B01"), ("0103", "B02"),
                                    ("0104", "B02")])
    make_attempt(home, paper_id, "0101", "B01", 50.0,
                 {1: ([1], 0.0), 2: ([0], 1.0), 3: ([1], 0.0)}, day=10)
    make_attempt(home, paper_id, "0101", "B01", 95.0, {1: ([0], 1.0), 3: ([0], 1.0)}, day=12)
    make_attempt(home, paper_id, "0102", "B01", 70.0, {2: ([0], 1.0), 3: ([0], 1.0)},
                 status="expired")
    make_attempt(home, paper_id, "0103", "B02", 90.0,
                 {1: ([0], 1.0), 2: ([0], 1.0), 3: ([0], 1.0)})
    make_attempt(home, paper_id, "0104", "B02", None, {1: ([0], None)}, status="open")
    make_attempt(home, paper_id, "0105", "B02", 40.0, {3: ([1], 0.0)})
    return paper_id


def test_paper_rates_count_assigned_tellers_and_best_attempts(home: Path, paper: int) -> None:
    results = paper_results(paper, home=home)
    assert (results.assigned, results.participated) == (4, 4)
    assert results.participation == 0.75    # 0101, 0102, 0103 of the 4 assigned
    assert results.expert_rate == 0.5       # 0101 (95) and 0103 (90) of the 4 who took it
    assert results.pass_rate == 0.75        # 0105's 40 fails
    assert (results.participation_met, results.expert_met) == (False, False)
    by_teller = results.by_teller.set_index("teller_id")
    assert by_teller.loc["0101", ["attempts", "best_score", "expert"]].tolist() == [2, 95.0, True]
    assert by_teller.loc["0104", ["assigned", "attempts", "passed"]].tolist() == [True, 0, False]
    assert bool(by_teller.loc["0105", "assigned"]) is False
    assert results.by_branch.values.tolist() == [
        ["B01", 2, 2, 1.0, 1, 0.5, 2, 1.0],
        ["B02", 2, 2, 0.5, 1, 0.5, 1, 0.5]]
    set_training_target("participation", 0.75, user=TRAINER, home=home)
    set_training_target("expert", 0.5, user=TRAINER, home=home)
    again = paper_results(paper, home=home)
    assert (again.participation_met, again.expert_met) == (True, True)


def test_results_are_for_trainers_operations_and_reviewers(home: Path, paper: int) -> None:
    assert paper_results(paper, home=home, user=REVIEWER).assigned == 4
    with pytest.raises(AccessDenied):
        paper_results(paper, home=home, user=T0101)
    with pytest.raises(AccessDenied):
        item_analysis(paper, home=home, user=T0101)
    with pytest.raises(AccessDenied, match="sees only their own"):
        weak_steps("0103", home=home, user=T0101)
    assert not weak_steps("0101", home=home, user=T0101).empty


def test_monthly_rates_take_the_papers_due_in_the_month(home: Path, paper: int) -> None:
    undated = make_paper(home, [AML], created=date(2026, 10, 3), assigned=[("0101", "B01")])
    make_attempt(home, undated, "0101", "B01", 100.0, {1: ([0], 1.0)})
    november = make_paper(home, [AML], due_on=date(2026, 11, 1), assigned=[("0102", "B01")])
    make_attempt(home, november, "0102", "B01", 100.0, {1: ([0], 1.0)})
    october = monthly_rates("2026-10", home=home).set_index("branch_id")
    assert october.loc["all", ["papers", "assigned", "participated", "participation",
                               "experts", "expert_rate"]].tolist() == [2, 5, 5, 0.8, 3, 0.6]
    assert october.loc["B01", ["papers", "assigned", "participation", "expert_rate"]].tolist(
    ) == [2, 3, 1.0, 2 / 3]
    assert october.loc["B02", ["papers", "assigned", "participated", "participation"]].tolist(
    ) == [1, 2, 2, 0.5]
    assert bool(october.loc["B01", "participation_met"]) is True
    assert bool(october.loc["B01", "expert_met"]) is False
    assert list(october.index) == ["B01", "B02", "all"]
    assert monthly_rates("2026-11", home=home).set_index("branch_id").loc[
        "all", ["papers", "expert_rate"]].tolist() == [1, 1.0]


def test_expert_targets_count_the_papers_of_the_year_per_teller(home: Path, paper: int) -> None:
    second = make_paper(home, [AML], due_on=date(2026, 12, 31), assigned=[("0101", "B01")])
    make_attempt(home, second, "0101", "B01", 92.0, {1: ([0], 1.0)})
    next_year = make_paper(home, [AML], due_on=date(2027, 1, 1), assigned=[("0103", "B02")])
    make_attempt(home, next_year, "0103", "B02", 100.0, {1: ([0], 1.0)})
    table = expert_targets(2026, home=home, roster=[Trainee("0106", "B01")])
    assert table.values.tolist() == [["0101", 2, 2, True], ["0102", 0, 2, False],
                                     ["0103", 1, 2, False], ["0104", 0, 2, False],
                                     ["0105", 0, 2, False], ["0106", 0, 2, False]]
    set_training_target("expert_targets_per_person", 1, user=TRAINER, home=home)
    assert expert_targets(2026, home=home)["met"].tolist() == [True, False, True, False, False]


def test_the_d_index_by_hand() -> None:
    # ten participants: the groups are the top and bottom round(2.7) = 3
    scores = [100, 95, 90, 80, 70, 60, 50, 40, 30, 20]
    credits = [1, 1, 0, 1, 0, 1, 0, 1, 0, 0]
    assert discrimination_index(scores, credits) == pytest.approx(2 / 3 - 1 / 3)
    # ties on the score are broken by teller id: "a" ranks above "b"
    assert discrimination_index([50, 50], [0, 1], ["a", "b"]) == -1.0
    assert discrimination_index([50, 50], [0, 1], ["b", "a"]) == 1.0
    assert discrimination_index([80], [1]) is None


def test_item_analysis_by_hand(home: Path) -> None:
    multiple = question("reg:aml:multi", "multiple", choices=[
        Choice("甲", 50.0), Choice("乙", 50.0), Choice("丙", -100.0)])
    ordering = question("reg:aml:order", "ordering", choices=[
        Choice("一", 100.0), Choice("二", 100.0), Choice("三", 100.0)])
    single = question("reg:aml:single")
    paper_id = make_paper(home, [single, multiple, ordering])
    # eight tellers scoring 100 .. 30; t8 leaves the single-choice item out
    plan = {  # teller: (score, {position: (response, credit)})
        "t1": (100, {1: ([0], 1.0), 2: ([0, 1], 1.0), 3: ([0, 1, 2], 1.0)}),
        "t2": (90, {1: ([0], 1.0), 2: ([0], 0.5), 3: ([1, 0, 2], 0.0)}),
        "t3": (80, {1: ([1], 0.0), 2: ([0, 1], 1.0)}),
        "t4": (70, {1: ([0], 1.0), 2: ([2], 0.0)}),
        "t5": (60, {1: ([2], 0.0), 2: ([1], 0.5)}),
        "t6": (50, {1: ([0], 1.0), 2: ([2], 0.0)}),
        "t7": (40, {1: ([0], 1.0), 2: ([2], 0.0)}),
        "t8": (30, {2: ([2], 0.0)}),
    }
    for teller, (score, answers) in plan.items():
        make_attempt(home, paper_id, teller, "B01", float(score), answers)
    # t1's later, worse attempt is not their best: it does not count
    make_attempt(home, paper_id, "t1", "B01", 20.0, {1: ([1], 0.0)}, day=20)
    items = item_analysis(paper_id, home=home).set_index("position")
    assert items["answered"].tolist() == [7, 8, 2]
    assert items["difficulty"].tolist() == pytest.approx([5 / 8, 3 / 8, 1 / 8])
    # groups of round(0.27 * 8) = 2: upper t1, t2; lower t7, t8
    assert items["discrimination"].tolist() == pytest.approx([1 - 0.5, 0.75 - 0.0, 0.5 - 0.0])
    assert items.loc[1, "choice_counts"] == {0: 5, 1: 1, 2: 1}
    assert items.loc[2, "choice_counts"] == {0: 3, 1: 3, 2: 4}
    assert items.loc[3, "choice_counts"] == {0: 1, 1: 1, 2: 2}  # items put in their place
    assert items.loc[1, "key"] == "reg:aml:single"


def test_weak_steps_count_asked_and_missed_per_sop_step(home: Path, paper: int) -> None:
    later = make_paper(home, [COUNT], assigned=[("0101", "B01")])
    make_attempt(home, later, "0101", "B01", 50.0, {1: ([0, 1], 0.5)})
    weak = weak_steps("0101", home=home)
    # count_cash: missed in the first attempt and (half credit) in the later paper; right in
    # the second. enter_transaction: right, then left unanswered. The AML item names no step.
    assert weak.values.tolist() == [["SOP-P17", "count_cash", 3, 2, 2 / 3],
                                    ["SOP-P17", "enter_transaction", 2, 1, 0.5]]
    assert weak_steps("0104", home=home).empty  # an open attempt is not graded yet


def test_retest_lists_exactly_the_tellers_who_answered_a_changed_step(home: Path,
                                                                      paper: int) -> None:
    old, new = parse_sop(P17), parse_sop(p17_version_2())
    retest = retest_list(old, new, home=home)
    # count_cash changed (and recount is new); enter_transaction did not. 0102 answered only
    # enter_transaction, 0104's answer is in an open attempt, 0105 answered only the AML item.
    assert retest["teller_id"].tolist() == ["0101", "0103"]
    assert retest["branch_id"].tolist() == ["B01", "B02"]
    assert retest["question_keys"].tolist() == [[COUNT.key], [COUNT.key]]
    assert retest_list(old, old, home=home).empty


def test_a_new_version_reopens_its_changed_questions_and_lists_the_tellers(
        tmp_path: Path, home: Path, paper: int) -> None:
    library = make_library(tmp_path, home)
    report = on_new_version(library, "SOP-P17", actor="trainer", home=home)
    assert (report.old_version, report.new_version) == ("1.0", "2.0")
    assert report.reopened == [COUNT.key]  # enter_transaction did not change
    assert report.tellers["teller_id"].tolist() == ["0101", "0103"]
    with session_for(home) as session:
        statuses = dict(session.execute(select(QuestionRow.key, QuestionRow.status)).all())
    assert statuses == {COUNT.key: "stale", ENTER.key: "active", AML.key: "active"}
    once = on_new_version(library, "SOP-P18", actor="trainer", home=home)
    assert (once.old_version, once.reopened, once.tellers.empty) == (None, [], True)


# -- the loop on the demo workspace --------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EventStore, SopLibrary]]:
    home = tmp_path_factory.mktemp("loop") / "workspace"
    copy_demo_workspace(tmp_path_factory, home)
    yield EventStore(home), SopLibrary.open(home)


def test_the_loop_puts_slow_and_missed_steps_side_by_side(
        home: Path, demo: tuple[EventStore, SopLibrary], baseline: Baseline) -> None:
    store, library = demo
    # 0102 is slow on SOP-P18's enter_transaction in the demo log (see procmine.sop.links)
    step = question("gen:SOP-P18:3.0:enter_transaction:control", sop_id="SOP-P18",
                    step_id="enter_transaction")
    other = question("gen:SOP-P18:3.0:call_number:next_step", sop_id="SOP-P18",
                     step_id="call_number")
    paper_id = make_paper(home, [step, other], assigned=[("0102", "B01")])
    make_attempt(home, paper_id, "0102", "B01", 50.0, {1: ([1], 0.0), 2: ([0], 1.0)})
    version = library.approved("SOP-P18")
    assert version is not None
    add_spot_check(user=TRAINER, teller_id="0102", sop_id="SOP-P18",
                   sop_version=version.sop.version,
                   steps_observed=["call_number", "enter_transaction"],
                   steps_wrong=["enter_transaction"], library=library, home=home)
    loop = teller_loop("0102", store=store, baseline=baseline, library=library, home=home,
                       month="2026-10")
    first = loop.iloc[0]
    assert (first["sop_id"], first["step_id"], first["activity"]) == (
        "SOP-P18", "enter_transaction", "Enter transaction")
    assert first["slow_ratio"] > 1.5
    assert (first["quiz_asked"], first["quiz_missed"], first["spot_observed"],
            first["spot_wrong"]) == (1, 1, 1, 1)
    calls = loop[(loop["sop_id"] == "SOP-P18") & (loop["step_id"] == "call_number")].iloc[0]
    assert (calls["quiz_asked"], calls["quiz_missed"], calls["spot_wrong"]) == (1, 0, 0)
