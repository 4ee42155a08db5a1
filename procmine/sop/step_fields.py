"""The steps of an SOP's front matter: what each says, and how it is read.

A step names the activity it governs in the event log and its standard time; ``controls`` lists
its risk controls (text for the teller). What conformance checking reads of a step:

* ``conditional: true`` with ``when`` (text, or ``{zh: 中文, en: English}`` like the title): the
  step belongs only to the transactions that meet its condition; ``required_when``
  (:mod:`procmine.sop.conditions`) says which, in a form a machine checks (``amount >= 50000``).
  A conditional step without it is optional.
* ``optional: true``: the step may be left out (no skipped step is reported).
* ``control: true``: a control step (the online ID check, the second-person recount): leaving it
  out is a control risk, reported to the compliance group.
* ``alternatives: [ACTIVITY, ...]``: other activities of the log that may stand in for the step.

Example:
    >>> step = library.approved("SOP-P18").sop.step("verify_identity_large")
    >>> step.control, step.required_when.text, step.required("P18", {"amount": 80000.0})
    (True, 'amount >= 50000', True)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import yaml

from procmine.sop.conditions import Condition, parse_condition
from procmine.sop.yaml_nodes import (
    Issues,
    as_text_list,
    mapping,
    node_line,
    node_value,
    scalar_text,
)

__all__ = ["STEP_KEYS", "SopStep", "parse_steps"]

#: The fields of a step in the front matter.
STEP_KEYS: Final[tuple[str, ...]] = (
    "id", "activity", "standard_seconds", "controls", "conditional", "when", "types",
    "optional", "control", "alternatives", "required_when",
)
_STEP_ID = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class SopStep:
    """One step of an SOP: the activity it governs in the event log and its standard time."""

    id: str
    activity: str
    standard_seconds: float
    controls: tuple[str, ...] = ()
    conditional: bool = False
    when: str | None = None
    types: tuple[str, ...] = ()  # the business types it applies to; empty = all of the SOP's
    line: int = 0
    optional: bool = False
    control: bool = False
    alternatives: tuple[str, ...] = ()
    required_when: Condition | None = None
    when_zh: str = ""  # the condition in Chinese, when ``when`` is a {zh, en} mapping with zh

    def when_in(self, lang: str = "zh-CN") -> str:
        """The condition in ``lang`` ("zh..." or "en"): the Chinese where there is one, else
        the English (or the only text); empty for a step without a condition."""
        if lang.startswith("zh") and self.when_zh:
            return self.when_zh
        return self.when or self.when_zh

    def applies_to(self, business_type: str) -> bool:
        return not self.types or business_type in self.types

    @property
    def activities(self) -> tuple[str, ...]:
        """The activities that perform the step: its own, then its alternatives."""
        return (self.activity, *self.alternatives)

    def required(self, business_type: str, case: Mapping[str, Any]) -> bool:
        """Whether a transaction of ``business_type`` with these fields (amount, window type,
        segment) must have the step: a step of the type that is neither optional nor
        conditional, or a conditional one whose ``required_when`` holds."""
        if not self.applies_to(business_type) or self.optional:
            return False
        if not self.conditional:
            return True
        return self.required_when is not None and self.required_when.holds(case)


def _flag(keys: Mapping[str, tuple[yaml.Node, yaml.Node]], name: str, where: str,
          issues: Issues) -> bool:
    if name not in keys:
        return False
    value = node_value(keys[name][1])
    if not isinstance(value, bool):
        issues.error(node_line(keys[name][1]), f"{where}.{name}", f"{value!r} is not true or false",
                     code="sop.lint.not_bool", value=value)
    return value is True


def _when(keys: Mapping[str, tuple[yaml.Node, yaml.Node]], where: str,
          issues: Issues) -> tuple[str | None, str]:
    """A step's ``when``: text, or a mapping ``{zh: ..., en: ...}`` with at least one of the
    two; returns (the English or the only text, the Chinese or "")."""
    if "when" not in keys:
        return None, ""
    node = keys["when"][1]
    if not isinstance(node, yaml.MappingNode):
        return (scalar_text(node) or "").strip() or None, ""
    texts: dict[str, str] = {}
    reported = False
    for name, (key, value) in mapping(node).items():
        text = scalar_text(value) if isinstance(value, yaml.ScalarNode) else None
        if name not in ("zh", "en"):
            issues.error(node_line(key), f"{where}.when.{name}",
                         "a condition's languages are zh and en",
                         code="sop.lint.when_language", language=name)
            reported = True
        elif text is None or not text.strip():
            issues.error(node_line(value), f"{where}.when.{name}",
                         "expected the condition as text", code="sop.lint.when_text",
                         language=name)
            reported = True
        else:
            texts[name] = text.strip()
    if not texts and not reported:
        issues.error(node_line(node), f"{where}.when",
                     "expected {zh: 中文条件, en: English condition}", code="sop.lint.when_mapping")
    return texts.get("en") or texts.get("zh"), texts.get("zh", "")


def _flags(keys: Mapping[str, tuple[yaml.Node, yaml.Node]], where: str, issues: Issues, *,
           conditional: bool) -> dict[str, Any]:
    """The conformance fields of a step: optional, control, alternatives, required_when."""
    out: dict[str, Any] = {"optional": _flag(keys, "optional", where, issues),
                           "control": _flag(keys, "control", where, issues)}
    if "alternatives" in keys:
        out["alternatives"] = as_text_list(keys["alternatives"][1], f"{where}.alternatives",
                                           issues)
    if "required_when" in keys:
        node = keys["required_when"][1]
        text = (scalar_text(node) or "").strip()
        if not conditional:
            issues.error(node_line(node), f"{where}.required_when",
                         "only a conditional step has required_when (add conditional: true)",
                         code="sop.lint.required_when_conditional")
        try:
            out["required_when"] = parse_condition(text)
        except ValueError as exc:
            issues.error(node_line(node), f"{where}.required_when", str(exc),
                         code="sop.lint.condition", problem=str(exc))
    if out["optional"] and "required_when" in out:
        issues.error(node_line(keys["optional"][1]), f"{where}.optional",
                     "a step is either optional or required when a condition holds, not both",
                     code="sop.lint.optional_and_required")
    return out


def parse_steps(node: yaml.Node, business_types: tuple[str, ...],
                 issues: Issues) -> tuple[SopStep, ...]:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        issues.error(node_line(node), "steps", "expected a non-empty list of steps",
                     code="sop.lint.no_steps")
        return ()
    steps: list[SopStep] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(node.value, start=1):
        where = f"steps[{i}]"
        if not isinstance(item, yaml.MappingNode):
            issues.error(node_line(item), where,
                         "expected a step with id, activity, standard_seconds",
                         code="sop.lint.step_shape")
            continue
        keys = mapping(item)
        for name, (key, _) in keys.items():
            if name not in STEP_KEYS:
                issues.error(node_line(key), f"{where}.{name}",
                             f"unknown field; a step has {', '.join(STEP_KEYS)}",
                             code="sop.lint.unknown_step_field")
        missing = [k for k in ("id", "activity", "standard_seconds") if k not in keys]
        for name in missing:
            issues.error(node_line(item), f"{where}.{name}", "required field is missing",
                         code="sop.lint.missing_field")
        if missing:
            continue
        step_id = scalar_text(keys["id"][1]) or ""
        if not _STEP_ID.fullmatch(step_id):
            issues.error(node_line(keys["id"][1]), f"{where}.id",
                         f"{step_id!r} is not a step id; use snake_case such as verify_identity",
                         code="sop.lint.bad_step_id", value=step_id)
        elif step_id in seen:
            issues.error(node_line(keys["id"][1]), f"{where}.id",
                         f"step id {step_id!r} is used twice (first on line {seen[step_id]})",
                         code="sop.lint.step_id_twice", step_id=step_id, first_line=seen[step_id])
        seen.setdefault(step_id, node_line(keys["id"][1]))
        activity = (scalar_text(keys["activity"][1]) or "").strip()
        if not activity:
            issues.error(node_line(keys["activity"][1]), f"{where}.activity",
                         "expected the step's activity name in the event log",
                         code="sop.lint.activity")
        seconds_node = keys["standard_seconds"][1]
        seconds = node_value(seconds_node)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
            issues.error(node_line(seconds_node), f"{where}.standard_seconds",
                         f"{seconds!r} is not a positive number of seconds",
                         code="sop.lint.seconds", value=seconds)
            seconds = 0.0
        controls: tuple[str, ...] = ()
        if "controls" in keys:
            controls = as_text_list(keys["controls"][1], f"{where}.controls", issues)
        conditional = False
        if "conditional" in keys:
            value = node_value(keys["conditional"][1])
            if not isinstance(value, bool):
                issues.error(node_line(keys["conditional"][1]), f"{where}.conditional",
                             f"{value!r} is not true or false", code="sop.lint.not_bool",
                             value=value)
            conditional = value is True
        when, when_zh = _when(keys, where, issues)
        if conditional and not (when or when_zh):
            issues.error(node_line(item), f"{where}.when",
                         "a conditional step says when it applies (e.g. amount >= 50000)",
                         code="sop.lint.when")
        types: tuple[str, ...] = ()
        if "types" in keys:
            types = as_text_list(keys["types"][1], f"{where}.types", issues)
            for t in types:
                if t not in business_types:
                    issues.error(node_line(keys["types"][1]), f"{where}.types",
                                 f"{t} is not one of the SOP's business types "
                                 f"({', '.join(business_types)})", code="sop.lint.step_types",
                                 type=t, types=", ".join(business_types))
        flags = _flags(keys, where, issues, conditional=conditional)
        steps.append(SopStep(step_id, activity, float(seconds), controls, conditional, when,
                             types, node_line(item), when_zh=when_zh, **flags))
    return tuple(steps)
