"""Fast reader for XES event logs (``.xes`` and ``.xes.gz``) into a pyarrow Table.

The table has one row per ``<event>`` in file order. Every value is the text of the
attribute's ``value`` exactly as written in the file (after XML unescaping); nothing is
parsed or converted, because typing happens later in DuckDB.

Columns, in this order:

* ``_row`` (int64): 1-based event number in file order;
* ``case:<key>`` for every trace-level attribute, in the order the keys first appear;
* ``<key>`` for every event-level attribute, in the order the keys first appear.

All columns except ``_row`` are ``large_string``; a missing attribute is null. Only direct
``string``, ``date``, ``int``, ``float``, ``boolean`` and ``id`` children of ``<trace>`` and
``<event>`` count. Nested attributes, lists, containers, ``<global>`` defaults, classifiers,
extensions and log-level attributes are not columns. When a key occurs twice in one
event or trace, the last one wins. If an event attribute's key equals a column name that
is already taken (``_row`` or a ``case:<key>`` column) the trace attribute wins and the
event attribute is dropped, as in pm4py's dataframe.

How it is fast: the reader never makes a Python call per XML element. The decompressed
text is read in chunks. Each chunk is split at double quotes with pyarrow, so the odd
pieces are the quoted attribute values and the even pieces are the markup between them.
The markup pieces repeat a lot (``'/>\\n\\t\\t\\t<string key='``), so each distinct piece is
parsed once in Python into a small "program" of tags, and numpy expands the programs into
the tag stream, from which depth, parents, events, traces and attribute owners are
computed with array operations. A background thread runs libxml2 (lxml, no callbacks)
over the same bytes to check that the file is well-formed XML, so a broken file is
reported with its line number. Files with constructs this scheme does not cover (an
internal DTD subset, single-quoted ``key``/``value`` attributes, double quotes in text
content, an encoding Python does not know) are read by a slower but general lxml
parser-target reader that yields the same table.

Example::

    >>> from procmine.io.xes import read_xes_table
    >>> result = read_xes_table("BPI_Challenge_2012_W_Two_TS.xes.gz")  # doctest: +SKIP
    >>> result.traces, result.events                                   # doctest: +SKIP
    (8616, 118604)
    >>> result.table.column_names[:3]                                  # doctest: +SKIP
    ['_row', 'case:concept:name', 'case:variant']
"""

from __future__ import annotations

import codecs
import gzip
import queue
import re
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from lxml import etree

from procmine.core.errors import ProcmineError

__all__ = ["XesReadResult", "read_xes_table"]

IntArray = npt.NDArray[np.int64]

# Tag types in the tag stream. OPEN is a start tag whose end (">" or "/>") lies in a later
# markup piece; it is resolved to START or EMPTY.
_START, _EMPTY, _END, _OPEN = 1, 2, 3, 4
# Element kinds by local name.
_OTHER, _ATTR, _EVENT, _TRACE, _LOG = 0, 1, 2, 3, 4
_ATTR_TAGS = frozenset({"string", "date", "int", "float", "boolean", "id"})
# Which attribute (of an XML tag) a quoted value belongs to.
_PEND_OTHER, _PEND_KEY, _PEND_VALUE = 0, 1, 2

_MIN_CHUNK = 1 << 18
_MAX_CHUNK = 1 << 24

_XML_WS = "[ \t\r\n]"
_XML_NAME = "[^ \t\r\n/>=<\"'!?][^ \t\r\n/>=<\"']*"
_ATTR_RE = re.compile(f"{_XML_WS}+({_XML_NAME}){_XML_WS}*={_XML_WS}*")
_CLOSE_RE = re.compile(f"{_XML_WS}*(/?)>")
_SQUOTED_RE = re.compile("'[^'<]*'")
_NAME_RE = re.compile(_XML_NAME)
_ENDTAG_RE = re.compile(f"/({_XML_NAME}){_XML_WS}*>")
# Comments, processing instructions (including the XML declaration), CDATA sections and a
# DOCTYPE without internal subset: removed before the quote split.
_SPECIAL_RE = re.compile(rb"<!--.*?-->|<\?.*?\?>|<!\[CDATA\[.*?\]\]>|<!DOCTYPE[^\[>]*>", re.DOTALL)
_SPECIAL_START_RE = re.compile(rb"<[!?]")
_ENCODING_RE = re.compile(rb"""\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_ENTITY_RE = re.compile(r"&(?:#([0-9]+)|#x([0-9a-fA-F]+)|(lt|gt|amp|quot|apos));")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_ATTR_WS_TABLE = str.maketrans({"\t": " ", "\n": " ", "\r": " "})


@dataclass(frozen=True)
class XesReadResult:
    """What :func:`read_xes_table` read.

    ``table`` has one row per ``<event>`` in file order (see the module docstring for its
    columns), ``traces`` counts the ``<trace>`` elements and ``events`` the ``<event>``
    elements (always ``table.num_rows``).
    """

    table: pa.Table
    traces: int
    events: int


def read_xes_table(
    path: str | Path, progress: Callable[[float], None] | None = None
) -> XesReadResult:
    """Read an XES or gzip-compressed XES file into a pyarrow Table of strings.

    ``progress``, if given, is called with the fraction (0.0 to 1.0) of the file's bytes
    (compressed bytes for ``.xes.gz``) read so far, about every 1 %, and with 1.0 at the end.
    It starts again from 0 once if the file turns out to need the general reader.

    Raises :class:`~procmine.core.errors.ProcmineError` when the file is missing, is not
    well-formed XML (the message names the file and the line), is a broken gzip file, or
    its root element is not ``<log>``.

    Example::

        >>> res = read_xes_table("receipt.xes")            # doctest: +SKIP
        >>> res.events, res.traces                          # doctest: +SKIP
        (8577, 1434)
        >>> res.table.column("concept:name")[0].as_py()     # doctest: +SKIP
        'Confirmation of receipt'
    """
    p = Path(path)
    try:
        if p.is_file() and p.stat().st_size == 0:
            raise ProcmineError(f"{p}: empty file, not an XES log")
        try:
            return _read_fast(p, progress)
        except _Unsupported:
            return _read_slow(p, progress)
    except ProcmineError:
        raise
    except FileNotFoundError as exc:
        raise ProcmineError(f"{p}: file not found") from exc
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ProcmineError(f"{p}: broken or truncated gzip file ({exc})") from exc
    except OSError as exc:
        raise ProcmineError(f"{p}: cannot read file ({exc})") from exc


# --------------------------------------------------------------------------------------
# Shared pieces


class _Unsupported(Exception):
    """The fast reader does not handle this file; the general reader will."""


class _NotXes(Exception):
    """The root element is not <log>."""


class _Special(Exception):
    """A chunk holds a comment, processing instruction, CDATA section or DOCTYPE."""


def _xml_error(p: Path, exc: BaseException) -> ProcmineError:
    if isinstance(exc, etree.XMLSyntaxError):
        line = exc.lineno
        msg = exc.msg or str(exc)
        where = f" at line {line}" if line else ""
        return ProcmineError(f"{p}: not well-formed XML{where}: {msg}")
    if isinstance(exc, _NotXes):
        return ProcmineError(f"{p}: not an XES log (root element is <{exc}>, not <log>)")
    return ProcmineError(f"{p}: cannot parse XML: {exc}")


def _local(tag: str) -> str:
    """``{uri}event`` or ``xes:event`` -> ``event``."""
    return tag.rpartition("}")[2].rpartition(":")[2]


def _kind_of(tag: str) -> int:
    name = _local(tag)
    if name in _ATTR_TAGS:
        return _ATTR
    return {"event": _EVENT, "trace": _TRACE, "log": _LOG}.get(name, _OTHER)


def _iter_chunks(p: Path, progress: Callable[[float], None] | None) -> Iterator[bytes]:
    """Yield the decompressed bytes of ``p`` in chunks of about 1 % of the file.

    ``progress`` is called after the consumer has handled each chunk.
    """
    size = p.stat().st_size
    with open(p, "rb") as raw:
        is_gz = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        src: Any = gzip.GzipFile(fileobj=raw, mode="rb") if is_gz else raw
        want = _MIN_CHUNK
        got = 0
        try:
            while True:
                data = src.read(want)
                if not data:
                    break
                got += len(data)
                pos = raw.tell()
                yield data
                if progress is not None:
                    progress(min(pos / size, 1.0) if size else 1.0)
                # Aim at 1 % of the compressed file per chunk, within sane bounds.
                ratio = got / max(pos, 1)
                want = int(min(max(ratio * size / 100, _MIN_CHUNK), _MAX_CHUNK))
        finally:
            if is_gz:
                src.close()
    if progress is not None:
        progress(1.0)


@dataclass
class _Collected:
    """Attribute triples gathered by either reader, turned into a table by ``_build``."""

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


def _ints(values: npt.NDArray[Any], nulls: npt.NDArray[np.bool_] | None = None) -> pa.Array:
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


def _indices(encoded: pa.DictionaryArray) -> npt.NDArray[Any]:
    """The indices of a dictionary-encoded array without nulls, as a numpy view
    (``to_numpy`` would import pandas)."""
    idx = encoded.indices
    if idx.type != pa.int32() or idx.null_count:
        return np.asarray(idx.to_numpy(zero_copy_only=False))
    return np.frombuffer(idx.buffers()[1], dtype=np.int32, count=len(idx), offset=4 * idx.offset)


def _take(values: pa.Array, pos: IntArray) -> pa.Array:
    return values.take(_ints(pos, pos < 0))


def _build(c: _Collected) -> XesReadResult:
    n, t = c.events, c.traces
    names: list[str] = ["_row"]
    arrays: list[pa.Array] = [_ints(np.arange(1, n + 1, dtype=np.int64))]

    tr_vals = _concat_strings(c.tr_vals)
    ev_trace = _concat_ints(c.ev_trace)
    tr_names = list(c.tr_keys)
    for k, pos in _positions(_concat_ints(c.tr_nos), _concat_ints(c.tr_codes), len(tr_names), t):
        # Index 0 of ``by_trace`` stands for "no trace" (a log-level event).
        by_trace = np.concatenate(([-1], pos))
        names.append("case:" + tr_names[k])
        arrays.append(_take(tr_vals, by_trace[ev_trace]))

    taken = set(names)
    ev_vals = _concat_strings(c.ev_vals)
    ev_names = list(c.ev_keys)
    for k, pos in _positions(_concat_ints(c.ev_rows), _concat_ints(c.ev_codes), len(ev_names), n):
        if ev_names[k] in taken:
            continue
        names.append(ev_names[k])
        arrays.append(_take(ev_vals, pos))
    return XesReadResult(table=pa.Table.from_arrays(arrays, names=names), traces=t, events=n)


# --------------------------------------------------------------------------------------
# Fast reader


def _attr_value(raw: str) -> str:
    """XML attribute-value normalisation of a raw quoted value: whitespace characters become
    spaces (a CR LF pair one space), then character and predefined entity references are
    replaced."""
    s = raw.replace("\r\n", " ").translate(_ATTR_WS_TABLE)
    if "&" in s:
        s = _ENTITY_RE.sub(_entity, s)
    return s


def _entity(m: re.Match[str]) -> str:
    dec, hexa, named = m.groups()
    if dec is not None:
        return chr(int(dec))
    if hexa is not None:
        return chr(int(hexa, 16))
    return _NAMED_ENTITIES[named]


def _normalize(values: pa.Array) -> pa.Array:
    """Apply :func:`_attr_value` to the values that need it (those with ``&`` or ``\t\n\r``).

    The check runs over the array's contiguous data buffer, which is much cheaper than a
    per-string regex; in the usual file no value needs fixing.
    """
    if len(values) == 0 or values.null_count == len(values):
        return values
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)
    lo, hi = int(offsets[values.offset]), int(offsets[values.offset + len(values)])
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)[lo:hi]
    if not (np.count_nonzero(data == 38) or np.count_nonzero(data < 14)):
        return values
    mask = pc.fill_null(pc.match_substring_regex(values, "[&\t\n\r]"), False)
    idx = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
    if idx.size == 0:
        return values
    fixed = [_attr_value(v) for v in values.take(_ints(idx)).to_pylist()]
    return pc.replace_with_mask(values, mask, pa.array(fixed, values.type))


def _parse_piece(
    s: str, starts_inside: bool, ends_pending: bool
) -> tuple[int, list[str], list[int], str | None]:
    """Parse one piece of markup between two double-quoted attribute values.

    ``starts_inside``: the piece starts inside a tag opened in an earlier piece (right after
    a quoted value). ``ends_pending``: the piece must end with ``name=`` whose value is the
    next quoted string. Returns (how the carried tag is closed: 0/_START/_EMPTY, tag names,
    tag types, pending attribute name). Raises _Special on ``<!`` or ``<?`` and
    _Unsupported for anything else unexpected.
    """
    pos, n = 0, len(s)
    lead = 0
    names: list[str] = []
    types: list[int] = []
    pending: str | None = None
    in_tag = starts_inside
    carried = starts_inside
    while True:
        if in_tag:
            m = _ATTR_RE.match(s, pos)
            if m is not None:
                pos = m.end()
                if pos == n:
                    pending = m.group(1)
                    break
                # A single-quoted value inside the piece: fine unless we need it.
                q = _SQUOTED_RE.match(s, pos)
                if q is None or m.group(1) in ("key", "value"):
                    raise _Unsupported
                pos = q.end()
                continue
            m = _CLOSE_RE.match(s, pos)
            if m is None:
                raise _Unsupported
            closed = _EMPTY if m.group(1) else _START
            if carried:
                lead, carried = closed, False
            else:
                types[-1] = closed
            in_tag = False
            pos = m.end()
            continue
        lt = s.find("<", pos)
        if lt < 0:
            break  # text up to the end of the piece
        pos = lt + 1
        if s.startswith(("!", "?"), pos):
            raise _Special
        m = _ENDTAG_RE.match(s, pos)
        if m is not None:
            names.append(m.group(1))
            types.append(_END)
            pos = m.end()
            continue
        m = _NAME_RE.match(s, pos)
        if m is None:
            raise _Unsupported
        names.append(m.group(0))
        types.append(_OPEN)
        in_tag = True
        pos = m.end()
    if ends_pending != (pending is not None):
        raise _Unsupported
    return lead, names, types, pending


class _Programs:
    """Parsed markup pieces ("programs") and their numpy form, shared by all chunks."""

    def __init__(self) -> None:
        self.name_codes: dict[str, int] = {}
        self.name_kinds: list[int] = []
        self.cache: dict[tuple[str, bool, bool], int] = {}
        self.lead: list[int] = []
        self.pend: list[int] = []
        self.tag_names: list[list[int]] = []
        self.tag_types: list[list[int]] = []
        self._arrays: tuple[npt.NDArray[Any], ...] | None = None

    def add(self, s: str, starts_inside: bool, ends_pending: bool) -> int:
        lead, names, types, pending = _parse_piece(s, starts_inside, ends_pending)
        codes = []
        for name in names:
            code = self.name_codes.get(name)
            if code is None:
                code = self.name_codes[name] = len(self.name_kinds)
                self.name_kinds.append(_kind_of(name))
            codes.append(code)
        self.lead.append(lead)
        self.pend.append({"key": _PEND_KEY, "value": _PEND_VALUE}.get(pending or "", _PEND_OTHER))
        self.tag_names.append(codes)
        self.tag_types.append(types)
        self._arrays = None
        return len(self.lead) - 1

    def get(self, s: str, starts_inside: bool = True, ends_pending: bool = True) -> int:
        """Program of piece ``s``, cached (pieces repeat) unless long."""
        key = (s, starts_inside, ends_pending)
        prog = self.cache.get(key)
        if prog is None:
            prog = self.add(s, starts_inside, ends_pending)
            if len(s) <= 512:
                self.cache[key] = prog
        return prog

    def arrays(self) -> tuple[npt.NDArray[Any], ...]:
        """(offset, length, flat names, flat types, lead, pend, kind of name code, whether
        the program leaves a tag open)."""
        if self._arrays is None:
            lens = np.array([len(t) for t in self.tag_types], dtype=np.int64)
            offs = np.concatenate(([0], np.cumsum(lens)[:-1])).astype(np.int64)
            flat_names = np.array([c for t in self.tag_names for c in t], dtype=np.int64)
            flat_types = np.array([c for t in self.tag_types for c in t], dtype=np.int8)
            self._arrays = (
                offs,
                lens,
                flat_names,
                flat_types,
                np.array(self.lead, dtype=np.int8),
                np.array(self.pend, dtype=np.int8),
                np.array(self.name_kinds, dtype=np.int8),
                np.array([bool(t) and t[-1] == _OPEN for t in self.tag_types], dtype=bool),
            )
        return self._arrays


class _FastParser:
    """Vectorised XES reader over chunks of UTF-8 text that start outside any tag."""

    def __init__(self) -> None:
        self.out = _Collected()
        self.progs = _Programs()
        self.depth = 0
        self.root_seen = False
        # The most recent start tag at depth 1 and at depth 2 (kind, trace no or row).
        self.p1_kind, self.p1_num = _OTHER, 0
        self.p2_kind, self.p2_num = _OTHER, 0

    def feed(self, buf: bytes, final: bool) -> bytes:
        """Process ``buf`` up to its last ``<`` (all of it when ``final``); return the rest."""
        cut = len(buf) if final else buf.rfind(b"<")
        if cut <= 0:
            return buf
        try:
            self._process(memoryview(buf)[:cut])
            return buf[cut:]
        except _Special:
            pass
        except _Unsupported:
            # Quotes inside a comment or processing instruction can derail the parse
            # before the "<!" or "<?" itself is seen.
            if b"<!" not in buf[:cut] and b"<?" not in buf[:cut]:
                raise
        # Comments, processing instructions, CDATA or a DOCTYPE: drop the complete ones
        # and keep an unterminated one for the next chunk.
        work, rest = _SPECIAL_RE.sub(b"", buf[:cut]), buf[cut:]
        m = _SPECIAL_START_RE.search(work)
        if m is not None:
            k = m.start()
            gt = work.find(b">", k)
            if work.startswith(b"<!DOCTYPE", k) and b"[" in work[k : gt if gt >= 0 else None]:
                raise _Unsupported  # internal DTD subset: entities may be declared
            if final:
                raise ValueError("unterminated comment, CDATA or processing instruction")
            work, rest = work[:k], work[k:] + rest
        if work:
            try:
                self._process(memoryview(work))
            except _Special:
                raise _Unsupported from None
        return rest

    def _process(self, buf: memoryview) -> None:
        # Zero-copy string array over ``buf``: odd elements are the double-quoted values,
        # even elements the markup between them (with its quotes, first/last without one).
        quotes = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 34)
        n_quotes = len(quotes)
        if n_quotes % 2:
            raise _Special  # a double quote in text content or a comment
        m = n_quotes // 2  # number of quoted values
        offsets = np.empty(n_quotes + 2, dtype=np.int64)
        offsets[0], offsets[-1] = 0, len(buf)
        offsets[1:-1] = quotes
        offsets[1:-1:2] += 1
        pieces = pa.Array.from_buffers(
            pa.large_string(), n_quotes + 1, [None, pa.py_buffer(offsets), pa.py_buffer(buf)]
        )
        progs = self.progs
        codes = np.empty(m + 1, dtype=np.int64)
        if m == 0:
            codes[0] = progs.get(pieces[0].as_py(), False, False)
        else:
            codes[0] = progs.get(pieces[0].as_py()[:-1], False, True)
            codes[m] = progs.get(pieces[2 * m].as_py()[1:], True, False)
            if m > 1:
                middle = pc.dictionary_encode(pieces.take(_ints(np.arange(2, 2 * m, 2))))
                dmap = np.array(
                    [progs.get(s[1:-1]) for s in middle.dictionary.to_pylist()], dtype=np.int64
                )
                codes[1:m] = dmap[_indices(middle)]
        offs, lens, flat_names, flat_types, lead, pend, name_kinds, prog_open = progs.arrays()

        # Expand the programs into the tag stream.
        lengths = lens[codes]
        ends = np.cumsum(lengths)
        total = int(ends[-1])
        if total == 0:
            return
        flat = np.repeat(offs[codes] - (ends - lengths), lengths) + np.arange(total)
        ttype = flat_types[flat]
        kind = name_kinds[flat_names[flat]]

        owner = np.zeros(0, dtype=np.int64)
        if m:
            # A piece opens at most one tag that it leaves open (its last tag), and a tag
            # left open is closed by the next piece that closes a carried tag. Opening and
            # closing alternate, so the k-th open tag is closed by the k-th closing piece.
            # Quoted value i belongs to the tag left open by piece i or the last one before.
            has_open = np.flatnonzero(prog_open[codes])
            closer = np.flatnonzero(lead[codes])
            if len(has_open) != len(closer) or (closer <= has_open).any():
                raise _Unsupported
            if has_open[0] != 0:
                raise _Unsupported
            open_tag = ends[has_open] - 1
            ttype[open_tag] = lead[codes[closer]]
            owner = np.repeat(open_tag, np.diff(has_open, append=m))

        # Depth of each element (the root is at depth 0).
        is_end = ttype == _END
        delta = (ttype == _START).astype(np.int64)
        delta -= is_end
        depth = np.cumsum(delta)
        depth -= delta + is_end
        depth += self.depth
        self.depth = int(depth[-1] + delta[-1] + is_end[-1])
        if not self.root_seen:
            self.root_seen = True
            if kind[0] != _LOG or is_end[0]:
                raise _NotXes(self._name_of(int(flat_names[flat[0]])))

        not_end = ~is_end
        ar = np.arange(total)
        out = self.out
        d1 = depth == 1
        d2 = depth == 2
        # Parents at depth 1: traces and log-level events (their number), else other.
        valid_trace = (kind == _TRACE) & not_end & d1
        trace_no = np.cumsum(valid_trace)
        trace_no += out.traces
        s1 = (ttype == _START) & d1
        ff1 = np.maximum.accumulate(np.where(s1, ar, -1))
        has1 = ff1 >= 0
        k1 = np.where(valid_trace, _TRACE, np.where(kind == _EVENT, _EVENT, _OTHER))
        p1_kind = np.where(has1, k1[ff1], self.p1_kind)
        is_event = kind == _EVENT
        valid_event = is_event & not_end & (d1 | (d2 & (p1_kind == _TRACE)))
        row = np.cumsum(valid_event)
        row += out.events
        num1 = np.where(valid_trace, trace_no, row)
        p1_num = np.where(has1, num1[ff1], self.p1_num)
        if s1.any():
            self.p1_kind, self.p1_num = int(k1[ff1[-1]]), int(num1[ff1[-1]])
        p2_kind_before, p2_num_before = self.p2_kind, self.p2_num
        # Parents at depth 2: events inside traces (their row), else other.
        s2 = (ttype == _START) & d2
        ff2 = np.maximum.accumulate(np.where(s2, ar, -1))
        has2 = ff2 >= 0
        k2 = np.where(valid_event, _EVENT, _OTHER)
        if s2.any():
            self.p2_kind, self.p2_num = int(k2[ff2[-1]]), int(row[ff2[-1]])
        out.ev_trace.append(np.where(d2, p1_num, 0)[valid_event])
        out.traces = int(trace_no[-1])
        out.events = int(row[-1])
        if not m:
            return

        # The attribute tags of traces and events, with the quoted key= and value=.
        pend_codes = pend[codes[:m]]
        key_q = np.full(total, -1, dtype=np.int64)
        val_q = np.full(total, -1, dtype=np.int64)
        is_key = np.flatnonzero(pend_codes == _PEND_KEY)
        key_q[owner[is_key]] = is_key
        is_val = np.flatnonzero(pend_codes == _PEND_VALUE)
        val_q[owner[is_val]] = is_val
        attr = (kind == _ATTR) & not_end & (key_q >= 0)
        d3 = depth == 3
        p2_kind = np.where(has2, k2[ff2], p2_kind_before)
        p2_num = np.where(has2, row[ff2], p2_num_before)
        ev_attr = attr & ((d3 & (p2_kind == _EVENT)) | (d2 & (p1_kind == _EVENT)))
        ev_idx = np.flatnonzero(ev_attr)
        if ev_idx.size:
            out.ev_rows.append(np.where(d3, p2_num, p1_num)[ev_idx])
            out.ev_codes.append(self._keys(pieces, key_q[ev_idx], out.ev_keys))
            out.ev_vals.append(_normalize(_take(pieces, _quoted_index(val_q[ev_idx]))))
        tr_idx = np.flatnonzero(attr & d2 & (p1_kind == _TRACE))
        if tr_idx.size:
            out.tr_nos.append(p1_num[tr_idx])
            out.tr_codes.append(self._keys(pieces, key_q[tr_idx], out.tr_keys))
            out.tr_vals.append(_normalize(_take(pieces, _quoted_index(val_q[tr_idx]))))

    @staticmethod
    def _keys(pieces: pa.Array, quoted: IntArray, table: dict[str, int]) -> IntArray:
        enc = pc.dictionary_encode(pieces.take(_ints(_quoted_index(quoted))))
        gmap = np.array(
            [table.setdefault(_attr_value(k), len(table)) for k in enc.dictionary.to_pylist()],
            dtype=np.int64,
        )
        return gmap[_indices(enc)]

    def _name_of(self, code: int) -> str:
        for name, c in self.progs.name_codes.items():
            if c == code:
                return _local(name)
        return "?"


def _quoted_index(q: IntArray) -> IntArray:
    """Index of quoted value ``q`` in the pieces array (-1 stays -1)."""
    return np.where(q >= 0, 2 * q + 1, -1)


class _NullTarget:
    """lxml parser target without callbacks: libxml2 only checks well-formedness."""

    def close(self) -> None:
        return None


def _parser(target: object) -> etree.XMLParser:
    return etree.XMLParser(
        target=target, huge_tree=True, resolve_entities="internal", no_network=True
    )


class _Validator(threading.Thread):
    """Feeds the raw bytes to libxml2 in the background (lxml releases the GIL meanwhile)."""

    def __init__(self) -> None:
        super().__init__(name="xes-validator", daemon=True)
        self.chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self.error: BaseException | None = None

    def run(self) -> None:
        parser = _parser(_NullTarget())
        while True:
            chunk = self.chunks.get()
            if self.error is None:
                try:
                    if chunk is None:
                        parser.close()
                    else:
                        parser.feed(chunk)
                except BaseException as exc:
                    self.error = exc
            if chunk is None:
                return


def _detect_encoding(head: bytes) -> tuple[int, str | None]:
    """(length of a UTF-8 byte-order mark, codec to transcode from or None for UTF-8)."""
    if head.startswith(codecs.BOM_UTF8):
        return 3, None
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return 0, "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return 0, "utf-16"
    if head.startswith(b"<\x00?\x00"):
        return 0, "utf-16-le"
    if head.startswith(b"\x00<\x00?"):
        return 0, "utf-16-be"
    m = _ENCODING_RE.match(head)
    if m is None:
        return 0, None
    try:
        name = codecs.lookup(m.group(1).decode("ascii")).name
    except LookupError:
        raise _Unsupported from None
    return 0, None if name in ("utf-8", "ascii") else name


def _start(head: bytes) -> tuple[bytes, None, codecs.IncrementalDecoder | None]:
    """Strip a UTF-8 byte-order mark from the file's first bytes and pick a decoder."""
    bom, encoding = _detect_encoding(head)
    decoder = codecs.getincrementaldecoder(encoding)() if encoding is not None else None
    return head[bom:], None, decoder


def _read_fast(p: Path, progress: Callable[[float], None] | None) -> XesReadResult:
    fast = _FastParser()
    validator = _Validator()
    validator.start()
    failure: BaseException | None = None
    pending = b""
    decoder: codecs.IncrementalDecoder | None = None
    head: bytes | None = b""  # the start of the file until its encoding is known
    try:
        for data in _iter_chunks(p, progress):
            validator.chunks.put(data)
            if validator.error is not None:
                break
            if failure is not None:
                continue  # only the validator still reads, to tell why it failed
            try:
                if head is not None:
                    head += data
                    if len(head) < 4096 and b">" not in head[4:]:
                        continue  # the XML declaration is not complete yet
                    data, head, decoder = _start(head)
                if decoder is not None:
                    data = decoder.decode(data).encode("utf-8")
                pending = fast.feed(pending + data if pending else data, final=False)
            except _Unsupported:
                raise
            except Exception as exc:
                failure = exc
        if failure is None and validator.error is None:
            try:
                if head is not None:
                    pending, head, decoder = _start(head)
                    if decoder is not None:
                        pending = decoder.decode(pending).encode("utf-8")
                tail = decoder.decode(b"", final=True).encode("utf-8") if decoder else b""
                fast.feed(pending + tail, final=True)
                if not fast.root_seen:
                    raise ValueError("no root element")
            except _Unsupported:
                raise
            except Exception as exc:
                failure = exc
    finally:
        validator.chunks.put(None)
        validator.join()
    if validator.error is not None:
        raise _xml_error(p, validator.error) from validator.error
    if isinstance(failure, _NotXes):
        raise _xml_error(p, failure) from failure
    if failure is not None:
        # Well-formed XML that the fast reader did not follow: read it the general way.
        raise _Unsupported from failure
    result = _build(fast.out)
    try:
        result.table.validate(full=True)  # valid UTF-8 everywhere: a cheap safety net
    except pa.ArrowInvalid as exc:
        raise _Unsupported from exc
    return result


# --------------------------------------------------------------------------------------
# General reader (lxml parser target), used when the fast reader declines a file


class _SlowTarget:
    def __init__(self) -> None:
        self.stack: list[int] = []
        self.rows = 0
        self.traces = 0
        self.ev_rows: list[int] = []
        self.ev_codes: list[int] = []
        self.ev_vals: list[str | None] = []
        self.ev_keys: dict[str, int] = {}
        self.tr_nos: list[int] = []
        self.tr_codes: list[int] = []
        self.tr_vals: list[str | None] = []
        self.tr_keys: dict[str, int] = {}
        self.ev_trace: list[int] = []
        self.kinds: dict[str, int] = {}

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        stack = self.stack
        kind = self.kinds.get(tag)
        if kind is None:
            kind = self.kinds[tag] = _kind_of(tag)
        if not stack:
            if kind != _LOG:
                raise _NotXes(_local(tag))
            stack.append(_LOG)
            return
        parent = stack[-1]
        if kind == _EVENT and parent in (_LOG, _TRACE):
            self.rows += 1
            self.ev_trace.append(self.traces if parent == _TRACE else 0)
            stack.append(_EVENT)
            return
        if kind == _TRACE and parent == _LOG:
            self.traces += 1
            stack.append(_TRACE)
            return
        if kind == _ATTR and parent in (_TRACE, _EVENT):
            key = attrib.get("key")
            if key is not None:
                if parent == _EVENT:
                    self.ev_rows.append(self.rows)
                    self.ev_codes.append(self.ev_keys.setdefault(key, len(self.ev_keys)))
                    self.ev_vals.append(attrib.get("value"))
                else:
                    self.tr_nos.append(self.traces)
                    self.tr_codes.append(self.tr_keys.setdefault(key, len(self.tr_keys)))
                    self.tr_vals.append(attrib.get("value"))
        stack.append(_OTHER)

    def end(self, tag: str) -> None:
        self.stack.pop()

    def close(self) -> None:
        return None

    def collected(self) -> _Collected:
        def ints(v: list[int]) -> list[IntArray]:
            return [np.array(v, dtype=np.int64)]

        def strs(v: list[str | None]) -> list[pa.Array]:
            return [pa.array(v, pa.large_string())]

        return _Collected(
            events=self.rows,
            traces=self.traces,
            ev_rows=ints(self.ev_rows),
            ev_codes=ints(self.ev_codes),
            ev_vals=strs(self.ev_vals),
            ev_keys=self.ev_keys,
            tr_nos=ints(self.tr_nos),
            tr_codes=ints(self.tr_codes),
            tr_vals=strs(self.tr_vals),
            tr_keys=self.tr_keys,
            ev_trace=ints(self.ev_trace),
        )


def _read_slow(p: Path, progress: Callable[[float], None] | None) -> XesReadResult:
    target = _SlowTarget()
    parser = _parser(target)
    try:
        for data in _iter_chunks(p, progress):
            parser.feed(data)
        parser.close()
    except (etree.XMLSyntaxError, _NotXes) as exc:
        raise _xml_error(p, exc) from exc
    return _build(target.collected())
