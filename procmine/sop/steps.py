"""What an SOP says about its steps beyond the front matter: their names in Chinese and
English (from the body's step headings), which steps a new version changed, and a search over an
SOP's ids, titles and step names in both languages.
"""

from __future__ import annotations

import re
from typing import Final

from procmine.sop.document import Sop

__all__ = ["changed_steps", "matches_query", "step_names"]


_STEP_HEADING: Final = re.compile(
    r"^#{2,6}\s+(?:\d+[.、]\s*)?(?P<text>.*?)\s*\{#(?P<id>[^}\s]+)\}\s*$")


def step_names(sop: Sop) -> dict[str, dict[str, str]]:
    """Each step's name in Chinese and English, by step id: the Chinese from the step's heading
    in the body (``### 6. 点钞 Count cash {#count_cash}``), the English from its activity. A
    step without a heading, or whose heading has no Chinese, gets its activity in both.

    Example:
        >>> names = step_names(library.current("SOP-P17").sop)
        >>> names["count_cash"]
        {'zh': '点钞', 'en': 'Count cash'}
    """
    headings: dict[str, str] = {}
    for line in sop.body.splitlines():
        match = _STEP_HEADING.match(line)
        if match:
            headings.setdefault(match.group("id"), match.group("text").strip())
    names = {}
    for step in sop.steps:
        text = headings.get(step.id, "")
        if text.lower().endswith(step.activity.lower()):
            text = text[: len(text) - len(step.activity)].strip()
        zh = text if any("\u3400" <= ch <= "\u9fff" for ch in text) else step.activity
        names[step.id] = {"zh": zh, "en": step.activity}
    return names


def changed_steps(old: Sop, new: Sop) -> set[str]:
    """The ids of the steps a new version changed: added, removed, moved, or with another
    activity, standard time, controls, condition or business types. A question or a spot check
    on such a step was about the old step.

    Example:
        >>> versions = library.approved_versions("SOP-P18")
        >>> sorted(changed_steps(versions[0].sop, versions[0].sop))
        []
    """
    def shape(sop: Sop) -> dict[str, tuple[object, ...]]:
        return {s.id: (s.activity, s.standard_seconds, s.controls, s.conditional, s.when, s.types)
                for s in sop.steps}

    before, after = shape(old), shape(new)
    changed = {i for i in before.keys() ^ after.keys()}
    changed |= {i for i in before.keys() & after.keys() if before[i] != after[i]}
    old_order = [s.id for s in old.steps if s.id in after]
    new_order = [s.id for s in new.steps if s.id in before]
    for i, (a, b) in enumerate(zip(old_order, new_order, strict=True)):
        if a != b:
            changed |= {old_order[i], new_order[i]}
    return changed


def matches_query(sop: Sop, query: str) -> bool:
    """Whether every word of ``query`` occurs (without case) in the SOP's id, titles, business
    types, step ids, or step names in either language.

    Example:
        >>> sop = library.current("SOP-P17").sop
        >>> matches_query(sop, "点钞"), matches_query(sop, "count CASH"), matches_query(sop, "汇票")
        (True, True, False)
    """
    names = step_names(sop)
    haystack = " ".join([sop.id, *sop.title.values(), *sop.business_types,
                         *(s.id for s in sop.steps),
                         *(n for pair in names.values() for n in pair.values())]).lower()
    return all(word in haystack for word in query.lower().split())
