"""Spaced review of missed questions with FSRS (the ``fsrs`` package's scheduler).

A question a teller misses in a paper (or in review) becomes a card of theirs, due at once; each
review rates it (a right answer Good, a wrong one Again) and FSRS sets when it comes back. Cards
are kept as the package's own JSON in ``review_cards`` and every review in ``review_logs``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from fsrs import Card, Rating, Scheduler
from sqlalchemy import select
from sqlalchemy.orm import Session

from procmine.app.appdb import utc_now
from procmine.training.tables import ReviewCardRow, ReviewLogRow

__all__ = ["record_outcomes"]


def _scheduler() -> Scheduler:
    return Scheduler(enable_fuzzing=False)


def record_outcomes(session: Session, teller_id: str, outcomes: Mapping[str, bool], *,
                    now: datetime | None = None) -> int:
    """Update a teller's cards in ``session`` from answers given (question key -> right?): a
    missed question gets a card (or its card is rated Again); a right answer to a question that
    has a card rates it Good. Right answers without a card make none. Returns the cards made."""
    now = now or utc_now()
    scheduler = _scheduler()
    made = 0
    rows = {r.question_key: r for r in session.scalars(
        select(ReviewCardRow).where(ReviewCardRow.teller_id == teller_id,
                                    ReviewCardRow.question_key.in_(list(outcomes))))}
    for key, right in outcomes.items():
        row = rows.get(key)
        if row is None and right:
            continue
        card = Card.from_json(row.card) if row is not None else Card(due=now)
        card, _ = scheduler.review_card(card, Rating.Good if right else Rating.Again,
                                        review_datetime=now)
        if row is None:
            row = ReviewCardRow(teller_id=teller_id, question_key=key, created_at=now,
                                card=card.to_json(), due=card.due)
            session.add(row)
            made += 1
        else:
            row.card, row.due = card.to_json(), card.due
        session.add(ReviewLogRow(teller_id=teller_id, question_key=key,
                                 rating=int(Rating.Good if right else Rating.Again),
                                 correct=right, at=now))
    return made


def card_state(row: ReviewCardRow) -> dict[str, object]:
    """A card's FSRS fields as a dict (state, step, stability, difficulty, due, last review)."""
    return dict(json.loads(row.card))
