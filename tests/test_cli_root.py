"""``procmine --help`` without loading the library (issue 18): the same words as the full
command line's help, and none of pandas, DuckDB, SciPy or the analyses imported."""

from __future__ import annotations

import json
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


# ``procmine COMMAND ...`` builds the root with that command alone: its help, its usage errors
# and its subcommands are the full app's, and it imports no other command's module.
ONE = ("import sys\nsys.argv = ['procmine', *sys.argv[1:]]\nfrom procmine.cli import main\n"
       "try:\n    main()\nexcept SystemExit as exc:\n    print('EXIT', exc.code, file=sys.stderr)\n"
       "others = sorted(m for m in FORBIDDEN if m in sys.modules)\n"
       "print('OTHERS', others, file=sys.stderr)")
# The full app, run once for every argument list of the test below, in one process (its imports
# are the cost): each run's stdout and stderr captured apart, printed as JSON.
WHOLE = """import contextlib, io, json, sys
from procmine.cli.main import app
runs = []
for args in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            app(args, prog_name='procmine')
        except SystemExit as exc:
            print('EXIT', exc.code, file=sys.stderr)
    runs.append([out.getvalue(), err.getvalue()])
print(json.dumps(runs))
"""

ARGS = [
    ["ingest", "--help"], ["ingest"], ["bottlenecks", "--help"], ["sop", "--help"],
    ["sop", "lint", "--help"], ["baseline", "show", "--json"], ["info", "--bogus"],
    ["user", "nonsense"],
]


def _one(args: list[str], forbidden: set[str]) -> subprocess.CompletedProcess[str]:
    code = f"FORBIDDEN = {sorted(forbidden)!r}\n" + ONE
    env = {**os.environ, "COLUMNS": "100", "TERM": "dumb"}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.fixture(scope="module")
def whole() -> dict[tuple[str, ...], tuple[str, str]]:
    """Each argument list's (stdout, stderr) from the full app."""
    env = {**os.environ, "COLUMNS": "100", "TERM": "dumb"}
    result = subprocess.run([sys.executable, "-c", WHOLE, json.dumps(ARGS)],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = json.loads(result.stdout)
    return {tuple(args): (out, err) for args, (out, err) in zip(ARGS, runs, strict=True)}


@pytest.mark.parametrize("args", ARGS, ids=" ".join)
def test_one_command_parses_helps_and_fails_as_the_full_app(
        args: list[str], whole: dict[tuple[str, ...], tuple[str, str]]) -> None:
    from procmine.cli.root import LOADERS

    module = LOADERS[args[0]].split(":")[0]
    others = {entry.split(":")[0] for entry in LOADERS.values()} - {module}
    one = _one(args, others)
    whole_out, whole_err = whole[tuple(args)]
    assert one.stdout == whole_out
    exit_one = [line for line in one.stderr.splitlines() if line.startswith("EXIT")]
    exit_whole = [line for line in whole_err.splitlines() if line.startswith("EXIT")]
    assert exit_one == exit_whole
    # a usage error names the same usage line and the same problem
    assert one.stderr.split("OTHERS")[0].replace("\n", "") .count("Usage") == \
        whole_err.count("Usage")
    assert "OTHERS []" in one.stderr, one.stderr[-500:]
