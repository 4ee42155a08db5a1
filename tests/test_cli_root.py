"""``procmine --help`` without loading the library (issue 18): the same words as the full
command line's help, and none of pandas, DuckDB, SciPy or the analyses imported."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

FULL = ("import sys\nfrom procmine.cli.main import app\n"
        "app(['--help'], prog_name='procmine')")
FAST = ("import sys\nsys.argv = ['procmine', '--help']\nfrom procmine.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "heavy = sorted(m for m in ('pandas', 'duckdb', 'scipy', 'pyarrow', 'procmine.analysis',"
        " 'procmine.store', 'procmine.cli.main') if m in sys.modules)\n"
        "print('HEAVY', heavy, file=sys.stderr)")


def _run(code: str, columns: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "dumb"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.mark.parametrize("columns", [80, 120])
def test_the_fast_help_is_the_full_help_word_for_word(columns: int) -> None:
    fast, full = _run(FAST, columns), _run(FULL, columns)
    assert full.returncode == 0, full.stderr
    assert fast.stdout == full.stdout
    assert "bottlenecks" in fast.stdout and "improve" in fast.stdout


def test_the_fast_help_loads_none_of_the_library() -> None:
    fast = _run(FAST, 100)
    assert fast.returncode == 0, fast.stderr
    assert "HEAVY []" in fast.stderr


def test_the_command_table_names_every_command_of_the_full_app() -> None:
    import typer

    from procmine.cli.main import app
    from procmine.cli.root import COMMANDS

    group = typer.main.get_command(app)
    names = group.list_commands(group.make_context("procmine", [], resilient_parsing=True))
    assert [name for name, _ in COMMANDS] == names
