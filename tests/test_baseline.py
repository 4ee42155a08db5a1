from __future__ import annotations

import csv
from pathlib import Path

import pytest

from procmine.core.baseline import REVIEW_GROUPS, BaselineError, load_baseline

REPO = Path(__file__).resolve().parents[1]


def test_bundled_baseline_has_the_58_types_of_the_domain_notes() -> None:
    baseline = load_baseline()
    assert len(baseline) == 58
    assert baseline.codes[0] == "P01" and baseline.codes[-1] == "C58"
    assert baseline.standard_seconds("P17") == 120
    assert baseline.standard_seconds("C41") == 2700
    assert baseline["P28"].name("zh") == "代缴水电煤气费"
    assert baseline["P28"].name("en") == "Utility bill payment"
    assert {t.review_group for t in baseline} == set(REVIEW_GROUPS)


def test_bundled_baseline_matches_the_shared_domain_file() -> None:
    shared = REPO.parent / "shared" / "domain" / "business_types_58.csv"
    if not shared.exists():
        pytest.skip(f"{shared} is absent")
    with shared.open(encoding="utf-8") as fh:
        rows = {r["code"]: float(r["standard_seconds"]) for r in csv.DictReader(fh)}
    assert {t.code: t.standard_seconds for t in load_baseline()} == rows


def test_a_bank_file_needs_only_code_and_seconds(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_text("business_type,standard_seconds\nX1,90\nX2,45.5\n", encoding="utf-8")
    baseline = load_baseline(path)
    assert baseline.codes == ["X1", "X2"]
    assert baseline["X2"].standard_seconds == 45.5
    assert baseline["X2"].name("zh") == "X2"


def test_a_gb18030_bank_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_bytes("business_type,name_zh,standard_seconds\nP17,活期现金存款,100\n"
                     .encode("gb18030"))
    assert load_baseline(path)["P17"].name_zh == "活期现金存款"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("business_type,standard_seconds\nX1,90\nX1,80\n",
         "line 3: business type 'X1' appears twice"),
        ("business_type,standard_seconds\nX1,0\n", "line 2: field standard_seconds is 0"),
        ("business_type,standard_seconds\nX1,fast\n", "line 2: field standard_seconds is 'fast'"),
        ("business_type,standard_seconds\n,60\n", "line 2: field business_type is empty"),
        ("code,seconds\nX1,60\n", "line 1: the baseline needs the columns"),
    ],
)
def test_a_bad_baseline_names_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BaselineError) as info:
        load_baseline(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)
