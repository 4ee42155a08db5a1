"""A finding with plausible figures for the dashboard's tests (a teller slow on P18 "Enter
transaction"), any field overridden."""

from __future__ import annotations

from typing import Any

from procmine import Finding


def made_finding(**fields: Any) -> Finding:
    """A finding with plausible figures, ``fields`` overriding them."""
    base: dict[str, Any] = dict(
        scope="teller", teller_id="0102", branch_id="B01", business_type="P18",
        activity="Enter transaction", cases=120, steps=126, median_seconds=95.0,
        p90_seconds=160.0, reference_seconds=38.0, reference_source="sop", ratio=2.5,
        pace=1.05, excess_seconds=57.0, time_lost_seconds=43200.0,
        monthly_teller_hours=12.0, months=61 / 30.4375, p_value=1e-9, q_value=2e-8,
        bank_median_seconds=40.0, branch_median_seconds=52.0, sop="SOP-P18",
        sop_step="enter_transaction", sop_version="3.0", kind="step", ratio_ci=(2.1, 2.9),
        period_days=61.0, peer_seconds=39.0, peer_basis="median of the other branches' medians")
    base.update(fields)
    return Finding(**base)
