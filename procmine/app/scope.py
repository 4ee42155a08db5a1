"""Branch scope: which branches, tellers and findings a signed-in user may see (server side).

One rule, written once, for the pages and the functions they call:

- ``operations`` (and the reviewers and trainers, whose pages read the bank as a whole) see every
  branch: their scope is ``None``.
- a ``branch_manager`` sees one branch, their own (``User.branch_id``): its queue, staffing,
  diversion, its tellers' figures and its findings, and the bank-wide findings (a business
  type whose standard the whole bank does not meet). Other branches reach them only as
  aggregates (the bank's median, the bank's service level), never one of their tellers or
  their findings.
- a ``teller`` sees their own figures only: their scope is their branch, and of the tellers
  only themselves.

A request outside the scope raises :class:`AccessDenied` (a :class:`ProcmineError`: the CLI
prints it, a page shows its own message from the catalogue). A branch manager without a branch
is refused everything rather than shown the bank.

Example:
    >>> from datetime import UTC, datetime
    >>> manager = User("manager", "branch_manager", "", None, None, "B01",
    ...                datetime(2026, 1, 1, tzinfo=UTC), False)
    >>> branch_scope(manager), visible_branches(manager, ["B02", "B01", "B03"])
    ('B01', ['B01'])
    >>> require_teller(manager, "0301", "B03")
    Traceback (most recent call last):
    ...
    procmine.app.scope.AccessDenied: manager may see only the tellers of branch B01; teller 0301 ...
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from procmine.app.auth import User
from procmine.core.errors import ProcmineError

__all__ = [
    "BANK_WIDE_ROLES",
    "AccessDenied",
    "bank_wide",
    "branch_scope",
    "require_branch",
    "require_teller",
    "scoped_findings",
    "visible_branches",
    "visible_tellers",
]

#: Roles whose pages read every branch (their scope is None).
BANK_WIDE_ROLES = ("operations", "reviewer", "trainer")


class AccessDenied(ProcmineError):
    """The user's role, branch or teller id does not allow what was asked."""


def branch_scope(user: User) -> str | None:
    """The one branch ``user`` may see, or None for every branch.

    Example:
        >>> from datetime import UTC, datetime
        >>> ops = User("ops", "operations", "", None, None, None, datetime(2026, 1, 1), False)
        >>> branch_scope(ops) is None
        True
    """
    if user.role in BANK_WIDE_ROLES:
        return None
    if user.role in ("branch_manager", "teller") and user.branch_id:
        return user.branch_id
    raise AccessDenied(f"{user.username} ({user.role}) has no branch to see: "
                       "a branch manager needs the branch they run",
                       code="scope.no_branch", username=user.username)


def visible_branches(user: User, all_branches: Iterable[str]) -> list[str]:
    """The branches of ``all_branches`` that ``user`` may pick, sorted (their own only for a
    branch manager; empty when their branch has no data)."""
    scope = branch_scope(user)
    branches = sorted({str(b) for b in all_branches})
    return branches if scope is None else [b for b in branches if b == scope]


def require_branch(user: User, branch: str | None) -> str | None:
    """``branch`` if ``user`` may see it (None = every branch, for the bank-wide roles only);
    AccessDenied otherwise. Returns the branch to read."""
    scope = branch_scope(user)
    if scope is None or branch == scope:
        return branch
    asked = "every branch" if branch is None else f"branch {branch}"
    raise AccessDenied(f"{user.username} may see only branch {scope}, not {asked}",
                       code="scope.other_branch", username=user.username, branch=scope,
                       asked=asked)


def require_teller(user: User, teller_id: str, branch_of_teller: str | None) -> str:
    """``teller_id`` if ``user`` may see that teller's figures: any teller for the bank-wide
    roles, a teller of their branch for a branch manager, themselves for a teller.
    ``branch_of_teller`` is the teller's branch in the log (None when the log does not know the
    teller: then only the bank-wide roles may ask)."""
    scope = branch_scope(user)
    if scope is None:
        return teller_id
    if user.role == "teller":
        if teller_id != user.teller_id:
            raise AccessDenied(f"{user.username} may see only their own figures, "
                               f"not teller {teller_id}'s", code="scope.own_figures",
                               username=user.username, teller_id=teller_id)
        return teller_id
    if branch_of_teller != scope:
        where = ("is not in the log" if branch_of_teller is None
                 else f"is of branch {branch_of_teller}")
        raise AccessDenied(f"{user.username} may see only the tellers of branch {scope}; "
                           f"teller {teller_id} {where}", code="scope.other_teller",
                           username=user.username, branch=scope, teller_id=teller_id)
    return teller_id


def visible_tellers(user: User, teller_branches: dict[str, str | None]) -> list[str]:
    """The tellers (of ``teller_branches``: teller id -> their branch) that ``user`` may pick,
    sorted by id."""
    allowed = []
    for teller, branch in sorted(teller_branches.items()):
        try:
            require_teller(user, teller, branch)
        except AccessDenied:
            continue
        allowed.append(teller)
    return allowed


class _Scoped(Protocol):
    @property
    def branch_id(self) -> str | None: ...


S = TypeVar("S", bound=_Scoped)


def bank_wide(finding: _Scoped) -> bool:
    """Whether a finding is about the whole bank, no teller or branch in it (scope ``type``:
    a business type whose standard time the bank does not meet): an aggregate every user may
    see."""
    return (getattr(finding, "scope", None) == "type" and finding.branch_id is None
            and getattr(finding, "teller_id", None) is None)


def scoped_findings(user: User, findings: Sequence[S]) -> list[S]:
    """The findings (anything with a ``branch_id``: slow steps of tellers and branches) that
    ``user`` may see: all of them, or those of their branch and the bank-wide ones
    (:func:`bank_wide`), in their order."""
    scope = branch_scope(user)
    return [f for f in findings if scope is None or f.branch_id == scope or bank_wide(f)]
