"""Tests for the demo generator's data files: profiles.csv and activities.csv, and their checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from procmine.core.baseline import load_baseline
from procmine.core.errors import ProcmineError
from procmine.demo.activities import ACTIVITIES, TOKENS, load_vocabulary
from procmine.demo.datafile import DataFileError
from procmine.demo.profiles import SEGMENT_MIX, load_profiles

HEADER = ("profile,weight,segment,cash,amount_median,amount_sigma,amount_minimum,amount_unit,"
          "steps\n")
DEFAULT = "default,0.3,personal,0,,,,,id forms enter auth?a print sign stamp\n"


def write(tmp_path: Path, text: str, name: str = "profiles.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_bundled_profiles_cover_the_58_types_and_the_baseline_groups() -> None:
    profiles = load_profiles()
    baseline = load_baseline()
    assert sorted(profiles.by_type) == sorted(baseline.codes)
    groups = {baseline[c].group for c in baseline.codes} - {"group"}
    assert groups <= set(profiles.by_group)
    assert profiles.by_type["P18"].amount == (5_000.0, 1.25, 0.0, 100.0)
    assert profiles.by_type["C58"].segment == "corporate"
    assert all(p.segment in SEGMENT_MIX for p in profiles.by_type.values())


def test_the_bundled_vocabulary_has_a_token_and_a_time_for_every_activity() -> None:
    vocabulary = load_vocabulary()
    assert set(vocabulary.tokens.values()) == set(ACTIVITIES) == set(TOKENS.values())
    for name in ACTIVITIES:
        assert (name in vocabulary.anchor_seconds) != (name in vocabulary.work_weight), name
    assert ACTIVITIES["Count cash"].name_zh == "点钞"


@pytest.mark.parametrize(
    ("row", "line", "field", "why"),
    [
        ("P01,1.5,retail,0,,,,,id forms enter\n", 2, "segment", "expected one of"),
        ("P01,heavy,personal,0,,,,,id forms enter\n", 2, "weight", "expected a number"),
        ("P01,0,personal,0,,,,,id forms enter\n", 2, "weight", "above 0"),
        ("P01,1,personal,1.5,,,,,id forms enter\n", 2, "cash", "at most 1"),
        ("P01,1,personal,0,5000,1.2,,,id forms enter\n", 2, "amount_minimum", "all four"),
        ("P01,1,personal,0,,,,,id forms teleport enter\n", 2, "steps", "'teleport'"),
        ("P01,1,personal,0,,,,,id forms enter?x\n", 2, "steps", "condition after '?'"),
        ("P01,1,personal,0,,,,,id forms?c enter\n", 2, "steps", "no conditional_seconds"),
        ("P01,1,personal,0,,,,,\n", 2, "steps", "is empty"),
    ],
)
def test_a_bad_profile_row_names_the_line_and_the_field(
    tmp_path: Path, row: str, line: int, field: str, why: str
) -> None:
    path = write(tmp_path, HEADER + row + DEFAULT)
    with pytest.raises(DataFileError, match=rf"line {line}: field {field} .*{re.escape(why)}"):
        load_profiles(path)


def test_a_profiles_file_needs_its_columns_a_default_and_no_duplicates(tmp_path: Path) -> None:
    with pytest.raises(ProcmineError, match="line 1: the columns steps are missing"):
        load_profiles(write(tmp_path, HEADER.replace(",steps", "") + "P01,1,personal,0,,,,\n"))
    with pytest.raises(DataFileError, match="'default' profile is missing"):
        load_profiles(write(tmp_path, HEADER + "P01,1,personal,0,,,,,id\n"))
    with pytest.raises(DataFileError, match="line 3: field profile 'P01'"):
        load_profiles(write(tmp_path, HEADER + "P01,1,personal,0,,,,,id\n" * 2 + DEFAULT))
    with pytest.raises(DataFileError, match="line 2: more values than the header"):
        load_profiles(write(tmp_path, HEADER + "P01,1,personal,0,,,,,id,forms\n" + DEFAULT))


def test_a_bad_activity_row_names_the_line_and_the_field(tmp_path: Path) -> None:
    text = (Path(__file__).parents[1] / "procmine" / "demo" / "activities.csv").read_text(
        encoding="utf-8")
    lines = text.splitlines(keepends=True)
    lines[2] = lines[2].replace(",teller,", ",robot,", 1)
    with pytest.raises(DataFileError, match=r"line 3: field actor is 'robot'"):
        load_vocabulary(write(tmp_path, "".join(lines), "activities.csv"))
    lines = text.splitlines(keepends=True)
    lines[2] = lines[2].replace(",5,,", ",,,", 1)  # greet: neither anchor nor weight
    with pytest.raises(DataFileError, match=r"line 3: field anchor_seconds and work_weight"):
        load_vocabulary(write(tmp_path, "".join(lines), "activities.csv"))
