"""The demo workspace's training data: a populated question bank, one past paper with attempts
from most demo tellers, spot checks, acknowledgements, and the review cards that follow.

:func:`seed_demo_training` runs at the end of
:func:`~procmine.demo.workspace.build_demo_workspace`, once: a workspace that already has the
demo paper is left as it is. Everything is fixed by a seed, so every demo workspace holds the
same rows (the creation time stamps of the paper and its assignments aside).

What it writes:

* the bank: every question generated from the SOPs in force on 2026-10-01 and every regulation
  question, all active (a trainer has reviewed them);
* the paper :data:`DEMO_PAPER` (20 questions from the SOPs of the busiest operations and the
  regulation bank; 30 minutes, pass mark 60, expert mark 90, due 2026-10-31), built and
  assigned to everyone on the roster by ``trainer``. The trainer aimed it at the slow steps
  the mining found: when it was built, the questions of SOP-P17, SOP-P18 and SOP-P28 active in
  the bank were those on their slow steps (count cash, enter the transaction), so those are the
  paper's questions on these SOPs; the rest of the bank was activated after;
* an attempt by each roster teller but :data:`ABSENT` of them (teller 0101, the ``teller``
  account, always takes it), sat between 20 and 30 October. The answers come from a simple
  item-response model: teller *t* answers item *i* right with probability
  ``1 / (1 + exp(-(skill_t - difficulty_i - slow)))``, skill ~ N(3.0, 0.9), difficulty ~
  N(0, 1), and ``slow`` = 4 when the demo log's truth (``event_logs/demo_truth.json``) makes
  *t* slow at the SOP step the item asks about (a teller's own slow step, or their branch's).
  A wrong answer takes a distractor (the first of a seeded order three times as often as the
  others, so the item analysis shows a favourite wrong choice), leaves out one right choice of a
  multiple-choice question and adds a wrong one, or swaps two neighbours of an ordering. So the
  participation (44 of 48) and the expert rate (those at 90 or above) fall short of their
  targets, and the slow tellers' weak steps are their slow steps; FSRS cards follow from the
  missed items (:func:`procmine.training.attempts.record_paper_attempt`);
* :data:`SPOT_CHECKS`: a dozen spot checks in October by ``trainer``, the slow tellers failing
  at their slow step;
* the ``teller`` account's acknowledgements of the SOPs in force that govern their business
  types, all but one (it waits on their SOPs page).

Example:
    >>> from procmine.training.papers import list_papers
    >>> DEMO_PAPER in [p.title for p in list_papers(home=home)]
    True
    >>> seed_demo_training(store, library, home=home) is None  # the demo has it already
    True
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from procmine.app.auth import User, get_user
from procmine.core.errors import ProcmineError
from procmine.core.paths import bundled_path
from procmine.sop.library import SopLibrary
from procmine.store.event_store import EventStore
from procmine.training.acknowledgements import (
    acknowledge_sop,
    pending_acknowledgements,
    teller_types,
)
from procmine.training.attempts import record_paper_attempt
from procmine.training.bank import sync_questions
from procmine.training.exchange import regulation_bank
from procmine.training.generate import generate_bank
from procmine.training.papers import Paper, assign_paper, build_paper, list_papers
from procmine.training.question import REGULATIONS, Question
from procmine.training.roster import Trainee, teller_roster
from procmine.training.spotchecks import add_spot_check

__all__ = ["ABSENT", "DEMO_PAPER", "SPOT_CHECKS", "DemoTraining", "seed_demo_training"]

#: the demo's past paper
DEMO_PAPER = "2026年10月业务技能闭卷测试"
#: the SOPs its SOP questions come from: the busiest operations of the demo log
DEMO_SOPS = ("SOP-P17", "SOP-P18", "SOP-P28", "SOP-P26", "SOP-P27")
#: roster tellers who did not take it
ABSENT = 4
SEED = 2026
_BANK_DAY = date(2026, 10, 1)
_DUE = date(2026, 10, 31)
_CST = timedelta(hours=8)  # the demo bank's clock (China Standard Time)
_SLOW_PENALTY = 4.0

#: (teller, SOP, day in October, steps done wrongly, steps skipped, note)
SPOT_CHECKS: tuple[tuple[str, str, int, tuple[str, ...], tuple[str, ...], str], ...] = (
    ("0101", "SOP-P17", 3, (), (), "流程规范，唱收唱付清晰。"),
    ("0102", "SOP-P18", 6, ("enter_transaction",), (), "录入前未复核账号与户名，两次退回修改。"),
    ("0107", "SOP-P18", 8, ("enter_transaction",), (), "录入金额后未与客户确认。"),
    ("0203", "SOP-P18", 9, ("enter_transaction",), (), "录入交易用时明显偏长。"),
    ("0205", "SOP-P17", 10, (), (), ""),
    ("0301", "SOP-P17", 13, (), (), "点钞规范。"),
    ("0402", "SOP-P17", 15, ("count_cash",), (), "手工点钞未使用点钞机复点。"),
    ("0406", "SOP-P18", 16, ("enter_transaction",), (), "录入项目核对顺序不熟。"),
    ("0503", "SOP-P28", 20, (), (), ""),
    ("0602", "SOP-P17", 22, ("count_cash",), (), "大额现金点钞用时长，未分把扎捆。"),
    ("0604", "SOP-P28", 23, (), ("supervisor_authorization",), "超限额未提交主管授权。"),
    ("0101", "SOP-P18", 27, (), (), "复查：录入前核对到位。"),
)


@dataclass(frozen=True)
class DemoTraining:
    """What :func:`seed_demo_training` wrote."""

    paper_id: int
    questions: int
    attempts: int
    spot_checks: int
    acknowledgements: int


def seed_demo_training(store: EventStore, library: SopLibrary, *,
                       home: Path | None = None) -> DemoTraining | None:
    """Write the demo's training data (see the module notes); None when the workspace has the
    demo paper already (nothing is written twice)."""
    if any(p.title == DEMO_PAPER for p in list_papers(home=home)):
        return None
    trainer, teller = _user("trainer", home), _user("teller", home)
    slow = slow_steps(library)
    sops = [s for s in DEMO_SOPS if s in library.ids()]
    bank = [*generate_bank(library, today=_BANK_DAY), *regulation_bank()]
    paper, first = _build_paper(trainer, library, bank, sops, slow, home)
    # then the rest of the bank, active too (as sync_bank would add it on that day)
    rest = sync_questions(bank, actor="seed-demo", status="active", home=home)
    roster = teller_roster(store, home=home)
    assign_paper(paper.id, user=trainer, roster=roster, everyone=True, home=home)
    attempts = _attempts(paper, roster, slow, home)
    checks = _spot_checks(trainer, roster, library, home)
    acknowledged = _acknowledgements(teller, store, library, home)
    return DemoTraining(paper_id=paper.id, questions=first + rest.added, attempts=attempts,
                        spot_checks=checks, acknowledgements=acknowledged)


def _build_paper(trainer: User, library: SopLibrary, bank: Sequence[Question],
                 sops: Sequence[str], slow: dict[str, set[tuple[str, str]]],
                 home: Path | None) -> tuple[Paper, int]:
    """The October paper, built by ``trainer`` from the bank as it stood then: every question
    active except those of the paper's SOPs with a slow step that are on other steps (the
    trainer aimed the paper at the slow steps the mining found). Returns the paper and the
    questions added to the bank."""
    focus = {step for steps in slow.values() for step in steps if step[0] in sops}
    aimed = {sop_id for sop_id, _ in focus}
    then = [q for q in bank if q.sop_id not in aimed or (q.sop_id, q.step_id) in focus]
    added = sync_questions(then, actor="seed-demo", status="active", home=home).added
    paper = build_paper(title=DEMO_PAPER, user=trainer, sops=sops, regulations=REGULATIONS,
                        count=20, time_limit_minutes=30, pass_mark=60.0, expert_mark=90.0,
                        shuffle=True, due_on=_DUE, seed=SEED, library=library, home=home)
    return paper, added


def _user(name: str, home: Path | None) -> User:
    user = get_user(name, home)
    if user is None:
        raise ProcmineError(f"the demo user {name!r} is missing; run seed_demo_users first")
    return user


# -- the attempts ----------------------------------------------------------------------------------


def slow_steps(library: SopLibrary, truth: dict[str, object] | None = None
               ) -> dict[str, set[tuple[str, str]]]:
    """The SOP steps (sop id, step id) each teller is slow at in the demo log's truth: their own
    slow steps, and their branch's (key ``branch:<id>``)."""
    if truth is None:
        path = bundled_path("event_logs", "demo_truth.json")
        truth = json.loads(path.read_text(encoding="utf-8"))
    slow: dict[str, set[tuple[str, str]]] = {}
    entries = truth.get("slow_steps", [])
    assert isinstance(entries, list)
    sops = [library.current(sop_id).sop for sop_id in library.ids()]
    for entry in entries:
        key = (f"branch:{entry['branch_id']}" if entry["scope"] == "branch"
               else str(entry["teller_id"]))
        for sop in sops:
            for step in sop.steps_for(entry["business_type"]):
                if step.activity == entry["activity"]:
                    slow.setdefault(key, set()).add((sop.id, step.id))
    return slow


def _takers(roster: Sequence[Trainee], slow: dict[str, set[tuple[str, str]]],
            rng: random.Random) -> list[Trainee]:
    """Every roster teller but ABSENT of them (never 0101 or a teller slow in the truth)."""
    keep = {"0101", *slow}
    optional = [t for t in roster if t.teller_id not in keep]
    absent = {t.teller_id for t in rng.sample(optional, min(ABSENT, len(optional)))}
    return [t for t in roster if t.teller_id not in absent]


def _response(question: Question, right: bool, rng: random.Random) -> list[int]:
    """A response (choice indexes into the stored choices) that is right, or wrong the way a
    teller gets it wrong."""
    n = len(question.choices)
    good = [i for i, c in enumerate(question.choices) if c.correct]
    bad = [i for i, c in enumerate(question.choices) if not c.correct]
    if question.kind == "ordering":
        order = list(range(n))
        if not right and n > 1:
            i = rng.randrange(n - 1)
            order[i], order[i + 1] = order[i + 1], order[i]
        return order
    if right or not bad:
        return good if question.kind == "multiple" else good[:1]
    # the first distractor of a seeded order (the same for every teller) is the favourite
    favourite = random.Random(f"{SEED}:{question.key}").sample(bad, len(bad))
    wrong = favourite[0] if rng.random() < 0.6 or len(bad) == 1 else rng.choice(favourite[1:])
    if question.kind == "multiple":
        kept = good[1:] if len(good) > 1 else []
        return sorted([*kept, wrong])
    return [wrong]


def _attempts(paper: Paper, roster: Sequence[Trainee], slow: dict[str, set[tuple[str, str]]],
              home: Path | None) -> int:
    """Record the past attempts of the takers; returns how many."""
    rng = random.Random(SEED)
    difficulty = {q.key: random.Random(f"{SEED}:difficulty:{q.key}").gauss(0.0, 1.0)
                  for q in paper.questions}
    takers = _takers(roster, slow, rng)
    for teller in takers:
        skill = rng.gauss(3.0, 0.9)
        theirs = slow.get(teller.teller_id, set()) | slow.get(f"branch:{teller.branch_id}", set())
        responses = {}
        for position, q in enumerate(paper.questions, start=1):
            penalty = _SLOW_PENALTY if (q.sop_id, q.step_id) in theirs else 0.0
            p_right = 1.0 / (1.0 + math.exp(-(skill - difficulty[q.key] - penalty)))
            responses[position] = _response(q, rng.random() < p_right, rng)
        day = date(2026, 10, rng.randint(20, 30))
        started = (datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC) - _CST
                   + timedelta(minutes=rng.randint(0, 7 * 60)))
        submitted = started + timedelta(minutes=rng.randint(11, 28), seconds=rng.randint(0, 59))
        record_paper_attempt(paper.id, teller.teller_id, responses, actor="trainer",
                             started_at=started, submitted_at=submitted,
                             branch_id=teller.branch_id, home=home)
    return len(takers)


# -- spot checks and acknowledgements --------------------------------------------------------------


def _spot_checks(trainer: User, roster: Sequence[Trainee], library: SopLibrary,
                 home: Path | None) -> int:
    branches = {t.teller_id: t.branch_id for t in roster}
    made = 0
    for teller_id, sop_id, day, wrong, skipped, note in SPOT_CHECKS:
        on = date(2026, 10, day)
        branch = branches.get(teller_id)
        version = library.in_force(sop_id, on, branch)
        if version is None or teller_id not in branches:
            continue
        sop = version.sop
        path = sop.steps_for(sop.business_types[0], conditional=False)
        steps = [s.id for s in path] + [i for i in (*wrong, *skipped)
                                        if i not in {s.id for s in path}]
        seconds = sum(s.standard_seconds for s in sop.steps if s.id in steps)
        factor = 1.0 + 0.45 * len(wrong) + 0.1 * ((made * 7) % 5) / 5
        add_spot_check(user=trainer, teller_id=teller_id, sop_id=sop_id,
                       sop_version=sop.version, steps_observed=steps, steps_wrong=wrong,
                       steps_skipped=skipped, seconds=round(seconds * factor), checked_on=on,
                       note=note, branch_id=branch, library=library, home=home)
        made += 1
    return made


def _acknowledgements(teller: User, store: EventStore, library: SopLibrary,
                      home: Path | None) -> int:
    """The ``teller`` account acknowledges the SOPs pending for them on the demo's last day,
    in October, all but the last (it waits on their SOPs page)."""
    if teller.teller_id is None:
        return 0
    pending = pending_acknowledgements(teller.teller_id, teller.branch_id,
                                       teller_types(store, teller.teller_id), library=library,
                                       home=home, today=_DUE)
    for n, version in enumerate(pending[:-1]):
        at = datetime(2026, 10, 2 + n % 20, 2, 15 + n, tzinfo=UTC)
        acknowledge_sop(version.sop.id, user=teller, library=library, home=home, now=at)
    return max(len(pending) - 1, 0)
