"""The command line: a Typer app, one module per domain."""

from procmine.cli.main import main

__all__ = ["main"]
