"""The XES readers' common ground: element kinds, and the table built from attribute triples.

Both readers (the vectorised one in :mod:`procmine.io.xes_fast` and the general lxml one in
:mod:`procmine.io.xes`) gather the attributes of traces and events as triples (owner, key code,
value) in file order, into :class:`Collected`. :func:`build_table` turns them into one column per
key: for each key, the index of each owner's last value with that key is found with array
operations (a sort by key code when there are many keys, else a scan per key), and the column
is a ``take`` of the values. Trace attributes become ``case:<key>`` columns, spread to the
trace's events; an event attribute whose name is already taken is dropped (as in pm4py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = [
    "ATTR",
    "EVENT",
    "LOG",
    "OTHER",
    "TRACE",
    "Collected",
    "IntArray",
    "build_table",
    "ints",
    "kind_of",
    "local_name",
    "take",
]

IntArray = npt.NDArray[np.int64]

# Element kinds by local name.
OTHER, ATTR, EVENT, TRACE, LOG = 0, 1, 2, 3, 4
_ATTR_TAGS = frozenset({"string", "date", "int", "float", "boolean", "id"})


# The readers' own signals, shared by the xes modules and never raised out of read_xes_table.
class _Unsupported(Exception):
    """The fast reader does not handle this file; the general reader will."""


class _NotXes(Exception):
    """The root element is not <log>."""


def local_name(tag: str) -> str:
    """``{uri}event`` or ``xes:event`` -> ``event``."""
    return tag.rpartition("}")[2].rpartition(":")[2]


def kind_of(tag: str) -> int:
    name = local_name(tag)
    if name in _ATTR_TAGS:
        return ATTR
    return {"event": EVENT, "trace": TRACE, "log": LOG}.get(name, OTHER)


@dataclass
class Collected:
    """Attribute triples gathered by either reader, turned into a table by ``build_table``."""

    events: int = 0
    traces: int = 0
    ev_rows: list[IntArray] = field(default_factory=list)  # 1-based event row
    ev_codes: list[IntArray] = field(default_factory=list)  # index into ev_keys
    ev_vals: list[pa.Array] = field(default_factory=list)
    ev_keys: dict[str, int] = field(default_factory=dict)
    tr_nos: list[IntArray] = field(default_factory=list)  # 1-based trace number
    tr_codes: list[IntArray] = field(default_factory=list)
    tr_vals: list[pa.Array] = field(default_factory=list)
    tr_keys: dict[str, int] = field(default_factory=dict)
    ev_trace: list[IntArray] = field(default_factory=list)  # per event: trace no, 0 = none


def _concat_ints(parts: list[IntArray]) -> IntArray:
    if not parts:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate(parts).astype(np.int64, copy=False)


def _concat_strings(parts: list[pa.Array]) -> pa.Array:
    if not parts:
        return pa.nulls(0, pa.large_string())
    return pa.concat_arrays([a.cast(pa.large_string()) for a in parts])


def _positions(
    owners: IntArray, codes: IntArray, n_keys: int, size: int
) -> Iterator[tuple[int, IntArray]]:
    """For each key code: an array of length ``size`` with, per owner (1-based), the index of
    its last value with that key, or -1."""
    many = n_keys > 64  # then one sort beats a scan per key
    order = np.argsort(codes, kind="stable") if many else codes
    bounds = np.concatenate(([0], np.cumsum(np.bincount(codes, minlength=n_keys))))
    for k in range(n_keys):
        idx = order[bounds[k] : bounds[k + 1]] if many else np.flatnonzero(codes == k)
        own = owners[idx]
        # Owners are non-decreasing in file order: keep the last value per owner.
        last = np.ones(len(own), dtype=bool)
        last[:-1] = own[1:] != own[:-1]
        pos = np.full(size, -1, dtype=np.int64)
        pos[own[last] - 1] = idx[last]
        yield k, pos


def ints(values: npt.NDArray[Any], nulls: npt.NDArray[np.bool_] | None = None) -> pa.Array:
    """An int64 Arrow array over a numpy array, nulls where ``nulls`` is true.

    Built from buffers because ``pa.array`` imports pandas on first use (0.1+ s).
    """
    values = np.ascontiguousarray(values, dtype=np.int64)
    validity, null_count = None, 0
    if nulls is not None:
        null_count = int(np.count_nonzero(nulls))
        if null_count:
            validity = pa.py_buffer(np.packbits(~nulls, bitorder="little"))
    return pa.Array.from_buffers(
        pa.int64(), len(values), [validity, pa.py_buffer(values)], null_count=null_count
    )


def take(values: pa.Array, pos: IntArray) -> pa.Array:
    return values.take(ints(pos, pos < 0))


def build_table(c: Collected) -> pa.Table:
    """One row per event, ``_row`` first, then the trace and the event attribute columns."""
    n, t = c.events, c.traces
    names: list[str] = ["_row"]
    arrays: list[pa.Array] = [ints(np.arange(1, n + 1, dtype=np.int64))]

    tr_vals = _concat_strings(c.tr_vals)
    ev_trace = _concat_ints(c.ev_trace)
    tr_names = list(c.tr_keys)
    for k, pos in _positions(_concat_ints(c.tr_nos), _concat_ints(c.tr_codes), len(tr_names), t):
        # Index 0 of ``by_trace`` stands for "no trace" (a log-level event).
        by_trace = np.concatenate(([-1], pos))
        names.append("case:" + tr_names[k])
        arrays.append(take(tr_vals, by_trace[ev_trace]))

    taken = set(names)
    ev_vals = _concat_strings(c.ev_vals)
    ev_names = list(c.ev_keys)
    for k, pos in _positions(_concat_ints(c.ev_rows), _concat_ints(c.ev_codes), len(ev_names), n):
        if ev_names[k] in taken:
            continue
        names.append(ev_names[k])
        arrays.append(take(ev_vals, pos))
    return pa.Table.from_arrays(arrays, names=names)
