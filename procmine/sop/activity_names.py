"""The names a step is shown by: an activity of the event log ("Count cash") in Chinese or
English, the same on every page, chart, export and command-line table.

Three sources, the first that names an activity wins:

1. the SOP step that governs the activity: the step's Chinese name (its heading in the body,
   :func:`procmine.sop.steps.step_names`) and English name (its activity), from the latest
   approved version of each SOP, the first SOP by id that names the activity;
2. the activity glossary ``activities.csv`` beside the SOP files (columns ``activity,zh,en``:
   the log name, Chinese, English), which the bank edits for the steps no SOP governs
   ("Print statement") and for logs whose step names are codes;
3. the activity as the log has it.

An empty ``en`` cell in the glossary means "the log name". A glossary with a duplicate activity,
an empty activity or an empty Chinese name is refused with its file and line
(:class:`~procmine.core.errors.ProcmineError`, code ``glossary.*``), never half read.

The names are read once per library commit and glossary file version (:func:`activity_names`
caches them by the library's head commit and the glossary's modification time).

Example:
    >>> names = activity_names(library)
    >>> names.name("Count cash", "zh-CN"), names.name("Count cash", "en")
    ('点钞', 'Count cash')
    >>> names.name("Print statement", "zh"), names.name("Made-up step", "zh")
    ('打印流水/回单', 'Made-up step')
    >>> names.label("Count cash", "zh-CN")
    '点钞 (Count cash)'
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from procmine.core.errors import ProcmineError
from procmine.sop.document import Sop, load_sops
from procmine.sop.repository import GLOSSARY_FILE, bundled_sops_dir
from procmine.sop.steps import step_names

if TYPE_CHECKING:
    from procmine.sop.library import SopLibrary

__all__ = ["GLOSSARY_COLUMNS", "LOG_NAME_COLUMN", "ActivityNames", "activity_names",
           "glossary_path", "parse_glossary", "read_glossary"]

#: The glossary's columns, in this order.
GLOSSARY_COLUMNS: tuple[str, ...] = ("activity", "zh", "en")

#: The column a table gains to keep the log's own step name beside the display name.
LOG_NAME_COLUMN = "log name"

_cache: dict[tuple[str, str, str, int, bool], ActivityNames] = {}
_cache_lock = threading.Lock()


def _has_chinese(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def _zh(lang: str) -> bool:
    return lang.lower().startswith("zh")


@dataclass(frozen=True)
class ActivityNames:
    """The display names of activities: ``names[activity] = {"zh": ..., "en": ...}``, and where
    each came from (``source[activity]``: "sop" or "glossary")."""

    names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    source: Mapping[str, str] = field(default_factory=dict)

    def name(self, activity: str, lang: str) -> str:
        """``activity``'s name in ``lang`` ("zh", "zh-CN" or "en"); the activity itself when
        nothing names it.

        Example:
            >>> ActivityNames({"Count cash": {"zh": "点钞", "en": "Count cash"}}).name(
            ...     "Count cash", "zh-CN")
            '点钞'
        """
        pair = self.names.get(str(activity))
        if pair is None:
            return str(activity)
        return (pair.get("zh") if _zh(lang) else pair.get("en")) or str(activity)

    def label(self, activity: str, lang: str) -> str:
        """The name in ``lang`` with the other language's name in brackets when it differs (for
        pickers: a query in either language finds the step).

        Example:
            >>> ActivityNames({"Count cash": {"zh": "点钞", "en": "Count cash"}}).label(
            ...     "Count cash", "en")
            'Count cash (点钞)'
        """
        shown = self.name(activity, lang)
        other = self.name(activity, "en" if _zh(lang) else "zh")
        return shown if other == shown else f"{shown} ({other})"

    def matches(self, activity: str, query: str) -> bool:
        """Whether every word of ``query`` occurs (without case) in the activity or its names.

        Example:
            >>> names = ActivityNames({"Count cash": {"zh": "点钞", "en": "Count cash"}})
            >>> names.matches("Count cash", "点钞"), names.matches("Count cash", "cash")
            (True, True)
        """
        pair = self.names.get(str(activity), {})
        haystack = " ".join([str(activity), *pair.values()]).lower()
        return all(word in haystack for word in query.lower().split())

    def series(self, values: Iterable[object], lang: str) -> pd.Series:
        """The names in ``lang`` of a column of activities (missing values stay missing).

        Example:
            >>> names = ActivityNames({"Count cash": {"zh": "点钞", "en": "Count cash"}})
            >>> names.series(pd.Series(["Count cash", "Other"]), "zh").tolist()
            ['点钞', 'Other']
        """
        column = values if isinstance(values, pd.Series) else pd.Series(list(values),
                                                                          dtype=object)
        mapping = {a: self.name(a, lang) for a in column.dropna().unique()}
        return column.map(lambda a: mapping.get(a, a) if isinstance(a, str) else a)

    def frame(self, table: pd.DataFrame, lang: str, columns: Iterable[str] = ("activity",),
              *, keep_log_name: bool = False) -> pd.DataFrame:
        """A copy of ``table`` with its activity ``columns`` (those it has) in ``lang``;
        ``keep_log_name`` adds a trailing "log name" column with the first one as logged (for
        exports).

        Example:
            >>> names = ActivityNames({"Count cash": {"zh": "点钞", "en": "Count cash"}})
            >>> names.frame(pd.DataFrame({"activity": ["Count cash"], "n": [3]}), "zh",
            ...             keep_log_name=True).values.tolist()
            [['点钞', 3, 'Count cash']]
        """
        present = [c for c in columns if c in table.columns]
        out = table.copy()
        for column in present:
            out[column] = self.series(table[column], lang)
        if keep_log_name and present:
            out[LOG_NAME_COLUMN] = table[present[0]]
        return out


def glossary_path(library: SopLibrary | None = None) -> Path:
    """The glossary of a library: its working copy's ``activities.csv``, else (a library seeded
    before the glossary existed, or no library) the bundled one."""
    if library is not None and (library.root / GLOSSARY_FILE).is_file():
        return library.root / GLOSSARY_FILE
    return bundled_sops_dir() / GLOSSARY_FILE


def read_glossary(path: str | Path) -> dict[str, dict[str, str]]:
    """The glossary file at ``path`` (none: empty), by activity. Raises
    :class:`ProcmineError` naming the file and line of a bad row.

    Example:
        >>> from procmine.sop.repository import bundled_sops_dir
        >>> read_glossary(bundled_sops_dir() / "activities.csv")["Print statement"]
        {'zh': '打印流水/回单', 'en': 'Print statement'}
    """
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProcmineError(f"{path}: the glossary is not UTF-8 text ({exc.reason})",
                            code="glossary.encoding", file=path.name) from None
    return parse_glossary(text, path.name)


def parse_glossary(text: str, name: str = GLOSSARY_FILE) -> dict[str, dict[str, str]]:
    """The glossary in ``text`` (CSV, header ``activity,zh,en``), by activity; ``name`` names
    the file in errors.

    Example:
        >>> parse_glossary("activity,zh,en\\nCount cash,点钞,\\n")
        {'Count cash': {'zh': '点钞', 'en': 'Count cash'}}
        >>> try:
        ...     parse_glossary("activity,zh,en\\nCount cash,点钞,\\nCount cash,数钱,\\n")
        ... except ProcmineError as exc:
        ...     print(exc)
        activities.csv, line 3: 'Count cash' is already named on line 2
    """
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    if header[:3] != list(GLOSSARY_COLUMNS):
        raise ProcmineError(
            f"{name}, line 1: the columns must be {','.join(GLOSSARY_COLUMNS)} "
            f"(found {','.join(header) or 'nothing'})", code="glossary.columns", file=name,
            found=",".join(header))
    out: dict[str, dict[str, str]] = {}
    first: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        activity, zh, en = ([c.strip() for c in row] + ["", "", ""])[:3]
        if not activity:
            raise ProcmineError(f"{name}, line {line}: the activity is empty",
                                code="glossary.empty_activity", file=name, line=line)
        if not zh:
            raise ProcmineError(f"{name}, line {line}: {activity!r} has no Chinese name (zh)",
                                code="glossary.empty_zh", file=name, line=line,
                                activity=activity)
        if activity in first:
            raise ProcmineError(
                f"{name}, line {line}: {activity!r} is already named on line {first[activity]}",
                code="glossary.duplicate", file=name, line=line, activity=activity,
                first=first[activity])
        first[activity] = line
        out[activity] = {"zh": zh, "en": en or activity}
    return out


def _sop_names(sops: Iterable[Sop]) -> dict[str, dict[str, str]]:
    """Each activity's names from the SOPs' steps, the first SOP by id that names it."""
    out: dict[str, dict[str, str]] = {}
    for sop in sorted(sops, key=lambda s: s.id):
        names = step_names(sop)
        for step in sop.steps:
            out.setdefault(step.activity, dict(names.get(step.id, {})) or
                           {"zh": step.activity, "en": step.activity})
    return out


def _approved_sops(library: SopLibrary | None) -> list[Sop]:
    if library is None:  # no workspace library: the bundled files as they are
        return [s for s in load_sops(bundled_sops_dir()).values() if s.status == "approved"]
    versions = (library.approved(sop_id) for sop_id in library.ids())
    return [v.sop for v in versions if v is not None]


def activity_names(library: SopLibrary | None = None,
                   glossary: str | Path | None = None, *, strict: bool = True) -> ActivityNames:
    """The display names of activities: the approved SOPs' step names of ``library`` (None:
    the bundled SOP files), then the glossary (``glossary``, default :func:`glossary_path`),
    then the log name. Cached by the library's head commit and the glossary's modification
    time; a bad glossary raises :class:`ProcmineError` (``strict=False``: it is left out, for
    a report that should not fail over a name).

    Example:
        >>> names = activity_names(library)
        >>> names.source["Count cash"], names.source["Print statement"]
        ('sop', 'glossary')
    """
    path = Path(glossary) if glossary is not None else glossary_path(library)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = -1
    key = (str(library.root) if library is not None else "",
           library.head() if library is not None else "", str(path), stamp, strict)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    names: dict[str, Mapping[str, str]] = {}
    source: dict[str, str] = {}
    try:
        glossary_names = read_glossary(path)
    except ProcmineError:
        if strict:
            raise
        glossary_names = {}
    for activity, pair in glossary_names.items():
        names[activity], source[activity] = pair, "glossary"
    for activity, pair in _sop_names(_approved_sops(library)).items():
        if not _has_chinese(pair["zh"]) and activity in names:  # a heading without Chinese
            pair = {**pair, "zh": names[activity]["zh"]}
        names[activity], source[activity] = pair, "sop"
    result = ActivityNames(names, source)
    with _cache_lock:
        if len(_cache) > 32:
            _cache.clear()
        _cache[key] = result
    return result
