"""The dashboard's side of the warm-up (:mod:`procmine.store.warm_up`), run outside a Streamlit
server (by ``procmine warm``): the function its recipes name, :func:`keep`, and what a workspace
whose pages nobody has opened yet warms instead, :func:`first_views`.

Outside a server Streamlit warns, for every cached function, that no server runs and its cache
lives in memory: not news here, so its messages below errors are silenced first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streamlit import logger as _streamlit_logger

_streamlit_logger.set_log_level("error")

from procmine import Filters  # noqa: E402
from procmine.dashboard import data  # noqa: E402  (after the silencing: its import warns)
from procmine.dashboard.data import keep  # noqa: E402

__all__ = ["first_views", "keep"]


def first_views() -> int:
    """Compute the results the roles' first pages read, with the choices those pages make at
    first, for a workspace that has no recipes yet (its first ingest: no one has opened a page,
    so nothing says what to warm).

    Without it, the first users after a first ingest wait for the whole log's slow-step
    searches. These are the results every user of a role shares (the latest month, the Slow
    steps page's default thresholds, the SOP history's first SOP); a branch's or a teller's own
    figures are left to their first view. Each result computed here leaves its recipe like any
    other, so the warm-ups after later ingests compute it again. Returns how many results it
    asked for (the warm-up's count).

    What it computes, and for which page:

    - the store's figures, filter options, months and quarantine (every page);
    - the slow steps of the latest month, and the evidence of the first (the Slow steps page;
      the overview's agenda);
    - the latest month's summary, business types and tellers (the overview);
    - the slow steps linked to the SOPs in force (the SOP library; a teller's own findings)
      and what the SOPs cover of the log (the SOP library);
    - the latest month's league (a teller's rank; the announcement) and the bank's step times
      over the whole period (what a teller's own figures compare with);
    - the step times before and after the revisions of the SOP the history page opens on.
    """
    asked: list[str] = []

    def ask(function: Callable[..., Any], *arguments: Any) -> Any:
        asked.append(function.__name__)
        return function(*arguments)

    if ask(data.store_info)["events"] == 0:
        return len(asked)
    ask(data.options)
    ask(data.quarantine_summary)
    months = ask(data.months)
    month = months[0] if months else None
    found = ask(data.findings, month, data.FINDINGS_RATIO, data.FINDINGS_MIN_CASES,
                data.FINDINGS_Q)
    if found and found[0].kind in ("step", "wait") and found[0].activity:
        ask(data.evidence, found[0], month)
        if found[0].kind == "step":
            ask(data.distribution, found[0], month)
    chosen = Filters.for_month(month) if month else Filters()
    for figures in (data.summary, data.business_types, data.tellers):
        ask(figures, chosen)
    ask(data.sop_findings)
    ask(data.coverage)
    if month:
        ask(data.league, month)
    ask(data.bank_steps, Filters())
    sop_id = data.opening_sop(data.library())
    if sop_id is not None:
        ask(data.sop_revision_effects, sop_id)
    return len(asked)
