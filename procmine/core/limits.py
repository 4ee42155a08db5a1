r"""Resource limits on what a reader accepts, in one place, each one a user can raise.

A hostile or broken file must not exhaust the machine: a small ``.xes.gz`` can expand to
gigabytes, an XES file can carry thousands of distinct attribute keys (one column each), an
``.xlsx`` can claim a cell at XFD1048576 (the Excel reader would then allocate 512 GB and abort
the process), a mapping file can be a YAML alias bomb. Each limit is checked before the memory
is spent, and a file over a limit is refused with a :class:`ProcmineError` that names the limit
and how to raise it; nothing is stored.

The defaults are in :class:`Limits`. An environment variable ``PROCMINE_MAX_...`` overrides a
default (:meth:`Limits.from_env`); ``procmine ingest`` has options for the three a log may
legitimately exceed. Code that reads files takes ``limits=None`` and then uses
:func:`current_limits`: the limits set by :func:`use_limits` around the call (as the command
line does), else those of the environment.

Example:
    >>> Limits().max_columns
    500
    >>> Limits.from_env({"PROCMINE_MAX_COLUMNS": "2000"}).max_columns
    2000
    >>> with use_limits(Limits(max_cells=10)):
    ...     current_limits().max_cells
    10
    >>> error = Limits().exceeded("max_columns", "x.xes: 600 distinct attribute keys")
    >>> print(str(error).replace("; ", "\n").replace(" (", "\n("))
    x.xes: 600 distinct attribute keys
    the limit is max_columns = 500
    (raise it with procmine ingest --max-columns N or the environment variable PROCMINE_MAX_COLUMNS)
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from typing import Final

from procmine.core.errors import ProcmineError

__all__ = ["Limits", "current_limits", "use_limits"]

#: The ``procmine ingest`` option of each limit that has one.
_OPTIONS: Final[dict[str, str]] = {
    "max_decompressed_mb": "--max-decompressed-mb",
    "max_columns": "--max-columns",
    "max_cells": "--max-cells",
}


@dataclass(frozen=True)
class Limits:
    """The limits, with their defaults. Sizes are in megabytes (MB, 2**20 bytes) or kilobytes."""

    #: XML text of an ``.xes``/``.xes.gz`` file (after decompression), and of one Excel sheet.
    max_decompressed_mb: int = 2048
    #: Distinct attribute keys of an XES file (trace and event keys); columns of an Excel sheet.
    max_columns: int = 500
    #: Cells of an Excel sheet's used range (rows x columns, counted from A1).
    max_cells: int = 5_000_000
    #: Size of a ``--map`` mapping file (anchors and aliases are refused at any size).
    max_map_kb: int = 64
    #: One file uploaded on the dashboard (Streamlit's own cap is ``server.maxUploadSize``).
    max_upload_mb: int = 200
    #: Address space of the separate process that reads an Excel workbook.
    max_reader_mb: int = 4096

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ProcmineError(
                    f"limit {f.name} must be a positive whole number, not {value!r}"
                )

    @staticmethod
    def env_name(name: str) -> str:
        """The environment variable of a limit: ``max_cells`` -> ``PROCMINE_MAX_CELLS``."""
        return f"PROCMINE_{name.upper()}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The defaults, with each ``PROCMINE_MAX_...`` variable that is set overriding its own."""
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for f in fields(cls):
            raw = env.get(cls.env_name(f.name), "").strip()
            if not raw:
                continue
            try:
                values[f.name] = int(raw.replace("_", ""))
            except ValueError:
                raise ProcmineError(
                    f"{cls.env_name(f.name)}={raw!r} is not a whole number"
                ) from None
        return cls(**values)

    def with_overrides(self, **overrides: int | None) -> Limits:
        """These limits with the given ones replaced (``None`` keeps a limit as it is).

        >>> Limits().with_overrides(max_cells=100, max_columns=None).max_cells
        100
        """
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def how_to_raise(self, name: str) -> str:
        """The limit's value and how a user raises it, for a refusal message."""
        value = getattr(self, name)
        option = _OPTIONS.get(name)
        via = f"procmine ingest {option} N or " if option else ""
        return (
            f"the limit is {name} = {value:,} (raise it with {via}the environment variable "
            f"{self.env_name(name)})"
        )

    def check_upload(self, name: str, size: int) -> None:
        r"""Refuse an uploaded file of ``size`` bytes over ``max_upload_mb``.

        >>> try:
        ...     Limits(max_upload_mb=1).check_upload("log.csv", 3 << 20)
        ... except ProcmineError as error:
        ...     print(str(error).replace("; ", "\n").replace(" (", "\n("))
        log.csv: the upload is 3.0 MB
        the limit is max_upload_mb = 1
        (raise it with the environment variable PROCMINE_MAX_UPLOAD_MB)
        """
        if size > self.max_upload_mb << 20:
            megabytes = size / (1 << 20)
            raise self.exceeded("max_upload_mb", f"{name}: the upload is {megabytes:,.1f} MB")

    def exceeded(self, name: str, what: str) -> ProcmineError:
        """The error for a file over limit ``name``; ``what`` says which file and by how much."""
        return ProcmineError(f"{what}; {self.how_to_raise(name)}", code="limits.exceeded",
                             limit=name, value=f"{getattr(self, name):,}",
                             env=self.env_name(name))


_CURRENT: contextvars.ContextVar[Limits | None] = contextvars.ContextVar(
    "procmine_limits", default=None
)


def current_limits() -> Limits:
    """The limits in force: those of the innermost :func:`use_limits`, else the environment's."""
    limits = _CURRENT.get()
    return limits if limits is not None else Limits.from_env()


@contextmanager
def use_limits(limits: Limits) -> Iterator[Limits]:
    """Make ``limits`` the ones readers use inside the ``with`` block (this thread/task only)."""
    token = _CURRENT.set(limits)
    try:
        yield limits
    finally:
        _CURRENT.reset(token)
