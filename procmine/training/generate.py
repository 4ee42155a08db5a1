"""Questions generated from the approved SOPs: what tellers must know of each step.

For one SOP version, :func:`generate_questions` writes Chinese questions from its front matter
and its step names (the body's step headings, :func:`procmine.sop.steps.step_names`):

* ``order_steps`` (ordering): put the standard path of the SOP's first business type in order;
  a path longer than 6 steps is asked in consecutive windows of 5-6 steps (keys ``:1``, ``:2``).
* ``next_step`` (single): the step after step X on the standard path. The standard path is the
  type's non-conditional steps, so the answer is one; when business types of the SOP disagree on
  it, one question per type, naming the type.
* ``control`` (single; and multiple, key ``:multi``, when X has two controls or more): which
  control requirement applies at X.
* ``threshold`` (single): for a conditional step whose ``when`` holds an amount, the amount that
  triggers it ("5万元（含）以上"); and two true/false statements (keys ``:true``, ``:false``):
  the step's condition, and the same with a lower amount (a higher one would still be implied).
* ``duration`` (single): X's standard time, as one of four half-open bands.

Wrong choices come from the same SOP first (steps near X in its list), then from similar SOPs
(:func:`procmine.training.distractors.similar_sops`); none is right under the question's own
wording: a next-step question offers no step that follows X on any business type's path
(conditional steps between included), a control question no control of any step named like X,
and no choice repeats another (texts compared normalized). A step whose name another step of the
SOP shares is named with its business types ("口头挂失业务的「身份核验」").

Keys are ``gen:<sop_id>:<version>:<step_id or ->:<template>[:<suffix>]``, the suffix telling
apart questions of one step and template: the window number of ``order_steps``, ``multi`` for
the multiple-choice control question, the business type of a per-type ``next_step``, ``true`` /
``false`` for the threshold statements. The choices are shuffled with the key as seed, so the
same SOP always gives the same questions in the same order.
:func:`generate_bank` generates the version in force today of every SOP of a library.

Example:
    >>> sop = library.approved("SOP-P17").sop
    >>> questions = {q.key: q for q in generate_questions(sop)}
    >>> q = questions["gen:SOP-P17:2.1:count_cash:next_step"]
    >>> q.stem
    '在《活期现金存款》的标准流程中，「点钞」之后的下一步是？'
    >>> [c.text for c in q.correct_choices()]
    ['录入交易']
    >>> [c.text for c in questions["gen:SOP-P17:2.1:-:order_steps:1"].choices]
    ['叫号', '迎客验号', '询问需求', '读卡/刷折', '点钞', '录入交易']
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from itertools import pairwise

from procmine.core.baseline import load_baseline
from procmine.sop.document import Sop, SopStep
from procmine.sop.library import SopLibrary
from procmine.sop.steps import step_names
from procmine.sop.timeline import adoption_branches
from procmine.training.distractors import (
    THRESHOLD_LADDER,
    amount_text,
    band_index,
    band_text,
    duration_bands,
    normalize,
    parse_threshold,
    pick,
    seconds_text,
    similar_sops,
    threshold_distractors,
    threshold_text,
)
from procmine.training.question import Choice, Question, true_false

__all__ = ["generate_bank", "generate_questions", "order_windows", "sops_in_force_today"]

@lru_cache(maxsize=1)
def _type_names() -> dict[str, str]:
    return {t.code: t.name("zh") for t in load_baseline()}


def _type_name(code: str) -> str:
    return _type_names().get(code, code)


@dataclass(frozen=True)
class _Ctx:
    """One SOP version as the templates see it."""

    sop: Sop
    names: dict[str, str]              # step id -> Chinese name
    similar: tuple[tuple[Sop, dict[str, str]], ...]  # similar SOPs and their step names

    @property
    def title(self) -> str:
        return self.sop.title_in("zh-CN")

    @property
    def ref(self) -> str:
        return f"{self.sop.id} {self.sop.version}"

    def name(self, step: SopStep) -> str:
        return self.names[step.id]

    def number(self, step: SopStep) -> int:
        return self.sop.steps.index(step) + 1

    def namesakes(self, step: SopStep) -> list[SopStep]:
        """The SOP's steps named like ``step`` (itself included)."""
        key = normalize(self.name(step))
        return [s for s in self.sop.steps if normalize(self.name(s)) == key]

    def label(self, step: SopStep) -> str:
        """「name」, with the business types (or, when those do not tell it apart either, the
        step number) when another step of the SOP has the same name."""
        namesakes = self.namesakes(step)
        if len(namesakes) == 1:
            return f"「{self.name(step)}」"
        if step.types and [s.types for s in namesakes].count(step.types) == 1:
            return "、".join(_type_name(t) for t in step.types) + f"业务的「{self.name(step)}」"
        return f"第{self.number(step)}步「{self.name(step)}」"

    def key(self, step: SopStep | None, template: str, suffix: str | None = None) -> str:
        parts = ["gen", self.sop.id, self.sop.version, step.id if step else "-", template]
        return ":".join(parts + ([suffix] if suffix else []))

    def near(self, step: SopStep) -> list[SopStep]:
        """The SOP's other steps, nearest to ``step`` in the list first."""
        at = self.sop.steps.index(step)
        order = sorted(range(len(self.sop.steps)), key=lambda i: (abs(i - at), i))
        return [self.sop.steps[i] for i in order if i != at]

    def similar_steps(self, step: SopStep) -> list[tuple[SopStep, str]]:
        """Steps of the similar SOPs (most similar SOP first; within one, nearest to the
        position of ``step``), with their names."""
        at = self.sop.steps.index(step)
        out = []
        for other, names in self.similar:
            order = sorted(range(len(other.steps)), key=lambda i: (abs(i - at), i))
            out += [(other.steps[i], names[other.steps[i].id]) for i in order]
        return out


def _question(ctx: _Ctx, *, key: str, kind: str, stem: str, choices: Sequence[Choice],
              step: SopStep | None, template: str, title: str, feedback: str) -> Question:
    return Question(key=key, kind=kind, stem=stem, choices=tuple(choices), topic=ctx.sop.id,
                    source="generated", sop_id=ctx.sop.id, sop_version=ctx.sop.version,
                    step_id=step.id if step else None, template=template, title=title,
                    general_feedback=feedback, tags=(ctx.sop.id, template))


def _single(key: str, right: str, wrong: Sequence[str], *, shuffle: bool = True
            ) -> list[Choice]:
    choices = [Choice(right, 100.0), *(Choice(w, 0.0) for w in wrong)]
    if shuffle:
        random.Random(key).shuffle(choices)
    return choices


# -- order_steps ---------------------------------------------------------------------------------


def order_windows(length: int, *, most: int = 6, least: int = 5) -> list[tuple[int, int]]:
    """Consecutive windows ``(start, stop)`` of ``least``-``most`` items over a path of
    ``length`` (one window when it has ``most`` or fewer), spread evenly from first to last.

    Example:
        >>> order_windows(6), order_windows(10), order_windows(13)
        ([(0, 6)], [(0, 6), (4, 10)], [(0, 5), (4, 9), (8, 13)])
    """
    if length <= most:
        return [(0, length)]
    count = -(-length // most)
    size = min(most, max(least, -(-(length + count - 1) // count)))
    starts = [(i * (length - size) + (count - 1) // 2) // (count - 1) for i in range(count)]
    return [(s, s + size) for s in starts]


def _order_questions(ctx: _Ctx) -> list[Question]:
    sop = ctx.sop
    first = sop.business_types[0] if sop.business_types else ""
    path = sop.steps_for(first, conditional=False)
    if len(path) < 3:
        return []
    whose = f"中{_type_name(first)}业务" if len(sop.business_types) > 1 else ""
    windows = order_windows(len(path))
    out = []
    for n, (start, stop) in enumerate(windows, start=1):
        items = [ctx.name(s) for s in path[start:stop]]
        if len({normalize(i) for i in items}) < len(items):
            continue  # two steps named alike: the order would not be one
        part = f"（标准流程第{start + 1}至{stop}步）" if len(windows) > 1 else ""
        key = ctx.key(None, "order_steps", str(n) if len(windows) > 1 else None)
        out.append(_question(
            ctx, key=key, kind="ordering",
            stem=f"按《{ctx.title}》({ctx.ref}){whose}的标准流程排列以下步骤{part}",
            choices=[Choice(i, 100.0) for i in items], step=None, template="order_steps",
            title=f"{sop.id} 步骤排序{f' {n}' if len(windows) > 1 else ''}",
            feedback=f"《{ctx.title}》({ctx.ref}){whose}的标准流程：" + " → ".join(items)
            + "（不含条件步骤）。"))
    return out


# -- next_step -----------------------------------------------------------------------------------


def _followers(ctx: _Ctx) -> dict[str, set[str]]:
    """Per normalized step name: the normalized names that may come right after it, on any
    business type's path: the next standard step and the conditional steps before it."""
    follows: dict[str, set[str]] = {}
    for t in ctx.sop.business_types:
        full = ctx.sop.steps_for(t)
        for i, step in enumerate(full):
            after = follows.setdefault(normalize(ctx.name(step)), set())
            for later in full[i + 1:]:
                after.add(normalize(ctx.name(later)))
                if not later.conditional:
                    break
    return follows


def _next_pairs(ctx: _Ctx) -> dict[str, list[tuple[str, SopStep, SopStep]]]:
    """Per normalized step name (in the SOP's order): (business type, step, next step) on each
    type's standard path; a name twice on one path is left out (its next is not one)."""
    pairs: dict[str, list[tuple[str, SopStep, SopStep]]] = {
        normalize(ctx.name(s)): [] for s in ctx.sop.steps}
    twice: set[str] = set()
    for t in ctx.sop.business_types:
        path = ctx.sop.steps_for(t, conditional=False)
        keys = [normalize(ctx.name(s)) for s in path]
        twice |= {k for k in keys if keys.count(k) > 1}
        for a, b in pairwise(path):
            pairs[normalize(ctx.name(a))].append((t, a, b))
    return {k: v for k, v in pairs.items() if v and k not in twice}


def _next_questions(ctx: _Ctx) -> list[Question]:
    follows = _followers(ctx)
    out = []
    for name_key, pairs in _next_pairs(ctx).items():
        answers = {normalize(ctx.name(b)) for _, _, b in pairs}
        by_type = len(answers) > 1
        for t, step, nxt in pairs if by_type else pairs[:1]:
            right = ctx.name(nxt)
            candidates = [ctx.name(s) for s in ctx.near(step)]
            candidates += [n for _, n in ctx.similar_steps(step)]
            wrong = pick(candidates, exclude={name_key, *follows[name_key], *answers})
            if not wrong:
                continue
            key = ctx.key(step, "next_step", t if by_type else None)
            where = f"《{ctx.title}》{_type_name(t) + '业务' if by_type else ''}的标准流程中"
            full = ctx.sop.steps_for(t)
            between = full[full.index(step) + 1:full.index(nxt)]
            note = (f"；其间的{'、'.join('「' + ctx.name(s) + '」' for s in between)}是条件步骤，"
                    "仅在满足条件时执行" if between else "")
            out.append(_question(
                ctx, key=key, kind="single",
                stem=f"在{where}，「{ctx.name(step)}」之后的下一步是？",
                choices=_single(key, right, wrong), step=step, template="next_step",
                title=f"{ctx.sop.id} {ctx.name(step)} 下一步",
                feedback=f"{where}，第{ctx.number(step)}步「{ctx.name(step)}」之后是第"
                f"{ctx.number(nxt)}步「{right}」{note}（{ctx.ref}）。"))
    return out


# -- control -------------------------------------------------------------------------------------


def _control_candidates(ctx: _Ctx, step: SopStep) -> list[str]:
    """Controls of the same SOP's other steps (nearest first), then of similar SOPs' steps, none
    of a step named like ``step``."""
    own = normalize(ctx.name(step))
    out = [c for s in ctx.near(step) if normalize(ctx.name(s)) != own for c in s.controls]
    out += [c for s, n in ctx.similar_steps(step) if normalize(n) != own for c in s.controls]
    return out


def _control_questions(ctx: _Ctx, step: SopStep) -> list[Question]:
    rights = pick(step.controls, count=len(step.controls))
    if not rights:
        return []
    theirs = {normalize(c) for s in ctx.namesakes(step) for c in s.controls}
    candidates = _control_candidates(ctx, step)
    label, where = ctx.label(step), f"《{ctx.title}》"
    feedback = (f"{where}第{ctx.number(step)}步{label}的控制要求：" + "；".join(step.controls)
                + f"（{ctx.ref}）。")
    out = []
    wrong = pick(candidates, exclude=theirs)
    if wrong:
        key = ctx.key(step, "control")
        out.append(_question(
            ctx, key=key, kind="single", stem=f"在{where}中，{label}这一步应执行哪项控制要求？",
            choices=_single(key, rights[0], wrong), step=step, template="control",
            title=f"{ctx.sop.id} {ctx.name(step)} 控制要求", feedback=feedback))
    several = rights[:3]
    wrong = pick(candidates, exclude=theirs, count=2)
    if len(several) >= 2 and len(wrong) == 2:
        key = ctx.key(step, "control", "multi")
        share = round(100.0 / len(several), 5)
        choices = [*(Choice(c, share) for c in several), *(Choice(w, -50.0) for w in wrong)]
        random.Random(key).shuffle(choices)
        out.append(_question(
            ctx, key=key, kind="multiple",
            stem=f"在{where}中，以下哪些是{label}的控制要求？（多选）", choices=choices,
            step=step, template="control", title=f"{ctx.sop.id} {ctx.name(step)} 控制要求（多选）",
            feedback=feedback))
    return out


# -- threshold and duration ----------------------------------------------------------------------


def _library_amounts(ctx: _Ctx) -> list[float]:
    sops = [ctx.sop, *(o for o, _ in ctx.similar)]
    found = (parse_threshold(s.when) for o in sops for s in o.steps)
    return [t.value for t in found if t is not None]


def _threshold_question(ctx: _Ctx, step: SopStep) -> Question | None:
    threshold = parse_threshold(step.when) if step.conditional else None
    if threshold is None:
        return None
    values = threshold_distractors(threshold.value, _library_amounts(ctx))
    if not values:
        return None
    key = ctx.key(step, "threshold")
    rows = sorted([(threshold.value, 100.0), *((v, 0.0) for v in values)])
    choices = [Choice(threshold_text(v, threshold.inclusive), f) for v, f in rows]
    reach = "达到" if threshold.inclusive else "超过"
    right = threshold_text(threshold.value, threshold.inclusive)
    return _question(
        ctx, key=key, kind="single",
        stem=f"在《{ctx.title}》中，{threshold.subject}{reach}多少时须执行{ctx.label(step)}？",
        choices=choices, step=step, template="threshold",
        title=f"{ctx.sop.id} {ctx.name(step)} 金额门槛",
        feedback=f"《{ctx.title}》第{ctx.number(step)}步{ctx.label(step)}是条件步骤："
        f"{threshold.subject}{right}时执行（{ctx.ref}；条件：{step.when_in('zh-CN')}）。")


def _threshold_statements(ctx: _Ctx, step: SopStep) -> list[Question]:
    """A true statement of the step's amount condition and a false one naming a lower amount
    (the step is not required between the two; a higher amount would still be implied)."""
    threshold = parse_threshold(step.when) if step.conditional else None
    if threshold is None:
        return []
    lower = [v for v in [*_library_amounts(ctx), *THRESHOLD_LADDER, threshold.value / 2]
             if v < threshold.value and amount_text(v) != amount_text(threshold.value)]
    if not lower:
        return []
    right = threshold_text(threshold.value, threshold.inclusive)
    feedback = (f"《{ctx.title}》第{ctx.number(step)}步{ctx.label(step)}是条件步骤："
                f"{threshold.subject}{right}时执行（{ctx.ref}；条件：{step.when_in('zh-CN')}）。")
    out = []
    for truth, value in ((True, threshold.value), (False, max(lower))):
        key = ctx.key(step, "threshold", "true" if truth else "false")
        out.append(_question(
            ctx, key=key, kind="truefalse",
            stem=f"在《{ctx.title}》中，{ctx.label(step)}是条件步骤：{threshold.subject}"
            f"{threshold_text(value, threshold.inclusive)}时须执行。",
            choices=true_false(truth), step=step, template="threshold",
            title=f"{ctx.sop.id} {ctx.name(step)} 金额门槛（判断{'一' if truth else '二'}）",
            feedback=feedback))
    return out


def _duration_question(ctx: _Ctx, step: SopStep) -> Question:
    key = ctx.key(step, "duration")
    right = band_index(step.standard_seconds)
    choices = [Choice(band_text(i), 100.0 if i == right else 0.0)
               for i in duration_bands(step.standard_seconds)]
    return _question(
        ctx, key=key, kind="single",
        stem=f"在《{ctx.title}》中，{ctx.label(step)}的标准用时大约是多少？",
        choices=choices, step=step, template="duration",
        title=f"{ctx.sop.id} {ctx.name(step)} 标准用时",
        feedback=f"《{ctx.title}》第{ctx.number(step)}步{ctx.label(step)}的标准用时为"
        f"{seconds_text(step.standard_seconds)}，在「{band_text(right)}」内（{ctx.ref}）。")


# -- one SOP, the library ------------------------------------------------------------------------


def generate_questions(sop: Sop, *, others: Sequence[Sop] = ()) -> list[Question]:
    """The generated questions of one SOP version (``others``: the library's other SOPs, where
    wrong choices may come from), in a fixed order: the ordering questions, then per step its
    next-step, control, threshold and duration questions.

    Example:
        >>> sop = library.approved("SOP-P17").sop
        >>> q = next(q for q in generate_questions(sop) if q.template == "threshold")
        >>> q.stem, [c.text for c in q.correct_choices()]
        ('在《活期现金存款》中，现金金额达到多少时须执行「身份核验」？', ['5万元（含）以上'])
    """
    ctx = _Ctx(sop, _zh_names(sop), tuple((o, _zh_names(o)) for o in similar_sops(sop, others)))
    nexts: dict[str, list[Question]] = {}
    for q in _next_questions(ctx):
        nexts.setdefault(q.step_id or "", []).append(q)
    out = _order_questions(ctx)
    for step in sop.steps:
        out += nexts.get(step.id, [])
        out += _control_questions(ctx, step)
        threshold = _threshold_question(ctx, step)
        if threshold is not None:
            out += [threshold, *_threshold_statements(ctx, step)]
        out.append(_duration_question(ctx, step))
    return out


def _zh_names(sop: Sop) -> dict[str, str]:
    return {step_id: names["zh"] for step_id, names in step_names(sop).items()}


def sops_in_force_today(library: SopLibrary, *, today: date | None = None) -> list[Sop]:
    """Per SOP of the library (by id), the latest approved version that is in force today at
    some branch; an SOP retired, never approved or not yet in force is left out."""
    on = today or datetime.now(UTC).date()
    out = []
    for sop_id in library.ids():
        approved = library.approved_versions(sop_id)
        if library.approved(sop_id) is None:
            continue
        live = {v.commit for b in [None, *adoption_branches(approved)]
                if (v := library.in_force(sop_id, on, b)) is not None}
        order = [v for v in approved if v.commit in live]
        if order:
            out.append(order[-1].sop)
    return out


def generate_bank(library: SopLibrary, *, today: date | None = None) -> list[Question]:
    """The generated questions of every SOP in force today (:func:`sops_in_force_today`), the
    other SOPs in force lending wrong choices.

    Example:
        >>> bank = generate_bank(library, today=date(2026, 11, 2))
        >>> len({q.sop_id for q in bank}), {q.sop_version for q in bank if q.sop_id == "SOP-P18"}
        (22, {'3.0'})
    """
    sops = sops_in_force_today(library, today=today)
    return [q for sop in sops for q in generate_questions(sop, others=_others(sop, sops))]


def _others(sop: Sop, sops: Iterable[Sop]) -> list[Sop]:
    return [o for o in sops if o.id != sop.id]
