"""When a conditional SOP step is required: a condition a machine can check on a transaction.

An SOP step's ``when`` is text for the teller ("cash amount >= 50000, or over the teller's
authority"); its ``required_when`` says, in a small grammar, on which transactions the step is
required, so that conformance checking can tell a skipped control step from a step that did not
apply. A condition is one or more clauses joined by ``and``; a clause compares a field of the
transaction (:data:`CONDITION_FIELDS`: its amount, window type or customer segment) with a value::

    amount >= 50000
    amount >= 50000 and window_type = vip

Operators: ``>=``, ``>``, ``<=``, ``<``, ``=``, ``!=`` (text fields: ``=`` and ``!=`` only). A
transaction whose field is unknown (no amount in the log) does not meet the clause: the step is
then optional for it, never reported as skipped on a guess.

Example:
    >>> c = parse_condition("amount >= 50000")
    >>> c.holds({"amount": 60000.0}), c.holds({"amount": 100.0}), c.holds({})
    (True, False, False)
    >>> c.sql()
    '(coalesce(amount >= 50000, false))'

In words, for a page (:func:`condition_text`: field names and known values from the catalogue):

    >>> condition_text("amount >= 50000 and window_type = vip", "zh-CN")
    '金额 ≥ 50,000 且 窗口类型 = VIP 窗口'
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from procmine.app.i18n import t
from procmine.core.sql import lit

__all__ = ["CONDITION_FIELDS", "Condition", "condition_text", "parse_condition"]

#: The fields a condition can test, and their kind.
CONDITION_FIELDS: Final[dict[str, str]] = {
    "amount": "number", "window_type": "text", "segment": "text",
}

_CLAUSE: Final = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|!=|=|>|<)\s*(\S+)\s*$")
_SIGNS: Final[dict[str, str]] = {">=": "≥", "<=": "≤", "!=": "≠", ">": ">", "<": "<", "=": "="}
# the catalogue's names of a text field's known values, by field
_VALUE_KEYS: Final[dict[str, str]] = {
    "window_type": "condition.window_type.", "segment": "segments.",
}
_OPERATORS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
    "=": operator.eq, "!=": operator.ne,
}


@dataclass(frozen=True)
class Condition:
    """A parsed ``required_when``: clauses (field, operator, value), all of which must hold."""

    text: str
    clauses: tuple[tuple[str, str, float | str], ...]

    def holds(self, case: Mapping[str, Any]) -> bool:
        """Whether a transaction (its fields by name) meets every clause; an unknown field
        (missing, None or NaN) meets none."""
        for name, op, wanted in self.clauses:
            got = case.get(name)
            if got is None or (isinstance(got, float) and got != got):
                return False
            if not _OPERATORS[op](got, wanted):
                return False
        return True

    def sql(self) -> str:
        """The condition as a SQL boolean over a relation with the fields as columns (NULL
        fields make it false)."""
        parts = []
        for name, op, wanted in self.clauses:
            value = f"{wanted:g}" if isinstance(wanted, float) else lit(str(wanted))
            parts.append(f"coalesce({name} {'<>' if op == '!=' else op} {value}, false)")
        return "(" + " AND ".join(parts) + ")"


def parse_condition(text: str) -> Condition:
    """Parse a ``required_when`` condition; a ValueError says what is wrong with it.

    Example:
        >>> parse_condition("amount >= 50000 and window_type = vip").clauses
        (('amount', '>=', 50000.0), ('window_type', '=', 'vip'))
        >>> parse_condition("cash >= 50000")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: 'cash >= 50000' is not a condition: write FIELD OP VALUE (e.g. amount ...
    """
    clauses: list[tuple[str, str, float | str]] = []
    hint = (f"write FIELD OP VALUE (e.g. amount >= 50000), FIELD one of "
            f"{', '.join(CONDITION_FIELDS)}")
    for part in re.split(r"\s+and\s+", text.strip()):
        match = _CLAUSE.match(part)
        if not match or match.group(1) not in CONDITION_FIELDS:
            raise ValueError(f"{text!r} is not a condition: {hint}")
        name, op, raw = match.groups()
        if CONDITION_FIELDS[name] == "number":
            try:
                clauses.append((name, op, float(raw)))
            except ValueError:
                raise ValueError(f"{text!r}: {name} compares with a number, not {raw!r}") from None
        elif op not in ("=", "!="):
            raise ValueError(f"{text!r}: {name} is text; compare it with = or !=")
        else:
            clauses.append((name, op, raw))
    return Condition(text=text.strip(), clauses=tuple(clauses))


def _value_text(name: str, value: float | str, lang: str) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,}"
    key = _VALUE_KEYS.get(name, "") + value
    text = t(key, lang)
    return value if text == key else text


def condition_text(expr: str | Condition, lang: str = "zh-CN") -> str:
    """A ``required_when`` in words for a reader in ``lang``: field names and known values from
    the catalogue, signs for the operators, amounts grouped; an unknown value stays as written,
    and a text that is not a condition is returned as it is.

    Example:
        >>> condition_text("amount >= 50000 and window_type = vip", "en")
        'amount ≥ 50,000 and window type = VIP window'
        >>> condition_text("segment != gold", "zh-CN")
        '客户分层 ≠ gold'
    """
    try:
        condition = expr if isinstance(expr, Condition) else parse_condition(expr)
    except ValueError:
        return str(expr)
    parts = [f"{t('condition.field.' + name, lang)} {_SIGNS[op]} {_value_text(name, value, lang)}"
             for name, op, value in condition.clauses]
    return f" {t('condition.and', lang)} ".join(parts)
