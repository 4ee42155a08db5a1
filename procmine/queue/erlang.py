"""Erlang C and Erlang A: the waits a number of counters gives, and the counters a target needs.

Two queueing models of one shared queue served by ``n`` identical counters, with Poisson
arrivals at rate ``λ`` and exponential service times of mean ``1/μ`` (offered load
``a = λ/μ`` erlangs, utilisation ``ρ = a/n``):

**Erlang C** (M/M/n, customers wait as long as it takes). With ``B`` the Erlang B blocking
probability, computed by the stable recursion ``B(0) = 1``, ``B(k) = a·B(k-1) / (k + a·B(k-1))``
(never a factorial or a power of ``a``, which overflow beyond about 170 counters),

* ``P(W > 0) = C = n·B / (n - a·(1 - B))``  (for ``a < n``);
* mean wait ``E[W] = C / (nμ - λ)``;
* service level ``P(W <= t) = 1 - C·exp(-(nμ - λ)·t)``.

With ``a >= n`` the queue grows without bound: every customer waits, the mean wait is infinite
and no target is met (:attr:`WaitMetrics.stable` is False).

**Erlang A** (Palm's M/M/n+M: each waiting customer leaves after an exponential patience of
mean ``1/θ``), always stable. The exact formulas of Garnett, Mandelbaum & Reiman (2002,
"Designing a call center with impatient customers", MSOM 4(3), section 3) and Mandelbaum &
Zeltyn ("The Palm/Erlang-A queue, with applications to call centers", 2005, section 4), with
``x = nμ/θ``, ``y = λ/θ`` and the lower incomplete gamma function ``γ(x, y)``
(``scipy.special.gammainc``, in logarithms so that nothing overflows):

* ``A(x, y) = x·e^y·y^(-x)·γ(x, y)``;
* ``P(W > 0) = A·B / (1 + (A - 1)·B)``;
* ``P(Ab | W > 0) = 1/(ρA) + 1 - 1/ρ``, ``P(Ab) = P(Ab | W > 0)·P(W > 0)``;
* mean wait (of everyone, the patient and the leavers) ``E[W] = P(Ab)/θ`` (Little's law on
  the leavers: ``λ·P(Ab) = θ·E[Q]``);
* the offered wait ``V`` (what a customer of infinite patience would wait) has density
  ``λ·exp(λH(v) - nμv) / (E + λJ)`` on ``v > 0``, with ``H(v) = (1 - e^(-θv))/θ`` (Mandelbaum
  & Zeltyn, "The M/M/n+G queue: summary of performance measures", 4CallCenters notes); a
  customer is served within ``t`` when ``V <= t`` and their patience outlasts ``V``, so
  ``P(W <= t, served) = P(W = 0) + P(W > 0)·R(t)``, ``R(t) = ∫_0^t e^(-θv)·exp(λH(v) - nμv) dv /
  ∫_0^∞ exp(λH(v) - nμv) dv``, which the substitution ``u = y·e^(-θv)`` turns into
  ``R(t) = (x/y)·[P(x+1, y) - P(x+1, y·e^(-θt))] / P(x, y)`` (``P`` the regularised lower
  incomplete gamma).

The service level of Erlang A is therefore "served within the target" among all arrivals: a
customer who gives up before the target is not a success, even though they never waited long
(the share served within the target *among those served* rewards abandonment, so it is not used
to staff). As ``θ -> 0`` Erlang A tends to Erlang C (tested).

:func:`wait_metrics` gives the figures of one interval, :func:`counters_needed` the smallest
number of counters whose service level meets a target (and, optionally, whose occupancy stays
under a ceiling).

pyworkforce was evaluated and is not a dependency. Version 0.5.1 offers Erlang C only (no
Erlang A, which the branches' abandonment needs); its Erlang C uses the same stable Erlang B
recursion but does not check that the positions exceed the load (below it the "probability"
comes out above 1, where a plan needs "unstable, infinite wait"), and its install requires
Google OR-Tools (a large native wheel used only by its shift schedulers), joblib and pandas for
what is here a few dozen lines over scipy, which procmine already has; the bank's machines
install offline from pinned wheels. Later releases (0.5.3, 0.5.4) add an ErlangA that sums a
truncated birth-death chain and uniformises a tagged-customer chain for the service level
(pure-Python loops), still with OR-Tools. Its published regression figures are one of the
checks of this module (tests/test_queue_erlang.py), beside the Erlang C example of its 0.1.0
README.

Example (100 calls in 30 minutes, 3 minutes each, 14 agents, 20-second target):
    >>> m = wait_metrics(200, 180, 14, target_wait=20)
    >>> m.model, round(m.prob_wait, 4), round(m.service_level, 4)
    ('erlang_c', 0.1741, 0.8884)
    >>> counters_needed(200, 180, target_wait=20, target_share=0.8)
    14
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Final, Literal

import numpy as np
from scipy import integrate, special

from procmine.core.errors import ProcmineError

__all__ = [
    "MAX_COUNTERS",
    "WaitMetrics",
    "counters_needed",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "service_level",
    "wait_metrics",
]

#: :func:`counters_needed` gives up above this (a branch never has that many windows).
MAX_COUNTERS: Final = 10_000

Model = Literal["erlang_c", "erlang_a"]

# Below this, scipy's regularised incomplete gamma has underflowed: use the series instead.
_TINY: Final = 1e-290

# Above this x = nμ/θ (patience long against the service), P(Ab | W > 0) is integrated rather
# than taken from the closed form, whose difference cancels as θ -> 0.
_CLOSED_FORM_LIMIT: Final = 200.0

# A patience this many service times long is infinite (see _patient).
_PATIENT_SERVICES: Final = 1e6


@dataclass(frozen=True)
class WaitMetrics:
    """What ``counters`` counters give under one model (see the module).

    ``prob_wait`` P(W > 0); ``mean_wait_seconds`` E[W] of every arrival (infinite when Erlang C
    is overloaded); ``mean_wait_served_seconds`` the mean wait of those served (the average
    speed of answer; equal to E[W | served]); ``service_level`` P(W <= target and served);
    ``abandon_share`` P(Ab) (0 for Erlang C); ``occupancy`` the share of counter time spent
    serving (at most 1); ``stable`` False when an Erlang C queue grows without bound.
    """

    arrivals_per_hour: float
    mean_service_seconds: float
    counters: int
    target_wait: float
    patience_seconds: float | None
    model: Model
    prob_wait: float
    mean_wait_seconds: float
    mean_wait_served_seconds: float
    service_level: float
    abandon_share: float
    occupancy: float
    stable: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain fields for JSON; an infinite wait becomes None."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float) and not math.isfinite(value):
                out[key] = None
        return out


def erlang_b(load: float, servers: int) -> float:
    """The Erlang B blocking probability of ``servers`` servers offered ``load`` erlangs, by the
    recursion of the module (stable for any size).

    Example:
        >>> round(erlang_b(10.0, 11), 4)
        0.1632
    """
    if servers < 0 or load < 0:
        raise ProcmineError(f"Erlang B needs servers >= 0 and load >= 0, got {servers}, {load}")
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    return blocking


def erlang_c(arrival_rate: float, service_rate: float, servers: int) -> float:
    """P(wait) of an M/M/``servers`` queue; rates in the same unit (e.g. per hour). 1.0 when the
    load reaches the servers (the queue is unstable and everyone waits).

    Example:
        >>> round(erlang_c(200.0, 20.0, 11), 4)
        0.6821
    """
    _check_rates(arrival_rate, service_rate, servers)
    load = arrival_rate / service_rate
    if load == 0:
        return 0.0
    if _saturated(load, servers):
        return 1.0
    blocking = erlang_b(load, servers)
    return servers * blocking / (servers - load * (1.0 - blocking))


def _saturated(load: float, servers: int) -> bool:
    """The load reaches the counters (up to rounding: 100 an hour of 180 s is 5 erlangs)."""
    return load >= servers * (1.0 - 1e-12)


def _check_rates(arrival_rate: float, service_rate: float, servers: int) -> None:
    if not (math.isfinite(arrival_rate) and arrival_rate >= 0):
        raise ProcmineError(f"arrival rate must be a number >= 0, got {arrival_rate}")
    if not (math.isfinite(service_rate) and service_rate > 0):
        raise ProcmineError(f"service rate must be a number > 0, got {service_rate}")
    if int(servers) != servers or servers < 0:
        raise ProcmineError(f"counters must be a whole number >= 0, got {servers}")


def _log_lower_gamma(a: float, z: float) -> float:
    """log γ(a, z), the lower incomplete gamma function, for a > 0, z > 0.

    scipy's regularised ``gammainc`` underflows to 0 when ``z`` is far below ``a`` (a lightly
    loaded queue with patient customers); there the series ``γ(a, z) = z^a e^(-z) Σ_j z^j /
    (a (a+1) ... (a+j))`` converges fast (each term at most ``z/a`` times the previous one).
    """
    regular = float(special.gammainc(a, z))
    if regular > _TINY:
        return float(special.gammaln(a)) + math.log(regular)
    count = min(10_000_000, math.ceil(60.0 / -math.log(z / a)) + 10)
    terms = np.cumsum(math.log(z) - np.log(a + np.arange(0, count, dtype=float)))
    return a * math.log(z) - z - math.log(z) + float(special.logsumexp(terms))


def _served_within_ratio(x: float, y: float, y_low: float) -> float:
    """``R(t) = (x/y)·[P(x+1, y) - P(x+1, y_low)] / P(x, y)`` of the module: of those who wait,
    the share served within the target."""
    base = float(special.gammainc(x, y))
    if base > _TINY:
        high = float(special.gammainc(x + 1, y))
        if high > 0.5:  # both near 1: subtract the upper tails instead
            diff = float(special.gammaincc(x + 1, y_low)) - float(special.gammaincc(x + 1, y))
        else:
            diff = high - float(special.gammainc(x + 1, y_low))
        return x / y * diff / base
    # Everything underflows: logarithms (Γ(x+1)/Γ(x) = x cancels the factor x).
    log_hi = _log_lower_gamma(x + 1, y)
    log_lo = _log_lower_gamma(x + 1, y_low) if y_low > 0 else -math.inf
    if log_lo >= log_hi:
        return 0.0
    diff_log = log_hi + math.log1p(-math.exp(log_lo - log_hi))
    return math.exp(diff_log - _log_lower_gamma(x, y) - math.log(y))


def erlang_a(arrival_rate: float, service_rate: float, servers: int, abandon_rate: float,
             target: float = 0.0) -> dict[str, float]:
    """Erlang A (M/M/n+M) in one unit of time (rates per second and ``target`` in seconds, or
    per minute and minutes...): ``prob_wait``, ``abandon_share``, ``mean_wait``,
    ``mean_wait_served``, ``service_level`` (P(W <= target and served)), ``occupancy``.

    Example:
        >>> out = erlang_a(1.0, 1.0, 1, 1.0)  # θ = μ: the number present is Poisson(λ/μ)
        >>> round(out["prob_wait"], 4), round(out["abandon_share"], 4)  # 1 - 1/e, 1/e
        (0.6321, 0.3679)
    """
    _check_rates(arrival_rate, service_rate, servers)
    if not (math.isfinite(abandon_rate) and abandon_rate > 0):
        raise ProcmineError(f"abandonment rate must be a number > 0, got {abandon_rate}")
    lam, mu, theta, n = arrival_rate, service_rate, abandon_rate, int(servers)
    if lam == 0:
        return {"prob_wait": 0.0, "abandon_share": 0.0, "mean_wait": 0.0,
                "mean_wait_served": 0.0, "service_level": 1.0, "occupancy": 0.0}
    if n == 0:  # nobody serves: everyone waits until they give up
        return {"prob_wait": 1.0, "abandon_share": 1.0, "mean_wait": 1.0 / theta,
                "mean_wait_served": math.inf, "service_level": 0.0, "occupancy": 0.0}
    x, y, big_a, prob_wait = _delay(lam, mu, n, theta)
    rho = lam / (n * mu)
    integral_abandon, integral_served_wait = _wait_integrals(x, y)
    if x <= _CLOSED_FORM_LIMIT:
        abandon_given_wait = 1.0 / (rho * big_a) + 1.0 - 1.0 / rho
    else:
        abandon_given_wait = integral_abandon
    abandon = min(max(abandon_given_wait * prob_wait, 0.0), 1.0)
    served = 1.0 - abandon
    return {
        "prob_wait": prob_wait,
        "abandon_share": abandon,
        "mean_wait": prob_wait * (abandon_given_wait / theta),
        "mean_wait_served": (prob_wait * integral_served_wait / theta / served
                             if served > 0 else math.inf),
        "service_level": _erlang_a_level(lam, mu, n, theta, target),
        "occupancy": min(lam * served / (n * mu), 1.0),
    }


def _delay(lam: float, mu: float, n: int, theta: float) -> tuple[float, float, float, float]:
    """``x = nμ/θ``, ``y = λ/θ``, ``A(x, y)`` and ``P(W > 0)`` of Erlang A (see the module)."""
    x, y = n * mu / theta, lam / theta
    big_a = math.exp(math.log(x) + y - x * math.log(y) + _log_lower_gamma(x, y))
    blocking = erlang_b(lam / mu, n)
    return x, y, big_a, big_a * blocking / (1.0 + (big_a - 1.0) * blocking)


def _erlang_a_level(lam: float, mu: float, n: int, theta: float, target: float) -> float:
    """P(W <= target and served) of Erlang A, for n >= 1 and λ > 0 (see the module)."""
    x, y, _, prob_wait = _delay(lam, mu, n, theta)
    within = (1.0 - prob_wait) + prob_wait * _served_within_ratio(
        x, y, y * math.exp(-theta * target))
    return min(max(within, 0.0), 1.0)


def _wait_integrals(x: float, y: float) -> tuple[float, float]:
    """Of the customers who wait (``V > 0``): the share who abandon, and ``θ·E[V; served]``.

    The offered-wait density ``f(v) = exp(λH(v) - nμv)`` becomes, by ``s = θv`` (so
    ``u = y e^(-s)``), proportional to ``exp(h(s))`` with the concave ``h(s) = x·ln u - u``;
    a customer waiting ``V = s/θ`` abandons with probability ``1 - e^(-s)``. Both shares are
    integrated numerically (Simpson's rule, 4,001 points) over the interval where ``h`` is within
    60 of its peak (found by doubling steps; concavity makes it one interval). Unlike the
    closed form ``1/(ρA) + 1 - 1/ρ`` this keeps its digits when patience is long (``θ -> 0``),
    where that difference cancels.
    """
    def h(s: Any) -> Any:
        return x * (math.log(y) - s) - y * np.exp(-s)

    peak = max(0.0, math.log(y / x))
    top = float(h(peak))
    # the scale on which h falls: its curvature at the peak, or its slope when the peak is at 0
    width = 1.0 / max(math.sqrt(y * math.exp(-peak)), abs(y * math.exp(-peak) - x), 1e-12)
    high = peak + width
    while float(h(high)) > top - 60:
        high = peak + 2 * (high - peak)
    low = peak - width
    while low > 0 and float(h(low)) > top - 60:
        low = peak - 2 * (peak - low)
    s = np.linspace(max(low, 0.0), high, 4_001)
    density = np.exp(h(s) - top)
    total = float(integrate.simpson(density, x=s))
    abandon = float(integrate.simpson(-np.expm1(-s) * density, x=s)) / total
    served_wait = float(integrate.simpson(s * np.exp(-s) * density, x=s)) / total
    return abandon, served_wait


def wait_metrics(arrivals_per_hour: float, mean_service_seconds: float, counters: int, *,
                 target_wait: float = 600.0, patience_seconds: float | None = None
                 ) -> WaitMetrics:
    """The waits ``counters`` counters give to ``arrivals_per_hour`` customers of mean service
    ``mean_service_seconds``: Erlang A when ``patience_seconds`` (mean patience) is given and
    finite, else Erlang C (see the module; a patience over a million service times on a queue
    Erlang C finds stable counts as infinite).

    Example:
        >>> m = wait_metrics(30, 300, 3, target_wait=600, patience_seconds=900)
        >>> m.model, round(m.prob_wait, 3), round(m.abandon_share, 3), round(m.service_level, 3)
        ('erlang_a', 0.537, 0.111, 0.877)
    """
    if not (math.isfinite(mean_service_seconds) and mean_service_seconds > 0):
        raise ProcmineError(f"mean service time must be > 0 seconds, got {mean_service_seconds}")
    if not (math.isfinite(target_wait) and target_wait >= 0):
        raise ProcmineError(f"target wait must be >= 0 seconds, got {target_wait}")
    lam = arrivals_per_hour / 3600.0
    mu = 1.0 / mean_service_seconds
    common: dict[str, Any] = {"arrivals_per_hour": float(arrivals_per_hour),
              "mean_service_seconds": float(mean_service_seconds), "counters": int(counters),
              "target_wait": float(target_wait)}
    if patience_seconds is not None and patience_seconds <= 0:
        raise ProcmineError(f"mean patience must be > 0 seconds, got {patience_seconds}")
    if _patient(patience_seconds, mean_service_seconds, lam * mean_service_seconds, counters):
        patience_seconds = None
    if patience_seconds is not None:
        out = erlang_a(lam, mu, counters, 1.0 / patience_seconds, target_wait)
        return WaitMetrics(**common, patience_seconds=float(patience_seconds), model="erlang_a",
                           prob_wait=out["prob_wait"], mean_wait_seconds=out["mean_wait"],
                           mean_wait_served_seconds=out["mean_wait_served"],
                           service_level=out["service_level"],
                           abandon_share=out["abandon_share"], occupancy=out["occupancy"],
                           stable=True)
    return _erlang_c_metrics(lam, mu, int(counters), float(target_wait), common)


def _patient(patience: float | None, service: float, load: float, counters: int) -> bool:
    """True when Erlang C stands for Erlang A: no patience given, an infinite one, or one over
    a million service times on a stable queue (where the two agree to six digits and the
    incomplete gamma of such large arguments loses its own)."""
    if patience is None or not math.isfinite(patience):
        return True
    return patience > _PATIENT_SERVICES * service and not _saturated(load, counters)


def _erlang_c_metrics(lam: float, mu: float, n: int, target: float,
                      common: dict[str, Any]) -> WaitMetrics:
    prob_wait = erlang_c(lam, mu, n)
    stable = not _saturated(lam / mu, n)
    if lam == 0:
        mean_wait, level = 0.0, 1.0
    elif not stable:
        mean_wait, level = math.inf, 0.0
    else:
        drain = n * mu - lam
        mean_wait = prob_wait / drain
        level = 1.0 - prob_wait * math.exp(-drain * target)
    occupancy = min(lam / (n * mu), 1.0) if n else (1.0 if lam else 0.0)
    return WaitMetrics(**common, patience_seconds=None, model="erlang_c", prob_wait=prob_wait,
                       mean_wait_seconds=mean_wait, mean_wait_served_seconds=mean_wait,
                       service_level=level, abandon_share=0.0, occupancy=occupancy,
                       stable=stable)


def service_level(arrivals_per_hour: float, mean_service_seconds: float, counters: int, *,
                  target_wait: float = 600.0, patience_seconds: float | None = None) -> float:
    """:func:`wait_metrics`' ``service_level`` alone, without Erlang A's integrals (the staffing
    plan asks for it once per interval and candidate count).

    Example:
        >>> round(service_level(60, 300, 6, target_wait=600), 4) == round(
        ...     wait_metrics(60, 300, 6, target_wait=600).service_level, 4)
        True
    """
    if arrivals_per_hour <= 0 or counters < 1:
        return wait_metrics(arrivals_per_hour, mean_service_seconds, counters,
                            target_wait=target_wait, patience_seconds=patience_seconds
                            ).service_level
    load = arrivals_per_hour * mean_service_seconds / 3600.0
    if _patient(patience_seconds, mean_service_seconds, load, counters):
        return wait_metrics(arrivals_per_hour, mean_service_seconds, counters,
                            target_wait=target_wait).service_level
    assert patience_seconds is not None
    return _erlang_a_level(arrivals_per_hour / 3600.0, 1.0 / mean_service_seconds, counters,
                           1.0 / patience_seconds, target_wait)


def counters_needed(arrivals_per_hour: float, mean_service_seconds: float, *,
                    target_wait: float = 600.0, target_share: float = 0.8,
                    patience_seconds: float | None = None,
                    max_occupancy: float | None = None) -> int:
    """The fewest counters whose service level (:func:`wait_metrics`) reaches ``target_share``
    (and whose occupancy is at most ``max_occupancy`` when given). 0 when nobody arrives.

    Example:
        >>> counters_needed(60, 300, target_wait=600, target_share=0.8)
        6
    """
    if not 0 < target_share < 1:
        raise ProcmineError(f"target share must be between 0 and 1 (exclusive), got "
                            f"{target_share}")
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise ProcmineError(f"maximum occupancy must be in (0, 1], got {max_occupancy}")
    if patience_seconds is not None and not patience_seconds > 0:
        raise ProcmineError(f"mean patience must be > 0 seconds, got {patience_seconds}")
    if arrivals_per_hour <= 0:
        return 0
    load = arrivals_per_hour * mean_service_seconds / 3600.0
    # Erlang C needs more counters than the load; Erlang A serves at most n/load of the
    # arrivals, so it needs at least target_share of the load.
    if patience_seconds is not None and math.isfinite(patience_seconds):
        start = max(1, math.ceil(target_share * load - 1e-9))
    else:
        start = math.floor(load) + 1
    if max_occupancy is not None:
        start = max(start, math.ceil(load / max_occupancy - 1e-12))
    for n in range(start, MAX_COUNTERS + 1):
        if service_level(arrivals_per_hour, mean_service_seconds, n, target_wait=target_wait,
                         patience_seconds=patience_seconds) >= target_share:
            return n
    raise ProcmineError(f"more than {MAX_COUNTERS} counters would be needed for "
                        f"{arrivals_per_hour} arrivals an hour of {mean_service_seconds} s",
                        code="queue.too_many_counters", maximum=MAX_COUNTERS)
