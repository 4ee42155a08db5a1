"""The docs cannot drift: every command and option of ``procmine`` has help text and is in the
README (as sqlite-utils' ``test_docs.py`` does it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer

from procmine.cli.main import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands() -> list[tuple[str, Any]]:
    """Every leaf command, with its full name (``procmine sop lint``)."""
    found: list[tuple[str, Any]] = []

    def walk(name: str, command: Any) -> None:
        if hasattr(command, "commands"):  # a group (typer's own click types)
            for sub_name, sub in command.commands.items():
                walk(f"{name} {sub_name}", sub)
        else:
            found.append((name, command))

    walk("procmine", typer.main.get_command(app))
    return sorted(found, key=lambda item: item[0])


COMMANDS = _commands()


def _options(command: Any) -> list[Any]:
    return [p for p in command.params if p.param_type_name == "option" and p.name != "help"]


def test_the_cli_has_the_commands_the_readme_documents() -> None:
    names = [name for name, _ in COMMANDS]
    rows = re.findall(r"^\| `(procmine[^`]*)`", README, flags=re.M)
    documented = sorted({re.sub(r"( [^a-z].*| [a-z]*_.*)$", "", row) for row in rows})
    # every documented command exists, with its subcommand
    assert [d for d in documented if not any(n == d or n.startswith(d + " ") for n in names)] == []
    assert "procmine sop lint" in names and "procmine ingest" in names


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_has_help_and_is_in_the_readme(name: str, command: Any) -> None:
    assert (command.help or "").strip(), f"{name} has no help text"
    assert f"`{name}" in README, f"{name} is not in the README's command table"


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_option_has_help_and_is_in_the_readme(name: str, command: Any) -> None:
    rows = [line for line in README.splitlines() if line.startswith(f"| `{name}")]
    text = "\n".join(rows) + "\n" + README
    for option in _options(command):
        assert (option.help or "").strip(), f"{name} {option.opts[0]} has no help text"
        longest = max(option.opts + option.secondary_opts, key=len)
        assert longest in text, f"{name} {longest} is not in the README"


def test_every_docstring_example_runs_in_make_test() -> None:
    """The examples are doctests collected from procmine/ (pyproject's pytest options), and none
    is skipped."""
    repo = Path(__file__).resolve().parents[1]
    options = (repo / "pyproject.toml").read_text(encoding="utf-8")
    assert "--doctest-modules" in options
    assert re.search(r'^testpaths = \[.*"procmine".*\]$', options, flags=re.M)
    skipped = [str(p.relative_to(repo)) for p in (repo / "procmine").rglob("*.py")
               if "doctest: +SKIP" in p.read_text(encoding="utf-8")]
    assert skipped == []
    examples = sum(p.read_text(encoding="utf-8").count(">>> ")
                   for p in (repo / "procmine").rglob("*.py"))
    assert examples > 150
