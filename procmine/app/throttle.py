"""Failed sign-ins, counted per user name and per client, and the locks they lead to.

One row per (kind, key): ``("user", "ops")`` or ``("client", "10.1.2.3")``. A name is counted
whether a user of that name exists or not, so that a lock says nothing about which names are
real. An attempt is *reserved* before the password is checked (the counter goes up at once, in
a transaction of its own, on the row it holds locked): a name or client that is locked, or that has
used up its attempts, is refused without computing an argon2 hash, even when many attempts
arrive together. A successful sign-in gives the attempt back (and clears the name's count).

Example:
    >>> from datetime import UTC, datetime
    >>> policy = SignInPolicy(attempts=2)
    >>> now = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    >>> ws = Path("ws")  # a workspace of its own
    >>> [reserve_attempt(ws, [("user", "ops")], policy, now)[0] for _ in range(3)]
    [None, None, datetime.datetime(2026, 10, 1, 9, 15, tzinfo=datetime.timezone.utc)]
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import Integer, String, UniqueConstraint, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from procmine.app.appdb import Base, UtcDateTime, session_for
from procmine.app.policy import SignInPolicy

__all__ = ["SignInThrottleRow", "clear_attempts", "lock_if_used_up", "locked_until",
           "release_attempt", "reserve_attempt"]

Key = tuple[str, str]


class SignInThrottleRow(Base):
    """Failed sign-ins of one user name or client within the current window, and its lock."""

    __tablename__ = "sign_in_throttle"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: "user" or "client".
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UtcDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


def _limit(kind: str, policy: SignInPolicy) -> int:
    return policy.attempts if kind == "user" else policy.client_attempts


def reserve_attempt(home: Path | None, keys: Sequence[Key], policy: SignInPolicy,
                    now: datetime) -> tuple[datetime | None, bool]:
    """Count one attempt against each of ``keys``. Returns None when it may go ahead, else
    the time until which one of them is locked (the attempt is then refused, and counts no
    more); and whether this attempt set that lock.

    The first statement writes, so that on SQLite the transaction holds the write lock from
    its start (a read-then-write transaction could fail against a concurrent one).
    """
    until: datetime | None = None
    newly = False
    with session_for(home) as session:
        for kind, key in keys:
            count, locked = _count(session, kind, key[:200], policy, now)
            if locked is not None:
                until = until or locked
            elif count > _limit(kind, policy):
                until = until or now + policy.lock
                newly |= _lock(session, kind, key[:200], until, count)
    return until, newly


def release_attempt(home: Path | None, keys: Sequence[Key], *, clear: Sequence[Key] = ()) -> None:
    """A reserved attempt succeeded: give it back to ``keys``, and clear the counts of
    ``clear`` (the user name that signed in)."""
    with session_for(home) as session:
        for kind, key in keys:
            session.execute(update(SignInThrottleRow)
                            .where(SignInThrottleRow.kind == kind,
                                   SignInThrottleRow.key == key[:200],
                                   SignInThrottleRow.failures > 0)
                            .values(failures=SignInThrottleRow.failures - 1)
                            .execution_options(synchronize_session=False))
        for kind, key in clear:
            _clear(session, kind, key[:200])


def lock_if_used_up(home: Path | None, keys: Sequence[Key], policy: SignInPolicy,
                    now: datetime) -> datetime | None:
    """After a failed attempt: lock each of ``keys`` whose failures reached its limit; returns
    the end of the lock set, or None."""
    until = now + policy.lock
    locked = False
    with session_for(home) as session:
        for kind, key in keys:
            locked |= _lock(session, kind, key[:200], until, _limit(kind, policy))
    return until if locked else None


def locked_until(home: Path | None, kind: str, key: str, now: datetime) -> datetime | None:
    """When the lock on ``key`` ends, or None if it is not locked."""
    with session_for(home) as session:
        return _lock_of(session, kind, key[:200], now)


def clear_attempts(home: Path | None, kind: str, key: str) -> bool:
    """Forget the failures and the lock of ``key``; True when it had any."""
    with session_for(home) as session:
        return _clear(session, kind, key[:200])


def _row(session: Session, kind: str, key: str) -> SignInThrottleRow | None:
    return session.scalars(select(SignInThrottleRow).where(
        SignInThrottleRow.kind == kind, SignInThrottleRow.key == key)).first()


def _lock_of(session: Session, kind: str, key: str, now: datetime) -> datetime | None:
    row = _row(session, kind, key)
    if row is None or row.locked_until is None or row.locked_until <= now:
        return None
    return row.locked_until


def _count(session: Session, kind: str, key: str, policy: SignInPolicy,
           now: datetime) -> tuple[int, datetime | None]:
    """Add one failure to ``key`` unless it is locked (a new window when the old one, or its
    lock, is over); return the count and the lock's end, if locked.

    The row is made if missing (an insert that does nothing on a conflict), then read with a
    row lock (``FOR UPDATE``; on SQLite the first write already holds the database's write
    lock): attempts arriving together on any database each see the count the one before left.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(SignInThrottleRow)
                    .values(kind=kind, key=key, failures=0, window_start=now)
                    .on_conflict_do_nothing(index_elements=["kind", "key"]))
    row = session.scalars(select(SignInThrottleRow)
                          .where(SignInThrottleRow.kind == kind, SignInThrottleRow.key == key)
                          .with_for_update()
                          .execution_options(populate_existing=True)).one()
    if row.locked_until is not None and row.locked_until > now:
        return row.failures, row.locked_until
    if row.locked_until is not None or row.window_start < now - policy.window:
        row.failures, row.window_start, row.locked_until = 0, now, None
    row.failures += 1
    session.flush()
    return row.failures, None


def _lock(session: Session, kind: str, key: str, until: datetime, at_least: int) -> bool:
    result = session.execute(update(SignInThrottleRow)
                             .where(SignInThrottleRow.kind == kind,
                                    SignInThrottleRow.key == key,
                                    SignInThrottleRow.locked_until.is_(None),
                                    SignInThrottleRow.failures >= at_least)
                             .values(locked_until=until)
                             .execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _clear(session: Session, kind: str, key: str) -> bool:
    result = session.execute(delete(SignInThrottleRow).where(
        SignInThrottleRow.kind == kind, SignInThrottleRow.key == key))
    return bool(result.rowcount)  # type: ignore[attr-defined]
