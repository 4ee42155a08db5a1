"""How ``procmine bottlenecks`` shows its findings on a terminal: lines, a table, the evidence.

On a terminal narrower than :data:`WIDE_AT` columns (80 is the usual), each finding is one line
of the key figures (:func:`compact_lines`): rank, kind, teller hours a month, ratio with its 95%
interval, and who, the business type and the step with its slice (e.g. "after 15:00"). Every
line fits the width: the figures are aligned in columns sized to their values, and the words
that do not fit go to a continuation line under the text; an id is never cut short. On a wider
terminal the full table (:func:`findings_table`) has a column for each figure (kind, scope,
condition, cases, median, reference, ratio and interval, inferred, q, hours, period days, SOP
step), ids never wrapped or shortened. :func:`evidence_lines` writes one finding's figures and
evidence (``Finding.evidence``: rework, waits, the comparison with branch and bank, the
breakdowns by amount band, hour, window type and month, a branch's tellers, and whatever else
a kind of finding carries) as text of the same width.

The heading says the period the monthly costs were computed over (``Finding.period_days``).
A wait finding reads "before <step>"; overall and baseline findings, which are about every
step, read "all steps".

Example:
    >>> f = Finding("teller", "0305", "B03", "P17", "Enter transaction", 120, 130, 95.0,
    ...             140.0, 38.0, "baseline share", 2.5, 1.0, 57.0, 160_000.0, 22.0, 2.0,
    ...             1e-9, 1e-7, 40.0, 41.0, ratio_ci=(2.1, 2.9), period_days=61.0,
    ...             condition={"dimension": "hour_band", "value": "closing"})
    >>> for line in compact_lines([f], 80):
    ...     print(line)
    #  kind  h/month  ratio (95% CI)  who, type and step
    1  step     22.0  2.5x (2.1-2.9)  0305 (B03) P17 Enter transaction, after 15:00
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from procmine import Finding, ProcmineError

__all__ = [
    "WIDE_AT",
    "compact_lines",
    "eligible_text",
    "evidence_lines",
    "findings_table",
    "named",
    "period_text",
    "print_findings",
    "step_text",
    "who_text",
]

#: The terminal width from which the full table is shown (narrower: one line per finding).
WIDE_AT: Final = 120
#: Days in a month, as the monthly costs count them (Finding.months = period_days / this).
_MONTH_DAYS: Final = 30.4375
#: The mark of a finding whose times were inferred from completion timestamps.
_INFERRED: Final = "*"
_INFERRED_NOTE: Final = ("* times inferred from completion timestamps (the log has no start "
                         "times): they may include waiting")


# -- the parts of a finding ------------------------------------------------------------------------


def who_text(f: Finding) -> str:
    """Whose finding it is, short: ``0305 (B03)``, ``B02 (5 of 7 eligible tellers slow)`` (only
    a branch's tellers with enough cases count; the note under the findings says how many),
    ``B06 (no teller with enough cases)``, ``bank`` (type)."""
    if f.scope == "teller":
        return f"{f.teller_id} ({f.branch_id})"
    if f.scope == "branch":
        if not f.tellers_eligible:
            return f"{f.branch_id} (no teller with enough cases)"
        return (f"{f.branch_id} ({len(f.tellers_flagged)} of {f.tellers_eligible} eligible "
                "tellers slow)")
    return "bank"


def eligible_text(f: Finding, min_cases: int | None = None, period: str | None = None) -> str:
    """Which of a branch finding's tellers count, in words: those with at least ``min_cases``
    cases at the step (overall findings: enough steps compared), how many are slow and how
    many tellers the evidence's table lists; "" for other scopes."""
    if f.scope != "branch":
        return ""
    listed = (f.evidence or {}).get("tellers") or (f.evidence or {}).get("teller_paces") or ()
    table = f" ({len(listed)} tellers in the table below)" if listed else ""
    enough = ("enough steps compared" if f.kind == "overall" else
              f"at least {min_cases} cases at the step" if min_cases else "enough cases")
    if not f.tellers_eligible:
        where = f" in {period}" if period else ""
        return (f"no teller of the branch has {enough}{where}: the branch is judged as a "
                f"whole{table}")
    slow = ", ".join(f.tellers_flagged)
    return (f"{len(f.tellers_flagged)} of the {f.tellers_eligible} tellers with {enough} are "
            f"slow{table}" + (f": {slow}" if slow else ""))


def step_text(f: Finding, lang: str = "en") -> str:
    """The business type, the step and its slice: ``P17 Enter transaction, after 15:00``; a
    wait ``P17 before Supervisor authorisation``; overall and baseline ``P17 all steps``."""
    if not f.activity:
        step = "all steps"
    elif f.kind == "wait":
        step = f"before {f.activity}"
    else:
        step = f.activity
    condition = f.condition_in(lang)
    text = f"{f.business_type} {step}" if f.business_type else step
    return f"{text}, {condition}" if condition else text


def _ratio(f: Finding) -> str:
    return f"{f.ratio:.1f}x"


def _interval(f: Finding) -> str:
    return f"{f.ratio_ci[0]:.1f}-{f.ratio_ci[1]:.1f}" if f.ratio_ci is not None else ""


def _hours(f: Finding) -> str:
    if f.kind == "baseline" and not f.time_lost_seconds:
        return "–"
    return f"{f.monthly_teller_hours:,.1f}"


def _days(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def period_text(findings: Sequence[Finding]) -> str:
    """The period the monthly costs were computed over, e.g. "costs a month over 61 days of
    data (2.0 months)", or a range when branches cover different periods."""
    days = sorted({f.period_days for f in findings if f.period_days > 0})
    if not days:
        months = sorted({f.months for f in findings if f.months > 0})
        if not months:
            return ""
        span = (f"{months[0]:.1f}" if len(months) == 1
                else f"{months[0]:.1f}-{months[-1]:.1f}")
        return f"costs a month over {span} months of data"
    if len(days) == 1:
        return (f"costs a month over {_days(days[0])} days of data "
                f"({days[0] / _MONTH_DAYS:.1f} months)")
    return (f"costs a month over {_days(days[0])}-{_days(days[-1])} days of data (each "
            "branch its own period)")


def _heading(findings: Sequence[Finding], period: str) -> str:
    costs = period_text(findings)
    return (f"Slow steps, {period}: {len(findings)} findings, most time lost first"
            + (f"; {costs}" if costs else ""))


def _wrap(text: str, width: int, hang: int = 0) -> list[str]:
    """``text`` in lines of at most ``width`` cells, broken between words (a word longer than
    the width is folded, never shortened with an ellipsis); lines after the first are indented
    by ``hang`` cells."""
    width = max(width, 1)
    lines = [line.plain.rstrip()
             for line in Text(text).wrap(Console(width=width), width, overflow="fold")]
    if not lines:
        return [""]
    if not hang or len(lines) == 1 or width - hang < 10:
        return lines
    rest = text[len(lines[0]):].strip()
    return [lines[0], *(" " * hang + part for part in _wrap(rest, width - hang))]


# -- one line per finding --------------------------------------------------------------------------


def compact_lines(findings: Sequence[Finding], width: int) -> list[str]:
    """One line per finding (see the module): the figures in aligned columns, the who, type and
    step after them, the words that do not fit on continuation lines; every line at most
    ``width`` cells (unless one word is wider than the text's room)."""
    head = ("#", "kind", "h/month", "ratio (95% CI)")
    rows = []
    for rank, f in enumerate(findings, start=1):
        ci = _interval(f)
        rows.append((str(rank), f.kind + (_INFERRED if f.inferred else ""), _hours(f),
                     f"{_ratio(f)} ({ci})" if ci else _ratio(f),
                     f"{who_text(f)} {step_text(f)}"))
    sizes = [max(cell_len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    right = (True, False, True, False)

    def cells(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(s) if r else v.ljust(s)
                         for v, s, r in zip(values, sizes, right, strict=True))

    indent = sum(sizes) + 2 * len(sizes)
    room = width - indent
    if room < 20:  # too narrow for text beside the figures: the text goes below them
        indent, room = 4, width - 4
        lines = [cells(head).rstrip()]
        for row in rows:
            lines.append(cells(row[:4]).rstrip())
            lines += [" " * indent + part for part in _wrap(row[4], room)]
        return lines
    lines = [cells(head) + "  " + "who, type and step"]
    for row in rows:
        first, *rest = _wrap(row[4], room)
        lines.append(cells(row[:4]) + "  " + first)
        lines += [" " * indent + part for part in rest]
    return [line.rstrip() for line in lines]


# -- the full table --------------------------------------------------------------------------------

_COLUMNS: Final = (  # (header, justify, wraps)
    ("#", "right", False), ("kind", "left", False), ("scope", "left", False),
    ("who", "left", False), ("type", "left", False), ("step", "left", True),
    ("condition", "left", True), ("cases", "right", False), ("median s", "right", False),
    ("reference s", "right", False), ("ratio", "right", False), ("95% CI", "right", False),
    ("inferred", "left", False), ("q", "right", False), ("hours/month", "right", False),
    ("days", "right", False), ("SOP step", "left", True),
)


def _table_row(rank: int, f: Finding) -> tuple[str, ...]:
    if not f.activity:
        step = "all steps"
    else:
        step = f"before {f.activity}" if f.kind == "wait" else f.activity
    return (
        str(rank), f.kind, f.scope, who_text(f), f.business_type or "all", step,
        f.condition_in("en"), f"{f.cases:,}", f"{f.median_seconds:,.0f}",
        f"{f.reference_seconds:,.0f}", _ratio(f), _interval(f), "yes" if f.inferred else "",
        f"{f.q_value:.1g}" if f.q_value > 0 else "<1e-300", _hours(f),
        _days(f.period_days) if f.period_days > 0 else "",
        f"{f.sop} {f.sop_version} #{f.sop_step}" if f.sop else "",
    )


def findings_table(findings: Sequence[Finding], period: str) -> Table:
    """The findings as a full terminal table, most time lost first: ids and figures are never
    wrapped or shortened (their columns are as wide as their longest value); the step, the
    condition and the SOP step wrap between words."""
    rows = [_table_row(rank, f) for rank, f in enumerate(findings, start=1)]
    view = Table(title=_heading(findings, period))
    for i, (header, justify, wraps) in enumerate(_COLUMNS):
        longest = max([cell_len(header), *(cell_len(r[i]) for r in rows)])
        view.add_column(header, justify=justify,  # type: ignore[arg-type]
                        no_wrap=not wraps, overflow="fold",
                        min_width=None if wraps else longest)
    for row in rows:
        view.add_row(*row)
    return view


def _fits(console: Console, table: Table) -> bool:
    """Whether the table fits the console without shortening a cell."""
    return Measurement.get(console, console.options, table).minimum <= console.width


# -- the evidence ----------------------------------------------------------------------------------

_LABELS: Final = {
    "rework": "rework (share of cases that repeat the step)",
    "wait_before": "wait before the step",
    "comparison": "the step here, in the branch and bank-wide",
    "tellers": "tellers of the branch at this step",
    "by_amount_band": "by amount band",
    "by_hour": "by hour of day",
    "by_window_type": "by window type",
    "by_month": "month by month",
}
_SHORT: Final = {
    "group_rate": "here", "branch_rate": "branch", "bank_rate": "bank",
    "group_median_seconds": "median s", "branch_median_seconds": "branch median s",
    "bank_median_seconds": "bank median s", "reference_seconds": "reference s",
    "group_steps": "steps", "bank_steps": "bank steps", "median_seconds": "median s",
    "teller_id": "teller", "steps": "steps", "flagged": "slow on their own",
}


def _label(key: str) -> str:
    return _SHORT.get(key, key.replace("_", " "))


def _value(key: str, value: Any) -> str:
    """One evidence value as text: seconds whole, rates as percentages, none as "–"."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if key.endswith("_rate") or key.endswith("_share"):
            return f"{value:.1%}"
        if key.endswith("seconds"):
            return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.1f}"
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, Mapping):
        return ", ".join(_pair(str(k), v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_value(key, v) for v in value)
    return str(value)


_PLACES: Final = {"group": "here", "branch": "branch", "bank": "bank"}


def _pair(key: str, value: Any) -> str:
    """One entry of an evidence mapping: ``here 79 s``, ``bank 0.4%``, ``pace 1.01``."""
    place, _, rest = key.partition("_")
    name = _PLACES.get(place, _label(key)) if rest in ("median_seconds", "rate") else (
        key.removesuffix("_seconds").replace("_", " "))
    unit = " s" if key.endswith("seconds") and value is not None else ""
    return f"{name} {_value(key, value)}{unit}"


def _records(key: str, records: Sequence[Mapping[str, Any]], width: int) -> list[str]:
    """A list of records as an aligned table (one line a record; a record per wrapped line
    when the table would be wider than ``width``)."""
    keys = list(dict.fromkeys(k for r in records for k in r))
    first = {"by_amount_band": "amount band", "by_hour": "hour", "by_window_type": "window",
             "by_month": "month"}.get(key, "value")
    head = [first if k == "value" else _label(k) for k in keys]
    body = [[_value(k, r.get(k)) for k in keys] for r in records]
    sizes = [max(cell_len(row[i]) for row in [head, *body]) for i in range(len(keys))]
    if 4 + sum(sizes) + 2 * (len(sizes) - 1) > width:
        return [part for r in records
                for part in _wrap("    " + _value(key, dict(r)), width, 6)]
    return ["    " + "  ".join(v.ljust(s) if i == 0 else v.rjust(s)
                               for i, (v, s) in enumerate(zip(row, sizes, strict=True)))
            .rstrip() for row in [head, *body]]


def _s(value: float | None) -> str:
    return _value("seconds", value)


def _figures(f: Finding, min_cases: int | None = None,
             period_name: str | None = None) -> list[str]:
    ci = f" (95% interval {_interval(f)})" if f.ratio_ci is not None else ""
    q = f"{f.q_value:.1g}" if f.q_value > 0 else "<1e-300"
    lines = [f"ratio {_ratio(f)}{ci}; {f.cases:,} cases, {f.steps:,} steps; q {q}",
             f"median {_s(f.median_seconds)} s, p90 {_s(f.p90_seconds)} s; "
             f"reference {_s(f.reference_seconds)} s ({f.reference_source})"]
    if f.peer_seconds is not None:
        basis = f" ({f.peer_basis})" if f.peer_basis else ""
        lines.append(f"peers {_s(f.peer_seconds)} s{basis}")
    lines.append(f"pace {f.pace:.2f}x its peers; bank median {_s(f.bank_median_seconds)}"
                 " s" + (f", branch median {_s(f.branch_median_seconds)} s"
                         if f.branch_median_seconds is not None else ""))
    period = (f"{_days(f.period_days)} days ({f.period_days / _MONTH_DAYS:.1f} months)"
              if f.period_days > 0 else f"{f.months:.1f} months")
    lines.append(f"costs {f.monthly_teller_hours:,.1f} teller hours a month: "
                 f"{f.time_lost_seconds / 3600:,.1f} hours lost over {period}")
    if f.scope == "branch":
        lines.append(eligible_text(f, min_cases, period_name))
    if f.sop:
        lines.append(f"judged against {f.sop} {f.sop_version} step {f.sop_step}")
    if f.inferred:
        lines.append(_INFERRED_NOTE.removeprefix("* "))
    return lines


def evidence_lines(f: Finding, rank: int, width: int, *, min_cases: int | None = None,
                   period: str | None = None) -> list[str]:
    """Finding ``rank``'s figures and evidence as text lines of at most ``width`` cells
    (``min_cases`` and ``period``: what a branch's teller needed to count, and when)."""
    lines = _wrap(f"#{rank} {f.kind}: {f.summary_in('en')}", width, 2)
    for text in _figures(f, min_cases, period):
        lines += _wrap("  " + text, width, 4)
    if not f.evidence:
        return [*lines, *_wrap("  (no evidence was computed for this finding)", width, 4)]
    for key, value in f.evidence.items():
        label = _LABELS.get(key, key.replace("_", " "))
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            lines += _wrap(f"  {label}:", width, 4) + _records(key, value, width)
        elif isinstance(value, list) and not value:
            lines += _wrap(f"  {label}: none", width, 4)
        else:
            lines += _wrap(f"  {label}: {_value(key, value)}", width, 4)
    return lines


# -- the command's output --------------------------------------------------------------------------


def _chosen(findings: Sequence[Finding], explain: str) -> list[int]:
    """The ranks ``--explain`` names: a number, or ``all``."""
    if explain.strip().lower() == "all":
        return list(range(1, len(findings) + 1))
    try:
        rank = int(explain)
    except ValueError:
        raise ProcmineError(f"--explain {explain!r}: expected a finding's number (1-"
                            f"{len(findings)}) or all") from None
    if not 1 <= rank <= len(findings):
        raise ProcmineError(f"--explain {rank}: there are {len(findings)} findings; give a "
                            f"number from 1 to {len(findings)}, or all")
    return [rank]


def named(findings: Sequence[Finding], name: Callable[[str], str]) -> list[Finding]:
    """The findings with their steps as ``name`` (``--lang``) shows them, for printing only
    (their keys, the JSON and the register keep the log's activity)."""
    shown = []
    for f in findings:
        step = name(f.activity) if f.activity else f.activity
        shown.append(f if step == f.activity else
                     replace(f, activity=step, summary=f.summary_in("en", step=step)))
    return shown


def print_findings(out: Console, findings: Sequence[Finding], period: str,
                   explain: str | None = None, wide: bool = False,
                   min_cases: int | None = None) -> None:
    """Print the findings for ``out``'s width (see the module), or with ``explain`` (a rank
    or ``all``) the figures and evidence of those findings; ``wide``: the full table on any
    terminal, at its own width; ``min_cases``: the fewest cases a teller needed to count (the
    note under a branch finding says so)."""
    width = out.width

    def say(lines: Sequence[str]) -> None:
        for line in lines:
            out.print(line, markup=False, highlight=False, soft_wrap=True)

    if explain is not None:
        ranks = _chosen(findings, explain)
        say(_wrap(_heading(findings, period), width))
        for rank in ranks:
            say(["", *evidence_lines(findings[rank - 1], rank, width, min_cases=min_cases,
                                     period=period)])
        return
    table = findings_table(findings, period)
    if wide or (width >= WIDE_AT and _fits(out, table)):
        if wide:  # at the table's own width, whatever the terminal's
            out = Console(width=max(width, Measurement.get(
                out, out.options.update_width(100_000), table).maximum), file=out.file)
        out.print(table)
        for rank, f in enumerate(findings[:5], start=1):
            out.print(f"{rank}. {f.summary}", highlight=False, markup=False)
    else:
        say(_wrap(_heading(findings, period), width))
        say(compact_lines(findings, width))
    notes = [_INFERRED_NOTE] if any(f.inferred for f in findings) else []
    if any(f.scope == "branch" and f.kind != "overall" for f in findings):
        enough = f"at least {min_cases} cases at the step" if min_cases else "enough cases"
        notes.append(f"eligible tellers: a branch's tellers with {enough} in {period} (the "
                     "others count in the branch, not on their own; --explain N lists them)")
    notes.append("procmine bottlenecks --explain N: the figures and evidence of finding N "
                 "(--explain all: of every finding)")
    for note in notes:
        say(_wrap(note, width))
