"""Cached access to procmine for the pages.

Every cached call is one function under one decorator, :func:`cached`. It caches with
``st.cache_data`` on the call's arguments plus the store's version (which changes with every
ingest), so a new ingest shows on the next rerun without a restart; what also depends on the SOP
library (``library=True``) is keyed on the library's head commit too, so an approval shows at
once. The workspace folder is part of the key, so two workspaces never share a result.

The training room's reads of the app database (the bank, papers, attempts, spot checks) are not
cached: they are small and change with every answer. What also needs the event store (the
roster of tellers, the business types a teller does, the loop to the slow steps) is, the loop
keyed on a ``stamp`` the page gives (the teller's attempts and spot checks so far).
"""

from __future__ import annotations

import calendar
import dataclasses
import functools
import hashlib
import importlib
import inspect
import tempfile
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pandas as pd
import streamlit as st

from procmine import (
    Agenda,
    Baseline,
    Coverage,
    DiversionReport,
    EventStore,
    Filters,
    Finding,
    FindingMark,
    ImprovementItem,
    LintReport,
    QueueFilter,
    QueueSummary,
    Recipe,
    RefreshReport,
    ResultCache,
    Sop,
    SopLibrary,
    StaffingPlan,
    Subject,
    Trainee,
    User,
    WindowReport,
    add_spot_checks,
    agenda,
    business_type_summary,
    coverage_report,
    default_home,
    diversion_report,
    explain_finding,
    export_escalation_excel,
    export_escalation_html,
    export_league_excel,
    export_league_html,
    export_matrix_excel,
    filter_options,
    finding_distribution,
    finding_marks,
    finding_subject,
    findings_by_step,
    get_improvement,
    linked_findings,
    lint_sops,
    list_improvements,
    load_baseline,
    monthly_league,
    months_with_data,
    queue_measures,
    queue_summary,
    refresh_register,
    revision_effects,
    spot_check_summary,
    staffing_plan,
    step_statistics,
    teller_loop,
    teller_profile,
    teller_roster,
    teller_summary,
    teller_type_matrix,
    teller_types,
    transaction_summary,
    type_steps,
    window_report,
)
from procmine import types_by_teller as _types_by_teller

__all__ = [
    "as_of",
    "baseline",
    "business_types",
    "cached",
    "coverage",
    "distribution",
    "diversion",
    "escalation_export",
    "evidence",
    "findings",
    "improvement",
    "improvement_items",
    "ingest_history",
    "keep",
    "league",
    "league_export",
    "library",
    "lint_text",
    "loop",
    "marks",
    "matrix",
    "matrix_export",
    "month_agenda",
    "months",
    "options",
    "per_teller",
    "profile",
    "quarantine_summary",
    "queue",
    "queue_branches",
    "queue_by",
    "refreshed_register",
    "remeasure",
    "roster",
    "sop_findings",
    "sop_revision_effects",
    "sop_versions",
    "staffing",
    "step_findings",
    "steps_of_type",
    "store",
    "store_info",
    "subject_now",
    "summary",
    "teller_branches",
    "teller_findings",
    "tellers",
    "types_by_teller",
    "types_of",
    "windows",
]

P = ParamSpec("P")
R = TypeVar("R")


def store() -> EventStore:
    """The workspace's event store (``PROCMINE_HOME``)."""
    return EventStore(default_home())


@st.cache_resource(show_spinner=False)
def baseline() -> Baseline:
    return load_baseline()


@st.cache_resource(show_spinner=False)
def _library(home: str) -> SopLibrary:
    return SopLibrary.open(home)


def library() -> SopLibrary:
    """The workspace's SOP library (seeded from the bundled SOPs on first use); reads are
    cheap, writes (save, submit, approve) go through it."""
    return _library(str(default_home()))


def _versions(library_too: bool) -> tuple[str, ...]:
    """What a cached result depends on besides its arguments: the workspace, the store's
    version and, when asked, the SOP library's head commit."""
    s = store()
    key = (_resolved(str(s.home)), s.version())  # the same however the workspace is named
    return (*key, library().head()) if library_too else key


@functools.lru_cache(maxsize=16)
def _resolved(home: str) -> str:
    """The workspace's absolute path, symbolic links followed (once per name: a page run asks
    for it once per cached call)."""
    return str(Path(home).resolve())


def _digest(func: Callable[..., Any]) -> str:
    """A digest of a function's code: its source, or its bytecode where the source is absent."""
    try:
        code = inspect.getsource(func).encode()
    except (OSError, TypeError):
        code = func.__code__.co_code
    return hashlib.sha1(code).hexdigest()


#: Each function cached on disk, by ``module:name``: computes and keeps its result for given
#: arguments, outside Streamlit's own cache (see :func:`keep`).
_KEEPERS: dict[str, Callable[[dict[str, Any]], Any]] = {}


def keep(function: str, arguments: dict[str, Any]) -> None:
    """Compute and keep in the workspace the result of the cached ``function``
    (``module:name``) for ``arguments`` (bound by name), as a page would: what the warm-up after
    an ingest runs (:mod:`procmine.store.warm_up`), outside a Streamlit server."""
    module = function.partition(":")[0]
    if function not in _KEEPERS and module.startswith("procmine.dashboard."):
        importlib.import_module(module)  # its functions register as it is imported
    _KEEPERS[function](arguments)


def cached(*, library: bool = False,
           disk: bool = True) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Cache a function's result with ``st.cache_data`` until the store changes (and, with
    ``library=True``, the SOP library too); with ``disk`` (the default) also in the workspace
    (:class:`procmine.ResultCache`, keyed on the store's version), so that a restarted server
    or a second one does not compute it again.

    The arguments are bound to the function's signature first (defaults filled in), so
    ``tellers(f)`` and ``tellers(f, min_transactions=20)`` share one entry. Each decorated
    function gets its own cache: Streamlit tells cached functions apart by module, qualified
    name and source, and the inner function's source is the same for all, so it takes the
    decorated function's name and module, and the decorated function's source goes into the
    key (an edited function does not return what its old code cached).
    """
    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(func)
        source = _digest(func)
        by_name: Callable[..., R] = func  # called with the bound arguments, by name

        name = f"{func.__module__}.{func.__qualname__}"
        target = f"{func.__module__}:{func.__qualname__}"

        def keyed(source: str, versions: tuple[str, ...], arguments: dict[str, Any]) -> R:
            if not disk:
                return by_name(**arguments)
            recipe = Recipe("procmine.dashboard.warm:keep",
                            {"function": target, "arguments": arguments})
            return ResultCache(store()).get(name, (source, versions, sorted(arguments.items())),
                                            lambda: by_name(**arguments), recipe)

        keyed.__module__ = func.__module__
        keyed.__qualname__ = f"{func.__qualname__}.cached"
        cached_call = st.cache_data(show_spinner=False)(keyed)

        @functools.wraps(func)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            return cached_call(source, _versions(library), dict(bound.arguments))

        if disk:
            _KEEPERS[target] = lambda arguments: keyed(source, _versions(library), arguments)
        return call

    return decorate


# -- the store -------------------------------------------------------------------------------------


@cached()
def store_info() -> dict[str, Any]:
    return store().info().to_dict()


@cached()
def quarantine_summary() -> dict[str, int]:
    return store().quarantine_summary()


@cached()
def ingest_history() -> pd.DataFrame:
    """The ingest batches, newest first."""
    columns = ["ingested_at", "source", "format", "read", "loaded", "quarantined",
               "quarantine_file"]
    return pd.DataFrame([{c: b.get(c) for c in columns} for b in reversed(store().batches())],
                        columns=columns)


@cached()
def options() -> dict[str, list[str]]:
    return filter_options(store())


# -- counter times ---------------------------------------------------------------------------------


@cached()
def summary(filters: Filters) -> dict[str, Any]:
    return transaction_summary(store(), baseline(), filters)


@cached()
def business_types(filters: Filters) -> pd.DataFrame:
    return business_type_summary(store(), baseline(), filters)


@cached()
def tellers(filters: Filters, min_transactions: int = 20) -> pd.DataFrame:
    return teller_summary(store(), baseline(), filters, min_transactions)


@cached()
def teller_branches() -> dict[str, str | None]:
    """Every teller of the log and their branch (the one they worked in most), by teller id:
    what the branch scope checks a teller against."""
    frame = teller_summary(store(), baseline(), Filters(), min_transactions=1)
    return {str(teller): None if pd.isna(branch) else str(branch)
            for teller, branch in sorted(zip(frame["teller_id"], frame["branch_id"],
                                             strict=True))}


@cached()
def steps_of_type(code: str, filters: Filters) -> pd.DataFrame:
    return type_steps(store(), baseline(), code, filters)


@cached()
def bank_steps(filters: Filters) -> pd.DataFrame:
    """The bank's step statistics (no shares) for ``filters``: what every teller's profile
    compares their steps with, kept once for all of them."""
    return step_statistics(store(), baseline(), by="bank", filters=filters, with_share=False)


@cached()
def profile(teller_id: str, filters: Filters) -> dict[str, pd.DataFrame]:
    return teller_profile(store(), baseline(), teller_id, filters,
                          bank_steps=bank_steps(dataclasses.replace(filters, tellers=())))


# -- the monthly league ----------------------------------------------------------------------------


@cached()
def months() -> list[str]:
    """Months with transactions, newest first."""
    return list(reversed(months_with_data(store())))


@cached()
def league(month: str) -> pd.DataFrame:
    return monthly_league(store(), baseline(), month)


def league_export(month: str, lang: str, kind: str) -> bytes:
    """The month's league, with each teller's spot checks of the month, as an Excel workbook or
    a printable HTML page, as bytes."""
    folder = store().home / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    table = add_spot_checks(league(month), spot_check_summary(month, home=store().home))
    if kind == "xlsx":
        path = export_league_excel(table, folder / f"league-{month}-{lang}.xlsx", lang=lang)
    else:
        path = export_league_html(table, folder / f"league-{month}-{lang}.html", month, lang=lang)
    return path.read_bytes()


# -- teller x business type ----------------------------------------------------------------------


@cached()
def matrix(branch: str | None, month: str | None, teller: str | None,
           min_cases: int) -> pd.DataFrame:
    """Each teller's counter time per business type (:func:`procmine.teller_type_matrix`);
    the page passes what the user's scope allows."""
    return teller_type_matrix(store(), baseline(), branch=branch, month=month, teller=teller,
                              min_cases=min_cases)


@cached()
def matrix_export(branch: str | None, month: str | None, teller: str | None, min_cases: int,
                  lang: str) -> bytes:
    """The same cells as an Excel workbook, one sheet per branch, as bytes."""
    with tempfile.TemporaryDirectory() as folder:
        path = export_matrix_excel(matrix(branch, month, teller, min_cases),
                                   Path(folder) / "matrix.xlsx", baseline(), period=month,
                                   lang=lang, min_cases=min_cases)
        return path.read_bytes()


# -- slow steps ------------------------------------------------------------------------------------


@cached(library=True)
def findings(month: str | None, ratio: float, min_cases: int, q: float) -> list[Finding]:
    """Slow steps, most time lost first: each step judged against the SOP version in force on
    its transaction's date and linked to its SOP step. Without their evidence (see
    :func:`evidence`): the list comes first, the evidence of the one a user opens after."""
    return linked_findings(store(), baseline(), library(), ratio=ratio, min_cases=min_cases,
                           q=q, month=month)


#: The Slow steps page's thresholds at first (and the overview's agenda's): a step's median over
#: this many times its reference, at least this many cases, this false-discovery rate.
FINDINGS_RATIO, FINDINGS_MIN_CASES, FINDINGS_Q = 1.5, 30, 0.05


@cached()
def evidence(finding: Finding, month: str | None) -> dict[str, Any]:
    """One finding's evidence (:func:`procmine.explain_finding`)."""
    return explain_finding(store(), finding, month)


@cached()
def distribution(finding: Finding, month: str | None) -> pd.DataFrame:
    return finding_distribution(store(), finding, month)


# -- the SOP library -------------------------------------------------------------------------------


def lint_text(sop_id: str, text: str) -> LintReport:
    """Lint an SOP text being edited, as if it were the library's file (line-precise issues)."""
    return lint_sops(library().root, baseline(), texts={f"{sop_id}.md": text})


@cached(library=True)
def sop_findings(month: str | None = None) -> list[Finding]:
    """The slow steps, judged against the SOP version in force on each transaction's date and
    linked to the SOP step that governs them (empty when the store has no events)."""
    if store_info()["events"] == 0:
        return []
    return linked_findings(store(), baseline(), library(), month=month)


def step_findings(sop: Sop, month: str | None = None) -> pd.DataFrame:
    """One row per step of ``sop``: its findings, teller hours lost a month, tellers and
    branches."""
    return findings_by_step(sop_findings(month), sop)


@cached(library=True)
def coverage() -> Coverage | None:
    """What the SOPs cover of the logs (None when the store has no events)."""
    if store_info()["events"] == 0:
        return None
    return coverage_report(store(), baseline(), library())


def opening_sop(library: SopLibrary) -> str | None:
    """The SOP the history page opens on: the first that has changed since the library was
    seeded, else the first (None for an empty library)."""
    latest = library.latest()
    changed = [i for i, v in latest.items() if v.action != "seed"]
    return changed[0] if changed else next(iter(latest), None)


@cached(library=True)
def sop_revision_effects(sop_id: str) -> pd.DataFrame | None:
    """Step times before and after each revision of an SOP (None when the store has no
    events)."""
    if store_info()["events"] == 0:
        return None
    return revision_effects(store(), library(), sop_id)


# -- training --------------------------------------------------------------------------------------


@cached()
def roster() -> list[Trainee]:
    """The tellers papers are assigned to and spot checks are recorded for (by teller id)."""
    return teller_roster(store())


@cached()
def types_of(teller_id: str) -> set[str]:
    """The business types a teller did in the latest three months of the log."""
    return teller_types(store(), teller_id)


@cached()
def types_by_teller() -> dict[str, set[str]]:
    """Every teller's business types in the latest three months of the log, by teller id
    (:func:`procmine.types_by_teller`)."""
    return _types_by_teller(store())


@cached(library=True)
def loop(teller_id: str, stamp: str = "") -> pd.DataFrame:
    """A teller's slow steps beside the quiz items and spot checks they miss on the same SOP
    step (``stamp``: what changed in the app database since, e.g. their attempts so far)."""
    return teller_loop(teller_id, store=store(), baseline=baseline(), library=library(),
                       findings=sop_findings())


def teller_findings(teller_id: str) -> list[Finding]:
    """The slow steps found for one teller: their own, and their branch's that name them."""
    return [f for f in sop_findings()
            if f.teller_id == teller_id or teller_id in (f.tellers_flagged or ())]


# -- queues ----------------------------------------------------------------------------------------


@cached()
def queue(filters: QueueFilter) -> QueueSummary:
    """The queue's figures (:func:`procmine.queue_summary`); zero tickets when the store has
    no queue data."""
    return queue_summary(store(), filters)


@cached()
def queue_by(by: tuple[str, ...], filters: QueueFilter) -> pd.DataFrame:
    """The queue measures grouped by ``by`` (:func:`procmine.queue_measures`)."""
    return queue_measures(store(), by, filters)


@cached()
def queue_branches() -> list[str]:
    """The branches with queue data, sorted."""
    frame = queue_measures(store(), ("branch_id",), QueueFilter())
    return sorted(str(b) for b in frame["branch_id"].dropna())


def per_teller(filters: QueueFilter) -> pd.DataFrame:
    """The queue's tellers (those with a served ticket), by teller id."""
    columns = ["teller_id", "served", "mean_service_seconds", "occupancy",
               "transactions_per_teller_hour"]
    return pd.DataFrame(queue(filters).per_teller, columns=columns)


@cached()
def windows(filters: QueueFilter) -> WindowReport:
    """Waits by window type and segment, and who the VIP windows served while whom waited
    (:func:`procmine.window_report`)."""
    return window_report(store(), filters)


@cached()
def diversion(filters: QueueFilter, threshold: float, cash_types: tuple[str, ...],
              other_types: tuple[str, ...], share: float) -> DiversionReport:
    """The counter business self-service could take and the wait moving ``share`` of it
    would save (:func:`procmine.diversion_report`)."""
    return diversion_report(store(), baseline(), filters, threshold=threshold,
                            cash_types=cash_types, other_types=other_types, share=share)


@cached()
def staffing(filters: QueueFilter, target_share: float) -> StaffingPlan:
    """The counters each interval needs against those open (:func:`procmine.staffing_plan`)."""
    return staffing_plan(store(), filters, target_share=target_share)


# -- improve ---------------------------------------------------------------------------------------
# The register lives in the app database: its items are read fresh on every run (they are few and
# change with every click); what needs the event store (the re-measurement) is cached on the
# store's version, so it runs once per ingest.


def improvement(item_id: int, user: User) -> ImprovementItem:
    """One item with its links and history (RegisterError when not there or not theirs)."""
    return get_improvement(item_id, user=user, home=store().home)


def subject_now(finding: Finding) -> Subject:
    """A finding's frozen evidence as of the store's last day and version now."""
    last = store_info().get("last_event")
    as_of = pd.Timestamp(last).date() if last else None
    return finding_subject(finding, as_of=as_of, store_version=store().version(),
                           library=library())


@cached(library=True, disk=False)   # it writes to the register: once per process is enough
def refreshed_register() -> RefreshReport:
    """The register brought up to the data (:func:`procmine.refresh_register`): once per
    store version and SOP library head, however many sessions open the register."""
    return refresh_register(store().home, store=store(), baseline=baseline(), library=library())


def remeasure(item_ids: list[int]) -> RefreshReport:
    """Re-measure these items now (an item just marked done, the "re-measure now" button)."""
    return refresh_register(store().home, store=store(), baseline=baseline(), library=library(),
                            item_ids=item_ids)


@cached(library=True)
def sop_versions() -> dict[str, list[str]]:
    """Each SOP's approved versions, oldest first (what an item may link as its revision)."""
    lib = library()
    return {sop_id: [v.sop.version for v in lib.approved_versions(sop_id)]
            for sop_id in lib.ids() if lib.approved_versions(sop_id)}


def escalation_export(items: list[ImprovementItem], lang: str, kind: str) -> bytes:
    """The escalation report of ``items`` as an Excel workbook (``kind`` "xlsx") or a printable
    page ("html"), in ``lang``, as bytes."""
    with tempfile.TemporaryDirectory() as folder:
        if kind == "xlsx":
            path = export_escalation_excel(items, Path(folder) / "escalation.xlsx", lang=lang,
                                           home=store().home, baseline=baseline())
        else:
            path = export_escalation_html(items, Path(folder) / "escalation.html", lang=lang,
                                          home=store().home, baseline=baseline())
        return path.read_bytes()


# improve: marks ---------------------------------------------------------------------------------
# Thin readers of the improvement register: read fresh on every run (an item opened or moved
# shows at once), never cached.


def improvement_items(user: User) -> list[ImprovementItem]:
    """The register's items ``user`` may see (a branch manager: their branch's)."""
    return list_improvements(user=user, home=store().home)


def marks(user: User, found: Sequence[Finding]) -> dict[str, FindingMark]:
    """Each finding's mark (its open item, its latest item, a regression) by its key."""
    return finding_marks(found, improvement_items(user))


def as_of(month: str | None) -> date | None:
    """The last day of the data a page's findings come from: the store's last day, or the
    chosen month's last day when that is sooner (None for an empty store)."""
    last = store_info().get("last_event")
    end = date.fromisoformat(str(last)[:10]) if last else None
    if month is None:
        return end
    year, number = (int(part) for part in month.split("-"))
    month_end = date(year, number, calendar.monthrange(year, number)[1])
    return month_end if end is None else min(month_end, end)


def month_agenda(user: User, today: date, *, ratio: float = FINDINGS_RATIO,
                 min_cases: int = FINDINGS_MIN_CASES,
                 q: float = FINDINGS_Q) -> tuple[str | None, Agenda | None]:
    """The latest month with data and what to act on in it: its top findings without an item
    (the Slow steps page's default thresholds), the overdue items, the regressions."""
    latest = months()
    if not latest:
        return None, None
    found = findings(latest[0], ratio, min_cases, q)
    return latest[0], agenda(found, improvement_items(user), today=today)
