"""Lifecycle pairing: start and complete events of the same step become one row.

Logs with lifecycle transitions (XES ``lifecycle:transition``, or a column that says start or
complete) record a step as two events. Pairing is first-in first-out per (case, activity,
instance): each complete closes the earliest open start, so the k-th start pairs with the k-th
complete that found one open. Walking the events of a key in time order with +1 for a start and
-1 for a complete, a complete that takes the running balance below every earlier balance (and
below zero) found no open start ("lone"). The row of a pair is its complete event, with the
start's time as ``start_time`` (and the start's teller where the complete has none).

A mapping that declares ``start_time`` absent (null) makes a completion-only log of it: the
starts still pair with their completes (and merge into them), but their times are not kept.
A lone complete is loaded without a start time (a warning); a start never closed is
quarantined (``unmatched_start``). Other transitions (schedule, suspend, ...) are quarantined
as not used. Each pair merges two records into one row: the report's ``merged_by_pairing``.
"""

from __future__ import annotations

from typing import Final

from procmine.ingest.state import RunState

__all__ = ["pair_lifecycle"]

_KEY: Final = "case_id, activity, coalesce(instance, '')"
_ORDER: Final = "end_time, CASE lifecycle WHEN 'start' THEN 0 ELSE 1 END, src_row"

# The start and complete events with a balance and whether each complete is lone.
_WALK: Final = f"""
    CREATE TEMP TABLE walk AS
    WITH ev AS (
        SELECT case_id, activity, instance, lifecycle, end_time, teller_id, src_row,
               CASE lifecycle WHEN 'start' THEN 1 ELSE -1 END AS step
        FROM numbered
        WHERE lifecycle IN ('start', 'complete') AND case_id IS NOT NULL
          AND activity IS NOT NULL AND end_time IS NOT NULL
    ), s AS (
        SELECT *, sum(step) OVER (PARTITION BY {_KEY} ORDER BY {_ORDER}
                                  ROWS UNBOUNDED PRECEDING) AS balance
        FROM ev
    ), m AS (
        SELECT *, coalesce(min(balance) OVER (PARTITION BY {_KEY} ORDER BY {_ORDER}
                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS prev_min
        FROM s
    )
    SELECT *, (step = -1 AND balance < least(prev_min, 0)) AS lone_complete FROM m
"""

# The k-th start of a key with the k-th complete that is not lone.
_PAIRS: Final = f"""
    CREATE TEMP TABLE pairs AS
    WITH st AS (
        SELECT *, row_number() OVER (PARTITION BY {_KEY} ORDER BY {_ORDER}) AS k
        FROM walk WHERE step = 1
    ), co AS (
        SELECT *, row_number() OVER (PARTITION BY {_KEY} ORDER BY {_ORDER}) AS k
        FROM walk WHERE step = -1 AND NOT lone_complete
    )
    SELECT co.src_row AS complete_row, st.src_row AS start_row,
           st.end_time AS start_ts, st.teller_id AS start_teller
    FROM st JOIN co ON st.case_id = co.case_id AND st.activity = co.activity
         AND coalesce(st.instance, '') = coalesce(co.instance, '') AND st.k = co.k
"""

# Every event but the paired starts, the completes carrying their start ({start}: its time,
# or NULL where the mapping declares start_time absent).
_PAIRED_ROWS: Final = """
    CREATE TEMP TABLE paired_rows AS
    SELECT s.* REPLACE (
               {start} AS start_time,
               coalesce(s.teller_id, p.start_teller) AS teller_id),
           (s.lifecycle = 'start' AND s.end_time IS NOT NULL AND s.case_id IS NOT NULL
            AND s.activity IS NOT NULL) AS unmatched_start,
           coalesce(w.lone_complete, false) AS unmatched_complete
    FROM numbered s
    LEFT JOIN pairs p ON s.lifecycle = 'complete' AND p.complete_row = s.src_row
    LEFT JOIN walk w ON w.src_row = s.src_row
    WHERE s.src_row NOT IN (SELECT start_row FROM pairs)
"""


def pair_lifecycle(state: RunState) -> tuple[int, dict[str, int]]:
    """Pair the staged events (the table ``staged``, numbered as the view ``numbered``) into
    the table ``paired_rows``; returns the pairs merged and the pairing counts of the report.

    A complete-only log (no start events) keeps every event as a row of its own.
    """
    con = state.con
    starts = state.scalar("SELECT count(*) FROM staged WHERE lifecycle = 'start'")
    if starts == 0:
        con.execute(
            "CREATE TEMP TABLE paired_rows AS SELECT *, false AS unmatched_start, "
            "false AS unmatched_complete FROM numbered"
        )
        return 0, {}
    con.execute(_WALK)
    con.execute(_PAIRS)
    absent = "start_time" in state.spec.absent
    con.execute(_PAIRED_ROWS.format(
        start="s.start_time" if absent else "coalesce(p.start_ts, s.start_time)"))
    pairs = state.scalar("SELECT count(*) FROM pairs")
    return pairs, {
        "start_events": starts,
        "complete_events": state.scalar(
            "SELECT count(*) FROM staged WHERE lifecycle = 'complete'"
        ),
        "paired": pairs,
        "unmatched_start": state.scalar(
            "SELECT count(*) FROM paired_rows WHERE unmatched_start"
        ),
        "unmatched_complete": state.scalar(
            "SELECT count(*) FROM paired_rows WHERE unmatched_complete"
        ),
    }
