"""The training pages through AppTest: a trainer's question bank, papers, results and spot
checks; a teller's SOPs (acknowledged), a paper taken from start to result with every answer
saved as given and back after a reload, the review queue; and the closed book: no SOP page for a
teller while their attempt is open, checked on the server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import apptest
import pytest
from apptest import signed_in
from demo_kit import copy_demo_workspace
from streamlit.testing.v1 import AppTest

from procmine import (
    EventStore,
    SopLibrary,
    User,
    assign_paper,
    attempt_result,
    build_paper,
    get_attempt,
    list_papers,
    list_questions,
    list_spot_checks,
    open_attempt,
    paper_results,
    pending_acknowledgements,
    start_attempt,
    step_names,
    submit_attempt,
    t,
    teller_roster,
    teller_types,
)
from procmine.app.i18n import load_messages

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
PAGES = "procmine/dashboard/pages"


def zh(key: str, **fmt: object) -> str:
    return t(key, "zh-CN", **fmt)


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workspace (its bank is active: the demo seeds it)."""
    home = tmp_path_factory.mktemp("training-pages")
    copy_demo_workspace(tmp_path_factory, home)
    assert list_questions(status="active", home=home)
    return home


@pytest.fixture
def home(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROCMINE_HOME", str(demo_home))
    return demo_home


def user(role: str, home: Path) -> User:
    return signed_in(role, home)


def app_as(role: str, home: Path) -> AppTest:
    return apptest.app_as(role, home, timeout=120)


def open_page(role: str, home: Path, script: str) -> AppTest:
    at = app_as(role, home).run()
    at.switch_page(f"{PAGES}/{script}").run()
    assert not at.exception, at.exception
    return at


def new_paper(home: Path, title: str, count: int = 3) -> int:
    """A paper of ``count`` questions on SOP-P17, assigned to the ``teller`` account (0101)."""
    trainer = user("trainer", home)
    paper = build_paper(title=title, user=trainer, sops=("SOP-P17",), count=count,
                        time_limit_minutes=30, shuffle=True, seed=7,
                        library=SopLibrary.open(home), home=home)
    assign_paper(paper.id, user=trainer, roster=teller_roster(EventStore(home), home=home),
                 tellers=("0101",), home=home)
    return paper.id


def finish_open_attempt(home: Path) -> None:
    teller = user("teller", home)
    view = open_attempt("0101", home=home)
    if view is not None:
        submit_attempt(view.id, user=teller, home=home)


def test_closed_book_pages_are_refused_during_an_attempt(home: Path) -> None:
    finish_open_attempt(home)
    paper_id = new_paper(home, "闭卷检查")
    teller = user("teller", home)
    at = open_page("teller", home, "my_sops.py")
    assert [ti.value for ti in at.title] == [zh("my_sops.title")]
    view = start_attempt(paper_id, user=teller, home=home)
    for script in ("my_sops.py", "baseline.py", "my_review.py", "my_figures.py"):
        at = open_page("teller", home, script)
        assert [e.value for e in at.error] == [zh("closed_book.refused")]
        # nothing of the SOPs was drawn: no title, no table, no document
        assert not at.title and not at.dataframe and not at.get("html")
    # signed in during the attempt, the teller lands on the paper
    landing = app_as("teller", home).run()
    assert [ti.value for ti in landing.title] == [zh("take.title")]
    # opened directly (as a URL would), the page refuses on the server too
    direct = AppTest.from_file(str(REPO / PAGES / "my_sops.py"), default_timeout=60)
    direct.session_state["procmine_user"] = teller
    direct.run()
    assert [e.value for e in direct.error] == [zh("closed_book.refused")]
    # a trainer is not in an attempt: their SOP pages stay open
    assert not open_page("trainer", home, "sop_library.py").error
    submit_attempt(view.id, user=teller, home=home)
    at = open_page("teller", home, "my_sops.py")
    assert not at.error and [ti.value for ti in at.title] == [zh("my_sops.title")]


def _answer_first_choices(at: AppTest, attempt_id: int) -> None:
    """Give an answer to every item of the open attempt through its widgets."""
    view = open_attempt("0101")
    assert view is not None and view.id == attempt_id
    for item in view.items:
        key = f"take_{attempt_id}_{item.position}"
        if item.kind in ("single", "truefalse"):
            at.radio(key=key).set_value(0).run()
        elif item.kind == "multiple":
            at.checkbox(key=f"{key}_0").check().run()
        else:
            for i in range(len(item.choices)):
                at.selectbox(key=f"{key}_{i}").set_value(len(item.choices) - i).run()
        assert not at.exception, at.exception


def test_a_teller_takes_a_paper_from_start_to_result(home: Path) -> None:
    finish_open_attempt(home)
    paper_id = new_paper(home, "页面考试", count=4)
    teller = user("teller", home)
    at = open_page("teller", home, "take_paper.py")
    at.button(key=f"take_start_{paper_id}").click().run()
    assert not at.exception, at.exception
    view = open_attempt("0101")
    assert view is not None and view.paper_id == paper_id and view.answered == 0
    _answer_first_choices(at, view.id)
    # every answer is in the app database as soon as it is given
    saved = get_attempt(view.id, user=teller)
    assert saved.answered == len(saved.items) == 4
    for item in saved.items:
        assert item.response is not None
        if item.kind != "ordering":  # the first choice shown (ticked alone when multiple)
            assert item.response == (item.choice_ids[0],)
        else:  # positions n..1: the items shown last first
            assert item.response == tuple(reversed(item.choice_ids))
    # a reload is a new session: the open attempt comes back with its answers
    again = open_page("teller", home, "take_paper.py")
    for item in saved.items:
        key = f"take_{view.id}_{item.position}"
        if item.kind in ("single", "truefalse"):
            assert again.radio(key=key).value == 0
        elif item.kind == "multiple":
            assert again.checkbox(key=f"{key}_0").value is True
        else:
            assert again.selectbox(key=f"{key}_0").value == len(item.choices)
    metrics = {m.label: m.value for m in again.metric}
    assert metrics[zh("take.answered")] == "4 / 4"
    # submit asks first, then grades
    again.button(key="take_submit").click().run()
    assert [w.value for w in again.warning] == [zh("take.confirm_all")]
    again.button(key="take_confirm_yes").click().run()
    assert not again.exception, again.exception
    assert open_attempt("0101") is None
    result = attempt_result(view.id, user=teller)
    metrics = {m.label: m.value for m in again.metric}
    assert metrics[zh("take.score")] == f"{result.score:.1f}"
    assert metrics[zh("take.passed")] == zh("training.yes" if result.passed else "training.no")
    missed = [i for i in result.items if i.credit < 1]
    shown = [m.value for m in again.markdown]
    for item in missed:
        assert zh("take.right_answer", answer=" / ".join(item.right_texts)) in shown \
            or any(" / ".join(item.right_texts) in s for s in shown)


def test_a_trainer_builds_and_assigns_a_paper_on_the_page(home: Path) -> None:
    at = open_page("trainer", home, "papers.py")
    at.text_input(key="papers_title").input("页面组卷")
    at.multiselect(key="papers_sops").set_value(["SOP-P17"])
    at.number_input(key="papers_count").set_value(3)
    at.button[0].click().run()  # the form's submit button comes first
    assert not at.exception, at.exception
    paper = next(p for p in list_papers() if p.title == "页面组卷")
    assert len(paper.questions) == 3 and paper.status == "draft"
    assert at.selectbox(key="papers_pick").value == paper.id
    at.multiselect(key="papers_tellers").set_value(["0101"])
    submit = next(b for b in at.button if b.label == zh("papers.assign"))
    submit.click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [zh("papers.assigned_to", n=1, title="页面组卷")]
    paper = next(p for p in list_papers() if p.title == "页面组卷")
    assert paper.assigned == 1 and paper.status == "assigned"


def test_a_build_error_is_shown_not_raised(home: Path) -> None:
    at = open_page("trainer", home, "papers.py")
    at.text_input(key="papers_title").input("太多题")
    at.multiselect(key="papers_sops").set_value(["SOP-P17"])
    at.number_input(key="papers_count").set_value(200)
    at.button[0].click().run()
    assert not at.exception
    # the library's refusal in the user's language: so many questions on SOP-P17, not 200
    pattern = re.escape(zh("error.training.too_few_questions", available="@", count=200))
    assert len(at.error) == 1
    assert re.fullmatch(pattern.replace("@", r"\d+"), at.error[0].value)


def test_training_results_show_the_library_figures(home: Path) -> None:
    papers = list_papers()
    assert papers
    at = open_page("trainer", home, "training_results.py")
    paper_id = at.selectbox(key="results_paper").value
    assert paper_id == max(p.id for p in papers)
    expected = paper_results(paper_id)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[zh("results.participated")] == \
        f"{expected.participated} / {expected.assigned}"
    rate = "–" if expected.participation is None else f"{expected.participation:.1%}"
    assert metrics[zh("results.participation")] == rate
    # the branch chart: participation and expert rate with the target lines
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [trace["name"] for trace in chart["data"]]
    assert names == [zh("results.participation"), zh("results.expert_rate")]
    assert [s["y0"] for s in chart["layout"]["shapes"]] == [100.0, 98.0]


def test_a_spot_check_is_recorded_from_the_page(home: Path) -> None:
    trainer = user("trainer", home)
    before = len(list_spot_checks(user=trainer, teller_id="0102"))
    at = open_page("trainer", home, "spot_checks.py")
    at.selectbox(key="spot_teller").set_value("0102").run()
    at.selectbox(key="spot_sop").set_value("SOP-P17").run()
    commit = at.selectbox(key="spot_version_SOP-P17").value
    wrong = at.multiselect(key=f"spot_wrong_{commit}")
    sop = next(v.sop for v in SopLibrary.open(home).history("SOP-P17") if v.commit == commit)
    step_id = sop.steps[1].id
    assert wrong.options[1] == f"2. {step_names(sop)[step_id]['zh']}"   # number and name
    wrong.set_value([step_id])
    at.number_input(key="spot_seconds").set_value(95.0)
    at.text_area(key="spot_note").input("页面抽查")
    next(b for b in at.button if b.label == zh("spot.record")).click().run()
    assert not at.exception, at.exception
    checks = list_spot_checks(user=trainer, teller_id="0102")
    assert len(checks) == before + 1
    check = checks[0]
    assert (check.sop_id, check.steps_wrong, check.passed, check.seconds, check.note) == \
        ("SOP-P17", (step_id,), False, 95.0, "页面抽查")
    assert [s.value for s in at.success] == [
        zh("spot.recorded_failed", teller="0102", sop="SOP-P17")]


def test_a_teller_acknowledges_a_new_version_on_my_sops(home: Path) -> None:
    library = SopLibrary.open(home)
    teller = user("teller", home)
    types = teller_types(EventStore(home), "0101")
    pending = pending_acknowledgements("0101", teller.branch_id, types, library=library)
    at = open_page("teller", home, "my_sops.py")
    assert at.subheader[0].value == zh("my_sops.to_acknowledge", n=len(pending))
    if not pending:
        pytest.fail("the demo teller has no SOP version to acknowledge")
    first = pending[0].sop.id
    at.button(key=f"my_sops_ack_{first}").click().run()
    assert not at.exception, at.exception
    after = pending_acknowledgements("0101", teller.branch_id, types, library=library)
    assert [v.sop.id for v in after] == [v.sop.id for v in pending[1:]]
    # the search covers step names in Chinese: 点钞 finds the cash SOPs only
    at.text_input(key="my_sops_search").input("点钞").run()
    table = at.dataframe[0].value
    assert "SOP-P17" in set(table.iloc[:, 0])
    assert len(table) < len(set(v.sop.id for v in library.latest().values()))


def _all_cards_due(home: Path, teller_id: str) -> None:
    """FSRS puts a card missed just now a minute or so ahead: bring the teller's cards due."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from procmine.app.appdb import session_for
    from procmine.training.tables import ReviewCardRow

    with session_for(home) as session:
        session.execute(update(ReviewCardRow).where(ReviewCardRow.teller_id == teller_id)
                        .values(due=datetime.now(UTC) - timedelta(minutes=1)))


def test_my_review_answers_a_due_card(home: Path) -> None:
    from procmine import review_queue

    teller = user("teller", home)
    if not review_queue("0101", user=teller):
        # a missed item of a paper becomes a card due at once
        finish_open_attempt(home)
        paper_id = new_paper(home, "复习来源")
        view = start_attempt(paper_id, user=teller, home=home)
        submit_attempt(view.id, user=teller, home=home)
    _all_cards_due(home, "0101")
    queue = review_queue("0101", user=teller)
    assert queue
    at = open_page("teller", home, "my_review.py")
    assert at.caption[0].value == zh("my_review.caption", n=len(queue))
    item = queue[0]
    key = f"review_{item.key}_{item.reviews}"
    if item.question.kind in ("single", "truefalse"):
        at.radio(key=key).set_value(0).run()
    elif item.question.kind == "multiple":
        at.checkbox(key=f"{key}_0").check().run()
    else:
        for i in range(len(item.question.choices)):
            at.selectbox(key=f"{key}_{i}").set_value(i + 1).run()
    at.button(key="review_check").click().run()
    assert not at.exception, at.exception
    assert len(at.success) + len(at.error) == 1
    assert at.button(key="review_next")


def test_question_bank_lists_filters_and_refuses_an_invalid_edit(home: Path) -> None:
    everything = list_questions()
    at = open_page("trainer", home, "question_bank.py")
    assert len(at.dataframe[0].value) == len(everything)
    # the table's headers and each row's state and kind, in the page's words
    table = at.dataframe[0].value
    assert list(table.columns) == [zh(f"qbank.{k}") for k in (
        "key", "status", "kind", "topic", "stem", "revision", "updated")]
    assert list(table[zh("qbank.status")]) == [zh(f"qbank.state.{q.status}") for q in everything]
    assert list(table[zh("qbank.kind")]) == [zh(f"quiz.kind.{q.question.kind}")
                                             for q in everything]
    assert list(table[zh("qbank.key")]) == [q.question.key for q in everything]
    at.selectbox(key="qbank_topic").set_value("SOP-P17").run()
    shown = at.dataframe[0].value
    assert len(shown) == len(list_questions(topic="SOP-P17")) > 0
    key = at.selectbox(key="qbank_pick").value
    form_stem = next(a for a in at.text_area if a.key.startswith("qbank_stem_"))
    form_stem.input("")
    next(b for b in at.button if b.label == zh("qbank.save")).click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [zh("qbank.invalid")]
    assert next(q for q in list_questions(topic="SOP-P17") if q.question.key == key)\
        .question.stem != ""


def test_an_attempt_whose_time_runs_out_is_graded_and_shown(home: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from procmine.app.appdb import session_for
    from procmine.training.marking import GRACE
    from procmine.training.tables import AttemptRow

    finish_open_attempt(home)
    paper_id = new_paper(home, "超时")
    at = open_page("teller", home, "take_paper.py")
    at.button(key=f"take_start_{paper_id}").click().run()
    view = open_attempt("0101")
    assert view is not None
    first = view.items[0]
    if first.kind in ("single", "truefalse"):
        at.radio(key=f"take_{view.id}_{first.position}").set_value(0).run()
    with session_for(home) as session:
        session.execute(update(AttemptRow).where(AttemptRow.id == view.id)
                        .values(deadline_at=datetime.now(UTC) - GRACE - timedelta(seconds=1)))
    at.run()
    assert not at.exception, at.exception
    assert [i.value for i in at.info] == [zh("take.expired")]
    result = attempt_result(view.id, user=user("teller", home))
    assert result.status == "expired"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[zh("take.score")] == f"{result.score:.1f}"
    assert open_attempt("0101") is None


@pytest.mark.parametrize(("role", "script", "title"), [
    ("trainer", "question_bank.py", "qbank.title"), ("trainer", "papers.py", "papers.title"),
    ("reviewer", "training_results.py", "results.title"),
    ("operations", "spot_checks.py", "spot.title"), ("teller", "my_sops.py", "my_sops.title"),
    ("teller", "take_paper.py", "take.title"), ("teller", "my_review.py", "my_review.title"),
    ("teller", "my_figures.py", "my_figures.title")])
def test_the_training_pages_in_english(role: str, script: str, title: str, home: Path) -> None:
    finish_open_attempt(home)
    at = AppTest.from_file(str(REPO / PAGES / script), default_timeout=120)
    at.session_state["procmine_user"] = user(role, home)
    at.session_state["procmine_lang"] = "en"
    at.run()
    assert not at.exception, at.exception
    assert [ti.value for ti in at.title] == [t(title, "en")]
    assert not at.error
    # nothing Chinese from the catalogue is left on an English page (data may be Chinese)
    zh_messages = {v for k, v in load_messages("zh-CN").items()
                   if k.split(".")[0] in ("qbank", "papers", "results", "spot", "my_sops",
                                          "take", "my_review", "quiz", "tcol")}
    texts = [e.value for e in (*at.markdown, *at.caption, *at.subheader, *at.info)]
    assert not [x for x in texts if x in zh_messages]


def test_question_bank_retires_and_activates_a_question(home: Path) -> None:
    at = open_page("trainer", home, "question_bank.py")
    at.selectbox(key="qbank_topic").set_value("SOP-P17").run()
    key = at.selectbox(key="qbank_pick").value
    before = next(q for q in list_questions(topic="SOP-P17") if q.question.key == key)
    assert before.status != "retired"
    bq_id = before.id
    at.button(key=f"qbank_to_retired_{bq_id}").click().run()
    assert not at.exception, at.exception
    after = next(q for q in list_questions(topic="SOP-P17") if q.question.key == key)
    assert after.status == "retired" and after.updated_by == "trainer"
    at.selectbox(key="qbank_pick").set_value(key).run()
    at.button(key=f"qbank_to_active_{bq_id}").click().run()
    assert next(q for q in list_questions(topic="SOP-P17")
                if q.question.key == key).status == "active"


def test_the_targets_form_changes_the_targets_and_the_lines(home: Path) -> None:
    from procmine import set_training_target, training_targets

    at = open_page("trainer", home, "training_results.py")
    form = next(n for n in at.number_input if n.label == zh("results.target_expert"))
    form.set_value(95.0)
    next(b for b in at.button if b.label == zh("results.save_targets")).click().run()
    assert not at.exception, at.exception
    assert training_targets().expert == pytest.approx(0.95)
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [s["y0"] for s in chart["layout"]["shapes"]] == [100.0, 95.0]
    set_training_target("expert", 0.98, user=user("trainer", home))
    # a reviewer reads the results but has no form
    at = open_page("reviewer", home, "training_results.py")
    assert not [b for b in at.button if b.label == zh("results.save_targets")]
    assert zh("results.targets_read_only") in [c.value for c in at.caption]


def test_the_spot_check_grid_shows_each_tellers_state(home: Path) -> None:
    from procmine import spot_check_grid

    at = open_page("operations", home, "spot_checks.py")
    library = SopLibrary.open(home)
    sop_ids = [i for i in library.ids() if library.approved_versions(i)]
    grid = spot_check_grid(teller_roster(EventStore(home), home=home), sop_ids)
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    heat = chart["data"][0]
    states = ("never", "due", "failed", "passed")
    cells = {(y, x): states[z] for y, row in zip(heat["y"], heat["z"], strict=True)
             for x, z in zip(heat["x"], row, strict=True)}
    expected = {(r.teller_id, r.sop_id): r.state for r in grid.itertuples()}
    assert cells == expected
    assert {"passed", "failed"} <= set(expected.values())


def test_my_figures_show_my_spot_checks_and_papers(home: Path) -> None:
    from procmine import list_attempts

    teller = user("teller", home)
    finish_open_attempt(home)
    at = open_page("teller", home, "my_figures.py")
    subheaders = [s.value for s in at.subheader]
    october = zh("period.latest", month=zh("period.month", year=2026, month=zh("period.m10")))
    assert zh("my_figures.rank_title", month=october) in subheaders   # "2026年10月 (最新)"
    checks = list_spot_checks(user=teller)
    attempts = [a for a in list_attempts(user=teller) if a.submitted_at is not None]
    # closed at first, its title counting them; drawn once opened
    title = zh("my_figures.training", checks=len(checks), papers=len(attempts))
    assert [e.label for e in at.expander] == [title]
    assert not [d for d in at.dataframe if zh("take.score") in d.value.columns]
    assert zh("my_figures.papers") not in subheaders
    at.session_state["my_training_open"] = True
    at.run()
    papers = next(d.value for d in at.dataframe
                  if zh("take.score") in d.value.columns)
    assert len(papers) == len(attempts) > 0
    assert list(papers[zh("take.score")]) == [round(a.score or 0, 1) for a in attempts]
    if checks:
        spots = next(d.value for d in at.dataframe if zh("spot.checked_on") in d.value.columns)
        assert len(spots) == len(checks)
    else:
        assert zh("my_figures.no_spot_checks") in [c.value for c in at.caption]


def test_a_paper_is_closed_after_a_confirmation(home: Path) -> None:
    from procmine import get_paper

    paper_id = new_paper(home, "将关闭")
    at = open_page("trainer", home, "papers.py")
    at.selectbox(key="papers_pick").set_value(paper_id).run()
    assert get_paper(paper_id).status == "assigned"
    at.button(key=f"papers_close_{paper_id}").click().run()
    assert not at.exception, at.exception
    assert get_paper(paper_id).status == "closed"
    assert zh("papers.is_closed") in [i.value for i in at.info]
