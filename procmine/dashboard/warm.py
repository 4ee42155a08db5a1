"""The dashboard's side of the warm-up (:mod:`procmine.store.warm_up`), run outside a Streamlit
server (by ``procmine warm``): the function its recipes name, :func:`keep`, and what every
warm-up computes first, :func:`first_views`.

Outside a server Streamlit warns, for every cached function, that no server runs and its cache
lives in memory: not news here, so its messages below errors are silenced first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from streamlit import logger as _streamlit_logger

_streamlit_logger.set_log_level("error")

from procmine import Filters  # noqa: E402
from procmine.dashboard import data, data_maps  # noqa: E402  (after the silencing: it warns)
from procmine.dashboard.components import map_filters  # noqa: E402
from procmine.dashboard.components.model_chart import MODEL_NOISE  # noqa: E402
from procmine.dashboard.data import keep  # noqa: E402

__all__ = ["first_views", "keep"]

_log = logging.getLogger(__name__)


def first_views() -> int:
    """Compute the results the roles' first pages read, with the choices those pages make at
    first: what every warm-up computes before its recipes. Someone signs in after every ingest,
    whichever pages were opened before; and a workspace with no recipes yet (its first ingest:
    no one has opened a page) has nothing else to say what to warm.

    Without it, the first users after an ingest wait for the whole log's slow-step searches
    (10-12 s for a trainer's or a teller's sign-in at 10M events, measured on a workspace
    with one recipe, when the first views were run only without any). These are the results
    every user of a role shares (the latest month, the Slow steps page's default thresholds,
    the SOP history's first SOP); a branch's or a teller's own figures are left to their first
    view. Each result computed here leaves its recipe like any other. Returns how many
    results it asked for (the warm-up's ``first_views``); one that fails is logged and the
    others are still computed.

    What it computes, and for which page:

    - the store's figures, filter options, months and quarantine (every page);
    - the slow steps of the latest month, and the evidence of the first (the Slow steps page;
      the overview's agenda);
    - the latest month's summary, business types and tellers (the overview); the map, model
      (its section, once opened) and variants of its busiest type (the process map and
      variants pages), and the conformance of every type, with its first deviating case (the
      conformance page);
    - the slow steps linked to the SOPs in force (the SOP library; a teller's own findings)
      and what the SOPs cover of the log (the SOP library);
    - the latest month's league (a teller's rank; the announcement) and the bank's step times
      over the whole period (what a teller's own figures compare with);
    - the step times before and after the revisions of the SOP the history page opens on.
    """
    asked: list[str] = []

    def ask(function: Callable[..., Any], *arguments: Any) -> Any:
        try:
            result = function(*arguments)
        except Exception as exc:  # e.g. a model without pm4py: the others are still warmed
            _log.warning("first views: %s failed: %s", function.__name__, exc)
            return None
        asked.append(function.__name__)
        return result

    info = ask(data.store_info)
    if info is None or info["events"] == 0:
        return len(asked)
    ask(data.options)
    ask(data.quarantine_summary)
    months = ask(data.months) or []
    month = months[0] if months else None
    found = ask(data.findings, month, data.FINDINGS_RATIO, data.FINDINGS_MIN_CASES,
                data.FINDINGS_Q)
    if found and found[0].kind in ("step", "wait") and found[0].activity:
        ask(data.evidence, found[0], month)
        if found[0].kind == "step":
            ask(data.distribution, found[0], month)
    chosen = Filters.for_month(month) if month else Filters()
    ask(data.summary, chosen)
    volumes = ask(data.business_types, chosen)
    ask(data.tellers, chosen)
    ask(data.teller_branches)   # the map pages' teller picker
    busiest = map_filters.busiest_type(volumes) if volumes is not None else None
    if busiest is not None:   # the map pages open on it
        ask(data_maps.map_of, busiest, chosen)
        ask(data_maps.model_of, busiest, chosen, MODEL_NOISE)
        ask(data_maps.variants_of, busiest, chosen, data_maps.VARIANTS_TOP)
    report = ask(data_maps.conformance_of, None, chosen)   # every type at first
    ask(data_maps.deviation_findings_of, None, chosen)
    if report is not None and len(report.deviations):   # the first deviating case, opened
        ask(data_maps.case_events, sorted(report.deviations["case_id"].astype(str).unique())[0])
    ask(data.sop_findings)
    ask(data.coverage)
    if month:
        ask(data.league, month)
    ask(data.bank_steps, Filters())
    sop_id = data.opening_sop(data.library())
    if sop_id is not None:
        ask(data.sop_revision_effects, sop_id)
    return len(asked)
