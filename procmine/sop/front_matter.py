"""The front matter of an SOP text as a form reads and writes it: its fields as plain values
(:func:`form_fields`), and the text with some of them changed (:func:`set_fields`,
:func:`set_steps`, :func:`set_adoption`), every other line kept as it was.

The editor's form shows the title, business types, owner group, dates, the branches' adoption
dates and the steps; a change rewrites only the lines of the fields it changed. A step the form
left as it was keeps its lines (comments included); a changed step is written anew from its old
fields with the form's values over them, so fields the form does not show (``controls``,
``types``, ``when``) and unknown ones stay.

Example:
    >>> from procmine.sop.document import parse_sop
    >>> text = library.current("SOP-P17").sop.text
    >>> steps = form_fields(text)["steps"]
    >>> steps[0]["id"], steps[0]["standard_seconds"]
    ('call_number', 9)
    >>> steps[0]["standard_seconds"] = 12
    >>> changed = set_steps(text, steps)
    >>> parse_sop(changed).steps[0].standard_seconds, len(changed.splitlines()) == len(
    ...     text.splitlines())
    (12.0, True)
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Final

import yaml

from procmine.sop.document import SopError, set_front_matter, split_front_matter

__all__ = ["FORM_STEP_KEYS", "form_fields", "set_adoption", "set_fields", "set_steps"]

#: The step fields the editor's table shows, in its column order.
FORM_STEP_KEYS: Final[tuple[str, ...]] = (
    "id", "activity", "standard_seconds", "control", "optional", "alternatives",
    "required_when",
)
# flags written only when true, lists and texts only when not empty
_FLAGS: Final[tuple[str, ...]] = ("control", "optional", "conditional")


def _front(text: str) -> tuple[list[str], str]:
    front, body, _ = split_front_matter(text)
    return front.splitlines(keepends=True), body


def _join(lines: Sequence[str], body: str) -> str:
    return "---\n" + "".join(lines) + "---\n" + body


def form_fields(text: str) -> dict[str, Any]:
    """The front matter as plain values (title, business types, owner group, effective and
    review dates, adoption, steps as dicts); raises :class:`SopError` when it does not read
    as YAML fields."""
    front, _, _ = split_front_matter(text)
    try:
        data = yaml.safe_load(front)
    except yaml.YAMLError as exc:
        raise SopError(f"front matter: YAML does not parse: {exc}") from exc
    if not isinstance(data, dict):
        raise SopError("front matter: expected YAML fields such as id: SOP-P17")
    title: dict[str, Any] = data["title"] if isinstance(data.get("title"), dict) else {}
    steps = [dict(s) for s in data.get("steps") or [] if isinstance(s, dict)]
    adoption: dict[str, Any] = (data["adoption"] if isinstance(data.get("adoption"), dict)
                                else {})
    return {
        "title": {"zh": str(title.get("zh") or ""), "en": str(title.get("en") or "")},
        "business_types": [str(t) for t in data.get("business_types") or []],
        "owner_group": str(data.get("owner_group") or ""),
        "effective": _day(data.get("effective")),
        "review_due": _day(data.get("review_due")),
        "adoption": {str(b): d for b, v in adoption.items() if (d := _day(v)) is not None},
        "steps": steps,
    }


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()) if value is not None else None
    except ValueError:
        return None


def _flow(value: Any) -> str:
    """A value as one line of YAML (flow style; Chinese as it is)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    dumped = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True,
                            width=1_000_000, sort_keys=False).strip()
    return dumped.removesuffix("\n...").strip()


def _set_line(lines: list[str], name: str, value: str) -> list[str]:
    for i, line in enumerate(lines):
        if line.startswith(f"{name}:"):
            lines[i] = f"{name}: {value}\n"
            return lines
    at = next((i for i, line in enumerate(lines) if line.startswith("steps:")), len(lines))
    lines.insert(at, f"{name}: {value}\n")
    return lines


def set_fields(text: str, *, title: Mapping[str, str] | None = None,
               business_types: Sequence[str] | None = None, owner_group: str | None = None,
               effective: date | None = None, review_due: date | None = None) -> str:
    """The text with the given top-level fields set (None: left as it is)."""
    lines, body = _front(text)
    if title is not None:
        lines = _set_line(lines, "title", _flow({"zh": title.get("zh", ""),
                                                 "en": title.get("en", "")}))
    if business_types is not None:
        lines = _set_line(lines, "business_types", _flow(list(business_types)))
    text = _join(lines, body)
    scalars = {k: v for k, v in (("owner_group", owner_group), ("effective", effective),
                                 ("review_due", review_due)) if v is not None}
    return set_front_matter(text, **scalars) if scalars else text


def set_adoption(text: str, adoption: Mapping[str, date]) -> str:
    """Rewrite the ``adoption:`` block of the front matter (added before ``steps:`` when the
    text has none; removed when ``adoption`` is empty)."""
    lines, body = _front(text)
    block = ["adoption:\n", *(f"  {b}: {d.isoformat()}\n" for b, d in sorted(adoption.items()))]
    if not adoption:
        block = []
    if not any(line.startswith("adoption:") for line in lines):
        at = next((i for i, line in enumerate(lines) if line.startswith("steps:")), len(lines))
        lines[at:at] = block
        return _join(lines, body)
    out, skipping = [], False
    for line in lines:
        if line.startswith("adoption:"):
            skipping = True
            out += block
            continue
        if skipping and (line.startswith((" ", "\t")) or not line.strip()):
            continue
        skipping = False
        out.append(line)
    return _join(out, body)


def _step_chunks(lines: list[str]) -> tuple[int, int, list[list[str]], str]:
    """Where the ``steps:`` block starts and ends, its items' lines, and the item indent."""
    start = next(i for i, line in enumerate(lines) if line.startswith("steps:"))
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].strip() and not lines[i].startswith((" ", "\t", "-"))), len(lines))
    chunks: list[list[str]] = []
    indent = "  "
    for line in lines[start + 1:end]:
        stripped = line.lstrip(" ")
        if stripped.startswith("- "):
            indent = line[:len(line) - len(stripped)]
            chunks.append([line])
        elif chunks:
            chunks[-1].append(line)
    return start, end, chunks, indent


def _clean(step: Mapping[str, Any]) -> dict[str, Any]:
    """A form row as step fields: empty texts and lists, false flags and missing values
    dropped; a ``required_when`` makes the step conditional (its ``when`` the condition unless
    it says one)."""
    out: dict[str, Any] = {}
    for key, value in step.items():
        if value is None or (isinstance(value, float) and value != value):  # NaN: empty cell
            continue
        if key in _FLAGS and value is not True:
            continue
        if key == "alternatives" and isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, str):
            value = value.strip()
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if value in ("", [], ()):
            continue
        out[key] = value
    if out.get("required_when"):
        out.setdefault("conditional", True)
        out.setdefault("when", out["required_when"])
    return out


def _render_step(step: Mapping[str, Any], indent: str) -> list[str]:
    inner = indent + "  "
    lines = []
    for i, (key, value) in enumerate(step.items()):
        lines.append(f"{indent}- {key}: {_flow(value)}\n" if i == 0
                     else f"{inner}{key}: {_flow(value)}\n")
    return lines


def set_steps(text: str, steps: Sequence[Mapping[str, Any]]) -> str:
    """The text with its ``steps:`` block set to ``steps`` (the form's rows, in order: each a
    mapping with some of :data:`FORM_STEP_KEYS`; ``alternatives`` a list or comma-separated
    text). A step whose fields did not change keeps its lines; a changed one keeps the fields
    the row does not name (``controls``, ``types``, ``when``...) and is written anew."""
    lines, body = _front(text)
    old_steps = {str(s.get("id")): s for s in form_fields(text)["steps"]}
    start, end, chunks, indent = _step_chunks(lines)
    chunk_of = {}
    for chunk in chunks:
        try:
            item = yaml.safe_load(textwrap.dedent("".join(chunk)))
        except yaml.YAMLError:
            continue
        if isinstance(item, list) and item and isinstance(item[0], dict):
            chunk_of[str(item[0].get("id"))] = chunk
    new_lines: list[str] = []
    for row in steps:
        step_id = str(row.get("id") or "").strip()
        old = old_steps.get(step_id, {})
        merged = {**{k: v for k, v in old.items() if k not in FORM_STEP_KEYS},
                  **{k: old.get(k) for k in FORM_STEP_KEYS if k not in row}, **row}
        ordered = {k: merged[k] for k in [*old, *(k for k in merged if k not in old)]
                   if k in merged}
        wanted = _clean(ordered)
        if step_id in chunk_of and wanted == _clean(old):
            new_lines += chunk_of[step_id]
        else:
            new_lines += _render_step(wanted, indent)
    return _join([*lines[:start + 1], *new_lines, *lines[end:]], body)
