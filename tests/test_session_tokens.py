"""Dashboard session tokens (procmine/app/session_tokens.py): only the hash is stored; a token
is refused once revoked, idle past the limit, past its maximum age, or when its user was
disabled or had the password reset; on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from procmine.app.appdb import session_for
from procmine.app.auth import add_user, disable_user, set_password
from procmine.app.session_tokens import (
    SESSION_MAX_AGE,
    SessionRow,
    open_session,
    resume_session,
    revoke_session,
)

pytestmark = pytest.mark.usefixtures("own_app_db")

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
IDLE = timedelta(minutes=30)


@pytest.fixture
def ws(home: Path) -> Path:
    add_user("li.na", "s3cret-pass", "trainer", home=home)
    return home


def _rows(home: Path) -> list[SessionRow]:
    with session_for(home) as session:
        return list(session.scalars(select(SessionRow).order_by(SessionRow.id)))


def test_the_database_keeps_the_hash_of_the_token_never_the_token(ws: Path) -> None:
    token = open_session("Li.Na", home=ws, now=T0)
    assert len(token) >= 43   # 32 random bytes, url-safe base64
    [row] = _rows(ws)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    values = [str(getattr(row, c.key)) for c in SessionRow.__table__.columns]
    assert not any(token in v for v in values)
    assert (row.username, row.created_at, row.last_seen_at, row.expires_at, row.revoked) == (
        "li.na", T0, T0, T0 + timedelta(hours=12), False)
    assert timedelta(hours=12) == SESSION_MAX_AGE
    assert open_session("li.na", home=ws, now=T0) != token   # a fresh token each sign-in


def test_a_token_resumes_its_user_and_marks_the_session_used(ws: Path) -> None:
    token = open_session("li.na", home=ws, now=T0)
    resumed = resume_session(token, home=ws, now=T0 + timedelta(seconds=10), idle=IDLE)
    assert (resumed.user.username if resumed.user else None, resumed.reason) == ("li.na", "")
    assert _rows(ws)[0].last_seen_at == T0   # within 30 seconds: not written again
    later = T0 + timedelta(minutes=25)
    assert resume_session(token, home=ws, now=later, idle=IDLE).user is not None
    assert _rows(ws)[0].last_seen_at == later
    # 25 + 29 minutes after sign-in: idle for 29 minutes only, so still open
    assert resume_session(token, home=ws, now=later + timedelta(minutes=29), idle=IDLE).user


def test_an_idle_session_is_refused_and_stays_refused(ws: Path) -> None:
    token = open_session("li.na", home=ws, now=T0)
    late = T0 + IDLE + timedelta(seconds=1)
    assert resume_session(token, home=ws, now=late, idle=IDLE).reason == "idle"
    assert _rows(ws)[0].revoked is True
    assert resume_session(token, home=ws, now=late, idle=timedelta(hours=2)).reason == "revoked"


def test_a_session_used_all_day_expires_after_its_maximum_age(ws: Path) -> None:
    token = open_session("li.na", home=ws, now=T0)
    now = T0
    while now + timedelta(minutes=20) < T0 + SESSION_MAX_AGE:
        now += timedelta(minutes=20)
        assert resume_session(token, home=ws, now=now, idle=IDLE).user is not None
    end = T0 + SESSION_MAX_AGE
    assert resume_session(token, home=ws, now=end, idle=IDLE).reason == "expired"
    kept = open_session("li.na", home=ws, now=end - timedelta(minutes=10))
    assert len(_rows(ws)) == 2
    fresh = open_session("li.na", home=ws, now=end)   # a sign-in clears out the expired
    assert [r.expires_at for r in _rows(ws)] == [
        end - timedelta(minutes=10) + SESSION_MAX_AGE, end + SESSION_MAX_AGE]
    assert fresh != kept
    assert resume_session(kept, home=ws, now=end, idle=IDLE).user is not None


def test_sign_out_revokes_one_session_only(ws: Path) -> None:
    first = open_session("li.na", home=ws, now=T0)
    second = open_session("li.na", home=ws, now=T0)
    assert revoke_session(first, home=ws) is True
    assert revoke_session(first, home=ws) is False   # already revoked
    assert revoke_session("no-such-token", home=ws) is False
    soon = T0 + timedelta(minutes=1)
    assert resume_session(first, home=ws, now=soon, idle=IDLE).reason == "revoked"
    assert resume_session(second, home=ws, now=soon, idle=IDLE).user is not None


def test_unknown_and_empty_tokens_are_refused(ws: Path) -> None:
    open_session("li.na", home=ws, now=T0)
    assert resume_session("x" * 43, home=ws, now=T0, idle=IDLE).reason == "unknown"
    assert resume_session("", home=ws, now=T0, idle=IDLE).reason == "unknown"


def test_a_disabled_user_or_a_password_reset_ends_the_session(ws: Path) -> None:
    add_user("wang.fang", "teller-pass-1", "teller", teller_id="0103", home=ws)
    now = datetime.now(UTC)
    disabled = open_session("wang.fang", home=ws, now=now)
    disable_user("wang.fang", home=ws)
    assert resume_session(disabled, home=ws, now=now, idle=IDLE).reason == "ended"
    before = open_session("li.na", home=ws, now=now - timedelta(minutes=5))
    set_password("li.na", "another-s3cret", home=ws)
    assert resume_session(before, home=ws, now=now, idle=IDLE).reason == "ended"
    after = open_session("li.na", home=ws)   # signed in with the new password
    assert resume_session(after, home=ws, idle=IDLE).user is not None
