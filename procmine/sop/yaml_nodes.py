"""The YAML nodes of an SOP's front matter, read with their file lines, and the issues found.

An SOP's front matter is composed (not just loaded) so that every problem names its file line:
:func:`node_line` is the file line of a node (the front matter starts on the file's second line),
:class:`Issues` collects the :class:`LintIssue` rows of one file, and the readers
(:func:`as_date`, :func:`as_text_list`, ...) report a bad value as an issue instead of raising.

Example:
    >>> node = yaml.compose("steps: [a, b]")
    >>> issues = Issues("SOP-X.md")
    >>> as_text_list(mapping(node)["steps"][1], "steps", issues), issues.items
    (('a', 'b'), [])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from typing import Any

import yaml

__all__ = [
    "Issues",
    "LintIssue",
    "as_date",
    "as_text_list",
    "mapping",
    "node_line",
    "node_value",
    "optional_text",
    "scalar_text",
]


@dataclass(frozen=True)
class LintIssue:
    """One problem found in an SOP file."""

    severity: str  # "error" or "warning"
    path: str
    line: int  # 1-based line in the file (0: the file as a whole)
    field: str  # the front-matter field, "body" or "file"
    message: str
    #: the message's code (``error.<code>`` of the catalogue) and its parameters: what the
    #: dashboard shows in the user's language (:func:`procmine.app.display.issue_text`)
    code: str = dataclass_field(default="", compare=False)
    params: Mapping[str, Any] = dataclass_field(default_factory=dict, compare=False, hash=False)

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.severity}: {self.field}: {self.message}"


class Issues:
    """Collects issues of one file; line numbers are file lines."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[LintIssue] = []

    def error(self, line: int, where: str, message: str, code: str = "",
              **params: Any) -> None:
        self.items.append(LintIssue("error", self.path, line, where, message, code, params))

    def warning(self, line: int, where: str, message: str, code: str = "",
                **params: Any) -> None:
        self.items.append(LintIssue("warning", self.path, line, where, message, code, params))


def node_line(node: yaml.Node) -> int:
    return node.start_mark.line + 2  # +1 for 1-based, +1 for the opening '---'


def mapping(node: yaml.Node) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    assert isinstance(node, yaml.MappingNode)
    return {str(k.value): (k, v) for k, v in node.value}


def scalar_text(node: yaml.Node) -> str | None:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def node_value(node: yaml.Node) -> Any:
    """The Python value of a composed node (dates, numbers, lists as YAML reads them)."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, RecursionError, yaml.YAMLError):  # e.g. 2026-13-01 is no date
        return node.value if isinstance(node, yaml.ScalarNode) else None
    finally:
        loader.dispose()


def optional_text(keys: Mapping[str, tuple[yaml.Node, yaml.Node]], name: str) -> str | None:
    if name not in keys:
        return None
    value = node_value(keys[name][1])
    return str(value).strip() or None if value is not None else None


def as_date(node: yaml.Node, where: str, issues: Issues) -> date | None:
    value = node_value(node)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    issues.error(node_line(node), where, f"{value!r} is not a date; expected YYYY-MM-DD",
                 code="sop.lint.date", value=value)
    return None


def as_text_list(node: yaml.Node, where: str, issues: Issues) -> tuple[str, ...]:
    if not isinstance(node, yaml.SequenceNode):
        issues.error(node_line(node), where, "expected a list, e.g. [P17]", code="sop.lint.list")
        return ()
    out = []
    for item in node.value:
        text = scalar_text(item)
        if text is None or not text.strip():
            issues.error(node_line(item), where, "expected a non-empty text item",
                         code="sop.lint.text_item")
        else:
            out.append(text.strip())
    return tuple(out)
