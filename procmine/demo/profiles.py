"""Business type profiles of the demo log: how common a type is, its steps, customers and amounts.

The profiles are data, ``profiles.csv`` in this package, one row per business type of the
bundled baseline (P01-P40 personal, C41-C58 corporate), one per baseline group (``group:NAME``,
for the types of a bank's own baseline that are not among the 58) and one ``default`` (a type
whose group has no row). The columns:

* ``weight``: the type's share of transactions, in percent (normalised over the baseline's types);
* ``segment``: the customer mix: ``personal``, ``pension``, ``wealth`` or ``corporate`` (see
  :data:`SEGMENT_MIX`); corporate types go to corporate windows, affluent and private customers
  mostly to VIP windows;
* ``cash``: the probability that cash is handled (0 to 1);
* ``amount_median``, ``amount_sigma``, ``amount_minimum``, ``amount_unit``: the amount in CNY is
  ``minimum + median * exp(sigma * z)`` rounded to the unit; all four empty for types without an
  amount;
* ``steps``: the activity tokens (``activities.csv``) between the skeleton's opening ("call greet
  ask") and closing ("seeoff"). ``token?c`` occurs only with cash, ``token?lc`` only with cash of
  50,000 CNY or more, ``token?l`` only for an amount of 50,000 CNY or more, ``token?a`` only when
  the transaction needs the supervisor; a reversal may follow "enter" after an error.

A bad file is a :class:`~procmine.demo.datafile.DataFileError` naming the line and the field.

Example:
    >>> from procmine.core.baseline import load_baseline
    >>> p = profile_for("P17", load_baseline())
    >>> p.weight, p.cash, p.amount
    (25.0, 1.0, (5000.0, 1.3, 0.0, 1.0))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from procmine.core.baseline import Baseline
from procmine.demo.activities import CONDITIONAL_SECONDS, TOKENS
from procmine.demo.datafile import DataFileError, Table, number, read_table, text

__all__ = ["PEAK_VIP_PROB", "SEGMENTS", "VIP_PROB", "WINDOW_TYPES", "Profile", "load_profiles",
           "profile_for"]

SEGMENTS: Final[tuple[str, ...]] = ("mass", "affluent", "private", "corporate")
WINDOW_TYPES: Final[tuple[str, ...]] = ("regular", "vip", "corporate")
#: Share of each customer segment (mass, affluent, private, corporate) by profile segment.
SEGMENT_MIX: Final[dict[str, tuple[float, float, float, float]]] = {
    "personal": (0.78, 0.17, 0.05, 0.0),
    "pension": (0.95, 0.05, 0.0, 0.0),
    "wealth": (0.35, 0.45, 0.20, 0.0),
    "corporate": (0.0, 0.0, 0.0, 1.0),
}
#: Probability that a customer of each segment is served at a VIP window.
VIP_PROB: Final[tuple[float, float, float, float]] = (0.03, 0.5, 0.9, 0.0)
#: The same at peaks: VIP windows take more mass customers while affluent ones take a regular
#: window more often (about the same VIP workload, other customers).
PEAK_VIP_PROB: Final[tuple[float, float, float, float]] = (0.08, 0.3, 0.9, 0.0)

# Step conditions: when a step of a type's template occurs.
ALWAYS, CASH, LARGE_CASH, LARGE, AUTH, REVERSAL = range(6)
COND_SUFFIX: Final[dict[str, int]] = {"c": CASH, "lc": LARGE_CASH, "l": LARGE, "a": AUTH}


@dataclass(frozen=True)
class Profile:
    """One row of ``profiles.csv``."""

    weight: float  # share of transactions, in percent (normalised over the baseline's types)
    steps: str  # tokens between "call greet ask" and "seeoff"; "token?c|lc|l|a" is conditional
    segment: str = "personal"
    cash: float = 0.0  # probability that cash is handled
    amount: tuple[float, float, float, float] | None = None  # median, sigma, minimum, unit (CNY)


@dataclass(frozen=True)
class Profiles:
    """The profiles by business type, by baseline group, and the default."""

    by_type: dict[str, Profile]
    by_group: dict[str, Profile]
    default: Profile


_COLUMNS: Final[tuple[str, ...]] = (
    "profile", "weight", "segment", "cash", "amount_median", "amount_sigma", "amount_minimum",
    "amount_unit", "steps",
)
_AMOUNT: Final[tuple[str, ...]] = _COLUMNS[4:8]


def load_profiles(path: Path | None = None) -> Profiles:
    """Read and check ``profiles.csv`` (the bundled one when ``path`` is None).

    Example:
        >>> profiles = load_profiles()
        >>> len(profiles.by_type), sorted(profiles.by_group)[:2], profiles.default.weight
        (58, ['corporate', 'e_banking'], 0.3)
    """
    table = read_table("profiles.csv", _COLUMNS, path)
    by_type: dict[str, Profile] = {}
    by_group: dict[str, Profile] = {}
    default: Profile | None = None
    for line, row in table:
        key = text(table, line, row, "profile")
        profile = _profile_row(table, line, row)
        if key == "default":
            if default is not None:
                raise table.error(line, "profile", "'default' appears twice")
            default = profile
            continue
        kind, group = (by_group, key[6:]) if key.startswith("group:") else (by_type, key)
        if not group or group in kind:
            raise table.error(line, "profile", f"{key!r} is empty or appears twice")
        kind[group] = profile
    if default is None:
        raise DataFileError(f"{table.source}: the 'default' profile is missing")
    return Profiles(by_type, by_group, default)


def _profile_row(table: Table, line: int, row: dict[str, str]) -> Profile:
    segment = text(table, line, row, "segment")
    if segment not in SEGMENT_MIX:
        raise table.error(line, "segment", f"is {segment!r}, expected one of "
                          f"{', '.join(SEGMENT_MIX)}")
    given = [row[f] != "" for f in _AMOUNT]
    amount = None
    if any(given):
        if not all(given):
            missing = _AMOUNT[given.index(False)]
            raise table.error(line, missing, "is empty; give all four amount fields or none")
        amount = (
            number(table, line, row, "amount_median"),
            number(table, line, row, "amount_sigma"),
            number(table, line, row, "amount_minimum", inclusive=True),
            number(table, line, row, "amount_unit"),
        )
    return Profile(
        weight=number(table, line, row, "weight"),
        steps=_steps(table, line, row),
        segment=segment,
        cash=number(table, line, row, "cash", inclusive=True, maximum=1.0),
        amount=amount,
    )


def _steps(table: Table, line: int, row: dict[str, str]) -> str:
    steps = text(table, line, row, "steps")
    for token in steps.split():
        name, _, suffix = token.partition("?")
        if name not in TOKENS:
            raise table.error(line, "steps", f"names {name!r}, which is not a token of "
                              "activities.csv")
        if suffix and suffix not in COND_SUFFIX:
            raise table.error(line, "steps", f"has {token!r}: the condition after '?' should be "
                              f"one of {', '.join(COND_SUFFIX)}")
        if suffix and TOKENS[name] not in CONDITIONAL_SECONDS:
            raise table.error(line, "steps", f"has {token!r}, but {TOKENS[name]!r} has no "
                              "conditional_seconds in activities.csv")
    return steps


_PROFILES: Final[Profiles] = load_profiles()


def profile_for(code: str, baseline: Baseline) -> Profile:
    """The profile of business type ``code``: its own row, else its baseline group's, else the
    default."""
    if code in _PROFILES.by_type:
        return _PROFILES.by_type[code]
    return _PROFILES.by_group.get(baseline[code].group, _PROFILES.default)
