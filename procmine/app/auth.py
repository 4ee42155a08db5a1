"""Users and roles: who may sign in, and what each role may open.

Five roles:

- ``operations``: the operations department; reads everything.
- ``branch_manager``: runs one branch's lobby (``branch_id``); sees its branch's queue,
  staffing, diversion and its own tellers' figures and findings, other branches only as
  aggregates (:mod:`procmine.app.scope`).
- ``reviewer``: a member of one process-review group; edits and approves that group's SOPs.
- ``trainer``: builds quizzes and sees their results.
- ``teller``: takes quizzes and sees their own figures (``teller_id`` links them to the log).

Passwords are kept as argon2id hashes (argon2-cffi's ``PasswordHasher``) and must pass the
policy of :mod:`procmine.app.policy` (10 characters, not a common password, not the user name).
Every user change and every sign-in, successful or not, writes an audit row. Repeated failed
sign-ins lock the user name (and the client) for a while (:mod:`procmine.app.throttle`); a
locked name is refused before any hash is computed. A real workspace starts with no users;
``seed_demo_users`` adds one per role for the demo (``procmine demo-workspace`` only).

Example:
    >>> from pathlib import Path
    >>> from procmine.app.auth import add_user, authenticate
    >>> ws = Path("ws")  # a workspace of its own
    >>> add_user("li.na", "s3cret-pass", "reviewer", review_group="accounting-and-cash", home=ws)
    User(username='li.na', role='reviewer', ...)
    >>> authenticate("li.na", "s3cret-pass", home=ws).role
    'reviewer'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from procmine.app.appdb import UserRow, record_audit, session_for, utc_now
from procmine.app.policy import MIN_PASSWORD_LENGTH, SignInPolicy, check_password
from procmine.app.throttle import (
    clear_attempts,
    lock_if_used_up,
    release_attempt,
    reserve_attempt,
)
from procmine.core.baseline import REVIEW_GROUPS
from procmine.core.errors import ProcmineError

__all__ = [
    "DEMO_PASSWORD",
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "AccountLocked",
    "Identity",
    "User",
    "add_user",
    "authenticate",
    "can_open",
    "disable_user",
    "enable_user",
    "get_user",
    "hash_password",
    "list_users",
    "seed_demo_users",
    "set_password",
    "set_role",
    "unlock_user",
    "verify_password",
]

ROLES = ("operations", "branch_manager", "reviewer", "trainer", "teller")
DEMO_PASSWORD = "procmine-demo"

# Letters, digits and . _ @ - : room for e-mail addresses from a future single sign-on.
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")

_hasher = PasswordHasher()  # argon2id with argon2-cffi's recommended (RFC 9106) parameters


class AccountLocked(ProcmineError):
    """Too many failed sign-ins for this user name or from this client: refused until
    ``until`` (UTC), whatever the password."""

    def __init__(self, username: str, until: datetime) -> None:
        self.username = username
        self.until = until
        super().__init__(f"too many failed sign-ins for {username!r}: try again after "
                         f"{until:%H:%M} UTC", code="auth.locked", username=username,
                         until=f"{until:%H:%M}")


@dataclass(frozen=True)
class Identity:
    """Who is signed in, and in which role: all a page needs to decide what to show.

    Today an Identity comes from a password sign-in (``authenticate(...).identity``). It is
    the seam for single sign-on: a future ``st.login``/OIDC path, in ``procmine/dashboard/``
    (never here, the library does not import streamlit), would read the provider's user
    (``st.user``), build ``Identity(username=<e-mail or subject>, role=<from a group claim or
    the local users table>, source="oidc")`` and keep it in the session state where the
    password path keeps its own. Pages then call ``can_open(identity.role, allowed)`` the
    same way whichever path signed the person in.

    Example:
        >>> Identity("ops", "operations")
        Identity(username='ops', role='operations', source='password')
    """

    username: str
    role: str
    source: str = "password"


@dataclass(frozen=True)
class User:
    """A user as callers see it: everything but the password hash.

    Example:
        >>> user = get_user("teller")
        >>> (user.role, user.teller_id)
        ('teller', '0101')
    """

    username: str
    role: str
    display_name: str
    review_group: str | None
    teller_id: str | None
    branch_id: str | None
    created_at: datetime
    disabled: bool
    #: When the password was last reset (None: as set when the user was created).
    password_changed_at: datetime | None = None

    @property
    def identity(self) -> Identity:
        """The signed-in identity of this user, from a password sign-in."""
        return Identity(username=self.username, role=self.role)

    @classmethod
    def _from_row(cls, row: UserRow) -> User:
        return cls(
            username=row.username,
            role=row.role,
            display_name=row.display_name,
            review_group=row.review_group,
            teller_id=row.teller_id,
            branch_id=row.branch_id,
            created_at=row.created_at,
            disabled=row.disabled,
            password_changed_at=row.password_changed_at,
        )


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``, salted, in PHC form.

    Example:
        >>> hash_password("procmine-demo")[:10]
        '$argon2id$'
    """
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; False for a wrong password or a hash
    that is not an argon2 hash.

    Example:
        >>> h = hash_password("procmine-demo")
        >>> verify_password(h, "procmine-demo"), verify_password(h, "wrong")
        (True, False)
    """
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def can_open(user_role: str, allowed: Iterable[str]) -> bool:
    """True when a user of ``user_role`` may open a page that declares the roles ``allowed``.

    Pages list their roles themselves; an unknown name in ``allowed`` is a typo in the page
    and raises ValueError rather than locking everyone out in silence.

    Example:
        >>> can_open("trainer", ("operations", "trainer"))
        True
        >>> can_open("teller", ("operations",))
        False
    """
    allowed = tuple(allowed)
    unknown = [r for r in allowed if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(unknown)}; roles are {', '.join(ROLES)}")
    return user_role in allowed


def add_user(
    username: str,
    password: str,
    role: str,
    *,
    display_name: str | None = None,
    review_group: str | None = None,
    teller_id: str | None = None,
    branch_id: str | None = None,
    home: Path | None = None,
    actor: str | None = None,
) -> User:
    """Create a user; usernames are case-insensitive and kept in lower case.

    A reviewer needs a ``review_group``; a teller should have a ``teller_id`` (their id in the
    event log) to see their own figures, but can be created without one. ``actor`` (who made
    the change, e.g. ``cli:root``) goes into the audit row.

    Raises ProcmineError for an unknown role, a taken username, a reviewer without a review
    group, or a password the policy refuses (:func:`procmine.app.policy.check_password`).

    Example:
        >>> ws = Path("ws")  # a workspace of its own
        >>> add_user("wang.fang", "teller-pass-1", "teller", teller_id="0103", branch_id="B02",
        ...          home=ws)
        User(username='wang.fang', role='teller', ..., teller_id='0103', branch_id='B02', ...)
    """
    name = _check_username(username)
    _check_role(role, review_group)
    if role == "branch_manager" and not _text_or_none(branch_id):
        raise ProcmineError(_NEEDS_BRANCH, code="auth.needs_branch")
    check_password(password, name)
    return _create(name, password, role, display_name=display_name, review_group=review_group,
                   teller_id=teller_id, branch_id=branch_id, home=home, actor=actor)


def _create(
    name: str,
    password: str,
    role: str,
    *,
    display_name: str | None,
    review_group: str | None = None,
    teller_id: str | None = None,
    branch_id: str | None = None,
    home: Path | None,
    actor: str | None,
) -> User:
    row = UserRow(
        username=name,
        display_name=(display_name or "").strip() or name,
        password_hash=hash_password(password),
        role=role,
        review_group=review_group if role == "reviewer" else None,
        teller_id=_text_or_none(teller_id),
        branch_id=_text_or_none(branch_id),
        created_at=utc_now(),
        disabled=False,
    )
    detail = f"role {role}" + (f" ({review_group})" if role == "reviewer" else "")
    try:
        with session_for(home) as session:
            if _find(session, name) is not None:
                raise ProcmineError(f"a user named {name!r} already exists",
                                    code="auth.user_exists", name=name)
            session.add(row)
            record_audit(session, name, "user.add", _by(detail, actor))
    except IntegrityError:  # created by someone else between the check and the insert
        raise ProcmineError(f"a user named {name!r} already exists", code="auth.user_exists",
                            name=name) from None
    return User._from_row(row)


def get_user(username: str, home: Path | None = None) -> User | None:
    """The user named ``username``, or None."""
    with session_for(home) as session:
        row = _find(session, username.strip().lower())
        return User._from_row(row) if row is not None else None


def list_users(home: Path | None = None) -> list[User]:
    """Every user, disabled ones included, by username.

    Example:
        >>> [u.username for u in list_users()]
        ['manager', 'ops', 'reviewer', 'reviewer2', 'settlement', 'teller', 'trainer']
    """
    with session_for(home) as session:
        rows = session.scalars(select(UserRow).order_by(UserRow.username))
        return [User._from_row(r) for r in rows]


def set_role(
    username: str,
    role: str,
    *,
    review_group: str | None = None,
    branch_id: str | None = None,
    home: Path | None = None,
    actor: str | None = None,
) -> User:
    """Give a user another role (a reviewer needs ``review_group``; other roles drop theirs).

    A branch manager needs a branch: ``branch_id``, or the one the user already has (a teller
    of B02 made manager runs B02). A ``branch_id`` given for another role is kept as the
    user's branch too.

    Example:
        >>> ws = Path("ws")  # a workspace of its own
        >>> add_user("wang.fang", "teller-pass-1", "teller", teller_id="0103", home=ws).role
        'teller'
        >>> set_role("wang.fang", "reviewer", review_group="domestic-settlement", home=ws).role
        'reviewer'
        >>> set_role("wang.fang", "branch_manager", branch_id="B03", home=ws).branch_id
        'B03'
    """
    _check_role(role, review_group)
    branch = _text_or_none(branch_id)
    with session_for(home) as session:
        row = _require(session, username)
        if role == "branch_manager" and branch is None and row.branch_id is None:
            raise ProcmineError(_NEEDS_BRANCH, code="auth.needs_branch")
        before = row.role + (f" ({row.review_group})" if row.review_group else "")
        before += f" [{row.branch_id}]" if row.role == "branch_manager" else ""
        row.role = role
        row.review_group = review_group if role == "reviewer" else None
        if branch is not None:
            row.branch_id = branch
        after = role + (f" ({review_group})" if review_group else "")
        after += f" [{row.branch_id}]" if role == "branch_manager" else ""
        record_audit(session, row.username, "user.set_role", _by(f"{before} -> {after}", actor))
        return User._from_row(row)


def set_password(
    username: str, password: str, *, home: Path | None = None, actor: str | None = None
) -> None:
    """Replace a user's password (the policy applies) and lift a lock on their name.

    Example:
        >>> ws = Path("ws")  # a workspace of its own
        >>> _ = add_user("li.na", "s3cret-pass", "trainer", home=ws)
        >>> set_password("li.na", "another-s3cret", home=ws, actor="cli:root")
        >>> authenticate("li.na", "another-s3cret", home=ws).username
        'li.na'
    """
    name = username.strip().lower()
    check_password(password, name)
    new_hash = hash_password(password)
    with session_for(home) as session:
        row = _require(session, name)
        row.password_hash = new_hash
        row.password_changed_at = utc_now()
        record_audit(session, row.username, "user.set_password", _by("", actor))
    clear_attempts(home, "user", name)


def unlock_user(username: str, *, home: Path | None = None, actor: str | None = None) -> bool:
    """Lift the lock that failed sign-ins put on a user name; True when there was one."""
    name = username.strip().lower()
    with session_for(home) as session:
        _require(session, name)
    cleared = clear_attempts(home, "user", name)
    with session_for(home) as session:
        record_audit(session, name, "user.unlock", _by("" if cleared else "not locked", actor))
    return cleared


def disable_user(username: str, *, home: Path | None = None, actor: str | None = None) -> None:
    """Stop a user from signing in; their history stays."""
    _set_disabled(username, True, home, actor)


def enable_user(username: str, *, home: Path | None = None, actor: str | None = None) -> None:
    """Let a disabled user sign in again."""
    _set_disabled(username, False, home, actor)


def authenticate(
    username: str,
    password: str,
    home: Path | None = None,
    *,
    client: str | None = None,
    policy: SignInPolicy | None = None,
) -> User | None:
    """The user when ``username`` and ``password`` match an enabled user, else None.

    Writes an audit row either way (``auth.sign_in`` or ``auth.sign_in_failed`` with the
    reason). An unknown username costs one hash verification too, so the time taken does not
    tell which usernames exist. A hash made with older argon2 parameters is replaced on a
    successful sign-in.

    Failed attempts count against the name and against ``client`` (the dashboard passes the
    remote address); past the ``policy``'s limit (default: :meth:`SignInPolicy.from_env`, 5
    per name within 15 minutes) they are locked for a while: AccountLocked is raised, before
    any hash is computed, whatever the password.

    Example:
        >>> authenticate("ops", "procmine-demo").role
        'operations'
        >>> authenticate("ops", "wrong") is None
        True
    """
    name = username.strip().lower()
    policy = policy or SignInPolicy.from_env()
    keys = [("user", name)] + ([("client", client)] if client else [])
    source = f" from {client}" if client else ""
    now = utc_now()
    until, newly = reserve_attempt(home, keys, policy, now)
    if until is not None:
        with session_for(home) as session:
            if newly:
                record_audit(session, name, "auth.locked", _lock_detail(policy, until, source))
            record_audit(session, name, "auth.sign_in_failed",
                         f"locked until {until:%Y-%m-%d %H:%M} UTC{source}")
        raise AccountLocked(name, until)
    with session_for(home) as session:
        row = _find(session, name)
        stored = row.password_hash if row is not None else _dummy_hash()
    # the hash is checked outside any transaction: it takes a while, and SQLite has one writer
    matches = verify_password(stored, password)
    user: User | None = None
    with session_for(home) as session:
        row = _find(session, name)
        reason = ("unknown user" if row is None else "wrong password" if not matches
                  else "user disabled" if row.disabled else "")
        if row is None or reason:
            record_audit(session, name, "auth.sign_in_failed", reason + source)
        else:
            detail = source.strip()
            if _hasher.check_needs_rehash(row.password_hash):
                row.password_hash = hash_password(password)
                detail = "password rehashed with current argon2 parameters" + source
            record_audit(session, name, "auth.sign_in", detail)
            user = User._from_row(row)
    if user is None:
        _after_failure(home, name, keys, policy, now, source)
        return None
    release_attempt(home, keys, clear=[("user", name)])
    return user


def _after_failure(home: Path | None, name: str, keys: list[tuple[str, str]],
                   policy: SignInPolicy, now: datetime, source: str) -> None:
    until = lock_if_used_up(home, keys, policy, now)
    if until is not None:
        with session_for(home) as session:
            record_audit(session, name, "auth.locked", _lock_detail(policy, until, source))


def _lock_detail(policy: SignInPolicy, until: datetime, source: str) -> str:
    return (f"too many failed sign-ins within {policy.window.total_seconds() / 60:g} min; "
            f"locked until {until:%Y-%m-%d %H:%M} UTC{source}")


def seed_demo_users(home: Path | None = None) -> list[User]:
    """Create the demo users, with password ``procmine-demo``.

    One per role: ``ops`` (operations), ``reviewer`` (accounting-and-cash), ``trainer``,
    ``manager`` (branch manager of B01) and ``teller`` (teller 0101 of branch B01); and two
    more reviewers, so that an SOP change can be approved by someone other than its author:
    ``reviewer2`` (accounting-and-cash) and ``settlement`` (domestic-settlement). Users that
    exist are left as they are; returns those created.

    Example:
        >>> ws = Path("ws")  # a workspace of its own (the demo workspace has them already)
        >>> [u.username for u in seed_demo_users(ws)]
        ['ops', 'reviewer', 'trainer', 'manager', 'teller', 'reviewer2', 'settlement']
        >>> seed_demo_users(ws)
        []
    """
    demo: list[tuple[str, str, dict[str, str]]] = [
        ("ops", "operations", {"display_name": "Operations (demo)"}),
        ("reviewer", "reviewer", {"display_name": "Reviewer (demo)",
                                  "review_group": "accounting-and-cash"}),
        ("trainer", "trainer", {"display_name": "Trainer (demo)"}),
        ("manager", "branch_manager", {"display_name": "Branch manager B01 (demo)",
                                       "branch_id": "B01"}),
        ("teller", "teller", {"display_name": "Teller 0101 (demo)", "teller_id": "0101",
                              "branch_id": "B01"}),
        ("reviewer2", "reviewer", {"display_name": "Reviewer 2 (demo)",
                                   "review_group": "accounting-and-cash"}),
        ("settlement", "reviewer", {"display_name": "Settlement reviewer (demo)",
                                    "review_group": "domestic-settlement"}),
    ]
    created = []
    for username, role, extra in demo:
        if get_user(username, home) is None:
            created.append(
                _create(username, DEMO_PASSWORD, role, home=home, actor="seed-demo", **extra)
            )
    return created


def _check_username(username: str) -> str:
    name = username.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise ProcmineError(
            f"username {username!r} is not valid: use 1 to 64 letters, digits and . _ @ -, "
            "starting with a letter or digit", code="auth.bad_username", username=username
        )
    return name


_NEEDS_BRANCH = ("a branch manager needs the branch they run (branch_id; on the command line "
                 "--branch, e.g. --branch B01)")


def _check_role(role: str, review_group: str | None) -> None:
    if role not in ROLES:
        raise ProcmineError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}",
                            code="auth.unknown_role", role=role)
    if role == "reviewer":
        if not review_group:
            raise ProcmineError(
                f"a reviewer needs a review group: one of {', '.join(REVIEW_GROUPS)}",
                code="auth.needs_group", groups=", ".join(REVIEW_GROUPS)
            )
        if review_group not in REVIEW_GROUPS:
            raise ProcmineError(
                f"unknown review group {review_group!r}; expected one of "
                f"{', '.join(REVIEW_GROUPS)}", code="auth.unknown_group", group=review_group,
                groups=", ".join(REVIEW_GROUPS)
            )
    elif review_group:
        raise ProcmineError(f"only reviewers have a review group, not the role {role!r}",
                            code="auth.group_for_reviewers", role=role)


def _text_or_none(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


def _by(detail: str, actor: str | None) -> str:
    if not actor:
        return detail
    return f"{detail}; by {actor}" if detail else f"by {actor}"


def _find(session: Session, name: str) -> UserRow | None:
    return session.scalars(select(UserRow).where(UserRow.username == name)).first()


def _require(session: Session, username: str) -> UserRow:
    name = username.strip().lower()
    row = _find(session, name)
    if row is None:
        raise ProcmineError(f"no user named {name!r}", code="auth.no_user", name=name)
    return row


def _set_disabled(username: str, disabled: bool, home: Path | None, actor: str | None) -> None:
    with session_for(home) as session:
        row = _require(session, username)
        row.disabled = disabled
        action = "user.disable" if disabled else "user.enable"
        record_audit(session, row.username, action, _by("", actor))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified against for unknown usernames, so that they take as long as known ones.
    return hash_password("procmine: no such user")
