"""The numbers of the demo simulation: the counter day, arrivals, waits, noise and rates.

The counter is open 08:30-17:00; customers arrive more at 10-11h and after 16h
(:data:`ARRIVALS`, per half hour); the ticket is taken minutes before the call, longer at peaks
(:data:`WAIT_MINUTES`), shorter at VIP and corporate windows. A step takes lognormal time
(sigma :data:`STEP_SIGMA`) around its template seconds, and a whole transaction varies too
(:data:`TXN_SIGMA`). About 1.5% of transactions are errors (60% of them with a reversal), 3%
repeat one step, 1% skip one, 3% need the supervisor without a large amount.

From these the plan derives what a transaction of a type costs on average: its expected rows
(:func:`expected_rows`) and how long it keeps the teller busy (:func:`expected_occupancy`),
used to size windows, the calendar and the chunks before anything is drawn.

Example:
    >>> from procmine.core.baseline import load_baseline
    >>> from procmine.demo.profiles import profile_for
    >>> from procmine.demo.steps import template
    >>> baseline = load_baseline()
    >>> round(expected_rows(template("P13", baseline), profile_for("P13", baseline)), 3)
    6.02
"""

from __future__ import annotations

import math
from datetime import date
from typing import Final

from procmine.core.amounts import LARGE_AMOUNT
from procmine.demo.activities import AUTHORIZE
from procmine.demo.profiles import ALWAYS, AUTH, CASH, LARGE, LARGE_CASH, REVERSAL, Profile
from procmine.demo.steps import Slot

OPEN_SECONDS: Final[int] = 8 * 3600 + 30 * 60  # 08:30
DAY_MS: Final[int] = (17 * 3600 - OPEN_SECONDS) * 1000  # counter open until 17:00
BIN_MS: Final[int] = 30 * 60 * 1000
# Customer arrivals per half hour from 08:30 (peaks at 10-11h and after 16h, lunch dip).
ARRIVALS: Final[tuple[float, ...]] = (
    0.7, 0.9, 1.1, 1.45, 1.5, 1.2, 1.0, 0.7, 0.6, 0.7, 0.9, 1.0, 1.0, 1.0, 1.1, 1.35, 1.15,
)  # fmt: skip
# Median ticket-to-call wait in minutes by half hour of the call.
WAIT_MINUTES: Final[tuple[float, ...]] = (
    3, 5, 7, 12, 15, 12, 9, 6, 5, 5, 6, 7, 7, 8, 9, 13, 15,
)  # fmt: skip
WINDOW_WAIT_FACTOR: Final[tuple[float, float, float]] = (1.0, 0.35, 0.5)
TARGET_UTILISATION: Final[float] = 0.8
BREAK_MS: Final[float] = 40 * 60 * 1000
STEP_SIGMA: Final[float] = 0.35
TXN_SIGMA: Final[float] = 0.12
ERROR_RATE: Final[float] = 0.015
REVERSAL_SHARE: Final[float] = 0.6
REWORK_RATE: Final[float] = 0.03
SKIP_RATE: Final[float] = 0.01
AUTH_RATE: Final[float] = 0.03
CHUNK_ROWS: Final[int] = 400_000
MIN_CASES_FOR_SLOW: Final[float] = 40.0
BIG: Final[int] = 10**10
MAX_DRIFT: Final[float] = 0.12  # a teller's speed moves at most about 12% over the span
EPOCH: Final[date] = date(1970, 1, 1)
# Fixed-date public holidays: branches open on a weekend schedule (corporate counters closed).
HOLIDAYS: Final[frozenset[tuple[int, int]]] = frozenset(
    {(1, 1), *((5, d) for d in range(1, 6)), *((10, d) for d in range(1, 8))}
)


def _norm_sf(x: float) -> float:
    return 0.5 * math.erfc(x / math.sqrt(2.0))


def _p_large(profile: Profile) -> float:
    """The probability of an amount of 50,000 CNY or more (lognormal above the minimum)."""
    if profile.amount is None:
        return 0.0
    median, sigma, minimum, _ = profile.amount
    if minimum >= LARGE_AMOUNT:
        return 1.0
    return _norm_sf(math.log((LARGE_AMOUNT - minimum) / median) / sigma)


def slot_probabilities(slots: list[Slot], profile: Profile) -> list[float]:
    """The probability that each slot of a template occurs in a transaction."""
    p_large = _p_large(profile)
    p_cond = {
        ALWAYS: 1.0,
        CASH: profile.cash,
        LARGE: p_large,
        LARGE_CASH: profile.cash * p_large,
        AUTH: 1 - (1 - profile.cash * p_large) * (1 - AUTH_RATE),
        REVERSAL: ERROR_RATE * REVERSAL_SHARE,
    }
    return [p_cond[s.cond] for s in slots]


def expected_rows(slots: list[Slot], profile: Profile) -> float:
    """Mean event rows of a transaction: its slots, plus rework, minus skipped steps."""
    return sum(slot_probabilities(slots, profile)) + REWORK_RATE - SKIP_RATE


def expected_occupancy(slots: list[Slot], profile: Profile) -> float:
    """Mean seconds a transaction keeps the teller busy: steps, gaps, supervisor wait, turnover."""
    noise = math.exp((STEP_SIGMA**2 + TXN_SIGMA**2) / 2)
    total = 9.0  # call to first step, and turnover to the next call
    for slot, p in zip(slots, slot_probabilities(slots, profile), strict=True):
        wait = 40 * math.exp(0.7**2 / 2) if slot.activity == AUTHORIZE else 2.2
        total += p * (slot.seconds * noise + wait)
    return total

