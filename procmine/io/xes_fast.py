"""The fast XES reader: attribute values found with array operations, no Python call per element.

The decompressed text is read in chunks. Each chunk is split at double quotes with pyarrow, so
the odd pieces are the quoted attribute values and the even pieces are the markup between them.
The markup pieces repeat a lot (``'/>\\n\\t\\t\\t<string key='``), so each distinct piece is
parsed once in Python into a small "program" of tags (:class:`Programs`), and numpy expands the
programs into the tag stream, from which depth, parents, events, traces and attribute owners
are computed with array operations (:class:`FastParser`). Constructs this scheme does not cover
(an internal DTD subset, single-quoted ``key``/``value`` attributes, double quotes in text
content) raise ``_Unsupported``, and :mod:`procmine.io.xes` reads the file the general way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from procmine.io.xes_table import (
    ATTR,
    EVENT,
    LOG,
    OTHER,
    TRACE,
    Collected,
    IntArray,
    _NotXes,
    _Unsupported,
    ints,
    kind_of,
    local_name,
    take,
)

__all__ = ["FastParser", "Programs", "parse_piece"]

# Tag types in the tag stream. OPEN is a start tag whose end (">" or "/>") lies in a later
# markup piece; it is resolved to START or EMPTY.
_START, _EMPTY, _END, _OPEN = 1, 2, 3, 4
# Which attribute (of an XML tag) a quoted value belongs to.
_PEND_OTHER, _PEND_KEY, _PEND_VALUE = 0, 1, 2

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
_ENTITY_RE = re.compile(r"&(?:#([0-9]+)|#x([0-9a-fA-F]+)|(lt|gt|amp|quot|apos));")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_ATTR_WS_TABLE = str.maketrans({"\t": " ", "\n": " ", "\r": " "})


class _Special(Exception):
    """A chunk holds a comment, processing instruction, CDATA section or DOCTYPE."""


def _indices(encoded: pa.DictionaryArray) -> npt.NDArray[Any]:
    """The indices of a dictionary-encoded array without nulls, as a numpy view
    (``to_numpy`` would import pandas)."""
    idx = encoded.indices
    if idx.type != pa.int32() or idx.null_count:
        return np.asarray(idx.to_numpy(zero_copy_only=False))
    return np.frombuffer(idx.buffers()[1], dtype=np.int32, count=len(idx), offset=4 * idx.offset)


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
    fixed = [_attr_value(v) for v in values.take(ints(idx)).to_pylist()]
    return pc.replace_with_mask(values, mask, pa.array(fixed, values.type))


def parse_piece(
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


class Programs:
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
        lead, names, types, pending = parse_piece(s, starts_inside, ends_pending)
        codes = []
        for name in names:
            code = self.name_codes.get(name)
            if code is None:
                code = self.name_codes[name] = len(self.name_kinds)
                self.name_kinds.append(kind_of(name))
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


@dataclass
class _Tags:
    """The tag stream of one buffer: type and element kind of each tag, the tag each quoted
    value belongs to, and the name code of the first tag."""

    ttype: npt.NDArray[np.int8]
    kind: npt.NDArray[np.int8]
    owner: IntArray
    first_name: int


@dataclass
class _Parents:
    """Per tag: its depth, whether it opens, and its parents at depth 1 and 2 (kind, and the
    trace number or event row)."""

    depth: IntArray
    not_end: npt.NDArray[np.bool_]
    p1_kind: npt.NDArray[Any]
    p1_num: IntArray
    p2_kind: npt.NDArray[Any]
    p2_num: IntArray


class FastParser:
    """Vectorised XES reader over chunks of UTF-8 text that start outside any tag."""

    def __init__(self) -> None:
        self.out = Collected()
        self.progs = Programs()
        self.depth = 0
        self.root_seen = False
        # The most recent start tag at depth 1 and at depth 2 (kind, trace no or row).
        self.p1_kind, self.p1_num = OTHER, 0
        self.p2_kind, self.p2_num = OTHER, 0

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
        pieces, codes, m = self._programs_of(buf)
        tags = self._expand(codes, m)
        if tags is None:
            return
        parents = self._walk(tags)
        if m:
            self._attributes(pieces, codes[:m], tags, parents)

    def _programs_of(self, buf: memoryview) -> tuple[pa.Array, IntArray, int]:
        """The pieces of ``buf`` split at double quotes, the program of each markup piece,
        and the number of quoted values."""
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
                middle = pc.dictionary_encode(pieces.take(ints(np.arange(2, 2 * m, 2))))
                dmap = np.array(
                    [progs.get(s[1:-1]) for s in middle.dictionary.to_pylist()], dtype=np.int64
                )
                codes[1:m] = dmap[_indices(middle)]
        return pieces, codes, m

    def _expand(self, codes: IntArray, m: int) -> _Tags | None:
        """Expand the programs into the tag stream (None when it has no tag)."""
        offs, lens, flat_names, flat_types, lead, _, name_kinds, prog_open = self.progs.arrays()
        lengths = lens[codes]
        ends = np.cumsum(lengths)
        total = int(ends[-1])
        if total == 0:
            return None
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
        return _Tags(ttype=ttype, kind=kind, owner=owner, first_name=int(flat_names[flat[0]]))

    def _walk(self, tags: _Tags) -> _Parents:
        """Depth and parents of every tag; counts the buffer's traces and events and records
        each event's trace."""
        ttype, kind = tags.ttype, tags.kind
        total = len(ttype)
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
            if kind[0] != LOG or is_end[0]:
                raise _NotXes(self._name_of(tags.first_name))

        not_end = ~is_end
        ar = np.arange(total)
        out = self.out
        d1 = depth == 1
        d2 = depth == 2
        # Parents at depth 1: traces and log-level events (their number), else other.
        valid_trace = (kind == TRACE) & not_end & d1
        trace_no = np.cumsum(valid_trace)
        trace_no += out.traces
        s1 = (ttype == _START) & d1
        ff1 = np.maximum.accumulate(np.where(s1, ar, -1))
        has1 = ff1 >= 0
        k1 = np.where(valid_trace, TRACE, np.where(kind == EVENT, EVENT, OTHER))
        p1_kind = np.where(has1, k1[ff1], self.p1_kind)
        is_event = kind == EVENT
        valid_event = is_event & not_end & (d1 | (d2 & (p1_kind == TRACE)))
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
        k2 = np.where(valid_event, EVENT, OTHER)
        if s2.any():
            self.p2_kind, self.p2_num = int(k2[ff2[-1]]), int(row[ff2[-1]])
        out.ev_trace.append(np.where(d2, p1_num, 0)[valid_event])
        out.traces = int(trace_no[-1])
        out.events = int(row[-1])
        return _Parents(
            depth=depth,
            not_end=not_end,
            p1_kind=p1_kind,
            p1_num=p1_num,
            p2_kind=np.where(has2, k2[ff2], p2_kind_before),
            p2_num=np.where(has2, row[ff2], p2_num_before),
        )

    def _attributes(
        self, pieces: pa.Array, codes: IntArray, tags: _Tags, parents: _Parents
    ) -> None:
        """Gather the attribute tags of traces and events, with the quoted key= and value=
        (``codes``: the programs of the pieces before each quoted value)."""
        pend_codes = self.progs.arrays()[5][codes]
        total = len(tags.ttype)
        key_q = np.full(total, -1, dtype=np.int64)
        val_q = np.full(total, -1, dtype=np.int64)
        is_key = np.flatnonzero(pend_codes == _PEND_KEY)
        key_q[tags.owner[is_key]] = is_key
        is_val = np.flatnonzero(pend_codes == _PEND_VALUE)
        val_q[tags.owner[is_val]] = is_val
        attr = (tags.kind == ATTR) & parents.not_end & (key_q >= 0)
        depth, p1_kind, p1_num = parents.depth, parents.p1_kind, parents.p1_num
        d2 = depth == 2
        d3 = depth == 3
        ev_attr = attr & ((d3 & (parents.p2_kind == EVENT)) | (d2 & (p1_kind == EVENT)))
        ev_idx = np.flatnonzero(ev_attr)
        out = self.out
        if ev_idx.size:
            out.ev_rows.append(np.where(d3, parents.p2_num, p1_num)[ev_idx])
            out.ev_codes.append(self._keys(pieces, key_q[ev_idx], out.ev_keys))
            out.ev_vals.append(_normalize(take(pieces, _quoted_index(val_q[ev_idx]))))
        tr_idx = np.flatnonzero(attr & d2 & (p1_kind == TRACE))
        if tr_idx.size:
            out.tr_nos.append(p1_num[tr_idx])
            out.tr_codes.append(self._keys(pieces, key_q[tr_idx], out.tr_keys))
            out.tr_vals.append(_normalize(take(pieces, _quoted_index(val_q[tr_idx]))))

    @staticmethod
    def _keys(pieces: pa.Array, quoted: IntArray, table: dict[str, int]) -> IntArray:
        enc = pc.dictionary_encode(pieces.take(ints(_quoted_index(quoted))))
        gmap = np.array(
            [table.setdefault(_attr_value(k), len(table)) for k in enc.dictionary.to_pylist()],
            dtype=np.int64,
        )
        return gmap[_indices(enc)]

    def _name_of(self, code: int) -> str:
        for name, c in self.progs.name_codes.items():
            if c == code:
                return local_name(name)
        return "?"


def _quoted_index(q: IntArray) -> IntArray:
    """Index of quoted value ``q`` in the pieces array (-1 stays -1)."""
    return np.where(q >= 0, 2 * q + 1, -1)
