"""The SOP lint: every SOP of a library folder checked on its own and against the others, the
baseline and the logs.

Each file is parsed with :func:`procmine.sop.document.parse_with_issues` (schema, step anchors,
links within the file); then the checks that need more than one file run here: duplicate ids,
links to other SOP files and their headings, business types the baseline does not know, step
times that do not add up to the type's baseline time (within :data:`SUM_TOLERANCE`), an owner
group other than the baseline's review group of the type, and steps whose activity never occurs
for their business type in the store's logs. Every issue names its file, line and field
(:class:`~procmine.sop.document.LintIssue`).

Example:
    >>> from procmine.sop.lint import lint_sops
    >>> from procmine.sop.repository import bundled_sops_dir
    >>> [i.message for i in lint_sops(bundled_sops_dir(), baseline).errors]
    []
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from procmine.core.baseline import Baseline
from procmine.sop.document import (
    Issues,
    LintIssue,
    Sop,
    SopError,
    body_links,
    heading_anchors,
    parse_with_issues,
    sop_files,
)

__all__ = ["SUM_TOLERANCE", "LintReport", "describe_issues", "errors_first", "lint_sops"]

#: The steps of a business type must add up to its baseline time within this share.
SUM_TOLERANCE: Final[float] = 0.05


@dataclass(frozen=True)
class LintReport:
    """What :func:`lint_sops` found: every issue, and the SOPs that parsed."""

    issues: tuple[LintIssue, ...]
    sops: Mapping[str, Sop]
    files: int

    @property
    def errors(self) -> list[LintIssue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[LintIssue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files, "sops": len(self.sops), "ok": self.ok,
            "errors": len(self.errors), "warnings": len(self.warnings),
            "issues": [i.__dict__ for i in self.issues],
        }


def lint_sops(
    folder: str | Path,
    baseline: Baseline,
    *,
    activities: Mapping[str, set[str]] | None = None,
    tolerance: float = SUM_TOLERANCE,
    texts: Mapping[str, str] | None = None,
) -> LintReport:
    """Check every SOP of a library folder.

    Errors: the schema (with file, line and field), business types the baseline does not
    know, step times that do not add up to the type's baseline time (within ``tolerance``),
    missing or duplicate step anchors, links to headings or SOP files that do not exist,
    duplicate ids. Warnings: a step whose activity never occurs for its business type in the
    store's logs (``activities``: business type -> activity names seen; skipped when None),
    an owner group other than the baseline's review group of the type.

    ``texts`` lints these file texts (name -> text) instead of reading the folder.

    Example:
        >>> report = lint_sops(library.root, baseline)
        >>> report.ok
        True
    """
    base = Path(folder)
    if texts is None:
        decoded, issues = _read_folder(base)
    else:
        decoded, issues = dict(texts), []
    sops: dict[str, Sop] = {}
    anchors: dict[str, set[str]] = {}
    for name in sorted(decoded):
        path = str(base / name)
        sop, found = parse_with_issues(decoded[name], path)
        issues.extend(found)
        if sop is None:
            continue
        if sop.id in sops:
            issues.append(LintIssue("error", path, 2, "id",
                                    f"{sop.id} is also the id of {sops[sop.id].path}",
                                    code="sop.lint.id_twice", params={"sop_id": sop.id}))
            continue
        sops[sop.id] = sop
        anchors[name] = heading_anchors(sop.body)
    for sop in sops.values():
        issues.extend(_check_against_baseline(sop, baseline, tolerance))
        if activities is not None:
            issues.extend(_check_activities(sop, activities))
        for line, name, anchor in _links_to_files(sop):
            if name not in anchors and not (base / name).exists():
                issues.append(LintIssue("error", sop.path, line, "body",
                                        f"link to {name}: no such SOP file",
                                        code="sop.lint.no_sop_file", params={"name": name}))
            elif anchor and name in anchors and anchor not in anchors[name]:
                issues.append(LintIssue("error", sop.path, line, "body",
                                        f"link to {name}#{anchor}: {name} has no such heading",
                                        code="sop.lint.no_heading",
                                        params={"name": name, "anchor": anchor}))
    return LintReport(tuple(issues), sops, len(decoded))


def _read_folder(base: Path) -> tuple[dict[str, str], list[LintIssue]]:
    """The texts of a folder's SOP files by name, and an issue for each that is not UTF-8."""
    if not base.is_dir():
        raise SopError(f"{base}: no such SOP folder")
    files = {p.name: p.read_bytes() for p in sop_files(base)}
    decoded: dict[str, str] = {}
    issues: list[LintIssue] = []
    for name, raw in files.items():
        try:
            decoded[name] = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            issues.append(LintIssue("error", str(base / name), 0, "file",
                                    f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                                    code="sop.lint.not_utf8"))
    return decoded, issues


def _links_to_files(sop: Sop) -> Iterator[tuple[int, str, str]]:
    """(file line, file name, anchor) of every link to another markdown file."""
    for line, target in body_links(sop):
        if "://" in target or target.startswith(("#", "mailto:")):
            continue
        name, _, anchor = target.partition("#")
        if name.endswith(".md"):
            yield line, name, anchor


def _check_against_baseline(sop: Sop, baseline: Baseline, tolerance: float) -> list[LintIssue]:
    issues = Issues(sop.path)
    line = _field_line(sop.text, "business_types")
    for code in sop.business_types:
        if code not in baseline:
            issues.error(line, "business_types",
                         f"{code} is not a business type of the baseline ({baseline.source})",
                         code="sop.lint.unknown_type", type=code)
            continue
        standard = baseline.standard_seconds(code)
        total = sop.step_seconds(code)
        if abs(total - standard) > tolerance * standard:
            issues.error(_field_line(sop.text, "steps"), "steps",
                         f"the steps of {code} add up to {total:g} s; its baseline time is "
                         f"{standard:g} s (tolerance {tolerance:.0%})",
                         code="sop.lint.step_total", type=code, total=f"{total:g}",
                         standard=f"{standard:g}", tolerance=f"{tolerance:.0%}")
        group = baseline[code].review_group
        if group and group != sop.owner_group:
            issues.warning(_field_line(sop.text, "owner_group"), "owner_group",
                           f"{sop.owner_group} owns this SOP; the baseline gives {code} to {group}",
                           code="sop.lint.group_mismatch", owner=sop.owner_group, type=code,
                           group=group)
    return issues.items


def _check_activities(sop: Sop, activities: Mapping[str, set[str]]) -> list[LintIssue]:
    issues = Issues(sop.path)
    for step in sop.steps:
        types = step.types or sop.business_types
        seen = [t for t in types if step.activity in activities.get(t, set())]
        known = [t for t in types if t in activities]
        if known and not seen:
            issues.warning(step.line, f"steps.{step.id}.activity",
                           f"{step.activity!r} never occurs for {', '.join(known)} in the logs",
                           code="sop.lint.activity_unseen", activity=step.activity)
    return issues.items


def _field_line(text: str, name: str) -> int:
    for i, line in enumerate(text.splitlines(), start=1):
        if line.startswith(f"{name}:"):
            return i
    return 1


def errors_first(issues: Sequence[LintIssue]) -> list[LintIssue]:
    """Issues in reading order: errors first, then by file and line."""
    return sorted(issues, key=lambda i: (i.severity != "error", i.path, i.line))


def describe_issues(issues: Sequence[LintIssue]) -> str:
    """Issues as lines of text, errors first."""
    return "\n".join(str(i) for i in errors_first(issues))
