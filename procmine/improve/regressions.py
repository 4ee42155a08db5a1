"""Regressions: a verified item whose finding came back in the data after its measurement.

**Method.** On the days after the measurement's ``measured_through`` (at most ``window_days``),
the same figures of the same group (:func:`procmine.improve.measure.finding_values`: the
service time of the teller's, branch's or bank's type x step and slice, the wait before it, the
pace, the summed step time over the standard) are judged with the analysis's own rule
(:mod:`procmine.analysis.judging`): the distribution-free interval of their median, over the
frozen reference, is material at the finding's cut (1.5 for a step or a wait; for a pace the
overall analysis's 1.25 for a teller and 1.1 for a branch; for a standard the band's ends). A
queue shortfall came back when its service level fell below the measured "after" share by a
two-proportion test (p < 0.05) and is at most the share before the change. A deviation from
the SOP came back when its group's rate of the deviation after the measurement
(:func:`procmine.improve.measure.deviation_rates`) is significantly above the measured "after"
rate (a two-proportion test, p < 0.05).

Example:
    >>> from procmine import find_bottlenecks
    >>> finding = find_bottlenecks(store, baseline, kinds=("step",))[0]
    >>> came_back(finding, store, baseline, date(2026, 9, 1), date(2026, 9, 30))["material"]
    True
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, Final

import numpy as np

from procmine.analysis.baseline_review import BASELINE_BAND
from procmine.analysis.findings import Finding
from procmine.analysis.judging import is_material, median_interval
from procmine.app.i18n import t
from procmine.core.baseline import Baseline
from procmine.improve.items import ImprovementItem
from procmine.improve.measure import (
    DEFAULT_MIN_CASES,
    DEFAULT_WINDOW_DAYS,
    SIGNIFICANCE,
    deviation_rates,
    finding_values,
    measure_item,
    two_proportion_p,
)
from procmine.improve.subjects import finding_of
from procmine.sop.library import SopLibrary
from procmine.store.event_store import EventStore

__all__ = ["RATIO_CUT", "came_back", "check_regression"]

#: The cut of a slow step or wait (find_bottlenecks' ``ratio``).
RATIO_CUT: Final[float] = 1.5
#: The cuts of a pace (overall_findings' ``teller_cut`` and ``branch_cut``).
PACE_CUTS: Final[dict[str, float]] = {"teller": 1.25, "branch": 1.1}


def came_back(finding: Finding, store: EventStore, baseline: Baseline, start: date, end: date,
              *, min_cases: int = DEFAULT_MIN_CASES) -> dict[str, Any]:
    """The finding's figures on the days ``start`` to ``end`` (inclusive) and whether they are
    material again: ``n``, ``median``, ``ratio`` (median over the frozen reference) and its
    interval (``ratio_low``, ``ratio_high``), ``cut``, ``material`` (False with fewer than
    ``min_cases`` values), ``from``, ``to``."""
    frame = finding_values(finding, store, baseline, start, end)
    values = np.sort(frame["value"].to_numpy(dtype=float))
    reference = 1.0 if finding.kind in ("overall", "baseline") else finding.reference_seconds
    median = float(np.median(values)) if len(values) else math.nan
    low, high = median_interval(values)
    if not (reference and math.isfinite(reference)):
        reference = math.nan
    ratio, ratio_low, ratio_high = median / reference, low / reference, high / reference
    if finding.kind == "baseline":
        cut = BASELINE_BAND[1]
        material = bool(ratio_low > BASELINE_BAND[1] or ratio_high < BASELINE_BAND[0])
    else:
        cut = PACE_CUTS.get(finding.scope, RATIO_CUT) if finding.kind == "overall" else RATIO_CUT
        material = bool(is_material(np.array([ratio_low]), np.array([ratio_high]), cut)[0])
    days = sorted(frame["day"])
    return {"n": len(values), "median": median, "reference": reference, "ratio": ratio,
            "ratio_low": ratio_low, "ratio_high": ratio_high, "cut": cut,
            "material": material and len(values) >= min_cases, "from": start.isoformat(),
            "to": (days[-1] if days else end).isoformat()}


def _text(finding: Finding, figures: dict[str, Any]) -> dict[str, str]:
    out = {}
    for lang in ("zh-CN", "en"):
        unit = "ratio" if finding.kind in ("overall", "baseline") else "seconds"
        median = (f"{figures['median']:.2f}x" if unit == "ratio"
                  else t("improve.measure.seconds", lang, value=f"{figures['median']:,.0f}"))
        what = t(f"improve.measure.what.{finding.kind}", lang, step=finding.activity,
                 type=finding.business_type, who=finding.who_in(lang))
        out[lang] = t("improve.measure.regression", lang, what=what, median=median,
                      ratio=f"{figures['ratio']:.1f}", n=figures["n"], start=figures["from"],
                      end=figures["to"])
    return out


def _queue_back(item: ImprovementItem, store: EventStore, baseline: Baseline, start: date,
                window: int, min_cases: int) -> dict[str, Any] | None:
    """A shortfall came back: the service level after the measurement significantly below the
    days just before it (the measured "after"), and no better than before the change."""
    before_share = ((item.measurement or {}).get("before") or {}).get("median")
    later = measure_item(replace(item, changed_on=start), store, baseline, None,
                         window_days=window, min_cases=min_cases)
    after, earlier = later.after, later.before
    if after["n"] < min_cases or before_share is None or not later.p_value < SIGNIFICANCE:
        return None
    if after["median"] < earlier["median"] and after["median"] <= before_share:
        return {**after, "text": later.text, "method": "service_level"}
    return None


def _deviation_back(item: ImprovementItem, store: EventStore, library: SopLibrary | None,
                    start: date, window: int, min_cases: int) -> dict[str, Any] | None:
    """A deviation came back: its rate after the measurement significantly above the
    measured "after" rate."""
    measured = (item.measurement or {}).get("after") or {}
    n0, hits0 = int(measured.get("n") or 0), int(measured.get("deviating") or 0)
    if library is None or not n0:
        return None
    figures = item.subject.figures
    later = deviation_rates(figures, store, library, start, start + timedelta(days=window - 1))
    p_value = two_proportion_p(hits0, n0, later["deviating"], later["n"])
    if later["n"] < min_cases or not p_value < SIGNIFICANCE or later["rate"] <= hits0 / n0:
        return None
    text = {}
    for lang in ("zh-CN", "en"):
        step = (figures.get("step_name_zh") or figures["activity"] if lang == "zh-CN"
                else figures["activity"])
        text[lang] = t("improve.measure.regression_deviation", lang,
                       step=step,
                       rate=f"{later['rate']:.1%}", deviating=later["deviating"], n=later["n"],
                       after=f"{hits0 / n0:.1%}", start=later["from"], end=later["to"])
    return {**later, "p_value": p_value, "measured_rate": hits0 / n0,
            "method": "deviation_rate", "key": item.subject.key, "text": text}


def check_regression(item: ImprovementItem, store: EventStore, baseline: Baseline, *,
                     window_days: int = DEFAULT_WINDOW_DAYS,
                     min_cases: int = DEFAULT_MIN_CASES,
                     library: SopLibrary | None = None) -> dict[str, Any] | None:
    """The figures a verified item's finding came back with (for
    :func:`~procmine.improve.register.record_regression`), or None: not back, or too little
    data after the measurement yet. ``library``: the SOP library a deviation is checked
    against (without one, a deviation is not checked)."""
    through = (item.measurement or {}).get("measured_through")
    if item.status != "verified" or not through:
        return None
    start = date.fromisoformat(str(through)[:10]) + timedelta(days=1)
    if item.subject.source == "queue":
        return _queue_back(item, store, baseline, start, window_days, min_cases)
    if item.subject.source == "conformance":
        return _deviation_back(item, store, library, start, window_days, min_cases)
    finding = finding_of(item.subject)
    figures = came_back(finding, store, baseline, start,
                        start + timedelta(days=window_days - 1), min_cases=min_cases)
    if not figures["material"]:
        return None
    return {**figures, "key": item.subject.key, "text": _text(finding, figures)}
