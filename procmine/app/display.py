"""Display names of the codes the app stores and shows (audit actions, business-type
categories, ...) and the library's automatic notes, in the user's language.

The codes stay what is stored, filtered on and exported; the catalogue gives each a name
under ``<kind>.<code>`` (``audit.action.sop.approve``, ``category.personal_account``). A code
without a name shows as itself, so a new code shows up on screen instead of breaking a page.
"""

from __future__ import annotations

import re
from typing import Any, Final

from procmine.app.i18n import t

__all__ = ["AUTOMATIC_NOTES", "display_name", "history_note", "issue_text", "note_text"]

#: Notes the library writes by itself, kept as written (the git history and the app database
#: are data), with the message that shows them in the user's language.
AUTOMATIC_NOTES: Final[dict[str, str]] = {
    "Submitted for review": "note.submitted",
    "Approved": "note.approved",
    "bulk review": "note.bulk_review",
}
#: Automatic notes with a figure in them: the pattern, and the message its groups fill.
_NOTE_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"Seed the SOP library \((?P<count>\d+) procedures\)"), "note.seeded"),
)
#: The parts of an improvement item's history note the register writes by itself (what a change
#: changed, what a link links), joined by "; " before the user's own note: the pattern, the
#: message, and the catalogue kind of each group that is a code (``improve.cause.<code>``).
_PART_PATTERNS: Final[tuple[tuple[re.Pattern[str], str, dict[str, str]], ...]] = (
    (re.compile(r"group (?P<old>\S+) -> (?P<new>\S+)"), "note.group",
     {"old": "review_groups", "new": "review_groups"}),
    (re.compile(r"cause (?P<cause>[a-z0-9_]+)"), "note.cause", {"cause": "improve.cause"}),
    (re.compile(r"decision (?P<decision>[a-z_]+)"), "note.decision",
     {"decision": "improve.decision"}),
    (re.compile(r"due (?P<day>\d{4}-\d\d-\d\d)"), "note.due", {}),
    (re.compile(r"owner (?P<text>.+)"), "note.owner", {}),
    (re.compile(r"proposed_change (?P<text>.+)", re.S), "note.proposed_change", {}),
    (re.compile(r"branch_action (?P<text>.+)", re.S), "note.branch_action", {}),
    (re.compile(r"(?P<kind>paper|spot_check|sop_revision) (?P<ref>\S+)"), "note.link",
     {"kind": "improve.link"}),
)


def display_name(kind: str, code: str, lang: str) -> str:
    """The display name of ``code`` of a kind of codes (``audit.action``, ``category``, ...):
    the catalogue's ``<kind>.<code>`` in ``lang``, else the code itself.

    Example:
        >>> display_name("audit.action", "sop.approve", "zh-CN")
        '批准 SOP'
        >>> display_name("category", "personal_account", "en")
        'Personal accounts'
        >>> display_name("audit.action", "no.such_action", "zh-CN")
        'no.such_action'
    """
    key = f"{kind}.{code}"
    message = t(key, lang)
    return code if message == key else message


def issue_text(issue: Any, lang: str) -> str:
    """What an SOP check says of a problem (a :class:`procmine.sop.yaml_nodes.LintIssue`) in
    ``lang``: the catalogue's ``error.<code>`` with its parameters, else its own message.

    Example:
        >>> from procmine.sop.yaml_nodes import LintIssue
        >>> issue = LintIssue("error", "SOP-P17.md", 9, "steps.count_cash.standard_seconds",
        ...                   "'sixty' is not a positive number of seconds",
        ...                   "sop.lint.seconds", {"value": "sixty"})
        >>> issue_text(issue, "zh-CN"), issue_text(issue, "en")
        ('sixty 不是正的秒数', 'sixty is not a positive number of seconds')
    """
    code = getattr(issue, "code", "")
    if code:
        key = f"error.{code}"
        message = t(key, lang, **getattr(issue, "params", {}))
        if message != key:
            return message
    return str(issue.message)


def note_text(note: str, lang: str) -> str:
    """A stored note as shown in ``lang``: an automatic note of the library (``Approved``,
    ``Submitted for review``) in the user's language, any other note as it was written.

    Example:
        >>> note_text("Submitted for review", "zh-CN"), note_text("点钞机改为面向客户", "en")
        ('提交审批', '点钞机改为面向客户')
        >>> note_text("Seed the SOP library (22 procedures)", "zh-CN")
        '初始导入 SOP 库（22 个流程）'
    """
    key = AUTOMATIC_NOTES.get(note.strip())
    if key:
        return t(key, lang)
    for pattern, key in _NOTE_PATTERNS:
        match = pattern.fullmatch(note.strip())
        if match:
            return t(key, lang, **match.groupdict())
    return note


def history_note(note: str, lang: str) -> str:
    """An improvement item's history note in ``lang``: the parts the register wrote by itself
    (``decision retrain``, ``group a -> b``, ``paper 1``) translated, the user's note after
    them as written.

    Example:
        >>> history_note("decision retrain; 同意再培训", "zh-CN")
        '决定：再培训；同意再培训'
        >>> history_note("paper 1", "zh-CN"), history_note("带教已开始。", "en")
        ('关联：试卷 1', '带教已开始。')
    """
    parts = note.split("; ") if note else []
    shown = [_part(p, lang) for p in parts]
    if shown == parts:
        return note
    return t("note.separator", lang).join(shown)


def _part(part: str, lang: str) -> str:
    for pattern, key, kinds in _PART_PATTERNS:
        match = pattern.fullmatch(part)
        if match:
            values = {name: display_name(kinds[name], value, lang) if name in kinds else value
                      for name, value in match.groupdict().items()}
            return t(key, lang, **values)
    return part
