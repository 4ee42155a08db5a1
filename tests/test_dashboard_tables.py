"""The table component's widths (procmine/dashboard/components/tables.py): measured from labels
and content, Chinese counted double, long text narrowed to wrap when the table is too wide, key
columns pinned only when it must still scroll. The browser test checks the result on the pages
(tests/test_browser_layout.py)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from procmine.dashboard.components.tables import ROOM, fitted_config, text_width


def _widths(config: dict[str, object]) -> dict[str, int]:
    return {k: int(v["width"]) for k, v in config.items() if isinstance(v, dict)}


def test_a_chinese_character_counts_as_two_latin_ones() -> None:
    assert text_width("点钞") == 4
    assert text_width("Count cash") == 10
    assert text_width("0101 点钞") == 9


def test_widths_follow_labels_and_content() -> None:
    frame = pd.DataFrame({"teller_id": ["0101", "0102"],
                          "activity": ["核对客户身份证件", "点钞"],
                          "ratio": [1.2345, 0.5]})
    config, wrap = fitted_config(frame, {
        "teller_id": "柜员", "activity": "步骤",
        "ratio": st.column_config.NumberColumn("比率", format="%.2f")})
    widths = _widths(config)
    assert not wrap
    # the step's longest value, 8 Chinese characters (16 Latin), is wider than its label
    assert widths["activity"] > widths["teller_id"]
    assert widths["activity"] >= 16 * 7
    # a label kept, the number format kept, nothing pinned: it fits
    assert config["teller_id"]["label"] == "柜员"
    assert config["ratio"]["type_config"]["format"] == "%.2f"
    assert not any(v.get("pinned") for v in config.values())
    assert sum(widths.values()) <= ROOM


def test_long_text_is_narrowed_to_wrap_when_the_table_is_too_wide() -> None:
    long = "核对客户身份证件并联网核查" * 4
    frame = pd.DataFrame({"name": ["甲"], "note": [long], "steps": [long], "count": [12]})
    config, wrap = fitted_config(frame, {}, room=600)
    widths = _widths(config)
    assert wrap
    # narrowed just enough to wrap: the table just fits
    assert 590 <= sum(widths.values()) <= 600
    assert widths["note"] < text_width(long) * 7
    assert not any(v.get("pinned") for v in config.values())


def test_keys_are_pinned_when_the_table_must_still_scroll() -> None:
    frame = pd.DataFrame({"teller_id": ["0101"], "business_type": ["T01"],
                          **{f"第{i}个月的平均办理时间": [123.4] for i in range(12)}})
    config, _ = fitted_config(frame, {}, room=600)
    assert config["teller_id"]["pinned"] is True
    assert config["business_type"]["pinned"] is True
    assert not config["第0个月的平均办理时间"].get("pinned")


def test_a_hidden_column_stays_hidden_and_a_set_width_is_kept() -> None:
    frame = pd.DataFrame({"a": ["x"], "b": ["y"], "c": [1]})
    config, _ = fitted_config(frame, {"b": None, "c": st.column_config.NumberColumn(width=40)})
    assert config["b"] is None
    assert config["c"]["width"] == 40


def test_medium_text_columns_narrow_too_when_the_long_one_is_not_enough() -> None:
    medium = "柜员 0406（B04）"   # 16 Latin wide: above the label, below the first floor
    frame = pd.DataFrame({f"c{i}": [medium] for i in range(6)})
    config, wrap = fitted_config(frame, {}, room=600)
    widths = _widths(config)
    assert wrap
    assert sum(widths.values()) <= 600
    assert not any(v.get("pinned") for v in config.values())
