"""The command line: a Typer app, one module per domain (:mod:`procmine.cli.main`).

``procmine --help`` alone is answered from :mod:`procmine.cli.root` without importing the
library; ``procmine COMMAND ...`` imports that command's module alone; anything else runs the
full app.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    """The ``procmine`` command."""
    if sys.argv[1:] == ["--help"]:
        from procmine.cli.root import print_root_help

        print_root_help()
        return
    from procmine.cli.main import main as run
    from procmine.cli.root import LOADERS

    args = sys.argv[1:]
    run(args if args and args[0] in LOADERS else None)
