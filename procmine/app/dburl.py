"""Where the app database is, without loading the database library.

The workspace's SQLite file ``<workspace>/procmine.db`` by default; ``PROCMINE_DB_URL`` points
every instance at one shared server instead (:mod:`procmine.app.appdb` opens it). Kept apart
from that module so that a command that only asks whether there is an app database (an
ingest, refreshing the improvement register's figures when there is one) does not import
SQLAlchemy to learn it.

Example:
    >>> database_url(Path("/srv/ws"))
    'sqlite:////srv/ws/procmine.db'
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DB_FILE", "DB_URL_ENV", "database_url", "has_app_database"]

#: Environment variable with a database URL that replaces the workspace's SQLite file.
DB_URL_ENV = "PROCMINE_DB_URL"
#: The SQLite file's name inside the workspace.
DB_FILE = "procmine.db"


def database_url(home: Path | None = None, url: str | None = None) -> str:
    """The app database's URL: ``url``, else ``$PROCMINE_DB_URL``, else the workspace's SQLite file.

    The workspace is ``home``, else ``$PROCMINE_HOME``, else ``./workspace``.
    """
    chosen = url or os.environ.get(DB_URL_ENV) or None
    if chosen:
        return chosen
    folder = home if home is not None else Path(os.environ.get("PROCMINE_HOME", "workspace"))
    return f"sqlite:///{(Path(folder) / DB_FILE).resolve()}"


def has_app_database(home: Path | None = None) -> bool:
    """Whether the workspace has an app database: a server named by ``PROCMINE_DB_URL``, or
    the workspace's SQLite file (opening an engine creates it; this creates none)."""
    url = database_url(home)
    return not url.startswith("sqlite:///") or Path(url.removeprefix("sqlite:///")).exists()
