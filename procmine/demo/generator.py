"""Realistic demo event logs of bank counter transactions, with the truth they hide.

One row per step of a counter transaction, in the canonical columns of :mod:`procmine.core.schema`.
A transaction follows the generic counter skeleton (call the number, greet, ask the need, verify
the identity, review forms, count cash, enter, authorize, print, sign, stamp, see off) with the
steps of its business type; every step of a type has a share of the type's standard time.

How the log is simulated:

* **Branches and windows.** Every branch has regular, VIP and corporate windows, sized to their
  expected workload. Corporate types go to corporate windows; affluent and private customers
  mostly to VIP windows. Corporate windows are closed on Saturdays and on the fixed-date public
  holidays (1 Jan, 1-5 May, 1-7 Oct), when about half the other tellers work.
* **Tellers** have a speed factor (lognormal around 1.0, sd about 0.12) and a small monthly
  drift, so month-over-month comparisons show movement. A step takes lognormal time around
  ``standard * share * speed`` (sigma 0.35); customer steps (PIN entry, signing) depend less on
  the teller, the supervisor's and the second person's steps not at all.
* **Queue.** Customers arrive more at 10-11h and after 16h; a shared queue balances the work
  among the tellers of a window type; each teller serves one customer at a time and takes a
  lunch break, so a call waits for the previous customer (a single-server queue per teller-day,
  solved with cumulative sums). The ticket is taken minutes before the call, longer at peaks,
  shorter at VIP windows.
* **Conditions.** Cash of 50,000 CNY or more brings identity check, registration, a
  second-person recount and a supervisor's authorization; sensitive types always need the
  supervisor, other transactions sometimes (3%). The supervisor step is preceded by a wait for
  the supervisor.
* **Errors and deviations.** About 1.5% of transactions are errors (slower tellers make more),
  most with a "Reverse transaction" step; about 3% repeat one step (rework: two adjacent rows
  with the same activity); about 1% skip one non-essential step (greeting, asking, seeing off).
* **Injected slow steps** (the truth): a few teller x business type x step combinations are
  slowed 2.0-3.0 times, and one business type x step at every teller of one branch 2.0 times,
  on types common enough to be found (see ``truth.json``).
* **SOP revisions** (``DemoConfig.revisions``, listed in ``truth.json``): from a revision's
  effective date, one step of one business type takes ``factor`` times as long (0.7: 30% faster);
  branches may adopt it on dates of their own, so that a difference-in-differences against the
  branches not yet on it can be measured. No injected slow step falls on a revised step.
* **Calendar.** Business days Monday to Saturday, 08:30-17:00, over whole months from
  ``start``: at least two months, more when many events are asked for, so that tellers carry a
  realistic daily load. A small log keeps that daily load by sampling business days evenly
  across the two months instead of thinning every day (``truth["span"]["sampled_days"]``).

The activity names form a fixed vocabulary, :data:`ACTIVITIES`; SOP steps link to them.

The log bundled in ``event_logs/`` is :func:`bundled_demo_config` (200,000 events, seed 7, one
revision story), written by :data:`BUNDLED_DEMO_COMMAND`.

Example:
    >>> from procmine.demo.generator import DemoConfig, generate_demo_log
    >>> table, truth = generate_demo_log(DemoConfig(events=5_000, seed=1))
    >>> abs(table.num_rows - 5_000) < 500
    True
    >>> sorted(truth)[:3]
    ['config', 'events', 'generator']
"""

from __future__ import annotations

import bisect
import calendar
import json
import math
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from procmine.core.baseline import Baseline, load_baseline
from procmine.core.errors import ProcmineError
from procmine.core.schema import CANONICAL_COLUMNS

__all__ = [
    "ACTIVITIES",
    "ACTIVITY_NAMES",
    "BUNDLED_DEMO_COMMAND",
    "Activity",
    "DemoConfig",
    "DemoError",
    "DemoResult",
    "Revision",
    "Step",
    "bundled_demo_config",
    "generate_demo_log",
    "parse_revision",
    "steps_for_type",
    "write_bundled_demo",
    "write_demo_data",
]

_Arr = npt.NDArray[Any]


class DemoError(ProcmineError):
    """The demo generator cannot run with the given settings; the message says which and why."""


# --------------------------------------------------------------------------------------------------
# The activity vocabulary
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Activity:
    """One step name of the vocabulary: Chinese name, who performs it, what happens."""

    name_zh: str
    actor: str  # "teller" | "customer" | "supervisor" | "second_staff"
    description: str


#: The fixed vocabulary of step (activity) names, in the order of the generic counter skeleton.
#: SOP steps link to these names; do not rename an entry, add a new one instead.
ACTIVITIES: Final[dict[str, Activity]] = {
    "Call number": Activity("叫号", "teller", "Call the next ticket and invite the customer."),
    "Greet and check ticket": Activity(
        "迎客验号", "teller", "Greet the customer, check the ticket."
    ),
    "Ask need": Activity("询问需求", "teller", "Ask what the customer needs; take the documents."),
    "Verify identity": Activity(
        "身份核验",
        "teller",
        "Take the ID with both hands, read it on the card reader, run the online ID check against "
        "the national register, compare the face.",
    ),
    "Read card or passbook": Activity("读卡/刷折", "teller", "Read the card chip or the passbook."),
    "Customer due diligence": Activity(
        "客户尽职调查",
        "teller",
        "Know-your-customer and anti-money-laundering checks: purpose of the account or payment, "
        "source of funds, willingness to open.",
    ),
    "Anti-fraud check": Activity(
        "反诈核实",
        "teller",
        "Ask about the purpose of the cash or transfer; warn of telecom fraud.",
    ),
    "Check FX quota": Activity(
        "核查结售汇额度", "teller", "Check the customer's annual foreign-exchange quota."
    ),
    "Risk assessment": Activity(
        "风险测评", "customer", "Risk-tolerance questionnaire and suitability match of the product."
    ),
    "Dual recording (audio-video)": Activity(
        "双录", "teller", "Audio-video recording of the product sale and the risk disclosure."
    ),
    "Review forms": Activity("审核单据", "teller", "Review the application form, voucher or bill."),
    "Verify seal impression": Activity(
        "验印", "teller", "Compare the seal on the voucher with the reserved seal impression."
    ),
    "Verify payment password": Activity(
        "核验支付密码", "teller", "Check the corporate payment password on the voucher."
    ),
    "Scan documents": Activity("影像扫描", "teller", "Scan the documents into the image system."),
    "Count cash": Activity(
        "点钞", "teller", "Count the cash in the customer's view and announce the amount."
    ),
    "Second-person recount": Activity(
        "双人复点", "second_staff", "A second staff member recounts (cash of 50,000 CNY or more)."
    ),
    "Register large cash": Activity(
        "大额现金登记", "teller", "Register a cash transaction of 50,000 CNY or more."
    ),
    "Stamp confiscated notes": Activity(
        "加盖假币戳记", "teller", "Two staff stamp the counterfeit notes as confiscated."
    ),
    "Enter transaction": Activity(
        "录入交易", "teller", "Enter the transaction in the core system."
    ),
    "Reverse transaction": Activity(
        "冲正", "teller", "Reverse an erroneous entry (the transaction is re-entered)."
    ),
    "PIN entry": Activity("客户输密", "customer", "The customer enters the PIN on the pad."),
    "Supervisor authorization": Activity(
        "主管授权",
        "supervisor",
        "Local or remote authorization by the supervisor (over the teller's limit or sensitive); "
        "preceded by a wait for the supervisor.",
    ),
    "Issue card": Activity("发卡", "teller", "Hand over the new card."),
    "Issue passbook or certificate": Activity(
        "发放存折/存单/证明", "teller", "Hand over the passbook, certificate of deposit or bond."
    ),
    "Issue USB key": Activity("发放U盾", "teller", "Issue and bind the e-banking USB key."),
    "Issue blank vouchers": Activity(
        "出售凭证", "teller", "Hand over the cheque book or vouchers."
    ),
    "Set up e-banking": Activity(
        "协助开通电子银行", "teller", "Guide the customer through the e-banking set-up."
    ),
    "Update passbook": Activity("补登存折", "teller", "Print the pending entries in the passbook."),
    "Print statement": Activity(
        "打印流水/回单", "teller", "Print the statement, history or receipts."
    ),
    "Cancel card or passbook": Activity(
        "剪卡/销折", "teller", "Cut the old card or cancel the passbook."
    ),
    "Counterfeit confiscation certificate": Activity(
        "开具假币收缴凭证", "teller", "Issue the counterfeit confiscation certificate."
    ),
    "Print voucher": Activity("打印凭证", "teller", "Print the voucher or receipt."),
    "Customer signs": Activity("客户签字确认", "customer", "The customer checks and signs."),
    "Check signature and stamp": Activity(
        "核对签字并盖章", "teller", "Check the signature, stamp the voucher."
    ),
    "See off": Activity("送别客户", "teller", "Return the documents, thank, see off."),
}

#: Activity names in vocabulary order (the integer codes used inside the generator).
ACTIVITY_NAMES: Final[tuple[str, ...]] = tuple(ACTIVITIES)
_ACT: Final[dict[str, int]] = {name: i for i, name in enumerate(ACTIVITY_NAMES)}

# Short tokens for the step lists below.
_TOKENS: Final[dict[str, str]] = {
    "call": "Call number",
    "greet": "Greet and check ticket",
    "ask": "Ask need",
    "id": "Verify identity",
    "card": "Read card or passbook",
    "cdd": "Customer due diligence",
    "fraud": "Anti-fraud check",
    "fxquota": "Check FX quota",
    "risk": "Risk assessment",
    "dualrec": "Dual recording (audio-video)",
    "forms": "Review forms",
    "seal": "Verify seal impression",
    "paypwd": "Verify payment password",
    "scan": "Scan documents",
    "count": "Count cash",
    "recount": "Second-person recount",
    "register": "Register large cash",
    "cfstamp": "Stamp confiscated notes",
    "enter": "Enter transaction",
    "reverse": "Reverse transaction",
    "pin": "PIN entry",
    "auth": "Supervisor authorization",
    "issuecard": "Issue card",
    "issuedoc": "Issue passbook or certificate",
    "usbkey": "Issue USB key",
    "vouchers": "Issue blank vouchers",
    "ebank": "Set up e-banking",
    "passbook": "Update passbook",
    "statement": "Print statement",
    "cancel": "Cancel card or passbook",
    "cfcert": "Counterfeit confiscation certificate",
    "print": "Print voucher",
    "sign": "Customer signs",
    "stamp": "Check signature and stamp",
    "seeoff": "See off",
}

# Step conditions.
_ALWAYS, _CASH, _LARGE_CASH, _LARGE, _AUTH, _REVERSAL = range(6)
_COND_SUFFIX: Final[dict[str, int]] = {"c": _CASH, "lc": _LARGE_CASH, "l": _LARGE, "a": _AUTH}

LARGE_AMOUNT: Final[float] = 50_000.0

# Light steps take about this long whatever the type (seconds); capped to half the standard time.
_ANCHOR_SECONDS: Final[dict[str, float]] = {
    "Call number": 10,
    "Greet and check ticket": 5,
    "Ask need": 12,
    "Read card or passbook": 6,
    "PIN entry": 10,
    "Print voucher": 10,
    "Customer signs": 12,
    "Check signature and stamp": 8,
    "See off": 7,
}
# The rest of the standard time is shared among the work steps by these weights.
_WORK_WEIGHT: Final[dict[str, float]] = {
    "Verify identity": 5,
    "Customer due diligence": 5,
    "Anti-fraud check": 3,
    "Check FX quota": 2,
    "Risk assessment": 8,
    "Dual recording (audio-video)": 12,
    "Review forms": 5,
    "Verify seal impression": 4,
    "Verify payment password": 2,
    "Scan documents": 4,
    "Count cash": 6,
    "Second-person recount": 4,
    "Register large cash": 3,
    "Stamp confiscated notes": 3,
    "Enter transaction": 6,
    "Reverse transaction": 4,
    "Supervisor authorization": 3,
    "Issue card": 4,
    "Issue passbook or certificate": 3,
    "Issue USB key": 4,
    "Issue blank vouchers": 3,
    "Set up e-banking": 7,
    "Update passbook": 5,
    "Print statement": 5,
    "Cancel card or passbook": 2,
    "Counterfeit confiscation certificate": 4,
}
# Median seconds of a conditional step (not part of the type's standard path).
_COND_SECONDS: Final[dict[str, float]] = {
    "Verify identity": 40,
    "Anti-fraud check": 45,
    "Count cash": 45,
    "Second-person recount": 40,
    "Register large cash": 45,
    "Supervisor authorization": 35,
    "Reverse transaction": 75,
}
_SKIPPABLE: Final[frozenset[str]] = frozenset({"Greet and check ticket", "Ask need", "See off"})
_REWORKABLE: Final[frozenset[str]] = frozenset(
    {
        "Verify identity",
        "Read card or passbook",
        "Review forms",
        "Count cash",
        "Enter transaction",
        "PIN entry",
        "Update passbook",
        "Print statement",
        "Print voucher",
        "Customer signs",
    }
)
_ACTOR_EXPONENT: Final[dict[str, float]] = {
    "teller": 1.0,
    "customer": 0.3,
    "supervisor": 0.0,
    "second_staff": 0.0,
}

# --------------------------------------------------------------------------------------------------
# Business type profiles
# --------------------------------------------------------------------------------------------------

SEGMENTS: Final[tuple[str, ...]] = ("mass", "affluent", "private", "corporate")
WINDOW_TYPES: Final[tuple[str, ...]] = ("regular", "vip", "corporate")
_SEGMENT_MIX: Final[dict[str, tuple[float, float, float, float]]] = {
    "personal": (0.78, 0.17, 0.05, 0.0),
    "pension": (0.95, 0.05, 0.0, 0.0),
    "wealth": (0.35, 0.45, 0.20, 0.0),
    "corporate": (0.0, 0.0, 0.0, 1.0),
}
# Probability that a customer of each segment is served at a VIP window.
_VIP_PROB: Final[tuple[float, float, float, float]] = (0.03, 0.5, 0.9, 0.0)


@dataclass(frozen=True)
class _Profile:
    weight: float  # share of transactions, in percent (normalised over the baseline's types)
    steps: str  # tokens between "call greet ask" and "seeoff"; "token?c|lc|l|a" is conditional
    segment: str = "personal"
    cash: float = 0.0  # probability that cash is handled
    amount: tuple[float, float, float, float] | None = None  # median, sigma, minimum, unit (CNY)


_AUTH_TAIL = "auth?a print sign stamp"
_PROFILES: Final[dict[str, _Profile]] = {
    "P01": _Profile(1.5, "id cdd forms enter pin issuecard " + _AUTH_TAIL),
    "P02": _Profile(0.4, "id cdd forms enter pin issuedoc " + _AUTH_TAIL),
    "P03": _Profile(0.8, "id card forms pin enter auth cancel print sign stamp"),
    "P04": _Profile(0.4, "id enter " + _AUTH_TAIL),
    "P05": _Profile(0.3, "id forms enter " + _AUTH_TAIL),
    "P06": _Profile(0.6, "id forms enter pin issuecard " + _AUTH_TAIL),
    "P07": _Profile(0.3, "id forms enter pin " + _AUTH_TAIL),
    "P08": _Profile(1.2, "id card forms enter auth pin print sign stamp"),
    "P09": _Profile(1.2, "card pin enter " + _AUTH_TAIL),
    "P10": _Profile(1.2, "id card forms enter pin issuecard cancel " + _AUTH_TAIL),
    "P11": _Profile(1.5, "id forms enter " + _AUTH_TAIL),
    "P12": _Profile(0.1, "id forms scan enter auth print sign stamp"),
    "P13": _Profile(5.0, "card passbook"),
    "P14": _Profile(0.4, "id cdd forms enter auth pin print sign stamp"),
    "P15": _Profile(0.3, "id card forms enter auth?a print issuedoc sign stamp"),
    "P16": _Profile(2.0, "card pin enter statement stamp"),
    "P17": _Profile(
        25.0,
        "card id?lc count recount?lc register?lc enter " + _AUTH_TAIL,
        cash=1.0,
        amount=(5_000, 1.3, 0, 1),
    ),
    "P18": _Profile(
        20.0,
        "card id?lc fraud?lc register?lc enter pin auth?a print sign stamp count recount?lc",
        cash=1.0,
        amount=(5_000, 1.25, 0, 100),
    ),
    "P19": _Profile(
        1.0,
        "id card fraud forms register enter pin auth print sign stamp count recount",
        cash=1.0,
        amount=(40_000, 0.8, 50_000, 100),
    ),
    "P20": _Profile(
        1.5,
        "card forms id?lc count?c recount?lc enter pin auth?a issuedoc print sign stamp",
        cash=0.4,
        amount=(50_000, 0.9, 0, 100),
    ),
    "P21": _Profile(
        1.2,
        "card forms enter pin auth?a print sign stamp count?c recount?lc",
        cash=0.3,
        amount=(60_000, 0.9, 0, 0.01),
    ),
    "P22": _Profile(
        0.5,
        "id card forms enter pin auth print sign stamp count?c recount?lc",
        cash=0.3,
        amount=(40_000, 0.9, 0, 0.01),
    ),
    "P23": _Profile(
        0.2,
        "card forms id?lc count?c recount?lc enter pin auth?a issuedoc print sign stamp",
        cash=0.3,
        amount=(50_000, 0.7, 50_000, 100),
    ),
    "P24": _Profile(0.4, "count enter print", cash=1.0, amount=(300, 0.8, 0, 1)),
    "P25": _Profile(
        0.1,
        "id count recount cfstamp enter auth cfcert sign stamp",
        cash=1.0,
        amount=(100, 0.7, 0, 100),
    ),
    "P26": _Profile(4.0, "card forms id?l enter pin " + _AUTH_TAIL, amount=(10_000, 1.2, 0, 0.01)),
    "P27": _Profile(
        3.0, "card forms id?l fraud enter pin " + _AUTH_TAIL, amount=(20_000, 1.2, 0, 0.01)
    ),
    "P28": _Profile(
        6.0, "card forms count?c enter auth?a print", cash=0.5, amount=(200, 0.7, 0, 0.01)
    ),
    "P29": _Profile(
        1.5, "card forms count?c enter " + _AUTH_TAIL, cash=0.3, amount=(500, 1.0, 0, 0.01)
    ),
    "P30": _Profile(
        4.0,
        "card enter pin auth?a print sign stamp count",
        segment="pension",
        cash=1.0,
        amount=(2_500, 0.4, 0, 100),
    ),
    "P31": _Profile(0.8, "id card enter pin " + _AUTH_TAIL),
    "P32": _Profile(
        0.8,
        "id card risk dualrec forms enter pin " + _AUTH_TAIL,
        segment="wealth",
        amount=(100_000, 0.7, 10_000, 1_000),
    ),
    "P33": _Profile(
        0.5,
        "id card risk dualrec forms enter pin " + _AUTH_TAIL,
        segment="wealth",
        amount=(30_000, 1.0, 1_000, 100),
    ),
    "P34": _Profile(
        0.4,
        "id card forms count?c recount?lc enter pin auth?a issuedoc print sign stamp",
        segment="wealth",
        cash=0.3,
        amount=(50_000, 0.8, 100, 100),
    ),
    "P35": _Profile(
        0.4,
        "id card fxquota forms enter pin " + _AUTH_TAIL,
        segment="wealth",
        amount=(35_000, 0.6, 0, 0.01),
    ),
    "P36": _Profile(
        0.3,
        "id card count recount?lc enter pin " + _AUTH_TAIL,
        cash=1.0,
        amount=(15_000, 0.9, 0, 1),
    ),
    "P37": _Profile(
        0.1,
        "id card fxquota cdd forms fraud enter pin " + _AUTH_TAIL,
        segment="wealth",
        amount=(70_000, 0.8, 0, 0.01),
    ),
    "P38": _Profile(1.0, "id card forms enter pin ebank " + _AUTH_TAIL),
    "P39": _Profile(0.6, "card forms enter pin " + _AUTH_TAIL),
    "P40": _Profile(0.5, "id card forms enter pin " + _AUTH_TAIL),
    "C41": _Profile(0.1, "id forms cdd scan enter auth print sign stamp", segment="corporate"),
    "C42": _Profile(0.2, "id forms seal scan enter " + _AUTH_TAIL, segment="corporate"),
    "C43": _Profile(0.1, "id forms seal enter auth print sign stamp", segment="corporate"),
    "C44": _Profile(
        1.2,
        "forms count recount?lc register?lc enter " + _AUTH_TAIL,
        segment="corporate",
        cash=1.0,
        amount=(30_000, 1.0, 0, 1),
    ),
    "C45": _Profile(
        0.6,
        "id forms seal paypwd register?lc enter auth?a print sign stamp count recount?lc",
        segment="corporate",
        cash=1.0,
        amount=(20_000, 1.0, 0, 100),
    ),
    "C46": _Profile(
        0.6,
        "forms seal paypwd enter auth?a print stamp",
        segment="corporate",
        amount=(200_000, 1.3, 0, 0.01),
    ),
    "C47": _Profile(
        1.0,
        "forms seal paypwd enter auth?a print stamp",
        segment="corporate",
        amount=(300_000, 1.5, 0, 0.01),
    ),
    "C48": _Profile(
        0.15,
        "forms seal paypwd enter auth print sign stamp",
        segment="corporate",
        amount=(500_000, 1.0, 0, 0.01),
    ),
    "C49": _Profile(
        0.15,
        "forms seal scan enter auth print sign stamp",
        segment="corporate",
        amount=(1_000_000, 1.0, 0, 0.01),
    ),
    "C50": _Profile(
        0.2,
        "forms seal scan enter " + _AUTH_TAIL,
        segment="corporate",
        amount=(500_000, 1.0, 0, 0.01),
    ),
    "C51": _Profile(0.3, "forms seal enter statement stamp", segment="corporate"),
    "C52": _Profile(0.3, "id forms seal enter vouchers print sign stamp", segment="corporate"),
    "C53": _Profile(0.2, "id forms seal enter usbkey ebank " + _AUTH_TAIL, segment="corporate"),
    "C54": _Profile(
        0.15,
        "forms seal cdd enter auth?a print stamp",
        segment="corporate",
        amount=(800_000, 1.2, 0, 0.01),
    ),
    "C55": _Profile(
        0.1,
        "forms cdd seal enter auth?a print stamp",
        segment="corporate",
        amount=(1_000_000, 1.2, 0, 0.01),
    ),
    "C56": _Profile(
        0.25,
        "forms seal enter auth?a print stamp",
        segment="corporate",
        amount=(300_000, 1.0, 0, 0.01),
    ),
    "C57": _Profile(
        0.4, "forms enter print stamp", segment="corporate", amount=(50_000, 1.2, 0, 0.01)
    ),
    "C58": _Profile(0.6, "card statement stamp", segment="corporate"),
}
# Types of a bank's own baseline that are not among the 58: a profile by baseline group.
_GROUP_PROFILES: Final[dict[str, _Profile]] = {
    "personal_account": _Profile(0.3, "id forms enter " + _AUTH_TAIL),
    "personal_cash": _Profile(
        0.3,
        "card id?lc count recount?lc enter " + _AUTH_TAIL,
        cash=1.0,
        amount=(5_000, 1.2, 0, 100),
    ),
    "personal_payment": _Profile(
        0.3, "card forms enter pin " + _AUTH_TAIL, amount=(5_000, 1.2, 0, 0.01)
    ),
    "personal_wealth_fx": _Profile(
        0.2, "id card forms enter pin " + _AUTH_TAIL, segment="wealth", amount=(30_000, 1, 0, 1)
    ),
    "e_banking": _Profile(0.3, "id card forms enter pin " + _AUTH_TAIL),
    "corporate": _Profile(0.2, "forms seal enter " + _AUTH_TAIL, segment="corporate"),
}
_DEFAULT_PROFILE: Final[_Profile] = _Profile(0.3, "id forms enter " + _AUTH_TAIL)


def _profile(code: str, baseline: Baseline) -> _Profile:
    if code in _PROFILES:
        return _PROFILES[code]
    return _GROUP_PROFILES.get(baseline[code].group, _DEFAULT_PROFILE)


# --------------------------------------------------------------------------------------------------
# Step templates
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step of a business type's standard path and its share of the type's standard time."""

    name: str
    share: float


@dataclass(frozen=True)
class _Slot:
    activity: str
    cond: int
    seconds: float  # median seconds before teller speed and noise


def _template(code: str, baseline: Baseline) -> list[_Slot]:
    """Every step a transaction of ``code`` can have, in order, with its condition and time."""
    profile = _profile(code, baseline)
    tokens = ["call", "greet", "ask", *profile.steps.split(), "seeoff"]
    parsed: list[tuple[str, int]] = []
    for token in tokens:
        name, _, suffix = token.partition("?")
        parsed.append((_TOKENS[name], _COND_SUFFIX[suffix] if suffix else _ALWAYS))
        if name == "enter":
            parsed.append(("Reverse transaction", _REVERSAL))
    standard = baseline.standard_seconds(code)
    always = [a for a, c in parsed if c == _ALWAYS]
    anchors = {a: _ANCHOR_SECONDS[a] for a in always if a in _ANCHOR_SECONDS}
    work = {a: _WORK_WEIGHT[a] for a in always if a not in _ANCHOR_SECONDS}
    anchor_total = sum(anchors.values())
    if not work:  # only light steps: they share the whole standard time
        scale = standard / anchor_total
    else:  # light steps take at most half of it, the work steps the rest
        scale = min(1.0, 0.5 * standard / anchor_total) if anchor_total else 1.0
    seconds = {a: s * scale for a, s in anchors.items()}
    rest = standard - sum(seconds.values())
    weight_total = sum(work.values())
    seconds.update({a: rest * w / weight_total for a, w in work.items()})
    slots = []
    for activity, cond in parsed:
        if cond == _ALWAYS:
            slots.append(_Slot(activity, cond, seconds[activity]))
        else:
            slots.append(_Slot(activity, cond, _COND_SECONDS[activity]))
    return slots


def steps_for_type(code: str, baseline: Baseline) -> list[Step]:
    """The standard path of a business type: its steps in order, with shares summing to 1.0.

    Conditional steps (identity check, recount, registration and authorization for cash of 50,000
    CNY or more; occasional authorization; reversal after an error) are not part of the standard
    path; they add their own time when they occur. Types outside the 58 of the bundled baseline get
    the path of their baseline group.

    Example:
        >>> from procmine.core.baseline import load_baseline
        >>> steps = steps_for_type("P17", load_baseline())
        >>> [s.name for s in steps][:4]
        ['Call number', 'Greet and check ticket', 'Ask need', 'Read card or passbook']
        >>> round(sum(s.share for s in steps), 9)
        1.0
    """
    if code not in baseline:
        raise DemoError(f"business type {code!r} is not in the baseline ({baseline.source})")
    always = [s for s in _template(code, baseline) if s.cond == _ALWAYS]
    total = sum(s.seconds for s in always)
    return [Step(s.activity, s.seconds / total) for s in always]


# --------------------------------------------------------------------------------------------------
# Configuration and results
# --------------------------------------------------------------------------------------------------


_REVISION_FORMAT: Final[str] = "TYPE:ACTIVITY:FACTOR:DATE[:BRANCH=DATE,...]"


@dataclass(frozen=True)
class Revision:
    """An SOP revision that changes one step's time in the demo log from its effective date.

    From ``effective`` on, the step ``activity`` of ``business_type`` takes ``factor`` times as
    long (0.7: 30% faster; above 1.0: slower, e.g. a check was added). ``branches`` maps branch ids
    to the date each branch adopts the revision; branches not in the mapping never adopt it within
    the log. ``branches=None`` means every branch adopts it on ``effective``. The type and the
    activity are checked against the baseline when the log is generated.

    Example:
        >>> r = Revision("P18", "Count cash", 0.7, date(2026, 9, 21),
        ...              branches={"B01": date(2026, 9, 21), "B04": date(2026, 10, 12)})
        >>> r.adoption("B04"), r.adoption("B02")
        (datetime.date(2026, 10, 12), None)
    """

    business_type: str
    activity: str
    factor: float
    effective: date
    branches: Mapping[str, date] | None = None

    def __post_init__(self) -> None:
        where = f"revision {self.business_type} {self.activity!r}"
        factor = self.factor
        if isinstance(factor, bool) or not isinstance(factor, int | float):
            raise DemoError(f"{where}: factor {factor!r} is not a number")
        if not (math.isfinite(factor) and factor > 0):
            raise DemoError(f"{where}: factor is {factor}, expected a number above 0 "
                            "(0.7 makes the step 30% faster)")
        if not _is_day(self.effective):
            raise DemoError(f"{where}: effective {self.effective!r} is not a date")
        if self.branches is not None:
            branches = dict(self.branches)
            for branch, day in branches.items():
                if not isinstance(branch, str) or not _is_day(day):
                    raise DemoError(f"{where}: branches must map branch ids to dates, not "
                                    f"{branch!r} to {day!r}")
            # a copy nobody can change: the revision is frozen, its mapping too
            object.__setattr__(self, "branches", MappingProxyType(branches))

    def adoption(self, branch_id: str) -> date | None:
        """The date ``branch_id`` adopts the revision, or None if it does not within the log."""
        if self.branches is None:
            return self.effective
        return self.branches.get(branch_id)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary: dates in ISO form, ``branches`` null for every branch."""
        return {
            "business_type": self.business_type,
            "activity": self.activity,
            "factor": self.factor,
            "effective": self.effective.isoformat(),
            "branches": None if self.branches is None else {
                b: d.isoformat() for b, d in sorted(self.branches.items())
            },
        }


def _is_day(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _parse_day(text: str, what: str, where: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise DemoError(f"{where}: {what} {text.strip()!r} is not a date; expected YYYY-MM-DD"
                        ) from None


def parse_revision(text: str) -> Revision:
    """A :class:`Revision` from its command-line form ``TYPE:ACTIVITY:FACTOR:DATE[:BRANCHES]``.

    BRANCHES is ``BRANCH=DATE`` pairs separated by commas: only those branches adopt the
    revision, each on its own date. The type and activity are checked when the log is generated.

    Example:
        >>> parse_revision("P18:Count cash:0.7:2026-10-12").factor
        0.7
        >>> dict(parse_revision("P18:Count cash:0.7:2026-10-12:B01=2026-10-05").branches)
        {'B01': datetime.date(2026, 10, 5)}
    """
    where = f"revision {text!r}"
    fields = [f.strip() for f in text.split(":")]
    if len(fields) not in (4, 5) or not all(fields[:4]):
        raise DemoError(f"{where}: expected {_REVISION_FORMAT}, e.g. 'P18:Count cash:0.7:"
                        "2026-10-12' or 'P18:Count cash:0.7:2026-10-12:B01=2026-10-05,"
                        "B02=2026-10-19'")
    code, activity, factor_text, effective_text = fields[:4]
    try:
        factor = float(factor_text)
    except ValueError:
        raise DemoError(f"{where}: factor {factor_text!r} is not a number (0.7 makes the step "
                        "30% faster)") from None
    effective = _parse_day(effective_text, "effective date", where)
    branches: dict[str, date] | None = None
    if len(fields) == 5:
        branches = {}
        for item in fields[4].split(","):
            branch, sep, day = (part.strip() for part in item.partition("="))
            if not sep or not branch or not day:
                raise DemoError(f"{where}: branch adoption {item.strip()!r} should read "
                                "BRANCH=DATE, e.g. B01=2026-10-05")
            if branch in branches:
                raise DemoError(f"{where}: branch {branch} is given twice")
            branches[branch] = _parse_day(day, f"the date of {branch}", where)
    return Revision(code, activity, factor, effective, branches)


@dataclass(frozen=True)
class DemoConfig:
    """What demo log to generate.

    ``events`` is the approximate number of event rows (the result lands within a few percent).
    ``start`` is the first business day; the log spans whole months from there (at least two).
    ``revisions`` make steps faster or slower from their effective dates (see :class:`Revision`).

    Example:
        >>> DemoConfig(events=50_000, seed=3).branches
        6
    """

    events: int = 100_000
    seed: int = 7
    branches: int = 6
    tellers_per_branch: int = 8
    start: date = date(2026, 9, 1)
    baseline: Baseline | None = None
    slow_steps: int = 6  # injected teller x type x step slow steps
    branch_slow_steps: int = 1  # injected branch-wide type x step slow steps
    revisions: tuple[Revision, ...] = ()


#: The command that writes the bundled log ``event_logs/demo_events.parquet`` and its truth.
BUNDLED_DEMO_COMMAND: Final[str] = "procmine demo-data event_logs --bundled"


def bundled_demo_config() -> DemoConfig:
    """The settings of the log bundled in ``event_logs/``: 200,000 events, seed 7, one revision.

    The revision story lets the dashboard show the effect of an SOP revision: P18 (cash
    withdrawal) "Count cash" takes 0.7 times as long at branches B01-B03 from Monday 21 September
    2026 and at B04-B06 from Monday 12 October 2026. The log samples nine business days over
    September and October (1, 8, 16, 24 Sep; 1, 8, 16, 24, 31 Oct), so three fall before the first
    date, three between the two (B04-B06 not yet on it: the comparison group of a
    difference-in-differences) and three after the second.

    Example:
        >>> config = bundled_demo_config()
        >>> config.events, config.seed, config.revisions[0].adoption("B05")
        (200000, 7, datetime.date(2026, 10, 12))
    """
    first, second = date(2026, 9, 21), date(2026, 10, 12)
    story = Revision(
        "P18", "Count cash", 0.7, first,
        branches={**dict.fromkeys(("B01", "B02", "B03"), first),
                  **dict.fromkeys(("B04", "B05", "B06"), second)},
    )
    return DemoConfig(events=200_000, seed=7, revisions=(story,))


@dataclass(frozen=True)
class DemoResult:
    """What :func:`write_demo_data` wrote."""

    events_path: Path
    truth_path: Path
    events: int
    cases: int
    first_day: date
    last_day: date
    fmt: str


# --------------------------------------------------------------------------------------------------
# The plan: everything decided before simulating
# --------------------------------------------------------------------------------------------------

_OPEN_SECONDS: Final[int] = 8 * 3600 + 30 * 60  # 08:30
_DAY_MS: Final[int] = (17 * 3600 - _OPEN_SECONDS) * 1000  # counter open until 17:00
_BIN_MS: Final[int] = 30 * 60 * 1000
# Customer arrivals per half hour from 08:30 (peaks at 10-11h and after 16h, lunch dip).
_ARRIVALS: Final[tuple[float, ...]] = (
    0.7, 0.9, 1.1, 1.45, 1.5, 1.2, 1.0, 0.7, 0.6, 0.7, 0.9, 1.0, 1.0, 1.0, 1.1, 1.35, 1.15,
)  # fmt: skip
# Median ticket-to-call wait in minutes by half hour of the call.
_WAIT_MINUTES: Final[tuple[float, ...]] = (
    3, 5, 7, 12, 15, 12, 9, 6, 5, 5, 6, 7, 7, 8, 9, 13, 15,
)  # fmt: skip
_WINDOW_WAIT_FACTOR: Final[tuple[float, float, float]] = (1.0, 0.35, 0.5)
_TARGET_UTILISATION: Final[float] = 0.8
_BREAK_MS: Final[float] = 40 * 60 * 1000
_STEP_SIGMA: Final[float] = 0.35
_TXN_SIGMA: Final[float] = 0.12
_ERROR_RATE: Final[float] = 0.015
_REVERSAL_SHARE: Final[float] = 0.6
_REWORK_RATE: Final[float] = 0.03
_SKIP_RATE: Final[float] = 0.01
_AUTH_RATE: Final[float] = 0.03
_CHUNK_ROWS: Final[int] = 400_000
_MIN_CASES_FOR_SLOW: Final[float] = 40.0
_BIG: Final[int] = 10**10
_MAX_DRIFT: Final[float] = 0.12  # a teller's speed moves at most about 12% over the span
_EPOCH: Final[date] = date(1970, 1, 1)
# Fixed-date public holidays: branches open on a weekend schedule (corporate counters closed).
_HOLIDAYS: Final[frozenset[tuple[int, int]]] = frozenset(
    {(1, 1), *((5, d) for d in range(1, 6)), *((10, d) for d in range(1, 8))}
)


@dataclass
class _SlowStep:
    scope: str
    teller: int  # -1 for branch scope
    branch: int
    type_idx: int
    act: int
    factor: float


@dataclass
class _Revised:
    type_idx: int
    act: int
    factor: float
    from_day: _Arr  # per branch: index of the first day on the revision (len(days): never)


@dataclass
class _Plan:
    config: DemoConfig
    baseline: Baseline
    codes: list[str]
    # type arrays
    tmpl_act: _Arr
    tmpl_cond: _Arr
    tmpl_sec: _Arr
    tmpl_skip: _Arr
    tmpl_rework: _Arr
    cash_p: _Arr
    has_amount: _Arr
    amt_med: _Arr
    amt_sigma: _Arr
    amt_min: _Arr
    amt_unit: _Arr
    seg_cum: _Arr
    # tellers
    teller_ids: list[str]
    branch_ids: list[str]
    tel_branch: _Arr
    tel_window: _Arr
    skill: _Arr
    drift: _Arr
    step_dev: _Arr
    window_map: _Arr
    # calendar
    days: list[date]
    months: list[str]
    day_month: _Arr
    td_day: _Arr
    td_teller: _Arr
    td_weight: _Arr
    td_open_ms: _Arr
    chunks: list[tuple[int, int, int]]  # (td_lo, td_hi, month index)
    chunk_counts: _Arr  # (n_chunks, n_types)
    slow: list[_SlowStep]
    sampled_days: bool
    revised: list[_Revised] = field(default_factory=list)
    occupancy: _Arr = field(default_factory=lambda: np.zeros(0))
    actor_exp: _Arr = field(default_factory=lambda: np.zeros(0))
    count_like: _Arr = field(default_factory=lambda: np.zeros(0))


def _norm_sf(x: float) -> float:
    return 0.5 * math.erfc(x / math.sqrt(2.0))


def _p_large(profile: _Profile) -> float:
    if profile.amount is None:
        return 0.0
    median, sigma, minimum, _ = profile.amount
    if minimum >= LARGE_AMOUNT:
        return 1.0
    return _norm_sf(math.log((LARGE_AMOUNT - minimum) / median) / sigma)


def _slot_probabilities(slots: list[_Slot], profile: _Profile) -> list[float]:
    p_large = _p_large(profile)
    p_cond = {
        _ALWAYS: 1.0,
        _CASH: profile.cash,
        _LARGE: p_large,
        _LARGE_CASH: profile.cash * p_large,
        _AUTH: 1 - (1 - profile.cash * p_large) * (1 - _AUTH_RATE),
        _REVERSAL: _ERROR_RATE * _REVERSAL_SHARE,
    }
    return [p_cond[s.cond] for s in slots]


def _expected_rows(slots: list[_Slot], profile: _Profile) -> float:
    return sum(_slot_probabilities(slots, profile)) + _REWORK_RATE - _SKIP_RATE


def _expected_occupancy(slots: list[_Slot], profile: _Profile) -> float:
    """Mean seconds a transaction keeps the teller busy: steps, gaps, supervisor wait, turnover."""
    noise = math.exp((_STEP_SIGMA**2 + _TXN_SIGMA**2) / 2)
    total = 9.0  # call to first step, and turnover to the next call
    for slot, p in zip(slots, _slot_probabilities(slots, profile), strict=True):
        wait = 40 * math.exp(0.7**2 / 2) if slot.activity == "Supervisor authorization" else 2.2
        total += p * (slot.seconds * noise + wait)
    return total


def _allocate(total: int, weights: _Arr, at_least_one: bool) -> _Arr:
    """Integer counts summing to ``total``, proportional to ``weights`` (largest remainder)."""
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    if at_least_one and total >= len(weights):
        counts = np.maximum(counts, 1)
    diff = total - int(counts.sum())
    if diff > 0:
        order = np.argsort(-(exact - np.floor(exact)), kind="stable")
        counts[order[:diff]] += 1
    elif diff < 0:
        order = np.argsort(-counts, kind="stable")
        i = 0
        while diff < 0:
            j = order[i % len(order)]
            if counts[j] > 1:
                counts[j] -= 1
                diff += 1
            i += 1
    return counts


def _business_days(first: date, last: date) -> list[date]:
    days = []
    d = first
    while d <= last:
        if d.weekday() < 6:
            days.append(d)
        d += timedelta(days=1)
    return days


def _add_months(d: date, months: int) -> date:
    """The last day of the month ``months`` after d's month (0 = d's own month)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, calendar.monthrange(year, month)[1])


def _validate(config: DemoConfig) -> None:
    problems = []
    if config.events < 100:
        problems.append(f"events is {config.events}, expected at least 100")
    if not 1 <= config.branches <= 99:
        problems.append(f"branches is {config.branches}, expected 1 to 99")
    if not 1 <= config.tellers_per_branch <= 99:
        problems.append(f"tellers_per_branch is {config.tellers_per_branch}, expected 1 to 99")
    if config.slow_steps < 0 or config.branch_slow_steps < 0:
        problems.append("slow_steps and branch_slow_steps must not be negative")
    if problems:
        raise DemoError("demo settings: " + "; ".join(problems))


def _validate_revisions(config: DemoConfig, baseline: Baseline) -> None:
    """Every revision names a type of the baseline, a step of that type and known branches."""
    branch_ids = [f"B{b + 1:02d}" for b in range(config.branches)]
    for i, r in enumerate(config.revisions, start=1):
        if not isinstance(r, Revision):
            raise DemoError(f"revision {i}: expected a Revision, not {type(r).__name__}")
        where = f"revision {i} ({r.business_type} {r.activity!r})"
        if r.business_type not in baseline:
            raise DemoError(f"{where}: business type {r.business_type!r} is not in the baseline "
                            f"({baseline.source.name})")
        steps = list(dict.fromkeys(s.activity for s in _template(r.business_type, baseline)))
        if r.activity not in steps:
            raise DemoError(f"{where}: {r.activity!r} is not a step of {r.business_type}; its "
                            f"steps are: {', '.join(steps)}")
        unknown = sorted(set(r.branches or ()) - set(branch_ids))
        if unknown:
            raise DemoError(f"{where}: branch {', '.join(unknown)} is not in the log, which has "
                            f"{branch_ids[0]} to {branch_ids[-1]}")


def _revised_steps(config: DemoConfig, codes: list[str], branch_ids: list[str],
                   days: list[date]) -> list[_Revised]:
    revised = []
    for r in config.revisions:
        adoption = [r.adoption(b) for b in branch_ids]
        from_day = np.array([len(days) if d is None else bisect.bisect_left(days, d)
                             for d in adoption], dtype=np.int64)
        revised.append(_Revised(codes.index(r.business_type), _ACT[r.activity], float(r.factor),
                                from_day))
    return revised


def _make_plan(config: DemoConfig) -> _Plan:
    _validate(config)
    baseline = config.baseline if config.baseline is not None else load_baseline()
    _validate_revisions(config, baseline)
    rng = np.random.default_rng([config.seed, 0])
    codes = baseline.codes
    n_types = len(codes)
    profiles = [_profile(c, baseline) for c in codes]
    templates = [_template(c, baseline) for c in codes]

    # --- templates as padded arrays
    m = max(len(t) for t in templates)
    tmpl_act = np.full((n_types, m), -1, dtype=np.int16)
    tmpl_cond = np.full((n_types, m), _ALWAYS, dtype=np.int8)
    tmpl_sec = np.zeros((n_types, m))
    tmpl_skip = np.zeros((n_types, m), dtype=bool)
    tmpl_rework = np.zeros((n_types, m), dtype=bool)
    for i, slots in enumerate(templates):
        for j, s in enumerate(slots):
            tmpl_act[i, j] = _ACT[s.activity]
            tmpl_cond[i, j] = s.cond
            tmpl_sec[i, j] = s.seconds
            tmpl_skip[i, j] = s.cond == _ALWAYS and s.activity in _SKIPPABLE
            tmpl_rework[i, j] = s.activity in _REWORKABLE

    amounts = [p.amount or (0.0, 0.0, 0.0, 1.0) for p in profiles]
    seg_mix = np.array([_SEGMENT_MIX[p.segment] for p in profiles])
    seg_cum = np.cumsum(seg_mix, axis=1)
    seg_cum[:, -1] = 1.0
    weights = np.array([p.weight for p in profiles], dtype=float)
    weights /= weights.sum()

    # --- transactions wanted
    rows_per_txn = np.array(
        [_expected_rows(t, p) for t, p in zip(templates, profiles, strict=True)]
    )
    n_txn = max(1, round(config.events / float(weights @ rows_per_txn)))
    type_counts = _allocate(n_txn, weights, at_least_one=True)

    # --- windows: sized to their expected workload
    vip = np.array(_VIP_PROB)
    p_window = np.zeros((n_types, 3))
    p_window[:, 1] = seg_mix @ vip
    p_window[:, 2] = seg_mix[:, 3]
    p_window[:, 0] = 1 - p_window[:, 1] - p_window[:, 2]
    occupancy = np.array(
        [_expected_occupancy(t, p) for t, p in zip(templates, profiles, strict=True)]
    )
    workload = (type_counts * occupancy) @ p_window  # seconds per window type
    t = config.tellers_per_branch
    share = workload / workload.sum()
    if t == 1:
        per_window = [1, 0, 0]
    elif t == 2:
        per_window = [1, 0, 1] if share[2] >= share[1] else [1, 1, 0]
    else:
        n_corp = max(1, round(t * share[2])) if share[2] > 0 else 0
        n_vip = max(1, round(t * share[1])) if share[1] > 0 else 0
        while t - n_corp - n_vip < 1:
            if n_vip >= n_corp:
                n_vip -= 1
            else:
                n_corp -= 1
        per_window = [t - n_corp - n_vip, n_vip, n_corp]
    window_map = np.array([0, 1 if per_window[1] else 0, 2 if per_window[2] else 0])
    workload_eff = np.zeros(3)
    for w in range(3):
        workload_eff[window_map[w]] += workload[w]

    # --- tellers
    n_tel = config.branches * t
    tel_branch = np.repeat(np.arange(config.branches), t)
    tel_window = np.tile(np.repeat(np.arange(3), per_window), config.branches)
    teller_ids = [f"{b + 1:02d}{j + 1:02d}" for b in range(config.branches) for j in range(t)]
    branch_ids = [f"B{b + 1:02d}" for b in range(config.branches)]
    skill = np.exp(rng.normal(0.0, 0.12, n_tel))
    drift = np.clip(rng.normal(-0.004, 0.01, n_tel), -0.025, 0.02)
    act_actor = [ACTIVITIES[a].actor for a in ACTIVITY_NAMES]
    teller_act = np.array([a == "teller" for a in act_actor])
    step_dev = np.exp(rng.normal(0.0, 0.05, (n_tel, len(ACTIVITY_NAMES))))
    step_dev[:, ~teller_act] = 1.0
    branch_factor = np.exp(rng.normal(0.0, 0.15, config.branches))

    # --- calendar: whole months, enough of them for a realistic daily load
    first = config.start
    while first.weekday() == 6:
        first += timedelta(days=1)
    capacity = (_DAY_MS - _BREAK_MS) / 1000 * _TARGET_UTILISATION
    staff = np.array(per_window, dtype=float) * config.branches
    sat_staff = np.array([0.5 * per_window[0], 0.5 * per_window[1], 0.0]) * config.branches
    months = 2
    while True:
        days = _business_days(first, _add_months(first, months - 1))
        n_sat = sum(d.weekday() == 5 or (d.month, d.day) in _HOLIDAYS for d in days)
        teller_days = staff * (len(days) - n_sat) * 0.97 + sat_staff * n_sat
        load = np.divide(
            workload_eff, teller_days * capacity, out=np.zeros(3), where=teller_days > 0
        ).max()
        if load <= 1.0:
            break
        months += 1
    sampled = False
    if months == 2 and load < 0.5:
        k = max(2, math.ceil(len(days) * load / 0.85))
        if k < len(days):
            idx = np.unique(np.round(np.linspace(0, len(days) - 1, k)).astype(int))
            days = [days[i] for i in idx]
            sampled = True
    month_keys = sorted({f"{d.year:04d}{d.month:02d}" for d in days})
    month_index = {k: i for i, k in enumerate(month_keys)}
    day_month = np.array([month_index[f"{d.year:04d}{d.month:02d}"] for d in days])

    # --- teller-days: who works, how busy the day is
    n_days = len(days)
    present = np.ones((n_days, n_tel), dtype=bool)
    day_factor = np.ones(n_days)
    weekday_factor = (1.12, 1.0, 0.95, 0.95, 1.08, 1.1)
    for di, d in enumerate(days):
        day_factor[di] = weekday_factor[d.weekday()]
        last_dom = calendar.monthrange(d.year, d.month)[1]
        if d.day > last_dom - 3:
            day_factor[di] *= 1.12
        elif d.day <= 5:
            day_factor[di] *= 1.06
        if d.weekday() == 5 or (d.month, d.day) in _HOLIDAYS:
            present[di] = (tel_window != 2) & (rng.random(n_tel) < 0.5)
            for b in range(config.branches):
                regular = np.flatnonzero((tel_branch == b) & (tel_window == 0))
                if not present[di, regular].any():
                    present[di, rng.choice(regular)] = True
        else:
            present[di] = rng.random(n_tel) >= 0.03
    td_day, td_teller = np.nonzero(present)
    td_weight = day_factor[td_day] * branch_factor[tel_branch[td_teller]] / skill[td_teller]
    day_ms = np.array([(d - _EPOCH).days for d in days], dtype=np.int64) * 86_400_000
    td_open_ms = day_ms[td_day] + _OPEN_SECONDS * 1000

    # --- chunks: consecutive days of one month, a few hundred thousand rows each
    rows_per_weight = config.events / td_weight.sum()
    day_rows = np.bincount(td_day, weights=td_weight, minlength=n_days) * rows_per_weight
    td_bounds = np.searchsorted(td_day, np.arange(n_days + 1))
    chunks: list[tuple[int, int, int]] = []
    lo = 0
    acc = 0.0
    for di in range(n_days):
        acc += day_rows[di]
        end_of_month = di == n_days - 1 or day_month[di + 1] != day_month[di]
        if acc >= _CHUNK_ROWS or end_of_month:
            chunks.append((int(td_bounds[lo]), int(td_bounds[di + 1]), int(day_month[di])))
            lo, acc = di + 1, 0.0
    # split every type's transactions over chunks by the chunk's capacity at its windows
    corp_window = int(window_map[2])
    td_corp = tel_window[td_teller] == corp_window
    chunk_w = np.zeros((len(chunks), 2))
    for ci, (a, b, _) in enumerate(chunks):
        chunk_w[ci, 0] = td_weight[a:b][~td_corp[a:b]].sum()
        chunk_w[ci, 1] = td_weight[a:b][td_corp[a:b]].sum()
    chunk_counts = np.zeros((len(chunks), n_types), dtype=np.int64)
    is_corp = seg_mix[:, 3] > 0.5
    for ti in range(n_types):
        col = chunk_w[:, 1 if is_corp[ti] and corp_window == 2 else 0]
        if col.sum() <= 0:
            col = chunk_w.sum(axis=1)
        cum = np.round(np.cumsum(col) / col.sum() * type_counts[ti]).astype(np.int64)
        chunk_counts[:, ti] = np.diff(cum, prepend=0)

    plan = _Plan(
        config=config,
        baseline=baseline,
        codes=codes,
        tmpl_act=tmpl_act,
        tmpl_cond=tmpl_cond,
        tmpl_sec=tmpl_sec,
        tmpl_skip=tmpl_skip,
        tmpl_rework=tmpl_rework,
        cash_p=np.array([p.cash for p in profiles]),
        has_amount=np.array([p.amount is not None for p in profiles]),
        amt_med=np.array([a[0] for a in amounts]),
        amt_sigma=np.array([a[1] for a in amounts]),
        amt_min=np.array([a[2] for a in amounts]),
        amt_unit=np.array([a[3] for a in amounts]),
        seg_cum=seg_cum,
        teller_ids=teller_ids,
        branch_ids=branch_ids,
        tel_branch=tel_branch,
        tel_window=tel_window,
        skill=skill,
        drift=drift,
        step_dev=step_dev,
        window_map=window_map,
        days=days,
        months=month_keys,
        day_month=day_month,
        td_day=td_day,
        td_teller=td_teller,
        td_weight=td_weight,
        td_open_ms=td_open_ms,
        chunks=chunks,
        chunk_counts=chunk_counts,
        slow=[],
        sampled_days=sampled,
        revised=_revised_steps(config, codes, branch_ids, days),
        actor_exp=np.array([_ACTOR_EXPONENT[a] for a in act_actor]),
        occupancy=occupancy,
        count_like=np.isin(
            np.arange(len(ACTIVITY_NAMES)),
            [_ACT["Count cash"], _ACT["Second-person recount"]],
        ),
    )
    plan.slow = _choose_slow_steps(plan, rng, type_counts, p_window, templates)
    return plan


def _choose_slow_steps(
    plan: _Plan, rng: np.random.Generator, type_counts: _Arr, p_window: _Arr, templates: list[Any]
) -> list[_SlowStep]:
    """Pick the injected slow steps: common types, material teller steps, enough cases each."""
    config = plan.config
    n_tel = len(plan.teller_ids)
    # expected cases of each type per teller: the type's volume at the teller's window, shared by
    # the teller's working weight within that window
    p_eff = np.zeros_like(p_window)
    for w in range(3):
        p_eff[:, plan.window_map[w]] += p_window[:, w]
    tel_weight = np.bincount(plan.td_teller, weights=plan.td_weight, minlength=n_tel)
    window_weight = np.bincount(plan.tel_window, weights=tel_weight, minlength=3)
    tel_share = tel_weight / np.maximum(window_weight[plan.tel_window], 1e-12)
    expected = (type_counts[:, None] * p_eff[:, plan.tel_window]) * tel_share[
        None, :
    ]  # (type, tel)

    # a slow step on a revised step would blur both stories: the revised steps are left out
    revised = {(r.type_idx, r.act) for r in plan.revised}

    def eligible_steps(ti: int) -> list[int]:
        standard = sum(s.seconds for s in templates[ti] if s.cond == _ALWAYS)
        return [
            _ACT[s.activity]
            for s in templates[ti]
            if s.cond == _ALWAYS
            and (ti, _ACT[s.activity]) not in revised
            and ACTIVITIES[s.activity].actor == "teller"
            and s.activity not in _SKIPPABLE
            and s.activity != "Call number"
            and s.seconds >= 0.1 * standard
        ]

    steps_of = {ti: eligible_steps(ti) for ti in range(len(plan.codes))}
    slow: list[_SlowStep] = []
    used_pairs: set[tuple[int, int]] = set()
    mid = (len(plan.months) - 1) / 2
    effective = plan.skill * np.exp(np.clip(plan.drift * mid, -_MAX_DRIFT, _MAX_DRIFT))
    order = rng.permutation(n_tel)
    typical = [j for j in order if 0.95 <= effective[j] <= 1.15]
    others = [j for j in order if not 0.95 <= effective[j] <= 1.15]
    # tellers whose common types have enough cases come first
    candidates = sorted(
        typical + others,
        key=lambda j: (
            -min(float(expected[:, j].max()), _MIN_CASES_FOR_SLOW),
            0 if j in typical else 1,
        ),
    )
    for j in candidates[: min(config.slow_steps, n_tel)]:
        ranked = [ti for ti in np.argsort(-expected[:, j], kind="stable") if steps_of[int(ti)]]
        good = [ti for ti in ranked if expected[ti, j] >= _MIN_CASES_FOR_SLOW][:3] or ranked[:1]
        ti = int(good[rng.integers(len(good))])
        act = int(steps_of[ti][rng.integers(len(steps_of[ti]))])
        factor = round(float(rng.uniform(2.0, 3.0)), 2)
        slow.append(_SlowStep("teller", int(j), int(plan.tel_branch[j]), ti, act, factor))
        used_pairs.add((ti, act))
        # the injected factor is the whole story: no personal quickness at that step hides it
        plan.step_dev[j, act] = max(1.0, plan.step_dev[j, act])
    # branch-wide: one branch's tellers all slow at one step of a common type
    branch_expected = np.zeros((len(plan.codes), config.branches))
    for b in range(config.branches):
        branch_expected[:, b] = expected[:, plan.tel_branch == b].sum(axis=1)
    # a branch whose tellers are of typical speed, so the factor shows undiluted
    branch_speed = np.array(
        [np.median(effective[plan.tel_branch == b]) for b in range(config.branches)]
    )
    branch_pool = [b for b in rng.permutation(config.branches) if branch_speed[b] >= 0.98]
    branch_pool += [b for b in rng.permutation(config.branches) if b not in branch_pool]
    for i in range(config.branch_slow_steps):
        b = int(branch_pool[i % len(branch_pool)])
        ranked = [
            int(ti) for ti in np.argsort(-branch_expected[:, b], kind="stable") if steps_of[int(ti)]
        ]
        options = [(ti, a) for ti in ranked[:3] for a in steps_of[ti] if (ti, a) not in used_pairs]
        if not options:
            break
        ti, act = options[rng.integers(len(options))]
        slow.append(_SlowStep("branch", -1, b, ti, act, 2.0))
        used_pairs.add((ti, act))
        in_branch = plan.tel_branch == b
        plan.step_dev[in_branch, act] = np.maximum(1.0, plan.step_dev[in_branch, act])
    return slow


# --------------------------------------------------------------------------------------------------
# Simulation of one chunk (vectorised)
# --------------------------------------------------------------------------------------------------


@dataclass
class _ChunkStats:
    transactions: int
    rows: int
    errors: int
    rework: int
    skipped: int
    type_counts: _Arr
    slow_cases: list[int]
    revised_cases: list[int] = field(default_factory=list)


def _pick(rng: np.random.Generator, eligible: _Arr) -> _Arr:
    """For each row of a boolean matrix, a random True column, or -1 where there is none."""
    scores = np.where(eligible, rng.random(eligible.shape), -1.0)
    choice = scores.argmax(axis=1)
    return np.where(eligible.any(axis=1), choice, -1)


def _simulate_chunk(plan: _Plan, k: int, seq_start: int) -> tuple[pa.Table, _ChunkStats]:
    rng = np.random.default_rng([plan.config.seed, 1, k])
    td_lo, td_hi, month = plan.chunks[k]
    counts = plan.chunk_counts[k]
    n_types = len(plan.codes)
    ttype = rng.permutation(np.repeat(np.arange(n_types), counts))
    n = ttype.size

    # customer segment and window
    seg = (rng.random(n)[:, None] >= plan.seg_cum[ttype]).sum(axis=1)
    seg = np.minimum(seg, len(SEGMENTS) - 1)
    win = np.where(rng.random(n) < np.array(_VIP_PROB)[seg], 1, 0)
    win = plan.window_map[np.where(seg == 3, 2, win)]

    # teller-day: within the chunk, at the customer's window, by how busy the day and teller are
    td_range = np.arange(td_lo, td_hi)
    td_win = plan.tel_window[plan.td_teller[td_range]]
    td_idx = np.empty(n, dtype=np.int64)
    for w in range(3):
        sel = np.flatnonzero(win == w)
        if not sel.size:
            continue
        cand = td_range[td_win == w]
        if not cand.size:
            cand = td_range[td_win == 0] if (td_win == 0).any() else td_range
        # a shared queue balances the work: cut the shuffled transactions into runs whose
        # expected work matches each teller-day's share
        work = plan.occupancy[ttype[sel]]
        done = (np.cumsum(work) - work / 2) / work.sum()
        share = np.cumsum(plan.td_weight[cand]) / plan.td_weight[cand].sum()
        pos = np.minimum(np.searchsorted(share, done, side="right"), cand.size - 1)
        td_idx[sel] = cand[pos]

    # desired call time within the day (arrival profile), then sort by teller-day and time
    # customers needing a long service do not come in the last minutes (nor would the teller
    # start it): the arrival profile is cut where the service would no longer end by 17:00
    edges = np.arange(len(_ARRIVALS) + 1) * float(_BIN_MS)
    cdf = np.append(0.0, np.cumsum(_ARRIVALS)) / sum(_ARRIVALS)
    latest = _DAY_MS - 60_000 - plan.occupancy[ttype] * 1000
    target = np.interp(rng.random(n) * np.interp(latest, edges, cdf), cdf, edges).astype(np.int64)
    order = np.lexsort((target, td_idx))
    ttype, seg, win, td_idx, target = (
        ttype[order],
        seg[order],
        win[order],
        td_idx[order],
        target[order],
    )
    teller = plan.td_teller[td_idx]
    branch = plan.tel_branch[teller]
    month_no = plan.day_month[plan.td_day[td_idx]]
    speed = plan.skill[teller] * np.exp(
        np.clip(plan.drift[teller] * month_no, -_MAX_DRIFT, _MAX_DRIFT)
    )

    # cash, amount, conditions
    cash = rng.random(n) < plan.cash_p[ttype]
    raw = plan.amt_min[ttype] + plan.amt_med[ttype] * np.exp(
        plan.amt_sigma[ttype] * rng.standard_normal(n)
    )
    unit = plan.amt_unit[ttype]
    amount = np.round(np.maximum(np.round(raw / unit) * unit, unit), 2)
    amount = np.where(plan.has_amount[ttype], amount, np.nan)
    large = np.nan_to_num(amount, nan=0.0) >= LARGE_AMOUNT
    large_cash = large & cash
    auth = large_cash | (rng.random(n) < _AUTH_RATE)
    error = rng.random(n) < _ERROR_RATE * speed**3 / 1.04
    reversal = error & (rng.random(n) < _REVERSAL_SHARE)
    rework = rng.random(n) < _REWORK_RATE * speed**2 / 1.03
    skip = rng.random(n) < _SKIP_RATE

    # steps of every transaction: a count per template slot (0 absent, 2 reworked)
    act = plan.tmpl_act[ttype]
    cond = plan.tmpl_cond[ttype]
    present = (act >= 0) & (
        (cond == _ALWAYS)
        | ((cond == _CASH) & cash[:, None])
        | ((cond == _LARGE_CASH) & large_cash[:, None])
        | ((cond == _LARGE) & large[:, None])
        | ((cond == _AUTH) & auth[:, None])
        | ((cond == _REVERSAL) & reversal[:, None])
    )
    cnt = present.astype(np.int8)
    sk = np.flatnonzero(skip)
    choice = _pick(rng, present[sk] & plan.tmpl_skip[ttype[sk]])
    ok = choice >= 0
    cnt[sk[ok], choice[ok]] = 0
    n_skipped = int(ok.sum())
    rw = np.flatnonzero(rework)
    choice = _pick(rng, (cnt[rw] > 0) & plan.tmpl_rework[ttype[rw]])
    ok = choice >= 0
    cnt[rw[ok], choice[ok]] += 1
    n_rework = int(ok.sum())

    m = act.shape[1]
    flat = np.repeat(np.arange(n * m, dtype=np.int64), cnt.ravel())
    row_txn = flat // m
    row_slot = flat % m
    row_act = act.ravel()[flat].astype(np.int64)
    row_type = ttype[row_txn]
    row_teller = teller[row_txn]
    rows = flat.size

    # step durations
    factor = speed[row_txn] ** plan.actor_exp[row_act]
    factor *= plan.step_dev[row_teller, row_act]
    row_amount = amount[row_txn]
    counted = plan.count_like[row_act] & ~np.isnan(row_amount)
    if counted.any():
        amt_c = row_amount[counted]
        in_path = plan.tmpl_cond[row_type[counted], row_slot[counted]] == _ALWAYS
        typical = plan.amt_min[row_type[counted]] + plan.amt_med[row_type[counted]]
        scale_path = np.clip((amt_c / typical) ** 0.3, 0.5, 2.5)
        # conditional counting: seconds grow with the square root of the amount (a recount by
        # the second person goes a little faster than the first count)
        base_c = plan.tmpl_sec[row_type[counted], row_slot[counted]]
        recount = row_act[counted] == _ACT["Second-person recount"]
        wanted = np.clip(12 + 8 * np.sqrt(amt_c / 1000), 10, 180) * np.where(recount, 0.85, 1.0)
        scale_cond = wanted / base_c
        factor[counted] *= np.where(in_path, scale_path, scale_cond)
    factor *= np.exp(_TXN_SIGMA * rng.standard_normal(n))[row_txn]
    slow_cases = []
    for s in plan.slow:
        hit = (row_act == s.act) & (row_type == s.type_idx)
        hit &= (row_teller == s.teller) if s.scope == "teller" else (branch[row_txn] == s.branch)
        factor[hit] *= s.factor
        slow_cases.append(int(np.unique(row_txn[hit]).size))
    revised_cases = []
    if plan.revised:
        day = plan.td_day[td_idx]
        for r in plan.revised:
            on = day >= r.from_day[branch]  # the transaction's branch is on the revision
            hit = (row_act == r.act) & (row_type == r.type_idx) & on[row_txn]
            factor[hit] *= r.factor
            revised_cases.append(int(np.unique(row_txn[hit]).size))
    seconds = plan.tmpl_sec[row_type, row_slot] * factor
    dur_ms = np.maximum(
        np.rint(seconds * np.exp(_STEP_SIGMA * rng.standard_normal(rows)) * 1000), 300
    ).astype(np.int64)

    # gaps: a few seconds between steps, a wait for the supervisor before authorization
    first = np.ones(rows, dtype=bool)
    first[1:] = row_txn[1:] != row_txn[:-1]
    is_auth = row_act == _ACT["Supervisor authorization"]
    gap_median = np.where(first, 3.0, np.where(is_auth, 40.0, 2.0))
    gap_sigma = np.where(is_auth, 0.7, 0.45)
    gap_ms = np.rint(gap_median * np.exp(gap_sigma * rng.standard_normal(rows)) * 1000).astype(
        np.int64
    )
    total = gap_ms + dur_ms
    cum = np.cumsum(total)
    first_idx = np.flatnonzero(first)
    before = cum[first_idx] - total[first_idx]
    end_off = cum - before[row_txn]
    start_off = end_off - dur_ms
    last_idx = np.append(first_idx[1:] - 1, rows - 1)
    occupancy = end_off[last_idx] + np.rint(6000 * np.exp(0.5 * rng.standard_normal(n))).astype(
        np.int64
    )

    # one customer at a time per teller-day, lunch break included:
    # call_i = max(target_i, call_{i-1} + occupancy_{i-1}), solved with a cumulative maximum
    n_td = td_hi - td_lo
    break_target = (3 * 3600 * 1000 + rng.random(n_td) * 1.5 * 3600 * 1000).astype(np.int64)
    break_occ = np.rint(_BREAK_MS * np.exp(0.15 * rng.standard_normal(n_td))).astype(np.int64)
    all_td = np.concatenate([td_idx, td_range])
    all_target = np.concatenate([target, break_target])
    all_occ = np.concatenate([occupancy, break_occ])
    srt = np.lexsort((all_target, all_td))
    s_td, s_target, s_occ = all_td[srt], all_target[srt], all_occ[srt]
    group_first = np.ones(s_td.size, dtype=bool)
    group_first[1:] = s_td[1:] != s_td[:-1]
    group = np.cumsum(group_first) - 1
    excl = np.cumsum(s_occ) - s_occ
    excl -= excl[np.flatnonzero(group_first)][group]
    offset = group.astype(np.int64) * _BIG
    s_call = np.maximum.accumulate(s_target - excl + offset) - offset + excl
    call_rel = np.empty_like(s_call)
    call_rel[srt] = s_call
    call_rel = call_rel[:n]

    # ticket: taken minutes before the planned call (longer at peaks, shorter at VIP windows)
    half_hour = np.minimum(target // _BIN_MS, len(_WAIT_MINUTES) - 1)
    wait_ms = (
        np.array(_WAIT_MINUTES)[half_hour]
        * np.array(_WINDOW_WAIT_FACTOR)[win]
        * np.exp(0.55 * rng.standard_normal(n))
        * 60_000
    )
    earliest = rng.random(n) * np.minimum(90_000, call_rel)
    ticket_rel = np.maximum(target - np.rint(wait_ms).astype(np.int64), earliest.astype(np.int64))
    day_open = plan.td_open_ms[td_idx]
    call_abs = day_open + call_rel
    ticket_abs = day_open + ticket_rel

    # case numbers in call order within the month; rows in case order
    by_call = np.lexsort((td_idx, call_abs))
    rank = np.empty(n, dtype=np.int64)
    rank[by_call] = np.arange(n)
    nrows = np.diff(np.append(first_idx, rows))
    new_nrows = nrows[by_call]
    new_first = np.cumsum(new_nrows) - new_nrows
    row_order = (
        np.arange(rows) - np.repeat(new_first, new_nrows) + np.repeat(first_idx[by_call], new_nrows)
    )
    txn_of_row = rank[row_txn[row_order]]  # position of the row's case in call order

    seq = pa.array(np.arange(seq_start + 1, seq_start + n + 1, dtype=np.int64))
    case_ids = pc.binary_join_element_wise(
        f"T{plan.months[month]}-", pc.utf8_lpad(pc.cast(seq, pa.string()), 7, "0"), ""
    )
    case_txn = by_call  # case j (in call order) is transaction by_call[j]

    def dictionary(indices: _Arr, values: list[str]) -> pa.Array:
        return pa.DictionaryArray.from_arrays(pa.array(indices, type=pa.int32()), values)

    def timestamps(ms: _Arr) -> pa.Array:
        return pa.array(ms, type=pa.timestamp("ms"))

    row_call = call_abs[row_txn]
    amount_rows = amount[case_txn][txn_of_row]
    table = pa.table(
        {
            "case_id": pa.DictionaryArray.from_arrays(
                pa.array(txn_of_row, type=pa.int32()), case_ids
            ),
            "activity": dictionary(row_act[row_order], list(ACTIVITY_NAMES)),
            "start_time": timestamps((row_call + start_off)[row_order]),
            "end_time": timestamps((row_call + end_off)[row_order]),
            "teller_id": dictionary(row_teller[row_order], plan.teller_ids),
            "branch_id": dictionary(branch[case_txn][txn_of_row], plan.branch_ids),
            "business_type": dictionary(row_type[row_order], plan.codes),
            "amount": pa.array(amount_rows, mask=np.isnan(amount_rows), type=pa.float64()),
            "error": pa.array(error[case_txn][txn_of_row], type=pa.bool_()),
            "window_type": dictionary(win[case_txn][txn_of_row], list(WINDOW_TYPES)),
            "segment": dictionary(seg[case_txn][txn_of_row], list(SEGMENTS)),
            "ticket_time": timestamps(ticket_abs[case_txn][txn_of_row]),
            "call_time": timestamps(call_abs[case_txn][txn_of_row]),
        }
    )
    stats = _ChunkStats(
        transactions=n,
        rows=rows,
        errors=int(error.sum()),
        rework=n_rework,
        skipped=n_skipped,
        type_counts=np.bincount(ttype, minlength=n_types),
        slow_cases=slow_cases,
        revised_cases=revised_cases,
    )
    return table, stats


def _plain(table: pa.Table) -> pa.Table:
    """The canonical schema: dictionary-encoded text columns decoded to plain strings."""
    columns = []
    for name in CANONICAL_COLUMNS:
        col = table.column(name)
        if pa.types.is_dictionary(col.type):
            col = col.cast(pa.string())
        columns.append(col)
    return pa.table(columns, names=list(CANONICAL_COLUMNS))


def _iter_chunks(
    plan: _Plan, progress: Callable[[float], None] | None
) -> Iterator[tuple[pa.Table, _ChunkStats]]:
    if progress is not None:
        progress(0.0)
    seq_by_month: dict[int, int] = {}
    for k in range(len(plan.chunks)):
        month = plan.chunks[k][2]
        start = seq_by_month.get(month, 0)
        table, stats = _simulate_chunk(plan, k, start)
        seq_by_month[month] = start + stats.transactions
        yield table, stats
        if progress is not None:
            progress((k + 1) / len(plan.chunks))


def _truth(plan: _Plan, stats: list[_ChunkStats]) -> dict[str, Any]:
    config = plan.config
    transactions = sum(s.transactions for s in stats)
    rows = sum(s.rows for s in stats)
    slow = []
    for i, s in enumerate(plan.slow):
        slow.append(
            {
                "scope": s.scope,
                "teller_id": plan.teller_ids[s.teller] if s.scope == "teller" else None,
                "branch_id": plan.branch_ids[s.branch],
                "business_type": plan.codes[s.type_idx],
                "activity": ACTIVITY_NAMES[s.act],
                "factor": s.factor,
                "cases": sum(c.slow_cases[i] for c in stats),
            }
        )
    revisions = [
        {**r.to_dict(), "cases": sum(c.revised_cases[i] for c in stats)}
        for i, r in enumerate(config.revisions)
    ]
    per_type = np.sum([s.type_counts for s in stats], axis=0) if stats else np.zeros(0)
    return {
        "generator": "procmine.demo",
        "seed": config.seed,
        "events": rows,
        "transactions": transactions,
        "slow_steps": slow,
        # cases: transactions with the step at a branch already on the revision
        "revisions": revisions,
        "config": {
            "events": config.events,
            "seed": config.seed,
            "branches": config.branches,
            "tellers_per_branch": config.tellers_per_branch,
            "start": config.start.isoformat(),
            "slow_steps": config.slow_steps,
            "branch_slow_steps": config.branch_slow_steps,
            # The file name only: a full path would tie truth.json to one machine.
            "baseline": plan.baseline.source.name,
        },
        "span": {
            "first_day": plan.days[0].isoformat(),
            "last_day": plan.days[-1].isoformat(),
            "months": [f"{m[:4]}-{m[4:]}" for m in plan.months],
            "business_days": len(plan.days),
            "sampled_days": plan.sampled_days,
            "days": [d.isoformat() for d in plan.days],
        },
        "rates": {
            "error": round(sum(s.errors for s in stats) / max(transactions, 1), 5),
            "rework": round(sum(s.rework for s in stats) / max(transactions, 1), 5),
            "skipped_step": round(sum(s.skipped for s in stats) / max(transactions, 1), 5),
        },
        "transactions_by_type": {c: int(v) for c, v in zip(plan.codes, per_type, strict=True)},
        "tellers": [
            {
                "teller_id": tid,
                "branch_id": plan.branch_ids[int(plan.tel_branch[j])],
                "window_type": WINDOW_TYPES[int(plan.tel_window[j])],
                "speed_factor": round(float(plan.skill[j]), 4),
                "monthly_drift": round(float(plan.drift[j]), 4),
            }
            for j, tid in enumerate(plan.teller_ids)
        ],
    }


# --------------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------------


def generate_demo_log(
    config: DemoConfig, progress: Callable[[float], None] | None = None
) -> tuple[pa.Table, dict[str, Any]]:
    """Generate a demo event log in memory: the table (canonical columns) and its truth.

    The truth holds the seed, the number of events, the injected slow steps, the SOP revisions,
    the days and the settings (the same content as ``truth.json`` written by
    :func:`write_demo_data`).

    Example:
        >>> table, truth = generate_demo_log(DemoConfig(events=20_000, seed=5))
        >>> table.column_names[:3]
        ['case_id', 'activity', 'start_time']
        >>> [s["scope"] for s in truth["slow_steps"]].count("teller")
        6
    """
    plan = _make_plan(config)
    tables, stats = [], []
    for table, s in _iter_chunks(plan, progress):
        tables.append(_plain(table))
        stats.append(s)
    return pa.concat_tables(tables), _truth(plan, stats)


def write_demo_data(
    out_dir: Path,
    config: DemoConfig,
    fmt: str = "csv",
    progress: Callable[[float], None] | None = None,
) -> DemoResult:
    """Write ``events.csv`` (or ``events.parquet``) and ``truth.json`` into ``out_dir``.

    The events are generated and written chunk by chunk, so memory stays flat for large logs;
    ``progress`` is called with the fraction done (0.0 to 1.0) after every chunk. CSV timestamps
    read ``YYYY-MM-DD HH:MM:SS.fff``; text values are quoted, so "0103" stays text.

    Example:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp())
        >>> result = write_demo_data(out, DemoConfig(events=5_000))
        >>> result.events_path.name, result.truth_path.name
        ('events.csv', 'truth.json')
    """
    return _write(out_dir, config, fmt, progress)


def write_bundled_demo(
    out_dir: Path, progress: Callable[[float], None] | None = None
) -> DemoResult:
    """Write the bundled demo log: ``demo_events.parquet`` and ``demo_truth.json`` in ``out_dir``.

    The settings are :func:`bundled_demo_config`; ``demo_truth.json`` names the command that
    wrote it (:data:`BUNDLED_DEMO_COMMAND`, run from the repository's root).

    Example:
        >>> import tempfile
        >>> result = write_bundled_demo(Path(tempfile.mkdtemp()))
        >>> result.events_path.name, result.truth_path.name, result.events
        ('demo_events.parquet', 'demo_truth.json', 199839)
    """
    return _write(out_dir, bundled_demo_config(), "parquet", progress, prefix="demo_",
                  command=BUNDLED_DEMO_COMMAND)


def _write(
    out_dir: Path,
    config: DemoConfig,
    fmt: str,
    progress: Callable[[float], None] | None,
    prefix: str = "",
    command: str | None = None,
) -> DemoResult:
    if fmt not in ("csv", "parquet"):
        raise DemoError(f"format {fmt!r} is not supported; expected 'csv' or 'parquet'")
    plan = _make_plan(config)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    events_path = out_dir / f"{prefix}events.{fmt}"
    truth_path = out_dir / f"{prefix}truth.json"
    tmp_path = out_dir / f".{prefix}events.{fmt}.partial"
    schema = pa.schema(
        [
            (name, pa.timestamp("ms") if kind == "TIMESTAMP" else _ARROW_TYPES[kind])
            for name, kind in CANONICAL_COLUMNS.items()
        ]
    )
    stats: list[_ChunkStats] = []
    writer: pacsv.CSVWriter | pq.ParquetWriter
    if fmt == "csv":
        writer = pacsv.CSVWriter(str(tmp_path), schema)
    else:
        writer = pq.ParquetWriter(str(tmp_path), schema, compression="zstd")
    try:
        for table, s in _iter_chunks(plan, progress):
            writer.write_table(_plain(table))
            stats.append(s)
    except BaseException:
        writer.close()
        tmp_path.unlink(missing_ok=True)
        raise
    writer.close()
    os.replace(tmp_path, events_path)
    truth = _truth(plan, stats)
    if command is not None:
        truth = {"command": command, **truth}
    truth_path.write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return DemoResult(
        events_path=events_path,
        truth_path=truth_path,
        events=int(truth["events"]),
        cases=int(truth["transactions"]),
        first_day=plan.days[0],
        last_day=plan.days[-1],
        fmt=fmt,
    )


_ARROW_TYPES: Final[dict[str, pa.DataType]] = {
    "VARCHAR": pa.string(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
}
