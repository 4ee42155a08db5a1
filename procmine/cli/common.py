"""What every ``procmine`` command shares: consoles, common options, JSON output, progress."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from typer.core import TyperCommand, TyperGroup

from procmine import ProcmineError

__all__ = [
    "BaselineOption",
    "CliApp",
    "EngineOption",
    "HomeOption",
    "JsonOption",
    "MasterOption",
    "err",
    "out",
    "print_json",
    "progress_bar",
]

out = Console()
err = Console(stderr=True)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Workspace folder (default: $PROCMINE_HOME or ./workspace)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
BaselineOption = Annotated[
    Path | None,
    typer.Option(
        "--baseline",
        help="A bank's own baseline CSV (business_type, standard_seconds, ...) instead of the "
        "bundled 58 types.",
    ),
]

EngineOption = Annotated[
    str,
    typer.Option(
        "--engine",
        help="Query engine: duckdb (in-process, the default) or spark (the spark extra; local "
        "mode unless --master is given).",
    ),
]
MasterOption = Annotated[
    str | None,
    typer.Option(
        "--master",
        help="Spark master URL for --engine spark (default local[2]; e.g. spark://host:7077).",
    ),
]


def _bare_flags(params: list[Any]) -> list[Any]:
    """Flags take no value: their help shows none. (Typer's rich help asks every option for
    its type and prints ``<bool>`` after a flag; an empty metavar is the answer it takes.)"""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class _Command(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _bare_flags(super().get_params(ctx))


class _Group(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _bare_flags(super().get_params(ctx))


class CliApp(typer.Typer):
    """A ``typer.Typer`` for every command group of ``procmine``: help text in markdown (a
    docstring's paragraphs reflow to the terminal's width; a blank line starts a new one) and
    flags without a stray ``<bool>``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("rich_markup_mode", "markdown")
        super().__init__(cls=_Group, **kwargs)

    def command(self, name: str | None = None, *, cls: Any = None,  # type: ignore[override]
                **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return super().command(name, cls=cls or _Command, **kwargs)


def command_actor() -> str:
    """Who ran a command that names no user, for the audit trail (``cli:<login name>``)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in some containers
        return "cli"


def parse_day(text: str | None, option: str) -> date | None:
    """The date an option gives as YYYY-MM-DD (None when not given); a clear error otherwise."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ProcmineError(f"{option} {text!r}: expected a date YYYY-MM-DD") from exc


def print_json(data: Any) -> None:
    """JSON on stdout (UTF-8, Chinese as is)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[[str, float], None] | None]:
    """A progress bar on stderr that library code drives with (phase, fraction)."""
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("{task.description:<8}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(phase: str, fraction: float) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=1.0)
            bar.update(tasks[phase], completed=fraction)

        yield update
