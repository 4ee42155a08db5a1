"""Re-measuring an item closed as done: the same finding's figures after the change against
before, and a verdict (verified, not effective, or not enough data after the change yet).

**The windows.** The change took effect on the item's ``changed_on``: "before" is the
``window_days`` before that day, "after" the ``window_days`` from it (as far as the data goes).

**The methods** (``Measurement.method``):

* ``revision_effect``: an item that revised an SOP (decision ``revise_sop`` with an SOP
  revision linked) on a finding about one step: the row of that version for the finding's type
  and step in :func:`procmine.sop.links.revision_effects` (bank-wide, each branch from its own
  adoption date, with the difference-in-differences where branches adopted on different dates).
  A finding that names no step (overall, baseline) falls back to its kind's test (``details``
  says so).
* ``step`` / ``wait``: the finding's own group (its teller, its branch, or the whole bank for a
  finding of scope "type"), business type, step and slice (``condition``): the service time
  (the wait before the step) before against after; each median also over the frozen reference.
* ``pace``: an overall finding: each step of the group over the bank's median of that type x
  step in the same window, before against after.
* ``standard``: a baseline finding: the type's summed step time per transaction over its
  (current) standard, before against after; verified when after lies inside
  :data:`~procmine.analysis.baseline_review.BASELINE_BAND`.
* ``service_level``: a queue shortfall: the branch's share of the waits within the target in
  that weekday and time block, before against after (a two-proportion test).
* ``deviation_rate``: a deviation from the SOP (source ``conformance``): the share of the
  group's checked transactions of the type (the teller's, or the bank's for a finding of scope
  "bank") with that kind of deviation on that step, by
  :func:`procmine.maps.conformance.conformance` on each window, before against after (a
  two-proportion test; lower is better; :func:`deviation_rates`).

**The verdict.** None while the after window has fewer than ``min_cases`` values (tickets for a
queue shortfall, transactions for a deviation); "verified" when the measure improved (fell; the
service level rose) with
p < 0.05 (the two-sided Mann-Whitney test of :mod:`procmine.analysis.stats`); else
"not_effective".

Example:
    >>> from procmine import finding_subject, find_bottlenecks
    >>> from procmine.improve.items import ImprovementItem
    >>> finding = find_bottlenecks(store, baseline, kinds=("step",))[0]
    >>> subject = finding_subject(finding, as_of=date(2026, 9, 30), store_version="v1")
    >>> now = datetime(2026, 10, 1)
    >>> item = ImprovementItem(1, now, "ops", subject, "training", "", "accounting-and-cash",
    ...     "", None, "retrain", "", "", "done", date(2026, 10, 1), None, None, None, None, now)
    >>> m = measure_item(item, store, baseline, library)
    >>> m.method, m.verdict, m.before["n"], m.after["n"], m.measured_through
    ('step', 'not_effective', 52, 47, datetime.date(2026, 10, 16))
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from procmine.analysis.baseline_review import BASELINE_BAND
from procmine.analysis.filters import Filters
from procmine.analysis.findings import WEEKDAYS, Finding, hour_band
from procmine.analysis.performance import step_rows, step_statistics
from procmine.analysis.stats import mann_whitney_two_sided, normal_two_sided_p
from procmine.app.i18n import t
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.improve.items import ImprovementItem
from procmine.improve.subjects import finding_of
from procmine.maps.conformance import conformance
from procmine.queue.measures import DEFAULT_TARGET_WAIT, QueueFilter, queue_measures
from procmine.sop.library import SopLibrary
from procmine.sop.links import revision_effects
from procmine.store.event_store import EventStore

__all__ = ["DEFAULT_MIN_CASES", "DEFAULT_WINDOW_DAYS", "SIGNIFICANCE", "Measurement",
           "deviation_rates", "finding_values", "measure_item", "two_proportion_p"]

#: Days of data before and after the change that a re-measurement compares (at most).
DEFAULT_WINDOW_DAYS = 30
#: Values after the change a verdict needs (tickets for a queue shortfall).
DEFAULT_MIN_CASES = 30
#: The p-value under which a change counts.
SIGNIFICANCE: Final[float] = 0.05

_Arr = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Measurement:
    """One re-measurement. ``before``/``after``: {"n", "median", "ratio", "from", "to"} of the
    finding's measure; ``change``: after median / before median - 1; ``verdict``: "verified",
    "not_effective" or None (too little data after the change yet); ``text``: one line in each
    language; ``measured_through``: the last day of data used."""

    method: str
    verdict: str | None
    before: dict[str, Any]
    after: dict[str, Any]
    change: float
    p_value: float
    measured_through: date | None
    text: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: dates in ISO form, NaN as None."""
        return _plain({
            "method": self.method, "verdict": self.verdict, "before": self.before,
            "after": self.after, "change": self.change, "p_value": self.p_value,
            "measured_through": self.measured_through, "text": self.text,
            "details": self.details})


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()[:10] if not isinstance(value, datetime) else value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# -- the values of a finding's measure ----------------------------------------------------------


def _day(value: Any) -> date:
    return pd.Timestamp(value).date()


def _who(finding: Finding) -> dict[str, tuple[str, ...]]:
    """The finding's group as filters: its teller (at its branch), its branch, or the bank."""
    if finding.scope == "teller" and finding.teller_id:
        return {"tellers": (finding.teller_id,),
                "branches": (finding.branch_id,) if finding.branch_id else ()}
    if finding.scope == "branch" and finding.branch_id:
        return {"branches": (finding.branch_id,)}
    return {}


def _in_slice(rows: pd.DataFrame, condition: Mapping[str, Any] | None) -> pd.DataFrame:
    """The rows of a finding's slice (its ``condition``), all rows without one."""
    if not condition or rows.empty:
        return rows
    dimension, value = condition["dimension"], str(condition["value"])
    if dimension == "hour_band":
        keep = rows["hour"].map(lambda h: hour_band(int(h))) == value
    elif dimension == "weekday":
        keep = rows["weekday"].map(lambda d: WEEKDAYS[int(d) - 1]) == value
    else:
        keep = rows[dimension].astype(str) == value
    return rows[keep.to_numpy()]


def finding_values(finding: Finding, store: EventStore, baseline: Baseline, start: date,
                   end: date) -> pd.DataFrame:
    """The values of a finding's measure on the days ``start`` to ``end`` (inclusive): one row
    per step (per transaction for a baseline finding) with its ``day`` and ``value``, and the
    reference the values are judged against (``reference``: seconds; 1.0 for a pace).

    ``step``: the group's service times of the type x step in its slice; ``wait``: the waits
    before it; ``overall``: each of the group's steps over the bank's median of its type x step
    in the same days; ``baseline``: the type's summed step time per transaction over its
    standard in ``baseline``."""
    period = Filters(start=start, end=end)
    if finding.kind == "overall":
        rows = step_rows(store, Filters(start=start, end=end, **_who(finding)))
        bank = step_statistics(store, baseline, by="bank", filters=period, with_share=False)
        rows = rows.merge(bank[["business_type", "activity", "median_seconds"]],
                          on=["business_type", "activity"], how="inner")
        values = rows["service_seconds"] / rows["median_seconds"]
    elif finding.kind == "baseline":
        rows = step_rows(store, Filters(start=start, end=end,
                                        business_types=(finding.business_type,)))
        rows = rows.groupby("case_id", as_index=False).agg(
            day=("day", "min"), service_seconds=("service_seconds", "sum"))
        values = rows["service_seconds"] / baseline.standard_seconds(finding.business_type)
    else:
        waits = finding.kind == "wait"
        rows = step_rows(store, Filters(start=start, end=end, **_who(finding)),
                         [(finding.business_type, finding.activity)], waits=waits)
        rows = _in_slice(rows, finding.condition)
        values = rows["wait_seconds" if waits else "service_seconds"]
    frame = pd.DataFrame({"day": [_day(d) for d in rows["day"]],
                          "value": values.to_numpy(dtype=float)})
    return frame[np.isfinite(frame["value"].to_numpy())].reset_index(drop=True)


# -- the verdict and its line -------------------------------------------------------------------


def _side(values: _Arr, days: list[date], reference: float, start: date, end: date
          ) -> dict[str, Any]:
    median = float(np.median(values)) if len(values) else math.nan
    ratio = median / reference if reference and math.isfinite(reference) else math.nan
    return {"n": len(values), "median": median, "ratio": ratio, "from": start.isoformat(),
            "to": (max(days) if days else end).isoformat()}


def _verdict(n_after: int, improved: bool, p_value: float, min_cases: int) -> str | None:
    if n_after < min_cases:
        return None
    return "verified" if improved and p_value < SIGNIFICANCE else "not_effective"


def _amount(value: float, unit: str, lang: str) -> str:
    if not math.isfinite(value):
        return "-"
    if unit == "share":
        return f"{value * 100:.0f}%"
    if unit == "rate":
        return f"{value:.1%}"
    if unit == "ratio":
        return f"{value:.2f}x"
    return t("improve.measure.seconds", lang, value=f"{value:,.0f}")


def _p_text(p_value: float) -> str:
    if not math.isfinite(p_value):
        return "p -"
    return "p<0.001" if p_value < 0.001 else f"p={p_value:.3f}"


def _texts(what: Mapping[str, str], unit: str, before: Mapping[str, Any],
           after: Mapping[str, Any], change: float, p_value: float, verdict: str | None,
           min_cases: int) -> dict[str, str]:
    """The measurement in one line, in Chinese and in English (the catalogue's words)."""
    out = {}
    for lang in ("zh-CN", "en"):
        if verdict is None:
            outcome = t("improve.measure.awaiting", lang, n=after["n"], needed=min_cases)
        else:
            worse = (verdict == "not_effective" and p_value < SIGNIFICANCE
                     and (change < 0 if unit == "share" else change > 0))
            outcome = t("improve.measure.worse" if worse else f"improve.measure.{verdict}", lang)
        change_text = f"{change:+.0%}" if math.isfinite(change) else "-"
        key = {"share": "improve.measure.text_share",
               "rate": "improve.measure.text_rate"}.get(unit, "improve.measure.text")
        out[lang] = t(key, lang, what=what[lang],
                      before=_amount(before["median"], unit, lang),
                      after=_amount(after["median"], unit, lang), change=change_text,
                      p=_p_text(p_value), n_before=before["n"], n_after=after["n"],
                      outcome=outcome)
    return out


def _what(finding: Finding, kind: str) -> dict[str, str]:
    """What was measured, in each language."""
    out = {}
    for lang in ("zh-CN", "en"):
        step = finding.activity
        condition = finding.condition_in(lang)
        if condition:
            step = f"{step}, {condition}"
        out[lang] = t(f"improve.measure.what.{kind}", lang, step=step,
                      type=finding.business_type, who=finding.who_in(lang))
    return out


def _compare(method: str, frame: pd.DataFrame, reference: float, changed: date,
             window: int, min_cases: int, what: Mapping[str, str], *, unit: str = "seconds",
             band: tuple[float, float] | None = None, details: Mapping[str, Any] | None = None
             ) -> Measurement:
    """Before against after on ``frame`` (day, value): medians, change, the two-sided
    Mann-Whitney test, and the verdict (with ``band``: after's ratio inside it)."""
    start, end = changed - timedelta(days=window), changed + timedelta(days=window - 1)
    early = frame[frame["day"] < changed]
    late = frame[frame["day"] >= changed]
    before = _side(early["value"].to_numpy(dtype=float), list(early["day"]), reference, start,
                   changed - timedelta(days=1))
    after = _side(late["value"].to_numpy(dtype=float), list(late["day"]), reference, changed, end)
    change = (after["median"] / before["median"] - 1
              if before["n"] and after["n"] and before["median"] > 0 else math.nan)
    p_value = (mann_whitney_two_sided(late["value"].to_numpy(dtype=float),
                                      early["value"].to_numpy(dtype=float))
               if before["n"] and after["n"] else math.nan)
    if band is not None:
        verdict = (None if after["n"] < min_cases else
                   "verified" if band[0] <= after["ratio"] <= band[1] else "not_effective")
    else:
        verdict = _verdict(after["n"], change < 0, p_value, min_cases)
    through = max(late["day"]) if len(late) else None
    return Measurement(method, verdict, before, after, change, p_value, through,
                       _texts(what, unit, before, after, change, p_value, verdict, min_cases),
                       dict(details or {}))


# -- the methods --------------------------------------------------------------------------------


def _generic(finding: Finding, store: EventStore, baseline: Baseline, changed: date,
             window: int, min_cases: int, note: str = "") -> Measurement:
    """The before/after test on the finding's own group (step, wait, pace, standard)."""
    frame = finding_values(finding, store, baseline, changed - timedelta(days=window),
                           changed + timedelta(days=window - 1))
    details: dict[str, Any] = {"group": finding.who_in("en"), "condition": finding.condition}
    if note:
        details["note"] = note
    if finding.kind == "overall":
        return _compare("pace", frame, 1.0, changed, window, min_cases,
                        _what(finding, "overall"), unit="ratio", details=details)
    if finding.kind == "baseline":
        details["standard_seconds"] = baseline.standard_seconds(finding.business_type)
        return _compare("standard", frame, 1.0, changed, window, min_cases,
                        _what(finding, "baseline"), unit="ratio", band=BASELINE_BAND,
                        details=details)
    return _compare(finding.kind, frame, finding.reference_seconds, changed, window, min_cases,
                    _what(finding, finding.kind), details=details)


def _revision(finding: Finding, store: EventStore, library: SopLibrary, sop_id: str,
              version: str, changed: date, window: int, min_cases: int) -> Measurement | None:
    """The revision-effect row of ``version`` for the finding's type and step; None when the
    library has no such row (the caller falls back to the generic test)."""
    effects = revision_effects(store, library, sop_id, window_days=window)
    rows = effects[(effects["version"] == version)
                   & (effects["business_type"] == finding.business_type)
                   & (effects["activity"] == finding.activity)]
    if rows.empty:
        return None
    row = rows.iloc[0]
    sop = next(v.sop for v in library.approved_versions(sop_id) if v.sop.version == version)
    effective, last_start = sop.effective, max([sop.effective, *sop.adoption.values()])
    last_event = store.info().last_event
    last_day = date.fromisoformat(last_event[:10]) if last_event else None
    through = min(last_day, last_start + timedelta(days=window - 1)) if last_day else None
    reference = finding.reference_seconds
    n_after, median_after = int(row["n_after"]), float(row["median_after"])
    before: dict[str, Any] = {"n": int(row["n_before"]), "median": float(row["median_before"]),
              "from": (effective - timedelta(days=window)).isoformat(),
              "to": (last_start - timedelta(days=1)).isoformat()}
    after: dict[str, Any] = {"n": n_after, "median": median_after,
             "from": effective.isoformat(), "to": through.isoformat() if through else None}
    for side in (before, after):
        side["ratio"] = side["median"] / reference if reference > 0 else math.nan
    change, p_value = float(row["change"]), float(row["p_value"])
    verdict = _verdict(n_after, change < 0, p_value, min_cases)
    details = {"sop": f"{sop_id}@{version}", "previous_version": row["previous_version"],
               "step_id": row["step_id"], "standard_before": row["standard_before"],
               "standard_after": row["standard_after"], "did_effect": row["did_effect"],
               "did_p_value": row["did_p_value"], "did_groups": row["did_groups"] or None,
               "scope": "bank-wide, each branch from its own adoption date",
               "changed_on": changed}
    return Measurement("revision_effect", verdict, before, after, change, p_value, through,
                       _texts(_what(finding, "step"), "seconds", before, after, change,
                              p_value, verdict, min_cases), details)


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def two_proportion_p(hits0: float, n0: int, hits1: float, n1: int) -> float:
    """The two-sided p-value of the pooled two-proportion z test of ``hits1 / n1`` against
    ``hits0 / n0`` (NaN when a side is empty or both shares are 0 or 1).

    Example:
        >>> round(two_proportion_p(30, 100, 10, 100), 4)
        0.0004
    """
    if not n0 or not n1:
        return math.nan
    pooled = (hits0 + hits1) / (n0 + n1)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
    return normal_two_sided_p((hits1 / n1 - hits0 / n0) / se) if se > 0 else math.nan


def _queue_side(figures: Mapping[str, Any], store: EventStore, start: date, end: date,
                target: float) -> tuple[int, float, list[date]]:
    """Served customers (with a wait) and those within the target in the shortfall's weekday
    and hours of the days ``start`` to ``end`` (exclusive), and the days with some."""
    first, last = _minutes(str(figures["start"])), _minutes(str(figures["end"]))
    frame = queue_measures(store, ["day", "weekday", "interval_of_day"],
                           QueueFilter(branch=str(figures["branch_id"]), start=start, end=end,
                                       target_wait=target))
    frame = frame[(frame["weekday"] == int(figures["weekday"]))
                  & (frame["interval_of_day"] >= first) & (frame["interval_of_day"] < last)]
    served = (frame["served"] + frame["transferred"]).to_numpy(dtype=float)
    within = np.nan_to_num(frame["service_level"].to_numpy(dtype=float)) * served
    return int(served.sum()), float(within.sum()), sorted({_day(d) for d in frame["day"]})


def _queue(figures: Mapping[str, Any], store: EventStore, changed: date, window: int,
           min_cases: int) -> Measurement:
    """The branch's service level in the shortfall's weekday and hours, before against after
    (served customers with a wait within the target, a two-proportion z test)."""
    target = float(figures.get("target_wait") or DEFAULT_TARGET_WAIT)
    start, end = changed - timedelta(days=window), changed + timedelta(days=window)
    n0, hits0, days0 = _queue_side(figures, store, start, changed, target)
    n1, hits1, days1 = _queue_side(figures, store, changed, end, target)
    share0 = hits0 / n0 if n0 else math.nan
    share1 = hits1 / n1 if n1 else math.nan
    before = {"n": n0, "median": share0, "ratio": math.nan, "from": start.isoformat(),
              "to": (days0[-1] if days0 else changed - timedelta(days=1)).isoformat()}
    after = {"n": n1, "median": share1, "ratio": math.nan, "from": changed.isoformat(),
             "to": (days1[-1] if days1 else end - timedelta(days=1)).isoformat()}
    p_value = two_proportion_p(hits0, n0, hits1, n1)
    change = share1 / share0 - 1 if n0 and n1 and share0 > 0 else math.nan
    verdict = _verdict(n1, bool(n1) and share1 > share0, p_value, min_cases)
    what = {lang: t("improve.measure.what.queue", lang, branch=figures["branch_id"],
                    weekday=t(f"improve.weekday.{figures['weekday']}", lang),
                    start=figures["start"], end=figures["end"]) for lang in ("zh-CN", "en")}
    return Measurement("service_level", verdict, before, after, change, p_value,
                       days1[-1] if days1 else None,
                       _texts(what, "share", before, after, change, p_value, verdict,
                              min_cases), {"target_wait": target})


def deviation_rates(figures: Mapping[str, Any], store: EventStore, library: SopLibrary,
                    start: date, end: date) -> dict[str, Any]:
    """The deviation's rate in its group on the days ``start`` to ``end`` (inclusive): the
    group's checked transactions of the type (``n``), those with the deviation's kind on its
    activity (``deviating``), their share (``rate``), ``from`` and ``to`` (``end``, or the
    store's last day when earlier). ``figures``: a deviation subject's (``deviation`` the kind
    of deviation, scope, teller, branch, type, activity)."""
    teller = figures.get("teller_id") if figures.get("scope") == "teller" else None
    branch = figures.get("branch_id") if teller else None
    filters = Filters(start=start, end=end, tellers=(str(teller),) if teller else (),
                      branches=(str(branch),) if branch else ())
    report = conformance(store, library, business_type=str(figures["business_type"]),
                         filters=filters)
    dev = report.deviations
    hits = dev[(dev["kind"] == figures["deviation"]) & (dev["activity"] == figures["activity"])]
    last_event = store.info().last_event
    last = min(end, date.fromisoformat(last_event[:10])) if last_event else end
    deviating = int(hits["case_id"].nunique())
    return {"n": report.cases, "deviating": deviating,
            "rate": deviating / report.cases if report.cases else math.nan,
            "from": start.isoformat(), "to": max(last, start).isoformat()}


def _deviation(figures: Mapping[str, Any], store: EventStore, library: SopLibrary | None,
               changed: date, window: int, min_cases: int) -> Measurement:
    """The group's rate of the deviation before against after (a two-proportion test)."""
    if library is None:
        raise ProcmineError("a deviation from the SOP is re-measured against the SOP library; "
                            "the workspace has none")
    start, end = changed - timedelta(days=window), changed + timedelta(days=window - 1)
    sides = [deviation_rates(figures, store, library, start, changed - timedelta(days=1)),
             deviation_rates(figures, store, library, changed, end)]
    before, after = ({"n": s["n"], "median": s["rate"], "ratio": math.nan,
                      "deviating": s["deviating"], "from": s["from"], "to": s["to"]}
                     for s in sides)
    p_value = two_proportion_p(before["deviating"], before["n"], after["deviating"], after["n"])
    change = (after["median"] / before["median"] - 1
              if before["n"] and after["n"] and before["median"] > 0 else math.nan)
    verdict = _verdict(after["n"], bool(after["n"]) and after["median"] < before["median"],
                       p_value, min_cases)
    what = {}
    for lang in ("zh-CN", "en"):
        who = (t("conformance.who_teller", lang, teller=figures.get("teller_id"),
                 branch=figures.get("branch_id"))
               if figures.get("scope") == "teller" else t("conformance.who_bank", lang))
        step = (figures.get("step_name_zh") or figures["activity"] if lang == "zh-CN"
                else figures["activity"])
        what[lang] = t(f"improve.measure.what.deviation_{figures['deviation']}", lang, who=who,
                       type=figures["business_type"], step=step)
    through = date.fromisoformat(after["to"]) if after["n"] else None
    return Measurement("deviation_rate", verdict, before, after, change, p_value, through,
                       _texts(what, "rate", before, after, change, p_value, verdict, min_cases),
                       {"group": figures.get("scope"), "deviation": figures["deviation"],
                        "activity": figures["activity"]})


def measure_item(item: ImprovementItem, store: EventStore, baseline: Baseline,
                 library: SopLibrary | None, *, window_days: int = DEFAULT_WINDOW_DAYS,
                 min_cases: int = DEFAULT_MIN_CASES) -> Measurement:
    """The re-measurement of a done item (see the module)."""
    changed = item.changed_on
    if changed is None:
        raise ProcmineError(f"item #{item.id} has no day its change took effect (it is "
                            f"{item.status}): nothing to measure")
    if window_days < 1:
        raise ProcmineError(f"window of {window_days} days: expected 1 or more")
    if item.subject.source == "queue":
        return _queue(item.subject.figures, store, changed, window_days, min_cases)
    if item.subject.source == "conformance":
        return _deviation(item.subject.figures, store, library, changed, window_days,
                          min_cases)
    finding = finding_of(item.subject)
    revision = item.sop_revision() if item.decision == "revise_sop" else None
    note = ""
    if revision is not None and library is not None and finding.activity:
        measured = _revision(finding, store, library, *revision, changed, window_days,
                             min_cases)
        if measured is not None:
            return measured
        note = f"{revision[0]}@{revision[1]} has no revision effect on {finding.activity}"
    elif revision is not None:
        note = ("the finding names no step" if library is not None
                else "no SOP library") + ": the before/after test on the finding's group"
    return _generic(finding, store, baseline, changed, window_days, min_cases, note)
