"""A teller's error rates, raw and corrected side by side, and how the league corrected them
(procmine.analysis.error_rates)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from procmine import error_prior, teller_error_rates


def _league(month: str, rows: list[tuple[str, int, int]], p: float,
            m: float | None) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["teller_id", "transactions", "errors"])
    frame["month"] = month
    frame["error_rate"] = frame["errors"] / frame["transactions"]
    weight = math.inf if m is None else m
    frame["error_rate_shrunk"] = ((frame["errors"] + weight * p) / (frame["transactions"] + weight)
                                  if m is not None else p)
    frame.attrs["method"] = {"bank_error_rate": p, "error_prior_strength": m}
    return frame


def test_the_prior_says_how_much_of_their_own_rate_a_teller_keeps() -> None:
    league = _league("2026-10", [("A", 100, 1), ("B", 300, 9), ("C", 200, 2)], 0.02, 200.0)
    prior = error_prior(league)
    assert prior == {"bank_error_rate": 0.02, "prior_weight": 200.0,
                     "median_transactions": 200.0, "own_share": 0.5}
    pooled = error_prior(_league("2026-10", [("A", 100, 1)], 0.01, None))
    assert pooled["prior_weight"] is None and pooled["own_share"] == 0.0


def test_a_tellers_months_raw_beside_corrected() -> None:
    october = _league("2026-10", [("A", 100, 1), ("B", 300, 9)], 0.025, 300.0)
    september = _league("2026-09", [("A", 50, 3), ("C", 80, 0)], 0.023, None)
    rates = teller_error_rates([october, september], "A")
    assert rates["month"].tolist() == ["2026-09", "2026-10"]
    assert rates["errors"].tolist() == [3, 1]
    assert rates["error_rate"].tolist() == pytest.approx([0.06, 0.01])
    # September: no spread beyond chance, everyone at the bank rate; October: (1 + 300 p) / 400
    assert rates["error_rate_shrunk"].tolist() == pytest.approx([0.023, (1 + 7.5) / 400])
    assert math.isnan(rates.loc[0, "error_prior_strength"])
    assert rates["own_share"].tolist() == pytest.approx([0.0, 0.25])
    assert teller_error_rates([october], "Z").empty
