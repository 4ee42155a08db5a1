"""A throwaway PostgreSQL server for the tests of the app database.

``make setup`` installs Debian's ``postgresql`` package; :class:`PostgresServer` runs its
binaries (``/usr/lib/postgresql/<version>/bin``) on a cluster of its own in a temporary folder:
no TCP port (a unix socket in that folder, so runs side by side never meet), trust
authentication, no fsync (the data is thrown away). The tests run as root in CI, and PostgreSQL
refuses to run as root: the server then runs as the ``postgres`` user the package creates.
Each test gets an empty database of its own (:meth:`PostgresServer.create_database`).
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PostgresMissing", "PostgresServer", "server_binaries"]

#: Where Debian's postgresql package puts the server's binaries (one folder per version).
BINARIES_GLOB = "/usr/lib/postgresql/*/bin"
_PORT = 5432  # only names the socket file: the server listens on no TCP port


class PostgresMissing(RuntimeError):
    """The PostgreSQL server's binaries (or its driver) are not installed."""


def server_binaries(pattern: str = BINARIES_GLOB) -> Path:
    """The folder of the newest installed PostgreSQL server's binaries."""
    found = [p for p in Path("/").glob(pattern.lstrip("/"))
             if (p / "initdb").exists() and (p / "pg_ctl").exists()]
    if not found:
        raise PostgresMissing(
            f"the PostgreSQL server is not installed (no initdb and pg_ctl in {pattern}): "
            "`make setup` installs it (Debian's postgresql package), or run "
            "`apt-get install postgresql`")
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


class PostgresServer:
    """A PostgreSQL cluster in a temporary folder, started by :meth:`start`."""

    def __init__(self, root: Path, binaries: Path) -> None:
        self.root = root
        self.binaries = binaries
        self.data = root / "data"
        self.socket_dir = root / "socket"
        self.log = root / "server.log"
        self._names = itertools.count(1)

    @classmethod
    def start(cls) -> PostgresServer:
        """Create the cluster and start the server; raise :class:`PostgresMissing` when the
        binaries or the driver are missing."""
        binaries = server_binaries()
        try:
            import psycopg  # noqa: F401  (the app database's driver for postgresql+psycopg)
        except ImportError as exc:
            raise PostgresMissing(f"the PostgreSQL driver is not installed ({exc}): `make setup` "
                                  "installs the dev extra with psycopg") from exc
        server = cls(Path(tempfile.mkdtemp(prefix="procmine-pg-")), binaries)
        server.socket_dir.mkdir()
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (server.root, server.socket_dir):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        try:
            server._run("initdb", "-D", str(server.data), "-U", "postgres", "--auth=trust",
                        "--encoding=UTF8", "--locale=C", "--no-instructions")
            options = (f"-k {server.socket_dir} -p {_PORT} -c listen_addresses='' "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                       "-c max_connections=200")
            server._run("pg_ctl", "-D", str(server.data), "-l", str(server.log), "-w",
                        "-o", options, "start")
        except subprocess.CalledProcessError as exc:
            log = server.log.read_text(errors="replace")[-2000:] if server.log.exists() else ""
            shutil.rmtree(server.root, ignore_errors=True)
            raise RuntimeError(f"the PostgreSQL server did not start: {exc.stderr}{log}") from exc
        return server

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.binaries / program), *args]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True, cwd=self.root)

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of a database of this server."""
        return (f"postgresql+psycopg://postgres@/{database}"
                f"?host={self.socket_dir}&port={_PORT}")

    def create_database(self) -> str:
        """A new, empty database; its URL."""
        import psycopg

        name = f"procmine_test_{next(self._names)}"
        with psycopg.connect(host=str(self.socket_dir), port=_PORT, user="postgres",
                             dbname="postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
