"""SOP documents: parse, validate and render the markdown procedures of the SOP library.

An SOP is a markdown file with YAML front matter. The front matter carries what the code needs
(the business types it governs, its owner group, version and status, and its steps with the
activity name each has in the event log and a standard time); the body is the working document
a teller follows: purpose and scope, prerequisites, numbered steps, risk controls, common errors
and the regulations. Each front-matter step has a heading in the body with its id as anchor
(``### 3. 身份核验 Verify identity {#verify_identity}``), so findings, links and the dashboard
can point at the step.

Every problem is reported with its file, line and field (:class:`LintIssue`); a file that
cannot be parsed at all raises :class:`SopError` with the same details. Parsing checks one file
on its own (schema, step anchors, links within it); the checks across files and against the
baseline and the logs are :func:`procmine.sop.lint.lint_sops`.

Example:
    >>> from procmine.sop.document import load_sops
    >>> from procmine.sop.repository import bundled_sops_dir
    >>> library = load_sops(bundled_sops_dir())
    >>> library["SOP-P17"].step_seconds("P17")
    120.0
"""

from __future__ import annotations

import functools
import html as html_lib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

import markdown
import nh3
import yaml

from procmine.core.baseline import REVIEW_GROUPS
from procmine.core.errors import ProcmineError
from procmine.sop.step_fields import SopStep, parse_steps
from procmine.sop.yaml_nodes import (
    Issues,
    LintIssue,
    as_date,
    as_text_list,
    mapping,
    node_line,
    node_value,
    optional_text,
    scalar_text,
)

__all__ = [
    "STATUSES",
    "Issues",
    "LintIssue",
    "Sop",
    "SopError",
    "SopStep",
    "body_links",
    "heading_anchors",
    "load_sop",
    "load_sops",
    "parse_sop",
    "parse_with_issues",
    "render_sop",
    "set_front_matter",
    "sop_files",
    "split_front_matter",
]

#: The states of an SOP version, in workflow order.
STATUSES: Final[tuple[str, ...]] = ("draft", "in_review", "approved", "retired")

_REQUIRED: Final[tuple[str, ...]] = (
    "id", "title", "business_types", "owner_group", "version", "status", "effective", "steps",
)
_OPTIONAL: Final[tuple[str, ...]] = (
    "review_due", "author", "approved_by", "regulations", "adoption",
)
_SOP_ID = re.compile(r"SOP-[A-Za-z0-9][A-Za-z0-9_-]*")
_VERSION = re.compile(r"(\d+)\.(\d+)")
_ANCHOR_HEADING = re.compile(r"^#{1,6}\s.*\{:?\s*#([A-Za-z0-9_-]+)\s*\}\s*$")
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HTML_ID = re.compile(r'\sid="([^"]+)"')
_MD_EXTENSIONS: Final[list[str]] = ["toc", "attr_list", "tables", "fenced_code", "sane_lists"]


class SopError(ProcmineError):
    """An SOP file cannot be read; the message names the file, line and field."""


@dataclass(frozen=True)
class Sop:
    """A parsed SOP version (front matter and body)."""

    id: str
    title: Mapping[str, str]
    business_types: tuple[str, ...]
    owner_group: str
    version: str
    status: str
    effective: date
    steps: tuple[SopStep, ...]
    body: str
    text: str
    path: str = ""
    review_due: date | None = None
    author: str | None = None
    approved_by: str | None = None
    regulations: tuple[str, ...] = ()
    adoption: Mapping[str, date] = field(default_factory=dict)
    body_line: int = 1  # the file line of the body's first line

    def title_in(self, lang: str = "zh-CN") -> str:
        """The title in ``lang`` ("zh..." or "en"), falling back to the other."""
        first, second = ("zh", "en") if lang.startswith("zh") else ("en", "zh")
        return self.title.get(first) or self.title.get(second) or self.id

    def step(self, step_id: str) -> SopStep:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(f"{self.id} has no step {step_id!r}")

    def steps_for(self, business_type: str, *, conditional: bool = True) -> list[SopStep]:
        """The steps that apply to ``business_type`` (without the conditional ones if asked);
        none when the SOP does not govern the type."""
        if business_type not in self.business_types:
            return []
        return [s for s in self.steps if s.applies_to(business_type)
                and (conditional or not s.conditional)]

    def step_seconds(self, business_type: str) -> float:
        """The standard time of the type's standard path: its non-conditional steps' sum."""
        return float(sum(s.standard_seconds for s in self.steps_for(business_type,
                                                                     conditional=False)))

    @property
    def major_minor(self) -> tuple[int, int]:
        match = _VERSION.fullmatch(self.version)
        return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


# -- parsing -------------------------------------------------------------------------------------


def split_front_matter(text: str) -> tuple[str, str, int]:
    """Split an SOP file into its front matter, its body and the file line the body starts on.

    Raises :class:`SopError` (line 1) when the file does not open with a ``---`` block.
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise SopError("line 1: front matter: the file must start with '---' and a YAML block",
                       code="sop.no_front_matter")
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return "".join(lines[1:i]), "".join(lines[i + 1:]), i + 2
    raise SopError("line 1: front matter: the YAML block opened on line 1 is never closed "
                   "with '---'", code="sop.front_matter_open")


#: libyaml's loader where PyYAML was built with it: the same nodes, some fifteen times faster
_FAST_LOADER: Final[Any] = getattr(yaml, "CSafeLoader", None)


def _compose(front: str) -> yaml.Node | None:
    """The front matter's YAML as nodes: composed by libyaml where present (every SOP is parsed
    again in each new process), by PyYAML's own composer when libyaml is absent or refuses the
    text, so that a broken text gets that composer's messages and lines."""
    if _FAST_LOADER is not None:
        try:
            return yaml.compose(front, Loader=_FAST_LOADER)
        except yaml.YAMLError:
            pass
    return yaml.compose(front, Loader=yaml.SafeLoader)


def _front_matter_keys(text: str, issues: Issues
                       ) -> tuple[dict[str, tuple[yaml.Node, yaml.Node]], str, int] | None:
    """The front matter's fields (key and value nodes), the body and its first file line; None
    (with the issues recorded) when the YAML is missing, broken or lacks a required field."""
    try:
        front, body, body_line = split_front_matter(text)
    except SopError as exc:
        issues.error(1, "front matter", str(exc).split(": ", 2)[-1], code="sop.lint.front_matter")
        return None
    try:
        root = _compose(front)
    except RecursionError:  # PyYAML composes nested blocks recursively
        issues.error(2, "front matter", "YAML nested too deeply (lists or fields in lists "
                     "hundreds of levels down)", code="sop.lint.yaml_deep")
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        issues.error(line, "front matter", f"YAML does not parse: {problem}",
                     code="sop.lint.yaml_parse", problem=problem)
        return None
    if not isinstance(root, yaml.MappingNode):
        issues.error(2, "front matter", "expected YAML fields such as id: SOP-P17",
                     code="sop.lint.yaml_fields")
        return None
    keys = mapping(root)
    for name, (key, _) in keys.items():
        if name not in _REQUIRED + _OPTIONAL:
            issues.error(node_line(key), name, "unknown field; an SOP has "
                         + ", ".join(_REQUIRED + _OPTIONAL), code="sop.lint.unknown_field")
    for name in _REQUIRED:
        if name not in keys:
            issues.error(1, name, "required field is missing", code="sop.lint.missing_field")
    if any(name not in keys for name in _REQUIRED):
        return None
    return keys, body, body_line


def _parse_identity(keys: Mapping[str, tuple[yaml.Node, yaml.Node]], path: str,
                    issues: Issues) -> dict[str, Any]:
    """The id, title, business types, owner group, version and status of an SOP."""
    sop_id = (scalar_text(keys["id"][1]) or "").strip()
    if not _SOP_ID.fullmatch(sop_id):
        issues.error(node_line(keys["id"][1]), "id", f"{sop_id!r} is not an SOP id such as SOP-P17",
                     code="sop.lint.bad_id", value=sop_id)
    elif path and Path(path).suffix == ".md" and Path(path).stem != sop_id:
        issues.error(node_line(keys["id"][1]), "id",
                     f"the file of {sop_id} must be named {sop_id}.md", code="sop.lint.file_name",
                     sop_id=sop_id)
    title_node = keys["title"][1]
    title = node_value(title_node)
    if not isinstance(title, dict) or not all(
            isinstance(title.get(k), str) and title[k].strip() for k in ("zh", "en")):
        issues.error(node_line(title_node), "title", "expected {zh: 中文标题, en: English title}",
                     code="sop.lint.title")
        title = title if isinstance(title, dict) else {}
    business_types = as_text_list(keys["business_types"][1], "business_types", issues)
    if not business_types:
        issues.error(node_line(keys["business_types"][1]), "business_types",
                     "name at least one business type, e.g. [P17]", code="sop.lint.no_types")
    owner = (scalar_text(keys["owner_group"][1]) or "").strip()
    if owner not in REVIEW_GROUPS:
        issues.error(node_line(keys["owner_group"][1]), "owner_group",
                     f"{owner!r} is not a review group; expected one of {', '.join(REVIEW_GROUPS)}",
                     code="sop.lint.owner_group", value=owner)
    version_node = keys["version"][1]
    version = (scalar_text(version_node) or "").strip()  # the text as written: 1.10 stays 1.10
    if not _VERSION.fullmatch(version):
        issues.error(node_line(version_node), "version",
                     f"{version!r} is not a major.minor version such as 1.2",
                     code="sop.lint.version", value=version)
    status = (scalar_text(keys["status"][1]) or "").strip()
    if status not in STATUSES:
        issues.error(node_line(keys["status"][1]), "status",
                     f"{status!r} is not a status; expected one of {', '.join(STATUSES)}",
                     code="sop.lint.status", value=status)
    return {"id": sop_id, "title": {k: str(v) for k, v in title.items()},
            "business_types": business_types, "owner_group": owner, "version": version,
            "status": status}


def _parse_dates_and_people(keys: Mapping[str, tuple[yaml.Node, yaml.Node]], status: str,
                            issues: Issues) -> dict[str, Any]:
    """The effective and review dates, the author and approver, the regulations and the
    branch adoption dates of an SOP."""
    effective = as_date(keys["effective"][1], "effective", issues)
    review_due = None
    if "review_due" in keys:
        review_due = as_date(keys["review_due"][1], "review_due", issues)
        if review_due and effective and review_due <= effective:
            issues.error(node_line(keys["review_due"][1]), "review_due",
                         f"{review_due} is not after the effective date {effective}",
                         code="sop.lint.review_due", review_due=review_due, effective=effective)
    approved_by = optional_text(keys, "approved_by")
    if status == "approved" and not approved_by:
        issues.error(node_line(keys["status"][1]), "approved_by",
                     "an approved SOP names who approved it", code="sop.lint.approved_by")
    regulations: tuple[str, ...] = ()
    if "regulations" in keys:
        regulations = as_text_list(keys["regulations"][1], "regulations", issues)
    adoption: dict[str, date] = {}
    if "adoption" in keys:
        node = keys["adoption"][1]
        if not isinstance(node, yaml.MappingNode):
            issues.error(node_line(node), "adoption",
                         "expected branch: date pairs, e.g. B01: 2026-10-05",
                         code="sop.lint.adoption")
        else:
            for branch, (_, value) in mapping(node).items():
                day = as_date(value, f"adoption.{branch}", issues)
                if day is not None:
                    adoption[branch] = day
    return {"effective": effective, "review_due": review_due,
            "author": optional_text(keys, "author"), "approved_by": approved_by,
            "regulations": regulations, "adoption": adoption}


def parse_with_issues(text: str, path: str) -> tuple[Sop | None, list[LintIssue]]:
    """Parse an SOP; returns it (None when it cannot be built) and every issue found."""
    issues = Issues(path)
    found = _front_matter_keys(text, issues)
    if found is None:
        return None, issues.items
    keys, body, body_line = found
    identity = _parse_identity(keys, path, issues)
    dated = _parse_dates_and_people(keys, identity["status"], issues)
    steps = parse_steps(keys["steps"][1], identity["business_types"], issues)
    if any(i.severity == "error" for i in issues.items) or dated["effective"] is None:
        return None, issues.items
    sop = Sop(**identity, **dated, steps=steps, body=body, text=text, path=path,
              body_line=body_line)
    issues.items.extend(_check_body(sop))
    return sop, issues.items


def parse_sop(text: str, path: str = "") -> Sop:
    """Parse one SOP file's text; raises :class:`SopError` naming file, line and field.

    Example:
        >>> from procmine.sop.repository import bundled_sops_dir
        >>> text = (bundled_sops_dir() / "SOP-P17.md").read_text(encoding="utf-8")
        >>> sop = parse_sop(text)
        >>> sop.steps[0].activity, sop.version, sop.status
        ('Call number', '2.1', 'approved')
    """
    sop, issues = parse_with_issues(text, path)
    errors = [i for i in issues if i.severity == "error"]
    if sop is None or errors:
        raise SopError("\n".join(str(i) for i in errors) or f"{path}: cannot be parsed",
                       code="sop.invalid", count=max(len(errors), 1),
                       fields=", ".join(dict.fromkeys(i.field for i in errors)) or "-")
    return sop


def load_sop(path: str | Path) -> Sop:
    """Read and parse one SOP file (UTF-8)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SopError(f"{file}: no such SOP file") from exc
    except UnicodeDecodeError as exc:
        raise SopError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return parse_sop(text, str(file))


def sop_files(folder: str | Path) -> list[Path]:
    """The SOP files of a library folder (``SOP-*.md``), sorted."""
    return sorted(Path(folder).glob("SOP-*.md"))


def load_sops(folder: str | Path) -> dict[str, Sop]:
    """Every SOP of a library folder, by id. Raises :class:`SopError` on the first bad file."""
    out: dict[str, Sop] = {}
    for path in sop_files(folder):
        sop = load_sop(path)
        if sop.id in out:
            raise SopError(f"{path}: id {sop.id} is also used by {out[sop.id].path}")
        out[sop.id] = sop
    return out


# -- rendering -----------------------------------------------------------------------------------


# What an SOP body may show: the tags markdown makes, links to the web or within the library;
# anything else an author writes as raw HTML (style, script, form, iframe, event handlers, style
# attributes) is dropped, so an SOP cannot restyle or reshape the page it is read on.
_SAFE_TAGS: Final[set[str]] = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "ul", "ol", "li", "table", "thead", "tbody", "tr",
    "th", "td", "code", "pre", "a", "em", "strong", "blockquote", "hr", "br",
}
_SAFE_ATTRIBUTES: Final[dict[str, set[str]]] = {
    **{f"h{n}": {"id"} for n in range(1, 7)}, "a": {"href", "title"},
    "th": {"align"}, "td": {"align"}, "ol": {"start"},
}


def render_sop(body: str) -> str:
    """The body of an SOP as HTML (headings get ids; ``{#step_id}`` anchors are kept), with
    raw HTML cut to an allow-list: markdown's own tags, links over http(s) or relative ones.

    Example:
        >>> render_sop("## Count {#count}\\n\\n<style>*{display:none}</style>**twice**")
        '<h2 id="count">Count</h2>\\n\\n<p><strong>twice</strong></p>'
    """
    return _render(body)


@functools.lru_cache(maxsize=256)
def _render(body: str) -> str:
    """:func:`render_sop`, kept per body text: the parse renders each SOP to check its
    anchors, and the pages render the same bodies again to show them."""
    text = markdown.markdown(body, extensions=_MD_EXTENSIONS, output_format="html",
                             extension_configs={"tables": {"use_align_attribute": True}})
    return nh3.clean(text, tags=_SAFE_TAGS, attributes=_SAFE_ATTRIBUTES,
                     url_schemes={"http", "https"}, link_rel="noopener noreferrer")


def _anchors(html: str) -> set[str]:
    return {html_lib.unescape(m) for m in _HTML_ID.findall(html)}


def heading_anchors(body: str) -> set[str]:
    """The ids of the headings of an SOP body as rendered (the targets of ``#anchor`` links);
    none when it does not render (the parse reports that)."""
    try:
        return _anchors(render_sop(body))
    except Exception:  # markdown raises on malformed syntax, or recurses on deep nesting
        return set()


def body_links(sop: Sop) -> Iterator[tuple[int, str]]:
    """(file line, target) of every markdown link in an SOP's body (images left out)."""
    for offset, line in enumerate(sop.body.splitlines()):
        for match in _LINK.finditer(line):
            yield sop.body_line + offset, match.group(1)


def _check_body(sop: Sop) -> list[LintIssue]:
    """The body renders; every step has exactly one heading anchored with its id, in order;
    links within the document resolve (links to other SOPs are checked by
    :func:`procmine.sop.lint.lint_sops`)."""
    issues = Issues(sop.path)
    try:
        html = render_sop(sop.body)
    except Exception as exc:  # markdown raises on malformed extension syntax
        issues.error(sop.body_line, "body", f"markdown does not render: {exc}",
                     code="sop.lint.markdown")
        return issues.items
    anchors = _anchors(html)
    step_ids = [s.id for s in sop.steps]
    headed: list[tuple[str, int]] = []
    in_fence = False
    for offset, line in enumerate(sop.body.splitlines()):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        if in_fence:
            continue
        match = _ANCHOR_HEADING.match(line)
        if match:
            headed.append((match.group(1), sop.body_line + offset))
    counts: dict[str, int] = {}
    for anchor, _ in headed:
        counts[anchor] = counts.get(anchor, 0) + 1
    for step in sop.steps:
        if counts.get(step.id, 0) == 0:
            issues.error(step.line, f"steps.{step.id}",
                         f"no heading in the body carries the anchor {{#{step.id}}}",
                         code="sop.lint.no_anchor", step_id=step.id)
        elif counts[step.id] > 1:
            issues.error(step.line, f"steps.{step.id}",
                         f"the anchor {{#{step.id}}} is used by {counts[step.id]} headings",
                         code="sop.lint.anchor_twice", step_id=step.id, count=counts[step.id])
    in_body = [a for a, _ in headed if a in step_ids]
    ordered = [s for s in step_ids if s in in_body]
    if in_body != ordered and len(set(in_body)) == len(in_body):
        issues.warning(headed[0][1] if headed else sop.body_line, "body",
                       "the step headings are not in the order of the front-matter steps",
                       code="sop.lint.heading_order")
    for at, target in body_links(sop):
        if target.startswith("#") and target[1:] not in anchors:
            issues.error(at, "body", f"link {target} points to no heading of this SOP",
                         code="sop.lint.bad_link", target=target)
    return issues.items


# -- front matter --------------------------------------------------------------------------------


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if isinstance(value, str) and (_VERSION.fullmatch(text) or not re.fullmatch(r"[\w.@ -]+", text)
                                   or text.strip() != text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def set_front_matter(text: str, **fields: Any) -> str:
    """The SOP text with top-level scalar fields of its front matter set, the rest untouched
    (a field that is absent is added before ``steps:``).

    Example:
        >>> from procmine.sop.repository import bundled_sops_dir
        >>> text = (bundled_sops_dir() / "SOP-P17.md").read_text(encoding="utf-8")
        >>> changed = parse_sop(set_front_matter(text, status="in_review", version="1.3"))
        >>> changed.status, changed.version
        ('in_review', '1.3')
    """
    front, body, _ = split_front_matter(text)
    lines = front.splitlines(keepends=True)
    for name, value in fields.items():
        rendered = f"{name}: {_yaml_scalar(value)}\n"
        pattern = re.compile(rf"^{re.escape(name)}:(\s.*)?$")
        for i, line in enumerate(lines):
            if pattern.match(line.rstrip("\n")):
                lines[i] = rendered
                break
        else:
            at = next((i for i, line in enumerate(lines) if line.startswith("steps:")),
                      len(lines))
            lines.insert(at, rendered)
    return "---\n" + "".join(lines) + "---\n" + body
