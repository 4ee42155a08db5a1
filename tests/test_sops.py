"""SOP documents: parsing, line-precise lint, rendering, the bundled library."""

from __future__ import annotations

from pathlib import Path

import pytest

from procmine.core.baseline import load_baseline
from procmine.demo import ACTIVITIES, steps_for_type
from procmine.sop.document import (
    SopError,
    load_sops,
    parse_sop,
    render_sop,
    set_front_matter,
)
from procmine.sop.lint import lint_sops
from procmine.sop.repository import bundled_sops_dir
from procmine.sop.workflow import bump_version
from tests.test_sop_library import SOP_TEXT

BASELINE = load_baseline()


def _lint(tmp_path: Path, text: str, name: str = "SOP-P17.md", **kwargs: object) -> list[str]:
    (tmp_path / name).write_text(text, encoding="utf-8")
    report = lint_sops(tmp_path, BASELINE, **kwargs)  # type: ignore[arg-type]
    return [str(i).replace(str(tmp_path) + "/", "") for i in report.issues]


def test_a_good_sop_parses_with_its_steps() -> None:
    sop = parse_sop(SOP_TEXT, "SOP-P17.md")
    assert (sop.id, sop.version, sop.status, sop.owner_group) == (
        "SOP-P17", "1.2", "approved", "accounting-and-cash")
    assert [s.id for s in sop.steps] == ["call_number", "count_cash", "enter_transaction"]
    assert sop.step("count_cash").controls == ("当面点清",)
    assert sop.step_seconds("P17") == 120.0
    assert sop.title_in("en") == "Current-account cash deposit"
    assert sop.title_in("zh-CN") == "活期现金存款"
    assert sop.body_line == 23  # the line after the closing ---


def test_a_good_sop_lints_clean(tmp_path: Path) -> None:
    assert _lint(tmp_path, SOP_TEXT) == []


@pytest.mark.parametrize(("old", "new", "message"), [
    ("standard_seconds: 60", "standard_seconds: -4",
     "SOP-P17.md:17: error: steps[2].standard_seconds: -4 is not a positive number of seconds"),
    ("status: approved", "status: published",
     "SOP-P17.md:7: error: status: 'published' is not a status; expected one of draft, "
     "in_review, approved, retired"),
    ('version: "1.2"', "version: v1",
     "SOP-P17.md:6: error: version: 'v1' is not a major.minor version such as 1.2"),
    ("owner_group: accounting-and-cash", "owner_group: cash",
     "SOP-P17.md:5: error: owner_group: 'cash' is not a review group; expected one of "
     "domestic-settlement, accounting-and-cash, compliance-and-control"),
    ("effective: 2026-03-01", "effective: 2026-13-01",
     "SOP-P17.md:8: error: effective: '2026-13-01' is not a date; expected YYYY-MM-DD"),
    ("    activity: Count cash\n", "    activty: Count cash\n",
     "SOP-P17.md:16: error: steps[2].activty: unknown field; a step has id, activity, "
     "standard_seconds, controls, conditional, when, types"),
    ("  - id: enter_transaction", "  - id: count_cash",
     "SOP-P17.md:19: error: steps[3].id: step id 'count_cash' is used twice (first on line 15)"),
    ("title: {zh: 活期现金存款, en: Current-account cash deposit}", "title: 活期现金存款",
     "SOP-P17.md:3: error: title: expected {zh: 中文标题, en: English title}"),
    ("business_types: [P17]", "business_types: [P99]",
     "SOP-P17.md:4: error: business_types: P99 is not a business type of the baseline"),
    ("standard_seconds: 60", "standard_seconds: 90",
     "SOP-P17.md:11: error: steps: the steps of P17 add up to 150 s; its baseline time is 120 s "
     "(tolerance 5%)"),
    ("### 2. 点钞 Count cash {#count_cash}", "### 2. 点钞 Count cash",
     "SOP-P17.md:15: error: steps.count_cash: no heading in the body carries the anchor "
     "{#count_cash}"),
    ("叫号，请客户到窗口。", "叫号，见[点钞](#count_cash_x)。",
     "SOP-P17.md:29: error: body: link #count_cash_x points to no heading of this SOP"),
    ("叫号，请客户到窗口。", "叫号，见[取款](SOP-P18.md#count_cash)。",
     "SOP-P17.md:29: error: body: link to SOP-P18.md: no such SOP file"),
    ("approved_by: zhao\n", "",
     "SOP-P17.md:7: error: approved_by: an approved SOP names who approved it"),
    ("id: SOP-P17\n", "id: SOP-P18\n",
     "SOP-P17.md:2: error: id: the file of SOP-P18 must be named SOP-P18.md"),
])
def test_a_broken_file_names_file_line_and_field(tmp_path: Path, old: str, new: str,
                                                 message: str) -> None:
    assert old in SOP_TEXT
    issues = _lint(tmp_path, SOP_TEXT.replace(old, new, 1))
    assert any(i.startswith(message) for i in issues), issues


def test_yaml_that_does_not_parse_names_its_line(tmp_path: Path) -> None:
    broken = SOP_TEXT.replace("    controls: [当面点清]", "    controls: [当面点清")
    (issue,) = _lint(tmp_path, broken)
    assert issue.startswith("SOP-P17.md:19: error: front matter: YAML does not parse")
    with pytest.raises(SopError, match=r"SOP-P17\.md:19: error: front matter"):
        parse_sop(broken, "SOP-P17.md")


def test_missing_front_matter_and_missing_fields(tmp_path: Path) -> None:
    assert _lint(tmp_path, "# just markdown\n") == [
        "SOP-P17.md:1: error: front matter: the file must start with '---' and a YAML block"]
    issues = _lint(tmp_path, SOP_TEXT.replace("owner_group: accounting-and-cash\n", ""))
    assert issues == ["SOP-P17.md:1: error: owner_group: required field is missing"]


def test_links_between_sops_resolve_to_their_steps(tmp_path: Path) -> None:
    other = (SOP_TEXT.replace("SOP-P17", "SOP-P18").replace("[P17]", "[P18]")
             .replace("standard_seconds: 60", "standard_seconds: 90"))
    (tmp_path / "SOP-P18.md").write_text(other, encoding="utf-8")
    good = SOP_TEXT.replace("叫号，请客户到窗口。", "见[取款点钞](SOP-P18.md#count_cash)。")
    assert _lint(tmp_path, good) == []
    bad = SOP_TEXT.replace("叫号，请客户到窗口。", "见[取款](SOP-P18.md#no_such_step)。")
    assert _lint(tmp_path, bad) == [
        "SOP-P17.md:29: error: body: link to SOP-P18.md#no_such_step: SOP-P18.md has no "
        "such heading"]


def test_activities_never_seen_are_warnings(tmp_path: Path) -> None:
    seen = {"P17": {"Call number", "Enter transaction"}}
    issues = _lint(tmp_path, SOP_TEXT, activities=seen)
    assert issues == ["SOP-P17.md:15: warning: steps.count_cash.activity: 'Count cash' never "
                      "occurs for P17 in the logs"]
    report = lint_sops(tmp_path, BASELINE, activities=seen)
    assert report.ok


def test_render_keeps_step_anchors() -> None:
    html = render_sop(parse_sop(SOP_TEXT).body)
    assert '<h3 id="count_cash">2. 点钞 Count cash</h3>' in html
    assert "<li>点钞后未复核金额。</li>" in html


def test_version_bumps() -> None:
    old = parse_sop(SOP_TEXT)
    body_only = parse_sop(SOP_TEXT.replace("唱收唱付", "唱收唱付并复核"))
    steps = parse_sop(SOP_TEXT.replace("[当面点清]", "[当面点清, 验钞机复验]"))
    assert bump_version(old, body_only) == "1.3"
    assert bump_version(old, steps) == "2.0"
    assert bump_version(None, old) == "1.0"
    assert parse_sop(set_front_matter(SOP_TEXT, version="1.10")).version == "1.10"


# -- the bundled library -------------------------------------------------------------------------


def test_the_bundled_library_lints_clean() -> None:
    report = lint_sops(bundled_sops_dir(), BASELINE)
    assert report.errors == []
    assert len(report.sops) >= 20


def test_the_bundled_library_covers_the_common_operations() -> None:
    sops = load_sops(bundled_sops_dir())
    covered = {t for sop in sops.values() for t in sop.business_types}
    for code in ("P17", "P18", "P19", "P26", "P27", "P01", "P03", "P04", "P06", "P08", "P11",
                 "P20", "P21", "P28", "P32", "P35", "P38", "C41", "C44", "C45", "C46", "C47"):
        assert code in covered, code
    for sop in sops.values():
        assert sop.status == "approved"
        for code in sop.business_types:
            assert sop.owner_group == BASELINE[code].review_group, (sop.id, code)


def test_bundled_steps_follow_the_log_vocabulary() -> None:
    """Every step names an activity of the log vocabulary, and each type's standard path in the
    SOP is the generator's standard path, in order."""
    for sop in load_sops(bundled_sops_dir()).values():
        for step in sop.steps:
            assert step.activity in ACTIVITIES, (sop.id, step.activity)
        for code in sop.business_types:
            path = [s.activity for s in sop.steps_for(code, conditional=False)]
            assert path == [s.name for s in steps_for_type(code, BASELINE)], (sop.id, code)
