"""The app database: users and the audit trail now; SOP reviews and quiz attempts later.

SQLite file ``<workspace>/procmine.db`` by default; ``PROCMINE_DB_URL`` (e.g.
``postgresql+psycopg://procmine@db/procmine``) points every instance at one shared server
instead. Tables are created on first use. The event store is not here: it is Parquet under
``store.py``.

Later tables join by subclassing :class:`Base` in their own module (``quiz.py`` defines
``QuizAttemptRow(Base)``, say). :func:`engine_for` creates any table that was declared after the
engine was first built, so a module only has to be imported before it is used. A column added to
a table that already exists in a deployed database is added there too (``ALTER TABLE ... ADD
COLUMN``), when it may be empty or has a server default; any other change to an existing table
needs a migration (Alembic), which comes with the first such change.

Example:
    >>> from sqlalchemy import func, select
    >>> from procmine.app.appdb import UserRow, session_for
    >>> with session_for(Path("workspace")) as session:
    ...     session.scalar(select(func.count()).select_from(UserRow))
    0
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Dialect,
    Engine,
    Integer,
    String,
    Text,
    create_engine,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

from procmine.app.dburl import DB_FILE, DB_URL_ENV, database_url, has_app_database
from procmine.core.errors import ProcmineError

__all__ = [
    "DB_FILE",
    "DB_URL_ENV",
    "AuditEntry",
    "AuditRow",
    "Base",
    "UserRow",
    "UtcDateTime",
    "add_missing_columns",
    "close_engines",
    "database_url",
    "engine_for",
    "has_app_database",
    "list_audit",
    "record_audit",
    "session_for",
    "utc_now",
]


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC (the only kind of time the app database keeps)."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and read back timezone-aware on every backend.

    SQLite has no time zones: without this, a time written aware comes back naive.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the app database keeps timezone-aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """The declarative base of every app-database table."""


class UserRow(Base):
    """A person who can sign in. Callers outside procmine get ``procmine.app.auth.User`` instead."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    #: For reviewers: domestic-settlement, accounting-and-cash or compliance-and-control.
    review_group: Mapped[str | None] = mapped_column(String(64), default=None)
    #: For tellers: their teller id in the event log, as text ("0101" is not 101).
    teller_id: Mapped[str | None] = mapped_column(String(64), default=None)
    branch_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    #: When the password was last set after the user was created (a reset ends open sessions).
    password_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class AuditRow(Base):
    """One line of the audit trail: a user change, a sign-in, later an SOP approval."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now, index=True)
    #: The user the action concerns (for a failed sign-in: the name that was typed).
    username: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")


@dataclass(frozen=True)
class AuditEntry:
    """One audit row as callers see it."""

    at: datetime
    username: str
    action: str
    detail: str


_engines: dict[str, tuple[Engine, int]] = {}
_lock = threading.Lock()


def engine_for(home: Path | None = None, url: str | None = None) -> Engine:
    """The engine of the app database, with its tables created (one engine per URL).

    Example:
        >>> engine = engine_for(Path("workspace"))
        >>> engine.url.get_backend_name()
        'sqlite'
    """
    key = database_url(home, url)
    with _lock:
        cached = _engines.get(key)
        tables = len(Base.metadata.tables)
        if cached is not None and cached[1] == tables:
            return cached[0]
        engine = cached[0] if cached is not None else _create_engine(key)
        try:
            Base.metadata.create_all(engine)
            add_missing_columns(engine)
        except ProcmineError:
            if cached is None:
                engine.dispose()
            raise
        except SQLAlchemyError as exc:
            if cached is None:
                engine.dispose()
            reason = getattr(exc, "orig", None) or exc
            raise ProcmineError(
                f"cannot open the app database {engine.url.render_as_string()}: {reason}"
            ) from exc
        _engines[key] = (engine, tables)
        return engine


def add_missing_columns(engine: Engine) -> list[str]:
    """Add to the database's existing tables the columns the model declares and they lack (a
    database made by an older procmine); returns them as ``table.column``.

    Only a column that may be empty or has a server default can be added this way; any other
    raises ProcmineError. Two processes upgrading at once are fine: a column the other one
    added is not added twice.

    Example:
        >>> add_missing_columns(engine_for(Path("workspace")))
        []
    """
    added = []
    for table in Base.metadata.sorted_tables:
        existing = _columns(engine, table.name)
        if existing is None:
            continue
        for column in table.columns:
            if column.name in existing:
                continue
            if not column.nullable and column.server_default is None:
                raise ProcmineError(
                    f"the app database's table {table.name} lacks the column {column.name}, "
                    "which cannot be added without a value: it needs a migration"
                )
            quote = engine.dialect.identifier_preparer.quote
            ddl = (f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} "
                   f"{column.type.compile(dialect=engine.dialect)}")
            try:
                with engine.begin() as connection:
                    connection.execute(text(ddl))
            except SQLAlchemyError:
                if column.name not in (_columns(engine, table.name) or set()):
                    raise
            added.append(f"{table.name}.{column.name}")
    return added


def _columns(engine: Engine, table: str) -> set[str] | None:
    inspector = inspect(engine)
    if not inspector.has_table(table):
        return None
    return {c["name"] for c in inspector.get_columns(table)}


def _create_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ProcmineError(
            f"{DB_URL_ENV} or the database URL {url!r} is not a database URL "
            "(expected e.g. postgresql+psycopg://user@host/procmine)"
        ) from exc
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # The dashboard and the command line may write at the same moment: wait, don't fail.
        kwargs["connect_args"] = {"timeout": 30}
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise ProcmineError(
            f"cannot use the database URL {parsed.render_as_string()}: {exc} "
            "(is its database driver installed?)"
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def close_engines() -> None:
    """Dispose of every cached engine (tests and shutdown; the next call opens anew)."""
    with _lock:
        for engine, _ in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def session_for(home: Path | None = None, url: str | None = None) -> Iterator[Session]:
    """A session on the app database that commits at the end of the block, or rolls back.

    Objects stay readable after the block (``expire_on_commit=False``).

    Example:
        >>> with session_for(Path("ws")) as session:  # a workspace of its own
        ...     record_audit(session, "ops", "user.add", "role operations")
        >>> [(e.username, e.action) for e in list_audit(Path("ws"))]
        [('ops', 'user.add')]
    """
    with Session(engine_for(home, url), expire_on_commit=False) as session, session.begin():
        yield session


def record_audit(session: Session, username: str, action: str, detail: str = "") -> None:
    """Add an audit row to ``session`` (written when the session commits, with its change).

    ``action`` is a dotted name: ``user.add``, ``user.set_role``, ``auth.sign_in``,
    ``auth.sign_in_failed``, and so on.
    """
    session.add(AuditRow(at=utc_now(), username=username[:64], action=action, detail=detail))


def list_audit(
    home: Path | None = None,
    *,
    username: str | None = None,
    action: str | None = None,
    limit: int = 100,
    url: str | None = None,
) -> list[AuditEntry]:
    """The newest audit rows first, optionally of one user and/or one action.

    Example:
        >>> [e.detail for e in list_audit(home, username="ops", action="user.add")]
        ['role operations; by seed-demo']
        >>> [(e.username, e.detail[:11]) for e in list_audit(home, action="sop.approve")]
        [('reviewer2', 'SOP-P18 3.0')]
    """
    query = select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
    if username is not None:
        query = query.where(AuditRow.username == username)
    if action is not None:
        query = query.where(AuditRow.action == action)
    with session_for(home, url) as session:
        return [
            AuditEntry(at=row.at, username=row.username, action=row.action, detail=row.detail)
            for row in session.scalars(query)
        ]
