"""The ``procmine`` command line. Thin: each command parses its arguments and calls the library.

Run ``procmine --help`` for the commands, ``procmine COMMAND --help`` for one. The commands live
in one module per domain (:data:`procmine.cli.root.LOADERS`); ``procmine COMMAND ...`` builds the
root with that command alone (:func:`command_app`), so that it imports only what it needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

import typer

from procmine import ProcmineError
from procmine.cli.common import CliApp, err
from procmine.cli.root import COMMANDS, LOADERS, ROOT_HELP

__all__ = ["command_app", "main"]  # and ``app``, built on first use (module __getattr__)


def _load(name: str) -> Any:
    module, attribute = LOADERS[name].split(":")
    return getattr(importlib.import_module(module), attribute)


def _root(names: Iterable[str]) -> CliApp:
    """The root with the given commands, in the root's order."""
    root = CliApp(name="procmine", help=ROOT_HELP, no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
    for name, _ in COMMANDS:
        if name not in names:
            continue
        target = _load(name)
        if isinstance(target, typer.Typer):
            root.add_typer(target, name=name)
        else:
            root.command(name)(target)
    return root


def command_app(name: str) -> CliApp:
    """The root with command ``name`` alone: ``procmine NAME ...`` parses, helps and fails as
    with the full app (a callback keeps the root a group of one command)."""
    root = _root([name])
    root.callback()(_group)
    return root


def _group() -> None:
    """(The root of one command.)"""


def __getattr__(name: str) -> Any:
    """``app``: the full command line, every command and command group (built on first use:
    importing this module loads no command)."""
    if name == "app":
        full = _root(LOADERS)
        globals()["app"] = full
        return full
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(args: list[str] | None = None) -> None:
    """Entry point: run the app (``args``' first word a command: that command alone); a user's
    mistake prints a message, not a traceback."""
    try:
        if args:
            command_app(args[0])(args, prog_name="procmine")
        else:
            __getattr__("app")()
    except ProcmineError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise SystemExit(2) from None
