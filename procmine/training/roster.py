"""Who is trained: the tellers a paper can be assigned to and whose participation counts.

A teller is anyone who worked at a counter in the latest month of the event log (their branch
is the one they worked at most that month), plus every enabled user with the teller role and a
teller id (their account's branch wins). Tellers are named by their teller id, as text.

Example:
    >>> trainees = teller_roster(store, home=home)
    >>> len(trainees), len({t.branch_id for t in trainees})
    (48, 6)
    >>> [t for t in trainees if t.username]
    [Trainee(teller_id='0101', branch_id='B01', username='teller')]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from procmine.analysis.filters import Filters
from procmine.analysis.performance import latest_month, teller_summary
from procmine.app.auth import list_users
from procmine.core.baseline import load_baseline
from procmine.core.months import last_day
from procmine.store.event_store import EventStore

__all__ = ["Trainee", "teller_roster"]


@dataclass(frozen=True)
class Trainee:
    """A teller who can be assigned a paper, spot-checked and asked to acknowledge SOPs."""

    teller_id: str
    branch_id: str | None
    username: str | None = None  # their account, when they have one


def teller_roster(store: EventStore | None, *, home: Path | None = None) -> list[Trainee]:
    """The tellers of the latest month with data and the teller accounts, by teller id."""
    branches: dict[str, str | None] = {}
    if store is not None and not store.is_empty():
        first = latest_month(store)
        if first is not None:
            month = Filters(start=first, end=last_day(first))
            frame = teller_summary(store, load_baseline(), month, min_transactions=1)
            branches = {str(t): (None if b is None else str(b))
                        for t, b in zip(frame["teller_id"], frame["branch_id"], strict=True)}
    accounts = {u.teller_id: u for u in list_users(home)
                if u.role == "teller" and u.teller_id and not u.disabled}
    ids = sorted(branches.keys() | accounts.keys())
    return [Trainee(teller_id=i,
                    branch_id=(accounts[i].branch_id or branches.get(i)) if i in accounts
                    else branches.get(i),
                    username=accounts[i].username if i in accounts else None)
            for i in ids]

