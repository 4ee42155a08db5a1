"""The statistics of the findings and the league: a rank test, false-discovery control, and
empirical-Bayes shrinkage of small samples toward the bank.

**Mann-Whitney U, one-sided** (:func:`mann_whitney_greater`). Service times are skewed, so a
group's times are compared with the rest of the bank by ranks, not means: ``U = R1 - n1 (n1 +
1) / 2`` with ``R1`` the sum of the group's ranks in the pooled sample (ties get their mean
rank), and the p-value of "the group's times are stochastically greater" from the normal
approximation ``z = (U - n1 n2 / 2 - 1/2) / s``, ``s^2 = n1 n2 / 12 ((n + 1) - sum(t^3 - t) /
(n (n - 1)))`` (tie and continuity correction, ``t`` the size of each run of ties). That is
``scipy.stats.mannwhitneyu(group, rest, alternative="greater")``; where either sample has 8
values or fewer, scipy computes the p-value itself. One sort of a type x step's times serves
every group tested on it.

**Benjamini-Hochberg** (:func:`benjamini_hochberg`). Testing every teller and branch on every
step would flag some by chance; the q-value of the ``i``-th smallest of ``m`` p-values is
``min over j >= i of p_(j) m / j``, and the groups with ``q <= 0.05`` keep the expected share
of false findings among all findings at 5%.

**Normal-normal shrinkage** (:func:`fit_speed`). Each teller's log ratio ``y`` (actual over
standard time) is modelled as ``N(theta, sigma2 / n_eff)`` around the teller's true level
``theta ~ N(mu, tau2)``, ``n_eff`` the effective number of transactions and ``sigma2`` the
pooled within-teller variance. ``tau2`` is estimated by the method of moments
(DerSimonian-Laird: ``Q = sum a (y - y_fixed)^2`` with precisions ``a = n_eff / sigma2``,
``tau2 = max(0, (Q - (J - 1)) / (sum a - sum a^2 / sum a))``), and each ``y`` is pulled toward
the bank mean ``mu`` with weight ``n_eff / (n_eff + k)``, ``k = sigma2 / tau2`` (the *prior
strength*, in transactions; infinite, i.e. everyone at ``mu``, when ``tau2`` is 0). The bank
mean weights each teller by ``1 / (sigma2 / n_eff + tau2)``. The shrunk index is
``exp(-theta_hat)``: for a teller with many transactions it approaches the raw one.

**Beta-binomial shrinkage** (:func:`fit_errors`). A teller's errors ``k`` in ``n``
transactions are modelled as binomial around the teller's true rate, and the true rates as
``Beta(M p, M (1 - p))`` around the bank's rate ``p`` (the pooled rate ``sum k / sum n``);
the corrected rate is the posterior mean ``(k + M p) / (n + M)``: the teller's own rate
weighted ``n / (n + M)``, the bank's ``M / (n + M)``. The prior weight ``M`` (in
transactions) is the one under which the month's counts are most likely (maximum likelihood of
the beta-binomial, ``L(M) = sum ln B(k + M p, n - k + M (1 - p)) - ln B(M p, M (1 - p))``
over ``1e-3 <= M <= 1e7``, a grid on ``ln M`` refined by Brent's method). Its meaning is the
between-teller variance: ``tau2 = p (1 - p) / (M + 1)``, and a teller's count varies by
``n p (1 - p) (1 + (n - 1) / (M + 1))``. Where the counts spread no more than binomial noise
would spread them the likelihood is highest at the top of the range, and ``M`` is infinite:
everyone at ``p`` (the data cannot tell the tellers apart); the more they spread beyond that,
the smaller ``M`` and the more of their own rate the tellers keep. With tens of tellers and a
few errors each, ``M`` is known only roughly (about half to twice its value), so the raw and
the corrected rates are shown side by side.

Example:
    >>> import numpy as np
    >>> fit = fit_speed(np.log(np.array([1.0, 1.2, 0.8])), np.array([50.0, 50.0, 5.0]),
    ...                 0.04, prior_strength=10.0)
    >>> [round(float(s), 3) for s in fit.shrunk]
    [0.994, 0.854, 1.05]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "ERROR_PRIOR_RANGE",
    "SpeedFit",
    "benjamini_hochberg",
    "error_prior_log_likelihood",
    "fit_errors",
    "fit_speed",
    "mann_whitney_greater",
    "mann_whitney_two_sided",
    "normal_two_sided_p",
]

# scipy.stats takes about half a second to import, so it is imported where it is first used:
# ``import procmine`` and every command that needs no test start without it.

_Arr = npt.NDArray[Any]


def mann_whitney_greater(sorted_values: _Arr, groups: _Arr, n_groups: int) -> tuple[_Arr, _Arr]:
    """One-sided Mann-Whitney U tests of every group against all the other values at once.

    ``sorted_values`` holds all values of one type x step in ascending order and ``groups`` the
    group code (0 to ``n_groups - 1``, or -1 for none) of each. Returns (U statistic of each
    group, p-value of "the group's times are stochastically greater"), by the normal
    approximation with tie and continuity correction: the same numbers as
    ``scipy.stats.mannwhitneyu(group, rest, alternative="greater")`` when both samples have more
    than 8 values (below that, scipy computes the p-value). One sort serves every group.

    Example:
        >>> values = np.arange(20.0)
        >>> u, p = mann_whitney_greater(values, np.array([-1] * 10 + [0] * 10), 1)
        >>> float(u[0]), bool(p[0] < 0.001)
        (100.0, True)
    """
    n = sorted_values.size
    u = np.zeros(n_groups)
    p = np.ones(n_groups)
    if n < 2 or n_groups == 0:
        return u, p
    cut = np.flatnonzero(np.diff(sorted_values)) + 1
    starts = np.concatenate(([0], cut))
    ends = np.concatenate((cut, [n]))
    ties = (ends - starts).astype(np.float64)
    ranks = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    tie_term = float(np.sum(ties**3 - ties))
    valid = groups >= 0
    n1 = np.bincount(groups[valid], minlength=n_groups).astype(np.float64)
    r1 = np.bincount(groups[valid], weights=ranks[valid], minlength=n_groups)
    n2 = n - n1
    u = r1 - n1 * (n1 + 1) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
        z = (u - n1 * n2 / 2 - 0.5) / s
    from scipy import special, stats

    p = np.where((n1 > 0) & (n2 > 0) & (s > 0), special.ndtr(-z), 1.0)
    for g in np.flatnonzero((n1 > 0) & (n2 > 0) & ((n1 <= 8) | (n2 <= 8))):
        mine = groups == g
        p[g] = stats.mannwhitneyu(sorted_values[mine], sorted_values[~mine],
                                  alternative="greater").pvalue
    return u, p


def benjamini_hochberg(p_values: _Arr) -> _Arr:
    """Benjamini-Hochberg adjusted p-values (q-values).

    Example:
        >>> [round(float(q), 3) for q in benjamini_hochberg(np.array([0.01, 0.04, 0.03]))]
        [0.03, 0.04, 0.04]
    """
    if p_values.size == 0:
        return p_values
    from scipy import stats

    return np.asarray(stats.false_discovery_control(p_values, method="bh"))


def mann_whitney_two_sided(a: _Arr, b: _Arr) -> float:
    """The two-sided Mann-Whitney U test's p-value of samples ``a`` and ``b``.

    Example:
        >>> round(mann_whitney_two_sided(np.arange(20.0), np.arange(20.0) + 5), 4)
        0.0185
    """
    from scipy import stats

    return float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def normal_two_sided_p(z: float) -> float:
    """The two-sided p-value of a standard normal statistic ``z``.

    Example:
        >>> round(normal_two_sided_p(1.959964), 4)
        0.05
    """
    from scipy import stats

    return float(2 * stats.norm.sf(abs(z)))


@dataclass(frozen=True)
class SpeedFit:
    """A normal-normal fit: the shrunk indexes ``exp(-theta_hat)``, the bank mean ``mu`` (of the
    log ratios), the within variance ``sigma2``, the between variance ``tau2`` (None when not
    estimated) and the prior strength ``k`` (in transactions)."""

    shrunk: np.ndarray
    mu: float
    sigma2: float
    tau2: float | None
    k: float


def fit_speed(y: np.ndarray, n_eff: np.ndarray, sigma2: float,
              prior_strength: float | None) -> SpeedFit:
    """Normal-normal empirical Bayes on the tellers' log ratios ``y`` (see the module text):
    ``prior_strength`` fixes ``k``; by default it is estimated (0 with fewer than two tellers or
    no within variance: nothing to pool over, or no noise to remove).

    Example:
        >>> fit_speed(np.zeros(2), np.ones(2), 0.1, prior_strength=None).k
        inf
    """
    tau2: float | None = None
    if prior_strength is not None:
        k = float(prior_strength)
    elif y.size < 2 or sigma2 <= 0:
        k = 0.0  # nothing to pool over, or no noise to remove
    else:
        a = n_eff / sigma2  # precision of each y
        mu_fixed = float(np.sum(a * y) / np.sum(a))
        q = float(np.sum(a * (y - mu_fixed) ** 2))
        c = float(np.sum(a) - np.sum(a * a) / np.sum(a))
        tau2 = max(0.0, (q - (y.size - 1)) / c) if c > 0 else 0.0
        k = sigma2 / tau2 if tau2 > 0 else math.inf
    if math.isinf(k):
        weight = np.zeros_like(n_eff)
        mu = float(np.sum(n_eff * y) / np.sum(n_eff))
    else:
        weight = n_eff / (n_eff + k)
        # the bank mean weights each teller by 1 / (sampling + between-teller variance)
        w_mu = weight if k > 0 else np.ones_like(n_eff)
        mu = float(np.sum(w_mu * y) / np.sum(w_mu))
    theta = mu + weight * (y - mu)
    return SpeedFit(shrunk=np.exp(-theta), mu=mu, sigma2=sigma2, tau2=tau2, k=k)


#: The range of the error-rate prior weight, in transactions: below it a teller keeps all of
#: the own rate; at its top the data cannot tell the tellers apart (the weight is then infinite).
ERROR_PRIOR_RANGE: tuple[float, float] = (1e-3, 1e7)


def error_prior_log_likelihood(errors: np.ndarray, n: np.ndarray, p: float,
                               prior_strength: float) -> float:
    """The beta-binomial log likelihood of the counts for the bank rate ``p`` and prior weight
    ``M`` (the binomial coefficients, which do not depend on ``M``, left out).

    Example:
        >>> k, n = np.array([0.0, 10.0]), np.array([100.0, 100.0])
        >>> error_prior_log_likelihood(k, n, 0.05, 10.0) > error_prior_log_likelihood(
        ...     k, n, 0.05, 1e6)
        True
    """
    from scipy import special

    a, b = prior_strength * p, prior_strength * (1 - p)
    return float(np.sum(special.betaln(errors + a, n - errors + b) - special.betaln(a, b)))


def _error_prior_strength(errors: np.ndarray, n: np.ndarray, p: float) -> float:
    """The maximum-likelihood prior weight ``M`` (infinite at the top of the range)."""
    from scipy import optimize

    low, high = (math.log(v) for v in ERROR_PRIOR_RANGE)
    grid = np.linspace(low, high, 49)
    values = [error_prior_log_likelihood(errors, n, p, math.exp(t)) for t in grid]
    best = int(np.argmax(values))
    if best == grid.size - 1:
        return math.inf  # no spread beyond binomial noise: everyone at p
    lo, hi = grid[max(best - 1, 0)], grid[best + 1]
    found = optimize.minimize_scalar(
        lambda t: -error_prior_log_likelihood(errors, n, p, math.exp(t)),
        bounds=(lo, hi), method="bounded", options={"xatol": 1e-6})
    return float(math.exp(found.x)) if -found.fun >= values[best] else float(math.exp(grid[best]))


def fit_errors(errors: np.ndarray, n: np.ndarray,
               prior_strength: float | None) -> tuple[np.ndarray, float, float]:
    """Beta-binomial empirical Bayes (see the module text): (corrected rates, bank rate p,
    prior weight M). ``prior_strength`` fixes ``M``; by default it is the maximum-likelihood
    estimate (infinite with fewer than two tellers, or a bank rate of 0 or 1: nothing to tell
    apart).

    Example:
        >>> rates, p, m = fit_errors(np.array([0.0, 10.0]), np.array([100.0, 100.0]), 100.0)
        >>> [float(r) for r in rates], p, m
        ([0.025, 0.075], 0.05, 100.0)
        >>> rates, p, m = fit_errors(np.array([5.0, 5.0, 5.0]), np.array([100.0] * 3), None)
        >>> [float(r) for r in rates], m
        ([0.05, 0.05, 0.05], inf)
    """
    total = float(n.sum())
    p = float(errors.sum()) / total if total else 0.0
    if prior_strength is not None:
        m = float(prior_strength)
    elif np.count_nonzero(n > 0) < 2 or p <= 0.0 or p >= 1.0:
        m = math.inf
    else:
        seen = n > 0
        m = _error_prior_strength(errors[seen], n[seen], p)
    if math.isinf(m):
        return np.full(n.shape, p, dtype=float), p, m
    with np.errstate(invalid="ignore", divide="ignore"):
        shrunk = (errors + m * p) / (n + m)
    return np.where(n + m > 0, shrunk, p), p, m
