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
text is read in chunks and handed to the vectorised parser of :mod:`procmine.io.xes_fast`
(markup pieces between quoted values parsed once each, the tag stream computed with numpy);
the table is built from the gathered values with array operations
(:mod:`procmine.io.xes_table`). A background thread runs libxml2 (lxml, no callbacks)
over the same bytes to check that the file is well-formed XML, so a broken file is
reported with its line number. Files with constructs this scheme does not cover (an
internal DTD subset, single-quoted ``key``/``value`` attributes, double quotes in text
content, an encoding Python does not know) are read by a slower but general lxml
parser-target reader that yields the same table.

Example::

    >>> from pathlib import Path
    >>> from procmine.io.xes import read_xes_table
    >>> _ = Path("tiny.xes").write_text(
    ...     '<log><trace><string key="concept:name" value="C1"/>'
    ...     '<event><string key="concept:name" value="Open"/></event>'
    ...     '<event><string key="concept:name" value="Close"/></event></trace></log>')
    >>> result = read_xes_table("tiny.xes")
    >>> result.traces, result.events
    (1, 2)
    >>> result.table.column_names
    ['_row', 'case:concept:name', 'concept:name']
"""

from __future__ import annotations

import codecs
import gzip
import queue
import re
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from lxml import etree

from procmine.core.errors import ProcmineError
from procmine.core.limits import Limits, current_limits
from procmine.io.xes_fast import FastParser
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
    build_table,
    kind_of,
    local_name,
)

__all__ = ["XesReadResult", "read_xes_table"]

_MIN_CHUNK = 1 << 18
_MAX_CHUNK = 1 << 24
_ENCODING_RE = re.compile(rb"""\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


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
    path: str | Path, progress: Callable[[float], None] | None = None, *,
    limits: Limits | None = None,
) -> XesReadResult:
    """Read an XES or gzip-compressed XES file into a pyarrow Table of strings.

    ``progress``, if given, is called with the fraction (0.0 to 1.0) of the file's bytes
    (compressed bytes for ``.xes.gz``) read so far, about every 1 %, and with 1.0 at the end.
    It starts again from 0 once if the file turns out to need the general reader.

    Raises :class:`~procmine.core.errors.ProcmineError` when the file is missing, is not
    well-formed XML (the message names the file and the line), is a broken gzip file, or
    its root element is not ``<log>``; and when the XML text (decompressed) is larger than
    ``limits.max_decompressed_mb`` or the file has more distinct attribute keys than
    ``limits.max_columns`` (``limits`` defaults to :func:`~procmine.core.limits.current_limits`).
    Both are checked as the file is read, before the table is built.

    Example::

        >>> import gzip
        >>> with gzip.open("receipt.xes.gz", "wt") as out:
        ...     _ = out.write('<log><trace><event><string key="concept:name" '
        ...                   'value="Confirmation of receipt"/></event></trace></log>')
        >>> res = read_xes_table("receipt.xes.gz")
        >>> res.events, res.traces
        (1, 1)
        >>> res.table.column("concept:name")[0].as_py()
        'Confirmation of receipt'
    """
    p = Path(path)
    lim = limits if limits is not None else current_limits()
    try:
        if p.is_file() and p.stat().st_size == 0:
            raise ProcmineError(f"{p}: empty file, not an XES log", code="ingest.xes_empty",
                                file=Path(p).name)
        try:
            return _read_fast(p, progress, lim)
        except _Unsupported:
            return _read_slow(p, progress, lim)
    except ProcmineError:
        raise
    except FileNotFoundError as exc:
        raise ProcmineError(f"{p}: file not found", code="ingest.no_file",
                            file=Path(p).name) from exc
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ProcmineError(f"{p}: broken or truncated gzip file ({exc})", code="ingest.bad_gzip",
                            file=Path(p).name) from exc
    except OSError as exc:
        raise ProcmineError(f"{p}: cannot read file ({exc})", code="ingest.unreadable",
                            file=Path(p).name) from exc


def _result(c: Collected) -> XesReadResult:
    return XesReadResult(table=build_table(c), traces=c.traces, events=c.events)


def _xml_error(p: Path, exc: BaseException) -> ProcmineError:
    if isinstance(exc, etree.XMLSyntaxError):
        line = exc.lineno
        msg = exc.msg or str(exc)
        where = f" at line {line}" if line else ""
        return ProcmineError(f"{p}: not well-formed XML{where}: {msg}")
    if isinstance(exc, _NotXes):
        return ProcmineError(f"{p}: not an XES log (root element is <{exc}>, not <log>)")
    return ProcmineError(f"{p}: cannot parse XML: {exc}")


def _check_keys(p: Path, keys: int, limits: Limits) -> None:
    """Refuse a file with more distinct attribute keys (trace and event) than the limit."""
    if keys > limits.max_columns:
        raise limits.exceeded(
            "max_columns", f"{p}: more than {limits.max_columns:,} distinct attribute keys "
            "(one column each)"
        )


def _iter_chunks(
    p: Path, progress: Callable[[float], None] | None, limits: Limits
) -> Iterator[bytes]:
    """Yield the decompressed bytes of ``p`` in chunks of about 1 % of the file.

    ``progress`` is called after the consumer has handled each chunk. More than
    ``limits.max_decompressed_mb`` of XML text is refused as soon as it is read.
    """
    cap = limits.max_decompressed_mb << 20
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
                if got > cap:
                    expands = "expands to" if is_gz else "is"
                    raise limits.exceeded(
                        "max_decompressed_mb",
                        f"{p}: the XML text {expands} more than "
                        f"{limits.max_decompressed_mb:,} MB",
                    )
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


# --------------------------------------------------------------------------------------
# Fast reader (see procmine.io.xes_fast), checked by libxml2 in the background


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


def _read_fast(
    p: Path, progress: Callable[[float], None] | None, limits: Limits | None = None
) -> XesReadResult:
    limits = limits if limits is not None else current_limits()
    fast = FastParser()
    validator = _Validator()
    validator.start()
    failure: BaseException | None = None
    pending = b""
    decoder: codecs.IncrementalDecoder | None = None
    head: bytes | None = b""  # the start of the file until its encoding is known
    try:
        for data in _iter_chunks(p, progress, limits):
            _check_keys(p, len(fast.out.ev_keys) + len(fast.out.tr_keys), limits)
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
    _check_keys(p, len(fast.out.ev_keys) + len(fast.out.tr_keys), limits)
    result = _result(fast.out)
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
            kind = self.kinds[tag] = kind_of(tag)
        if not stack:
            if kind != LOG:
                raise _NotXes(local_name(tag))
            stack.append(LOG)
            return
        parent = stack[-1]
        if kind == EVENT and parent in (LOG, TRACE):
            self.rows += 1
            self.ev_trace.append(self.traces if parent == TRACE else 0)
            stack.append(EVENT)
            return
        if kind == TRACE and parent == LOG:
            self.traces += 1
            stack.append(TRACE)
            return
        if kind == ATTR and parent in (TRACE, EVENT):
            key = attrib.get("key")
            if key is not None:
                if parent == EVENT:
                    self.ev_rows.append(self.rows)
                    self.ev_codes.append(self.ev_keys.setdefault(key, len(self.ev_keys)))
                    self.ev_vals.append(attrib.get("value"))
                else:
                    self.tr_nos.append(self.traces)
                    self.tr_codes.append(self.tr_keys.setdefault(key, len(self.tr_keys)))
                    self.tr_vals.append(attrib.get("value"))
        stack.append(OTHER)

    def end(self, tag: str) -> None:
        self.stack.pop()

    def close(self) -> None:
        return None

    def collected(self) -> Collected:
        def ints(v: list[int]) -> list[IntArray]:
            return [np.array(v, dtype=np.int64)]

        def strs(v: list[str | None]) -> list[pa.Array]:
            return [pa.array(v, pa.large_string())]

        return Collected(
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


def _read_slow(
    p: Path, progress: Callable[[float], None] | None, limits: Limits | None = None
) -> XesReadResult:
    limits = limits if limits is not None else current_limits()
    target = _SlowTarget()
    parser = _parser(target)
    try:
        for data in _iter_chunks(p, progress, limits):
            parser.feed(data)
            _check_keys(p, len(target.ev_keys) + len(target.tr_keys), limits)
        parser.close()
        _check_keys(p, len(target.ev_keys) + len(target.tr_keys), limits)
    except (etree.XMLSyntaxError, _NotXes) as exc:
        raise _xml_error(p, exc) from exc
    return _result(target.collected())
