"""Dashboard sessions that outlive a browser tab: a random token per sign-in, checked on the server.

At sign-in the dashboard asks :func:`open_session` for a token (``secrets.token_urlsafe``, 256
bits) and keeps it in a browser cookie; the app database keeps only its SHA-256 hash, in a row
with the user, when it was opened and last used, when it expires and whether it was revoked.
A new browser session (a refresh, a bookmark) hands the cookie's token to
:func:`resume_session`, which gives the user back only when the row is there, not revoked, not
idle for longer than :func:`procmine.app.policy.session_idle` and not older than
:data:`SESSION_MAX_AGE`, and the user is still enabled with no password reset since the
sign-in; anything else is refused with its reason. Sign-out revokes the row
(:func:`revoke_session`); a sign-in deletes the rows past their maximum age. A token read from
the database is of no use: only its hash is there.

Example:
    >>> from procmine.app.auth import seed_demo_users
    >>> ws = Path("ws")  # a workspace of its own
    >>> _ = seed_demo_users(ws)
    >>> token = open_session("ops", home=ws)
    >>> resume_session(token, home=ws).user.username
    'ops'
    >>> revoke_session(token, home=ws)
    True
    >>> resume_session(token, home=ws).reason
    'revoked'
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Boolean, Integer, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from procmine.app.appdb import Base, UserRow, UtcDateTime, session_for, utc_now
from procmine.app.auth import User
from procmine.app.policy import session_idle

__all__ = [
    "SESSION_COOKIE",
    "SESSION_MAX_AGE",
    "Resumed",
    "SessionRow",
    "open_session",
    "resume_session",
    "revoke_session",
    "token_hash",
]

#: The name of the browser cookie that carries the token.
SESSION_COOKIE = "procmine_session"
#: However active, a session lasts at most this long after its sign-in (a working day).
SESSION_MAX_AGE = timedelta(hours=12)
#: ``last_seen`` is written at most this often (a page run is not a database write each time).
_TOUCH = timedelta(seconds=30)

class SessionRow(Base):
    """One signed-in browser: the hash of its token, never the token."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    #: SHA-256 of the token, in hex.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: The latest the session may last (sign-in + SESSION_MAX_AGE).
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


@dataclass(frozen=True)
class Resumed:
    """What :func:`resume_session` found: the user, or why not (``unknown``, ``revoked``,
    ``expired``, ``idle``, ``ended``: the user disabled, removed or their password reset)."""

    user: User | None
    reason: str = ""


def token_hash(token: str) -> str:
    """The SHA-256 of ``token`` in hex: what the database keeps (the token has 256 random bits,
    so a fast hash is enough; a password needs argon2, a token does not).

    Example:
        >>> token_hash("abc")[:12]
        'ba7816bf8f01'
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(username: str, *, home: Path | None = None,
                 now: datetime | None = None) -> str:
    """A new session for ``username`` (signed in just now): its token, to keep in the browser.
    Only the token's hash is stored. Sessions past their maximum age are deleted (whoever
    they were, they are refused anyway)."""
    now = now or utc_now()
    token = secrets.token_urlsafe(32)
    with session_for(home) as session:
        session.execute(delete(SessionRow).where(SessionRow.expires_at <= now))
        session.add(SessionRow(username=username.strip().lower(), token_hash=token_hash(token),
                               created_at=now, last_seen_at=now,
                               expires_at=now + SESSION_MAX_AGE, revoked=False))
    return token


def resume_session(token: str, *, home: Path | None = None, now: datetime | None = None,
                   idle: timedelta | None = None) -> Resumed:
    """The user of the session with ``token``, as the app database has them now, and the
    session marked as used; or the reason it is refused (a refused session is revoked, except
    an unknown token, which has no row)."""
    now = now or utc_now()
    idle = session_idle() if idle is None else idle
    if not token:
        return Resumed(None, "unknown")
    with session_for(home) as session:
        row = session.scalars(
            select(SessionRow).where(SessionRow.token_hash == token_hash(token))).first()
        if row is None:
            return Resumed(None, "unknown")
        reason = _refusal(row, now, idle)
        user_row = None if reason else session.scalars(
            select(UserRow).where(UserRow.username == row.username)).first()
        if not reason and (user_row is None or user_row.disabled or (
                user_row.password_changed_at is not None
                and user_row.password_changed_at > row.created_at)):
            reason = "ended"
        if reason:
            row.revoked = True
            return Resumed(None, reason)
        if now - row.last_seen_at >= _TOUCH:
            row.last_seen_at = now
        assert user_row is not None
        return Resumed(User._from_row(user_row))


def _refusal(row: SessionRow, now: datetime, idle: timedelta) -> str:
    if row.revoked:
        return "revoked"
    if now >= row.expires_at:
        return "expired"
    if now - row.last_seen_at > idle:
        return "idle"
    return ""


def revoke_session(token: str, *, home: Path | None = None) -> bool:
    """End the session with ``token`` (sign-out); True when there was one still open."""
    with session_for(home) as session:
        row = session.scalars(
            select(SessionRow).where(SessionRow.token_hash == token_hash(token))).first()
        if row is None or row.revoked:
            return False
        row.revoked = True
        return True
