"""Who may do what in the training room, checked on the server side by every function that acts
for a user: trainers and operations (who stands in for the counter supervisor) manage the bank,
papers and results; reviewers may read results; a teller acts only for their own teller id.

Example:
    >>> from procmine.app.auth import get_user
    >>> require_manager(get_user("trainer"), "build a paper").username
    'trainer'
    >>> require_manager(get_user("teller"), "build a paper")
    Traceback (most recent call last):
    ...
    procmine.core.errors.ProcmineError: only a trainer or operations may build a paper (...)
"""

from __future__ import annotations

from procmine.app.auth import User
from procmine.core.errors import ProcmineError

__all__ = ["MANAGERS", "READERS", "is_teller", "require_manager", "require_reader"]

#: the roles that manage the bank, papers and spot checks
MANAGERS = ("trainer", "operations")
#: the roles that may read every teller's results
READERS = ("trainer", "operations", "reviewer")


def require_manager(user: User, action: str) -> User:
    """``user`` when they are a trainer or operations; else ProcmineError."""
    if user.role not in MANAGERS:
        raise ProcmineError(f"only a trainer or operations may {action} "
                            f"({user.username} is a {user.role})", code="training.managers_only",
                            username=user.username)
    return user


def require_reader(user: User, action: str) -> User:
    """``user`` when they may read every teller's results (trainer, operations, reviewer)."""
    if user.role not in READERS:
        raise ProcmineError(f"only a trainer, operations or a reviewer may {action} "
                            f"({user.username} is a {user.role})", code="training.readers_only",
                            username=user.username)
    return user


def is_teller(user: User) -> bool:
    """True for a teller account linked to a teller id (the only kind that takes papers)."""
    return user.role == "teller" and bool(user.teller_id)
