"""The numbers of the demo simulation: the counter day, arrivals, waits, noise and rates.

The counter is open 08:30-17:00; customers arrive more at the opening rush, at lunch and after
16h (:data:`ARRIVALS`, per half hour); the ticket is taken minutes before the call, longer at
peaks (:data:`WAIT_MINUTES`), shorter at VIP and corporate windows. At peaks VIP windows serve
more mass customers, and affluent customers take a regular window more often
(:data:`~procmine.demo.profiles.PEAK_VIP_PROB`). Tellers take a 40-minute lunch break between
11:00 and 14:00, staggered, except at the first branch (B01), whose tellers all go between 11:45
and 12:15: that branch is short at lunch. A step takes lognormal time
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
# Customer arrivals per half hour from 08:30: three peaks, the opening rush (09:00-10:30), lunch
# (12:00-13:30: customers on their own lunch break) and the late afternoon (16:00-17:00).
ARRIVALS: Final[tuple[float, ...]] = (
    1.15, 1.45, 1.5, 1.4, 1.2, 0.9, 0.95, 1.3, 1.35, 1.25, 0.85, 0.75, 0.8, 0.95, 1.1, 1.35, 1.3,
)  # fmt: skip
# Median ticket-to-call wait in minutes by half hour of the planned call: it grows at the peaks.
WAIT_MINUTES: Final[tuple[float, ...]] = (
    5, 10, 14, 16, 13, 7, 7, 11, 13, 11, 6, 4, 4, 6, 8, 12, 14,
)  # fmt: skip
#: A half hour is a peak when its arrivals are at least this (the VIP windows then help out).
PEAK_ARRIVALS: Final[float] = 1.25
#: Lunch breaks: the first break starts this long after opening, spread over this long; the
#: branch short at lunch (:data:`LUNCH_SHORT_BRANCH`, the first) sends its tellers together.
LUNCH_START_MS: Final[int] = int(2.5 * 3600 * 1000)  # 11:00
LUNCH_SPREAD_MS: Final[int] = int(2.75 * 3600 * 1000)  # to 13:45
LUNCH_SHORT_BRANCH: Final[int] = 0
LUNCH_SHORT_START_MS: Final[int] = int(3.25 * 3600 * 1000)  # 11:45
LUNCH_SHORT_SPREAD_MS: Final[int] = 30 * 60 * 1000  # to 12:15
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



def peak_hours() -> list[str]:
    """The arrival peaks (runs of half hours with :data:`PEAK_ARRIVALS` or more), as
    ``HH:MM-HH:MM``.

    >>> peak_hours()
    ['09:00-10:30', '12:00-13:30', '16:00-17:00']
    """
    def clock(half_hours: int) -> str:
        minutes = OPEN_SECONDS // 60 + 30 * half_hours
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    runs: list[str] = []
    start = None
    for i, level in enumerate((*ARRIVALS, 0.0)):
        if level >= PEAK_ARRIVALS and start is None:
            start = i
        elif level < PEAK_ARRIVALS and start is not None:
            runs.append(f"{clock(start)}-{clock(i)}")
            start = None
    return runs
