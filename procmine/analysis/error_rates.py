"""The monthly error rates of a teller, raw and corrected side by side, and how the league
corrected them.

The league (:func:`procmine.analysis.league.monthly_league`) gives each teller's raw error rate
``errors / transactions`` and the corrected rate ``(errors + M p) / (transactions + M)``: the
posterior mean of a beta-binomial model whose prior weight ``M`` (in transactions) is estimated
from the month's data by maximum likelihood (:func:`procmine.analysis.stats.fit_errors`). A
teller keeps the share ``n / (n + M)`` of the own rate. Errors are few (a teller with 200
transactions at the bank's 1.25% makes two or three), so where the tellers' counts spread little
more than chance would spread them, ``M`` is large and the corrected rates sit close together:
the data cannot tell the tellers apart, and the raw rate is shown beside the corrected one so
that a reader sees both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = ["error_prior", "teller_error_rates"]


def _own_share(n: float, weight: float | None) -> float:
    """The share ``n / (n + M)`` of the own rate in the corrected one (0 for an infinite
    weight, 1 with neither transactions nor weight)."""
    if weight is None:
        return 0.0
    return n / (n + weight) if n + weight > 0 else 1.0


def error_prior(league: pd.DataFrame) -> dict[str, Any]:
    """How the month's error rates were corrected: the bank's rate ``bank_error_rate``, the
    prior weight ``prior_weight`` (transactions; None when infinite: everyone at the bank
    rate), the tellers' ``median_transactions`` and the share ``own_share`` of the own rate a
    teller with that many keeps in the corrected rate, ``n / (n + M)``.

    Example:
        >>> from procmine.analysis.league import monthly_league
        >>> prior = error_prior(monthly_league(store, baseline, "2026-10"))
        >>> round(prior["bank_error_rate"], 4), round(prior["prior_weight"], -2)
        (0.0125, 5100.0)
        >>> prior["median_transactions"], round(prior["own_share"], 3)
        (185.0, 0.035)
    """
    method: dict[str, Any] = league.attrs.get("method", {})
    weight = method.get("error_prior_strength")
    median = float(league["transactions"].median()) if len(league) else 0.0
    return {"bank_error_rate": method.get("bank_error_rate"), "prior_weight": weight,
            "median_transactions": median, "own_share": _own_share(median, weight)}


def teller_error_rates(leagues: Sequence[pd.DataFrame], teller_id: str) -> pd.DataFrame:
    """One teller's errors in each month's league of ``leagues``, raw and corrected side by
    side: ``month``, ``transactions``, ``errors``, ``error_rate`` (raw), ``error_rate_shrunk``
    (corrected), ``bank_error_rate``, ``error_prior_strength`` (the month's prior weight, NaN
    when infinite) and ``own_share`` (the share of the own rate in the corrected one). Months
    without the teller are left out; oldest first.

    Example:
        >>> from procmine.analysis.league import monthly_league
        >>> leagues = [monthly_league(store, baseline, m) for m in ("2026-09", "2026-10")]
        >>> rates = teller_error_rates(leagues, "0101")
        >>> rates["month"].tolist(), rates["errors"].tolist()
        (['2026-09', '2026-10'], [3, 2])
    """
    rows = []
    for league in leagues:
        mine = league[league["teller_id"].astype(str) == str(teller_id)]
        if mine.empty:
            continue
        row = mine.iloc[0]
        prior = error_prior(league)
        weight = prior["prior_weight"]
        n = float(row["transactions"])
        rows.append({
            "month": str(row["month"]), "transactions": int(row["transactions"]),
            "errors": int(row["errors"]), "error_rate": float(row["error_rate"]),
            "error_rate_shrunk": float(row["error_rate_shrunk"]),
            "bank_error_rate": prior["bank_error_rate"],
            "error_prior_strength": math.nan if weight is None else float(weight),
            "own_share": _own_share(n, weight),
        })
    columns = ["month", "transactions", "errors", "error_rate", "error_rate_shrunk",
               "bank_error_rate", "error_prior_strength", "own_share"]
    return pd.DataFrame(rows, columns=columns).sort_values("month").reset_index(drop=True)
