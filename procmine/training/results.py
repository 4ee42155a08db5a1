"""Results of the papers: participation and expert rates against the targets, expert targets
per person, item analysis and each teller's weak SOP steps.

Who counts (one paper):

* **assigned**: the tellers the paper was assigned to;
* **took it** (participants): the tellers with a graded attempt (submitted, or expired and
  graded when its time ran out); each teller counts once, with their best attempt;
* **participation** = assigned tellers who took it / assigned tellers;
* **expert rate** = tellers whose best score is at or above the paper's expert mark / tellers
  who took it (the banks' "expert rate above 98%" is of the participants);
* **pass rate** = tellers at or above the pass mark / tellers who took it.

A rate with no one to count is None (and its target not met). :func:`monthly_rates` adds up
the (paper, teller) pairs of the papers due in a month (by creation date when a paper has no due
date), per branch and for the bank (``branch_id`` "all"); :func:`expert_targets` counts, per
teller, the papers of a year they passed at the expert mark, against the per-person target of
:class:`~procmine.training.settings.TrainingTargets`.

**Item analysis** (:func:`item_analysis`, classical test theory, over each participant's best
attempt; an unanswered item earns 0):

* difficulty *p* = the mean credit of the item (1.0: everyone got it right);
* discrimination *D* = the upper-lower index: rank the participants by their total score
  (ties by teller id), take the top and the bottom 27% (``round(0.27 n)``, at least one each),
  and *D* = mean credit of the upper group - mean credit of the lower group (-1..1; below about
  0.2 the item hardly tells strong from weak tellers; None for fewer than two participants);
* choice counts: how often each stored choice was chosen (for ordering items: how often each
  item was put in its right place), to see which distractors draw answers.

**Weak steps** (:func:`weak_steps`): a teller's answers to questions tied to an SOP step (the
question frozen on the paper carries ``sop_id`` and ``step_id``), asked and missed (less than
full credit, or unanswered) per step.

Example:
    >>> rates = monthly_rates("2026-10", home=Path("ws"))  # a workspace of its own: no papers
    >>> rates[["branch_id", "papers", "assigned", "participation", "expert_met"]].values.tolist()
    [['all', 0, 0, None, False]]
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from procmine.app.appdb import session_for
from procmine.app.auth import User
from procmine.core.errors import ProcmineError
from procmine.core.months import last_day, parse_month
from procmine.training.roster import Trainee
from procmine.training.settings import TrainingTargets, check_reader, check_teller, training_targets
from procmine.training.tables import (
    AnswerRow,
    AssignmentRow,
    AttemptRow,
    PaperQuestionRow,
    PaperRow,
    QuestionRow,
)

__all__ = [
    "ALL_BRANCHES",
    "GRADED",
    "PaperResults",
    "answer_rows",
    "discrimination_index",
    "expert_targets",
    "item_analysis",
    "monthly_rates",
    "paper_results",
    "weak_steps",
]

#: the attempt states that carry a grade
GRADED = ("submitted", "expired")
#: the ``branch_id`` of the bank's row in :func:`monthly_rates`
ALL_BRANCHES = "all"
#: the share of participants in each of the upper and lower groups of the D index
GROUP_SHARE = 0.27

TELLER_COLUMNS = ["paper_id", "teller_id", "branch_id", "assigned", "attempts", "best_score",
                  "passed", "expert", "submitted_at"]
RATE_COLUMNS = ["assigned", "participated", "participation", "experts", "expert_rate",
                "passed", "pass_rate"]
ITEM_COLUMNS = ["position", "key", "kind", "stem", "answered", "difficulty", "discrimination",
                "choice_counts"]
ANSWER_COLUMNS = ["attempt_id", "paper_id", "teller_id", "branch_id", "position", "key",
                  "sop_id", "step_id", "answered", "credit"]


@dataclass(frozen=True)
class PaperResults:
    """One paper's results (see the module docs for who counts); rates are shares (0..1)."""

    paper_id: int
    title: str
    pass_mark: float
    expert_mark: float
    assigned: int
    participated: int
    participation: float | None
    expert_rate: float | None
    pass_rate: float | None
    by_branch: pd.DataFrame   # branch_id + RATE_COLUMNS
    by_teller: pd.DataFrame   # TELLER_COLUMNS
    targets: TrainingTargets

    @property
    def participation_met(self) -> bool:
        return self.participation is not None and self.participation >= self.targets.participation

    @property
    def expert_met(self) -> bool:
        return self.expert_rate is not None and self.expert_rate >= self.targets.expert


def _paper(session: Session, paper_id: int) -> PaperRow:
    paper = session.get(PaperRow, paper_id)
    if paper is None:
        raise ProcmineError(f"no paper #{paper_id}", code="training.no_paper", paper_id=paper_id)
    return paper


def _teller_frame(session: Session, papers: Sequence[PaperRow]) -> pd.DataFrame:
    """One row per (paper, teller) assigned or with a graded attempt (TELLER_COLUMNS)."""
    ids = [p.id for p in papers]
    marks = {p.id: (p.pass_mark, p.expert_mark) for p in papers}
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    for paper_id, teller_id, branch_id in session.execute(
            select(AssignmentRow.paper_id, AssignmentRow.teller_id, AssignmentRow.branch_id)
            .where(AssignmentRow.paper_id.in_(ids))):
        rows[(paper_id, teller_id)] = {"paper_id": paper_id, "teller_id": teller_id,
                                       "branch_id": branch_id, "assigned": True, "attempts": 0,
                                       "best_score": None, "submitted_at": None}
    for attempt in session.scalars(
            select(AttemptRow).where(AttemptRow.paper_id.in_(ids),
                                     AttemptRow.status.in_(GRADED))
            .order_by(AttemptRow.submitted_at, AttemptRow.id)):
        row = rows.setdefault((attempt.paper_id, attempt.teller_id), {
            "paper_id": attempt.paper_id, "teller_id": attempt.teller_id,
            "branch_id": attempt.branch_id, "assigned": False, "attempts": 0,
            "best_score": None, "submitted_at": None})
        row["branch_id"] = row["branch_id"] or attempt.branch_id
        row["attempts"] += 1
        score = attempt.score or 0.0
        if row["best_score"] is None or score > row["best_score"]:
            row["best_score"], row["submitted_at"] = score, attempt.submitted_at
    out = []
    for (paper_id, _), row in sorted(rows.items()):
        pass_mark, expert_mark = marks[paper_id]
        took = row["attempts"] > 0
        row["passed"] = took and row["best_score"] >= pass_mark - 1e-9
        row["expert"] = took and row["best_score"] >= expert_mark - 1e-9
        out.append(row)
    return pd.DataFrame(out, columns=TELLER_COLUMNS)


def _rates(frame: pd.DataFrame) -> dict[str, Any]:
    """RATE_COLUMNS over (paper, teller) rows."""
    took = frame["attempts"] > 0
    assigned = int(frame["assigned"].sum())
    takers = int(took.sum())
    experts = int(frame["expert"].sum())
    passed = int(frame["passed"].sum())
    return {"assigned": assigned, "participated": takers,
            "participation": (int((frame["assigned"] & took).sum()) / assigned
                              if assigned else None),
            "experts": experts, "expert_rate": experts / takers if takers else None,
            "passed": passed, "pass_rate": passed / takers if takers else None}


def _by_branch(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    branches = frame["branch_id"].fillna("")
    for branch in sorted(branches.unique()):
        rows.append({"branch_id": branch or None, **_rates(frame[branches == branch])})
    return pd.DataFrame(rows, columns=["branch_id", *RATE_COLUMNS])


def paper_results(paper_id: int, *, home: Path | None = None,
                  user: User | None = None) -> PaperResults:
    """A paper's participation, expert and pass rates, per branch and per teller, with the
    targets (given ``user``: trainers, operations and reviewers only)."""
    if user is not None:
        check_reader(user, "a paper's results")
    targets = training_targets(home=home)
    with session_for(home) as session:
        paper = _paper(session, paper_id)
        frame = _teller_frame(session, [paper])
    totals = _rates(frame)
    return PaperResults(paper_id=paper.id, title=paper.title, pass_mark=paper.pass_mark,
                        expert_mark=paper.expert_mark, assigned=totals["assigned"],
                        participated=totals["participated"],
                        participation=totals["participation"],
                        expert_rate=totals["expert_rate"], pass_rate=totals["pass_rate"],
                        by_branch=_by_branch(frame), by_teller=frame, targets=targets)


def _paper_day(paper: PaperRow) -> date:
    return paper.due_on if paper.due_on is not None else paper.created_at.date()


def _papers_between(session: Session, first: date, last: date) -> list[PaperRow]:
    return [p for p in session.scalars(select(PaperRow).order_by(PaperRow.id))
            if first <= _paper_day(p) <= last]


def monthly_rates(month: str, *, home: Path | None = None) -> pd.DataFrame:
    """The rates of the papers due in ``month`` (``YYYY-MM``; by creation date when a paper has
    no due date), over their (paper, teller) pairs: one row per branch and the bank's
    (``branch_id`` "all") last, with the ``papers`` counted (a branch's: those with one of its
    tellers) and whether the targets are met."""
    first = parse_month(month)
    targets = training_targets(home=home)
    with session_for(home) as session:
        papers = _papers_between(session, first, last_day(first))
        frame = _teller_frame(session, papers)
    table = _by_branch(frame)
    branches = frame["branch_id"].fillna("")
    table.insert(1, "papers", [int(frame.loc[branches == (b or ""), "paper_id"].nunique())
                               for b in table["branch_id"]])
    bank = pd.DataFrame([{"branch_id": ALL_BRANCHES, "papers": len(papers), **_rates(frame)}])
    table = bank if table.empty else pd.concat([table, bank], ignore_index=True)
    table["participation_met"] = [r is not None and not pd.isna(r) and r >= targets.participation
                                  for r in table["participation"]]
    table["expert_met"] = [r is not None and not pd.isna(r) and r >= targets.expert
                           for r in table["expert_rate"]]
    return table


def expert_targets(year: int, *, home: Path | None = None,
                   roster: Sequence[Trainee] = ()) -> pd.DataFrame:
    """Per teller (those with a paper of the year, and the ``roster``'s): the papers of
    ``year`` they passed at the expert mark, the target per person and whether it is met
    (``teller_id, expert_papers, target, met``)."""
    target = training_targets(home=home).expert_targets_per_person
    with session_for(home) as session:
        papers = _papers_between(session, date(year, 1, 1), date(year, 12, 31))
        frame = _teller_frame(session, papers)
    counts = {str(t): 0 for t in frame["teller_id"]} | {t.teller_id: 0 for t in roster}
    for teller in frame.loc[frame["expert"].astype(bool), "teller_id"]:
        counts[str(teller)] += 1
    out = pd.DataFrame({"teller_id": sorted(counts),
                        "expert_papers": [counts[t] for t in sorted(counts)]},
                       columns=["teller_id", "expert_papers"])
    out["expert_papers"] = out["expert_papers"].astype("int64")
    out["target"] = target
    out["met"] = out["expert_papers"] >= target
    return out


def discrimination_index(scores: Sequence[float], credits: Sequence[float],
                         tellers: Sequence[str] | None = None) -> float | None:
    """The upper-lower discrimination index D of one item: participants ranked by total score
    (highest first, ties by teller id), the top and bottom ``round(0.27 n)`` (at least one),
    mean item credit of the upper group minus that of the lower group; None below two
    participants.

    Example:
        >>> discrimination_index([90, 80, 70, 60], [1, 1, 0, 0])
        1.0
    """
    n = len(scores)
    if n < 2:
        return None
    names = list(tellers) if tellers is not None else [f"{i:09d}" for i in range(n)]
    order = sorted(range(n), key=lambda i: (-scores[i], names[i]))
    size = max(1, math.floor(GROUP_SHARE * n + 0.5))
    upper, lower = order[:size], order[-size:]
    return (sum(credits[i] for i in upper) / size) - (sum(credits[i] for i in lower) / size)


def _best_attempts(session: Session, paper_id: int) -> list[AttemptRow]:
    """Each participant's best graded attempt (highest score, then the first submitted)."""
    best: dict[str, AttemptRow] = {}
    for attempt in session.scalars(
            select(AttemptRow).where(AttemptRow.paper_id == paper_id,
                                     AttemptRow.status.in_(GRADED))
            .order_by(AttemptRow.submitted_at, AttemptRow.id)):
        held = best.get(attempt.teller_id)
        if held is None or (attempt.score or 0.0) > (held.score or 0.0):
            best[attempt.teller_id] = attempt
    return [best[t] for t in sorted(best)]


def item_analysis(paper_id: int, *, home: Path | None = None,
                  user: User | None = None) -> pd.DataFrame:
    """Per question of a paper: ``position, key, kind, stem, answered, difficulty,
    discrimination, choice_counts`` (see the module docs; ``choice_counts`` maps a stored
    choice's index to how often it was chosen)."""
    if user is not None:
        check_reader(user, "the item analysis")
    with session_for(home) as session:
        _paper(session, paper_id)
        items = list(session.scalars(select(PaperQuestionRow)
                                     .where(PaperQuestionRow.paper_id == paper_id)
                                     .order_by(PaperQuestionRow.position)))
        attempts = _best_attempts(session, paper_id)
        answers = {(a.attempt_id, a.position): a for a in session.scalars(
            select(AnswerRow).where(AnswerRow.attempt_id.in_([a.id for a in attempts])))}
    scores = [a.score or 0.0 for a in attempts]
    tellers = [a.teller_id for a in attempts]
    rows = []
    for item in items:
        body = json.loads(item.body)
        credits, counts, answered = [], {i: 0 for i in range(len(body["choices"]))}, 0
        for attempt in attempts:
            answer = answers.get((attempt.id, item.position))
            response = json.loads(answer.response) if answer is not None else []
            credits.append(float(answer.credit or 0.0) if answer is not None else 0.0)
            if not response:
                continue
            answered += 1
            picked = ([i for place, i in enumerate(response) if i == place]
                      if body["kind"] == "ordering" else response)
            for index in picked:
                if index in counts:
                    counts[index] += 1
        rows.append({"position": item.position, "key": item.question_key, "kind": body["kind"],
                     "stem": body["stem"], "answered": answered,
                     "difficulty": sum(credits) / len(credits) if credits else None,
                     "discrimination": discrimination_index(scores, credits, tellers),
                     "choice_counts": counts})
    return pd.DataFrame(rows, columns=ITEM_COLUMNS)


def answer_rows(*, teller_id: str | None = None, sop_id: str | None = None,
                home: Path | None = None) -> pd.DataFrame:
    """Every item of every graded attempt (of one teller, on one SOP's questions): which
    question (with its ``sop_id`` and ``step_id`` as frozen on the paper), whether it was
    answered and the credit earned (0 when unanswered); ANSWER_COLUMNS."""
    query = select(AttemptRow).where(AttemptRow.status.in_(GRADED))
    if teller_id is not None:
        query = query.where(AttemptRow.teller_id == teller_id)
    if sop_id is not None:  # only the papers with a question on the SOP
        query = query.where(AttemptRow.paper_id.in_(
            select(PaperQuestionRow.paper_id).join(
                QuestionRow, QuestionRow.id == PaperQuestionRow.question_id)
            .where(QuestionRow.sop_id == sop_id)))
    with session_for(home) as session:
        attempts = list(session.scalars(query.order_by(AttemptRow.id)))
        items = list(session.scalars(select(PaperQuestionRow)
                                     .where(PaperQuestionRow.paper_id.in_(
                                         {a.paper_id for a in attempts}))
                                     .order_by(PaperQuestionRow.position)))
        answers = {(a.attempt_id, a.position): a for a in session.scalars(
            select(AnswerRow).where(AnswerRow.attempt_id.in_([a.id for a in attempts])))}
    by_paper: dict[int, list[tuple[int, str, dict[str, Any]]]] = {}
    for item in items:
        body = json.loads(item.body)
        if sop_id is None or body.get("sop_id") == sop_id:
            by_paper.setdefault(item.paper_id, []).append((item.position, item.question_key,
                                                           body))
    rows = []
    for attempt in attempts:
        for position, key, body in by_paper.get(attempt.paper_id, []):
            answer = answers.get((attempt.id, position))
            given = answer is not None and bool(json.loads(answer.response))
            rows.append({"attempt_id": attempt.id, "paper_id": attempt.paper_id,
                         "teller_id": attempt.teller_id, "branch_id": attempt.branch_id,
                         "position": position, "key": key, "sop_id": body.get("sop_id"),
                         "step_id": body.get("step_id"), "answered": given,
                         "credit": float(answer.credit or 0.0)
                         if given and answer is not None else 0.0})
    return pd.DataFrame(rows, columns=ANSWER_COLUMNS)


def weak_steps(teller_id: str, *, home: Path | None = None,
               user: User | None = None) -> pd.DataFrame:
    """A teller's questions tied to SOP steps, per step: ``sop_id, step_id, asked, missed,
    missed_share`` (missed: less than full credit or unanswered), most missed first. Given
    ``user``, a teller may ask only for their own."""
    if user is not None:
        check_teller(user, teller_id, "the weak steps")
    rows = answer_rows(teller_id=teller_id, home=home)
    rows = rows[rows["sop_id"].notna() & rows["step_id"].notna()]
    columns = ["sop_id", "step_id", "asked", "missed", "missed_share"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows = rows.assign(miss=rows["credit"] < 1.0 - 1e-9)
    out = (rows.groupby(["sop_id", "step_id"], sort=True)
           .agg(asked=("key", "size"), missed=("miss", "sum")).reset_index())
    out["missed"] = out["missed"].astype("int64")
    out["missed_share"] = out["missed"] / out["asked"]
    return (out.sort_values(["missed", "missed_share", "sop_id", "step_id"],
                            ascending=[False, False, True, True])
            .reset_index(drop=True)[columns])
