"""The message catalogue: both languages complete and alike, lookups and their fallbacks."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from procmine.app import i18n
from procmine.app.auth import ROLES
from procmine.app.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    business_type_name,
    load_messages,
    normalize_language,
    t,
)
from procmine.core.baseline import REVIEW_GROUPS, Baseline
from procmine.core.errors import ProcmineError
from procmine.core.schema import CANONICAL_COLUMNS
from procmine.ingest.rules import QUARANTINE_REASONS, WARNINGS

LOCALES = Path(__file__).resolve().parents[1] / "procmine" / "app" / "locales"


def _placeholders(message: str) -> set[tuple[str, str]]:
    return {
        (name, spec or "")
        for _, name, spec, _ in string.Formatter().parse(message)
        if name is not None
    }


def test_languages_and_their_files() -> None:
    assert LANGUAGES == ("zh-CN", "en")
    assert DEFAULT_LANGUAGE == "zh-CN"
    assert sorted(p.stem for p in LOCALES.glob("*.yaml")) == sorted(LANGUAGES)


def test_both_catalogues_have_the_same_keys() -> None:
    zh, en = load_messages("zh-CN"), load_messages("en")
    assert len(zh) > 100
    assert sorted(set(zh) - set(en)) == []
    assert sorted(set(en) - set(zh)) == []


def test_both_catalogues_have_the_same_placeholders() -> None:
    zh, en = load_messages("zh-CN"), load_messages("en")
    differing = {k: (zh[k], en[k]) for k in zh if _placeholders(zh[k]) != _placeholders(en[k])}
    assert differing == {}


def test_no_empty_message_and_chinese_really_is_chinese() -> None:
    zh, en = load_messages("zh-CN"), load_messages("en")
    assert [k for k, v in {**zh, **en}.items() if not v.strip()] == []
    # Everything but the language names and pure units is translated.
    same = sorted(k for k in zh if zh[k] == en[k])
    assert same == ["lang.en", "lang.zh-CN", "units.percent"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_quarantine_reason_and_warning_has_a_label(lang: str) -> None:
    messages = load_messages(lang)
    for reason in [*QUARANTINE_REASONS, "malformed_line"]:
        assert messages.get(f"quality.reason.{reason}"), reason
    for warning in WARNINGS:
        assert messages.get(f"quality.warning.{warning}"), warning


@pytest.mark.parametrize("lang", LANGUAGES)
def test_roles_review_groups_and_columns_have_labels(lang: str) -> None:
    messages = load_messages(lang)
    assert all(messages.get(f"roles.{r}") for r in ROLES)
    assert all(messages.get(f"review_groups.{g}") for g in REVIEW_GROUPS)
    assert all(messages.get(f"columns.{c}") for c in CANONICAL_COLUMNS)


@pytest.mark.parametrize(
    "key",
    ["nav.overview", "overview.title", "auth.sign_in", "auth.username", "auth.password",
     "auth.sign_out", "auth.wrong_password", "auth.not_allowed", "filters.period",
     "filters.branch", "filters.business_type", "filters.teller", "upload.title",
     "upload.mapping", "upload.progress", "quality.title", "lang.switch",
     "overview.empty_store", "overview.actual_vs_standard", "overview.time_lost",
     "overview.slowest_business_types", "overview.slowest_tellers", "overview.this_month"],
)
def test_keys_the_pages_use_exist(key: str) -> None:
    assert key in load_messages("zh-CN") and key in load_messages("en")


def test_t_looks_up_and_formats() -> None:
    assert t("auth.sign_in", "zh-CN") == "登录"
    assert t("auth.sign_in", "en") == "Sign in"
    assert t("overview.slowest_tellers", "en", n=5) == "The 5 slowest tellers"
    assert t("overview.slowest_tellers", "zh-CN", n=5) == "最慢的 5 位柜员"
    assert t("auth.not_allowed", "en", role="Teller") == (
        "Your role (Teller) may not open this page."
    )
    assert t("roles.reviewer", "zh-CN") == "流程评审"


def test_language_tags_are_normalised() -> None:
    assert normalize_language("zh") == "zh-CN"
    assert normalize_language("zh_CN") == "zh-CN"
    assert normalize_language("en-GB") == "en"
    assert normalize_language("fr") == "zh-CN"
    assert normalize_language(None) == "zh-CN"
    assert t("auth.sign_in", "EN") == "Sign in"
    assert t("auth.sign_in", "zh") == "登录"


def test_missing_key_falls_back_to_the_other_language_then_to_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "zh-CN.yaml").write_text(
        '"only.zh": "只有中文"\n"both": "中文 {n}"\n', encoding="utf-8"
    )
    (tmp_path / "en.yaml").write_text('"only.en": "English only"\n"both": "English {n}"\n',
                                      encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    assert t("both", "en", n=1) == "English 1"
    assert t("only.zh", "en") == "只有中文"
    assert t("only.en", "zh-CN") == "English only"
    assert t("nowhere", "en") == "nowhere"
    assert t("nowhere", "zh-CN") == "nowhere"


def test_missing_placeholder_value_leaves_the_message_unformatted() -> None:
    assert t("overview.slowest_tellers", "en") == "The {n} slowest tellers"


def test_a_broken_catalogue_names_its_file(tmp_path: Path) -> None:
    (tmp_path / "en.yaml").write_text('"a": "one"\n"a": "two"\n', encoding="utf-8")
    with pytest.raises(ProcmineError, match=r"en\.yaml.*appears twice"):
        load_messages("en", tmp_path)
    (tmp_path / "zh-CN.yaml").write_text('"a":\n  "b": "nested"\n', encoding="utf-8")
    with pytest.raises(ProcmineError, match=r"zh-CN\.yaml.*flat dotted key"):
        load_messages("zh-CN", tmp_path)


def test_business_type_name(baseline: Baseline) -> None:
    assert business_type_name("P17", "en", baseline) == "Current-account cash deposit"
    assert business_type_name("P17", "zh-CN", baseline) == "活期现金存款"
    assert business_type_name("X99", "en", baseline) == "X99"
