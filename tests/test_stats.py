"""The error-rate prior of the league (procmine.analysis.stats.fit_errors), on generated data:
tellers whose true error rates differ, and tellers who share one rate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from procmine.analysis.stats import ERROR_PRIOR_RANGE, error_prior_log_likelihood, fit_errors

BANK_RATE = 0.02


def _tellers(seed: int, prior_weight: float | None, tellers: int = 60,
             low: int = 40, high: int = 160) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Errors, transactions and true rates of ``tellers`` tellers: true rates drawn from
    Beta(M p, M (1 - p)) (all at p when ``prior_weight`` is None), counts binomial."""
    rng = np.random.default_rng(seed)
    n = rng.integers(low, high, tellers).astype(float)
    if prior_weight is None:
        truth = np.full(tellers, BANK_RATE)
    else:
        truth = rng.beta(prior_weight * BANK_RATE, prior_weight * (1 - BANK_RATE), tellers)
    return rng.binomial(n.astype(int), truth).astype(float), n, truth


def test_the_prior_weight_is_estimated_near_the_truths() -> None:
    estimates = [fit_errors(*_tellers(seed, 100.0)[:2], None)[2] for seed in range(40)]
    assert all(math.isfinite(m) for m in estimates)
    # a median within 30% of the truth; most single estimates within a factor of 2.5
    assert 70 < float(np.median(estimates)) < 130
    within = np.mean([1 / 2.5 < m / 100.0 < 2.5 for m in estimates])
    assert within >= 0.8


def test_the_corrected_ranking_follows_the_truth_better_than_the_raw_one() -> None:
    raw_rho, corrected_rho, raw_error, corrected_error = [], [], [], []
    for seed in range(40):
        # small samples of unequal size: 10 to 150 transactions, a rate of 2% (0 to 3 errors)
        errors, n, truth = _tellers(seed, 50.0, low=10, high=150)
        corrected, _, m = fit_errors(errors, n, None)
        assert math.isfinite(m)
        raw = errors / n
        raw_rho.append(stats.spearmanr(raw, truth).statistic)
        corrected_rho.append(stats.spearmanr(corrected, truth).statistic)
        raw_error.append(float(np.mean((raw - truth) ** 2)))
        corrected_error.append(float(np.mean((corrected - truth) ** 2)))
    # the order: better on average and in most months; the distance to the truth: far smaller
    assert np.mean(corrected_rho) > np.mean(raw_rho) + 0.02
    assert np.mean(np.array(corrected_rho) >= np.array(raw_rho)) >= 0.7
    assert np.mean(corrected_error) < 0.6 * np.mean(raw_error)


def test_tellers_who_share_one_rate_are_all_put_at_the_bank_rate() -> None:
    infinite = 0
    for seed in range(20):
        errors, n, _ = _tellers(seed, None)
        corrected, p, m = fit_errors(errors, n, None)
        assert p == pytest.approx(errors.sum() / n.sum())
        infinite += math.isinf(m)
        # finite or not, the prior outweighs every teller's own transactions: each keeps
        # less than 40% of the distance of the raw rate from the bank's
        assert m > n.max()
        assert np.all(np.abs(corrected - p) < 0.4 * np.abs(errors / n - p) + 1e-12)
    assert infinite >= 12  # mostly no spread beyond binomial noise at all: all at p


def test_the_estimate_is_the_most_likely_weight() -> None:
    errors, n, _ = _tellers(3, 50.0)
    _, p, m = fit_errors(errors, n, None)
    best = error_prior_log_likelihood(errors, n, p, m)
    for other in (m * 0.9, m * 1.1, m / 3, m * 3, ERROR_PRIOR_RANGE[1]):
        assert error_prior_log_likelihood(errors, n, p, other) < best
    # and the corrected rate is the posterior mean under it
    np.testing.assert_allclose(fit_errors(errors, n, None)[0], (errors + m * p) / (n + m))


def test_a_fixed_weight_and_the_edges() -> None:
    rates, _, m = fit_errors(np.array([1.0, 3.0]), np.array([10.0, 10.0]), 0.0)
    assert rates.tolist() == [0.1, 0.3] and m == 0.0  # no shrinkage at all
    rates, _, m = fit_errors(np.array([0.0, 0.0]), np.array([10.0, 20.0]), None)
    assert rates.tolist() == [0.0, 0.0] and math.isinf(m)  # no errors anywhere
    rates, _, m = fit_errors(np.array([2.0]), np.array([10.0]), None)
    assert rates.tolist() == [0.2] and math.isinf(m)  # one teller: nothing to pool over
