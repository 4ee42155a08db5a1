"""What every kind of finding is judged with, computed once per analysis.

:func:`~procmine.analysis.bottlenecks.find_bottlenecks` computes the step statistics, the
references, the peers and the period once and hands them, as a :class:`FindingContext`, to the
detectors of each kind (slow steps, conditional slow steps, waits, overall pace, baseline review),
so that every kind speaks of the same references, the same peers and the same period.

Example:
    >>> context = FindingContext.empty()
    >>> context.months_for("B01"), context.inferred
    (0.03285420944558522, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from procmine.analysis.findings import Finding
from procmine.analysis.judging import months_of

__all__ = ["FindingContext"]


@dataclass(frozen=True)
class FindingContext:
    """The shared inputs of the detectors.

    * ``ratio``, ``min_cases``, ``q``: the analysis' settings (the material cut, the fewest
      steps a group needs, the false-discovery rate);
    * ``refs``: per business type x step, ``share_reference`` (the normalised baseline share;
      the peers' median on a type under baseline review), ``bank_median_seconds``,
      ``bank_count``;
    * ``teller_stats``: per teller x branch x type x step ``count``, ``median_seconds``,
      ``p90_seconds``, ``standard_seconds`` (brief statistics of the whole period);
    * ``peers``: :func:`~procmine.analysis.judging.peer_medians` of ``teller_stats``;
    * ``days``: the days the data covers per branch and (key ``None``) in all;
    * ``inferred``: whether the log's service times are inferred from completion times;
    * ``reviewed_types``: business types under baseline review (judged against peers only).
    """

    ratio: float
    min_cases: int
    q: float
    refs: pd.DataFrame
    teller_stats: pd.DataFrame
    peers: pd.DataFrame
    days: Mapping[str | None, float]
    inferred: bool
    reviewed_types: frozenset[str] = field(default_factory=frozenset)

    @property
    def cut(self) -> float:
        """Half-way to the material cut: a candidate's median is at least this times its
        reference (its interval decides; :func:`~procmine.analysis.judging.is_material`)."""
        return 1 + (self.ratio - 1) / 2

    def days_for(self, branch_id: str | None) -> float:
        """The days a finding of ``branch_id`` is costed over (the whole store's without)."""
        if branch_id is not None and branch_id in self.days:
            return float(self.days[branch_id])
        return float(self.days.get(None, 1.0))

    def months_for(self, branch_id: str | None) -> float:
        """:meth:`days_for` in months (days / 30.4375)."""
        return months_of(self.days_for(branch_id))

    def finding(self, row: pd.Series, **fields: Any) -> Finding:
        """A finding from a group's row of figures, costed over its branch's period, with its
        English summary. ``row`` has ``branch_id``, ``business_type``, ``activity``,
        ``cases``, ``count`` (steps), ``median_seconds``, ``p90_seconds``,
        ``reference_seconds``, ``time_lost``, ``p_value``, ``q_value``,
        ``bank_median_seconds``, ``ci_low_seconds``, ``ci_high_seconds`` and
        ``peer_seconds``; ``fields`` give the rest (``scope``, ``teller_id``,
        ``reference_source``, ``pace``, ``peer_basis``, ``kind``, ...) and override any."""
        reference = float(row["reference_seconds"])
        median = float(row["median_seconds"])
        lost = float(row["time_lost"])
        branch = row["branch_id"]
        branch_id = None if branch is None or pd.isna(branch) else str(branch)
        months = self.months_for(branch_id)
        figures: dict[str, Any] = {
            "teller_id": None, "branch_id": branch_id,
            "business_type": str(row["business_type"]), "activity": str(row["activity"]),
            "cases": int(row["cases"]), "steps": int(row["count"]),
            "median_seconds": round(median, 3),
            "p90_seconds": round(float(row["p90_seconds"]), 3),
            "reference_seconds": round(reference, 3), "ratio": round(median / reference, 3),
            "excess_seconds": round(median - reference, 3),
            "time_lost_seconds": round(lost, 1),
            "monthly_teller_hours": round(lost / 3600 / months, 2),
            "months": round(months, 3),
            "p_value": float(row["p_value"]), "q_value": float(row["q_value"]),
            "bank_median_seconds": round(float(row["bank_median_seconds"]), 3),
            "branch_median_seconds": None,
            "ratio_ci": (round(float(row["ci_low_seconds"]) / reference, 3),
                         round(float(row["ci_high_seconds"]) / reference, 3)),
            "inferred": self.inferred, "period_days": self.days_for(branch_id),
            "peer_seconds": round(float(row["peer_seconds"]), 3),
        }
        finding = Finding(**{**figures, **fields})
        return replace(finding, summary=finding.summary_in("en"))

    @classmethod
    def empty(cls) -> FindingContext:
        """A context with no data (settings at their defaults), for tests and examples."""
        frame = pd.DataFrame()
        return cls(1.5, 30, 0.05, frame, frame, frame, {}, False)
