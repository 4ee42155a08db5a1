"""Erlang C and Erlang A (procmine/queue/erlang.py) against published values and an independent
computation.

Published values (Erlang C): the worked example of 100 calls in 30 minutes, an average handling
time of 3 minutes and a 20-second answer target, as published

* in the README of pyworkforce 0.1.0 on PyPI ("Common tools for workforce management ...",
  the project page of pyworkforce 0.1.0, the example of ``ErlangC(transactions=100,
  asa=20/60, aht=3, interval=30)``): at 14 positions, service_level 0.8883500191794669, occupancy
  0.7142857142857143, waiting_probability 0.1741319335950498, and 14 raw positions for an 80 %
  target at most 85 % occupancy;
* in the README of the R package ErlangC 0.1.0 on CRAN (rdocumentation.org/packages/ErlangC/
  versions/0.1.0, the examples of ``erlang_c`` and ``calculate_agents``): traffic intensity 10,
  wait probability 0.1741319, service level 0.88835, average speed of answer 7.83593701177724 s,
  occupancy 0.7142857 at 14 agents; the search starts at 11 agents with wait probability
  0.6821182; 14 agents for 80 % at most 85 % occupancy.

Textbook values (Erlang C, the M/M/k queue of management-science textbooks):

* Anderson, Sweeney & Williams, "An Introduction to Management Science: Quantitative Approaches
  to Decision Making" (Cengage Learning), chapter "Waiting Line Models", the Burger Dome
  example: arrivals 0.75 a minute, service 1 a minute; one channel: P(wait) 0.75, Wq 3 minutes;
  two channels: P0 0.4545, P(wait) 0.2045, Lq 0.1227, Wq 0.1636 minutes.
* The same book's "Multiple Server Queueing Model" spreadsheet (Cengage Learning), λ = 10,
  μ = 12 an hour, 2 to 5 servers: P(wait) 0.245, 0.058, 0.011, 0.002; Wq 0.018, 0.002, 0.000,
  0.000 hours; Lq 0.175, 0.022, 0.003, 0.000 (values as the sheet prints them, to 3 places).

Published values (Erlang A): the regression figures of pyworkforce 0.5.4's ErlangA (an
independent implementation: a truncated birth-death chain, and uniformisation of the waiting
customer's chain for the service level), in its repository at tag 0.5.4,
pyworkforce/queuing/tests/test_abandonment.py, ``test_erlanga_regression_metrics``: 100
transactions in 30 minutes, aht 3 minutes, patience 5 minutes, 20-second target, 14 positions:
waiting probability 0.14526, abandonment 0.013984, occupancy 0.704297, average wait (over all
arrivals, minutes) 0.069919, service level 0.916792. No textbook figure for Erlang A could be
read here (the 4CallCenters examples of Mandelbaum & Zeltyn and the tables of Garnett,
Mandelbaum & Reiman 2002 were not available as text), so Erlang A is also checked against an
independent computation of our own: the birth-death chain of the M/M/n+M queue (birth rate λ,
death rate min(k, n)·μ + (k - n)⁺·θ) solved with numpy, and each waiting customer's race
between reaching a counter and giving up solved as an absorbing chain with a matrix exponential
(scipy.linalg.expm); also against the exact special case θ = μ (the number present is then
Poisson(λ/μ), as in an M/M/∞ queue) and the limit θ -> 0 (Erlang C).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import expm, solve

from procmine.core.errors import ProcmineError
from procmine.queue.erlang import (
    counters_needed,
    erlang_a,
    erlang_b,
    erlang_c,
    wait_metrics,
)

# -- Erlang C: published values ------------------------------------------------------------------


@pytest.mark.parametrize(("counters", "prob_wait", "wq_minutes"),
                         [(1, 0.75, 3.0), (2, 0.2045, 0.1636)])
def test_erlang_c_matches_the_burger_dome_textbook_example(counters: int, prob_wait: float,
                                                           wq_minutes: float) -> None:
    # Anderson, Sweeney & Williams, An Introduction to Management Science, Waiting Line
    # Models: Burger Dome, λ = 0.75 a minute, μ = 1 a minute (values to 4 places).
    m = wait_metrics(45, 60, counters, target_wait=60)
    assert m.prob_wait == pytest.approx(prob_wait, abs=5e-5)
    assert m.mean_wait_seconds / 60 == pytest.approx(wq_minutes, abs=5e-5)
    if counters == 2:
        p0 = 1 / (1 + 0.75 + 0.75**2 / 2 / (1 - 0.375))  # the book's P0 = 0.4545
        assert p0 == pytest.approx(0.4545, abs=5e-5)
        assert m.mean_wait_seconds / 60 * 0.75 == pytest.approx(0.1227, abs=5e-5)  # Lq


@pytest.mark.parametrize(("counters", "prob_wait", "wq_hours", "lq"),
                         [(2, 0.245, 0.018, 0.175), (3, 0.058, 0.002, 0.022),
                          (4, 0.011, 0.000, 0.003), (5, 0.002, 0.000, 0.000)])
def test_erlang_c_matches_the_textbooks_multiple_server_sheet(counters: int, prob_wait: float,
                                                              wq_hours: float,
                                                              lq: float) -> None:
    # Cengage Learning's "Multiple Server Queueing Model" sheet (Anderson, Sweeney & Williams):
    # λ = 10, μ = 12 an hour; the sheet prints 3 decimals.
    m = wait_metrics(10, 300, counters, target_wait=60)
    assert round(m.prob_wait, 3) == prob_wait
    assert round(m.mean_wait_seconds / 3600, 3) == wq_hours
    assert round(m.mean_wait_seconds / 3600 * 10, 3) == lq


def test_erlang_c_matches_the_pyworkforce_readme_example():
    # pyworkforce 0.1.0 README (PyPI): 100 transactions / 30 min, aht 3 min, asa 20 s.
    m = wait_metrics(200, 180, 14, target_wait=20)
    assert m.model == "erlang_c"
    assert m.service_level == pytest.approx(0.8883500191794669, abs=1e-12)
    assert m.occupancy == pytest.approx(0.7142857142857143, abs=1e-12)
    assert m.prob_wait == pytest.approx(0.1741319335950498, abs=1e-12)
    assert counters_needed(200, 180, target_wait=20, target_share=0.8,
                           max_occupancy=0.85) == 14


def test_erlang_c_matches_the_cran_erlangc_readme_example():
    # R package ErlangC 0.1.0 README (CRAN): erlang_c(100, 30 min, 180 s, 20 s, 14).
    m = wait_metrics(200, 180, 14, target_wait=20)
    assert 200 * 180 / 3600 == 10  # traffic intensity
    assert m.prob_wait == pytest.approx(0.1741319, abs=5e-8)
    assert m.service_level == pytest.approx(0.88835, abs=5e-6)
    assert m.mean_wait_seconds == pytest.approx(7.83593701177724, abs=1e-9)
    assert 1 - m.prob_wait == pytest.approx(0.8258681, abs=5e-8)  # immediate answer
    # calculate_agents' process table starts at 11 agents:
    assert erlang_c(200.0, 20.0, 11) == pytest.approx(0.6821182, abs=5e-8)
    assert counters_needed(200, 180, target_wait=20, target_share=0.8,
                           max_occupancy=0.85) == 14


def test_erlang_b_recursion_equals_the_textbook_sum():
    # B(a, n) = (a^n / n!) / sum_k a^k / k!, written out for small n.
    for load, n in [(2.0, 3), (10.0, 11), (7.5, 10)]:
        direct = (load**n / math.factorial(n)) / sum(load**k / math.factorial(k)
                                                     for k in range(n + 1))
        assert erlang_b(load, n) == pytest.approx(direct, rel=1e-12)


def test_erlang_c_stays_finite_for_many_counters():
    # factorials overflow a float beyond 170 counters; the recursion does not
    p = erlang_c(950.0, 1.0, 1000)
    assert 0.0 < p < 0.2


def test_overloaded_erlang_c_is_unstable():
    m = wait_metrics(100, 180, 5, target_wait=600)  # load 5 erlangs on 5 counters
    assert not m.stable
    assert m.prob_wait == 1.0 and m.service_level == 0.0 and math.isinf(m.mean_wait_seconds)
    assert m.to_dict()["mean_wait_seconds"] is None
    assert counters_needed(100, 180, target_wait=600, target_share=0.8) >= 6


def test_no_arrivals_need_no_counters():
    assert counters_needed(0, 300, target_wait=600) == 0
    m = wait_metrics(0, 300, 2, target_wait=600, patience_seconds=600)
    assert m.service_level == 1.0 and m.prob_wait == 0.0


def test_user_mistakes_are_procmine_errors():
    with pytest.raises(ProcmineError):
        wait_metrics(10, 0, 2)
    with pytest.raises(ProcmineError):
        wait_metrics(10, 300, 2, patience_seconds=-5)
    with pytest.raises(ProcmineError):
        counters_needed(10, 300, target_share=1.5)


# -- Erlang A: published figures and an independent computation ----------------------------------


def test_erlang_a_matches_pyworkforce_0_5_4s_published_figures():
    # pyworkforce 0.5.4, pyworkforce/queuing/tests/test_abandonment.py,
    # test_erlanga_regression_metrics: ErlangA(transactions=100, aht=3, asa=20/60, interval=30,
    # patience=5), 14 positions; rounded there as here.
    m = wait_metrics(200, 180, 14, target_wait=20, patience_seconds=300)
    assert m.model == "erlang_a"
    assert round(m.prob_wait, 5) == 0.14526
    assert round(m.abandon_share, 6) == 0.013984
    assert round(m.occupancy, 6) == 0.704297
    assert round(m.mean_wait_seconds / 60, 6) == 0.069919
    assert round(m.service_level, 6) == 0.916792



def _chain(lam, mu, n, theta, target):
    """The M/M/n+M birth-death chain solved with numpy; the waits of an arrival found by an
    absorbing chain per number of customers ahead."""
    size = n + 400
    k = np.arange(size)
    death = np.minimum(k, n) * mu + np.maximum(k - n, 0) * theta
    log_pi = np.concatenate([[0.0], np.cumsum(np.log(lam) - np.log(death[1:]))])
    pi = np.exp(log_pi - log_pi.max())
    pi /= pi.sum()
    assert pi[-1] < 1e-14  # truncation is harmless
    queued = np.maximum(k - n, 0)
    prob_wait = pi[n:].sum()
    abandon = theta * (queued * pi).sum() / lam
    mean_wait = (queued * pi).sum() / lam
    # A waiting customer with i ahead: i -> i-1 at n·mu + i·theta (a counter frees or someone
    # ahead gives up), gives up at theta, and from i = 0 is served at n·mu.
    ahead = size - n
    q = np.zeros((ahead + 2, ahead + 2))  # states 0..ahead-1, then served, abandoned
    served, gone = ahead, ahead + 1
    for i in range(ahead):
        if i == 0:
            q[i, served] = n * mu
        else:
            q[i, i - 1] = n * mu + i * theta
        q[i, gone] = theta
        q[i, i] = -q[i].sum()
    within = expm(q * target)[:ahead, served]
    transient = -q[:ahead, :ahead]
    p_served = solve(transient, q[:ahead, served])
    served_time = solve(transient, p_served)  # E[T 1{served}] per start state
    # an arrival finding k >= n present has k - n ahead
    weights = pi[n:n + ahead]
    level = pi[:n].sum() + (weights * within).sum()
    mean_served_wait = (weights * served_time).sum() / (1 - abandon)
    return {"prob_wait": prob_wait, "abandon_share": abandon, "mean_wait": mean_wait,
            "service_level": level, "mean_wait_served": mean_served_wait}


CASES = [
    # per second: arrivals, service rate, counters, abandonment rate, target (s)
    (40 / 3600, 1 / 360, 5, 1 / 600, 600),   # a branch at lunch, patience 10 minutes
    (40 / 3600, 1 / 360, 3, 1 / 600, 600),   # overloaded: Erlang C would be unstable
    (12 / 3600, 1 / 300, 1, 1 / 900, 300),   # one window
    (200 / 3600, 1 / 180, 9, 1 / 120, 20),   # the call-centre example, impatient callers
    (1.0, 1.0, 10, 0.05, 0.5),                # long patience against the service
    (2.0, 1.0, 1, 4.0, 0.1),                  # quick to give up, heavily overloaded
]


@pytest.mark.parametrize(("lam", "mu", "n", "theta", "target"), CASES)
def test_erlang_a_matches_the_birth_death_chain(lam, mu, n, theta, target):
    exact = erlang_a(lam, mu, n, theta, target)
    chain = _chain(lam, mu, n, theta, target)
    for key in ("prob_wait", "abandon_share", "service_level"):
        assert exact[key] == pytest.approx(chain[key], abs=1e-9), key
    assert exact["mean_wait"] == pytest.approx(chain["mean_wait"], rel=1e-8)
    assert exact["mean_wait_served"] == pytest.approx(chain["mean_wait_served"], rel=1e-6)


def test_erlang_a_with_patience_equal_to_service_is_poisson():
    # θ = μ: every customer present leaves at rate μ, so the number present is Poisson(λ/μ).
    lam, mu, n = 3.0, 1.0, 4
    out = erlang_a(lam, mu, n, mu)
    poisson = [math.exp(-lam) * lam**k / math.factorial(k) for k in range(80)]
    assert out["prob_wait"] == pytest.approx(1 - sum(poisson[:n]), abs=1e-12)
    queued = sum((k - n) * p for k, p in enumerate(poisson) if k > n)
    assert out["abandon_share"] == pytest.approx(mu * queued / lam, abs=1e-12)


@pytest.mark.parametrize("patience", [1e5, 1e6, 1e7])
def test_erlang_a_tends_to_erlang_c_as_patience_grows(patience):
    c = wait_metrics(200, 180, 12, target_wait=20)
    a = wait_metrics(200, 180, 12, target_wait=20, patience_seconds=patience)
    assert a.model == "erlang_a"
    tolerance = 300 / patience  # the gap shrinks like θ
    assert a.prob_wait == pytest.approx(c.prob_wait, abs=tolerance)
    assert a.service_level == pytest.approx(c.service_level, abs=tolerance)
    assert a.mean_wait_seconds == pytest.approx(c.mean_wait_seconds, rel=tolerance * 10)
    assert a.abandon_share == pytest.approx(0.0, abs=tolerance)


def test_erlang_a_is_stable_where_erlang_c_is_not():
    a = wait_metrics(100, 180, 4, target_wait=600, patience_seconds=600)
    assert a.stable and math.isfinite(a.mean_wait_seconds)
    assert 0.0 < a.abandon_share < 1.0
    # the counters serve what they can: occupancy below 1, served = arrivals - leavers
    assert a.occupancy == pytest.approx(100 * 180 / 3600 * (1 - a.abandon_share) / 4)


def test_erlang_a_needs_fewer_counters_than_erlang_c():
    c = counters_needed(60, 300, target_wait=120, target_share=0.8)
    a = counters_needed(60, 300, target_wait=120, target_share=0.8, patience_seconds=300)
    assert a <= c


# -- properties ----------------------------------------------------------------------------------

rates = st.floats(min_value=1.0, max_value=200.0)
services = st.floats(min_value=30.0, max_value=1200.0)
patiences = st.one_of(st.none(), st.floats(min_value=30.0, max_value=3600.0))


@settings(max_examples=60, deadline=None)
@given(rates, services, patiences, st.integers(min_value=1, max_value=30),
       st.floats(min_value=0.0, max_value=900.0))
def test_more_counters_never_make_things_worse(per_hour, service, patience, n, target):
    fewer = wait_metrics(per_hour, service, n, target_wait=target, patience_seconds=patience)
    more = wait_metrics(per_hour, service, n + 1, target_wait=target, patience_seconds=patience)
    assert more.service_level >= fewer.service_level - 1e-9
    assert more.prob_wait <= fewer.prob_wait + 1e-9
    assert more.abandon_share <= fewer.abandon_share + 1e-9
    assert more.mean_wait_seconds <= fewer.mean_wait_seconds + 1e-6
    for m in (fewer, more):
        assert 0.0 <= m.service_level <= 1.0 and 0.0 <= m.prob_wait <= 1.0
        assert 0.0 <= m.occupancy <= 1.0


@settings(max_examples=40, deadline=None)
@given(rates, services, patiences, st.floats(min_value=0.5, max_value=0.95))
def test_counters_needed_is_the_fewest_that_meet_the_target(per_hour, service, patience, share):
    n = counters_needed(per_hour, service, target_wait=300, target_share=share,
                        patience_seconds=patience)
    met = wait_metrics(per_hour, service, n, target_wait=300, patience_seconds=patience)
    assert met.service_level >= share
    if n > 1:
        short = wait_metrics(per_hour, service, n - 1, target_wait=300,
                             patience_seconds=patience)
        assert short.service_level < share
