"""The message catalogue: every word the dashboard shows, in Chinese (default) and English.

Messages live in ``procmine/locales/<lang>.yaml``, one flat dotted key per message
(``overview.title``, ``quality.reason.bad_timestamp``). Placeholders use ``str.format``
syntax (``{n}``, ``{start}``); both files carry the same keys and the same placeholders, which
``tests/test_i18n.py`` checks.

Example:
    >>> from procmine.app.i18n import t
    >>> t("overview.slowest_tellers", "en", n=5)
    'The 5 slowest tellers'
    >>> t("overview.slowest_tellers", "zh-CN", n=5)
    '最慢的 5 位柜员'
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LOCALES_DIR",
    "business_type_name",
    "error_text",
    "load_messages",
    "normalize_language",
    "t",
]

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
#: Where the catalogue files are; read at each call, so a test can point it elsewhere.
LOCALES_DIR = Path(__file__).resolve().parent / "locales"


def normalize_language(lang: str | None) -> str:
    """One of LANGUAGES for a language tag: ``zh``, ``zh_CN``, ``zh-Hans`` give ``zh-CN``;
    ``en``, ``en-GB`` give ``en``; anything else gives the default, ``zh-CN``.

    Example:
        >>> normalize_language("en-US"), normalize_language("zh")
        ('en', 'zh-CN')
    """
    tag = (lang or "").strip().lower().replace("_", "-")
    if tag.startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def load_messages(lang: str, locales_dir: Path | None = None) -> Mapping[str, str]:
    """The messages of one language, by key (read once per file and kept).

    Raises ProcmineError naming the file when it is not a flat mapping of text messages.

    Example:
        >>> load_messages("en")["auth.sign_in"]
        'Sign in'
    """
    return _load(normalize_language(lang), _resolved(locales_dir or LOCALES_DIR))


@lru_cache(maxsize=16)
def _resolved(folder: Path) -> Path:
    """``folder`` made absolute, once per folder: :func:`t` runs thousands of times a page, and
    resolving a path asks the file system about each of its parts."""
    return folder.resolve()


# libyaml's parser when PyYAML has it (25x faster on the catalogues), the Python one otherwise
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """A safe loader that refuses a key given twice (plain YAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


@lru_cache(maxsize=16)
def _load(lang: str, locales_dir: Path) -> Mapping[str, str]:
    path = locales_dir / f"{lang}.yaml"
    if not path.exists():
        return {}
    try:
        data: Any = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except (OSError, yaml.YAMLError) as exc:
        raise ProcmineError(f"{path}: cannot read the message catalogue: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ProcmineError(f"{path}: expected a mapping of dotted keys to messages")
    bad = [str(k) for k, v in data.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad:
        raise ProcmineError(
            f"{path}: every message must be text under a flat dotted key; not so for "
            f"{', '.join(bad[:5])}"
        )
    return dict(data)


def t(key: str, lang: str, **fmt: Any) -> str:
    """The message ``key`` in ``lang``, with ``fmt`` filled into its placeholders.

    A key missing in ``lang`` falls back to the other language, then to the key itself, so a
    missing message shows up on screen instead of breaking the page. A placeholder left
    without a value leaves the message unformatted, for the same reason.

    Example:
        >>> t("auth.sign_in", "zh-CN")
        '登录'
        >>> t("overview.period_range", "en", start="2026-01-01", end="2026-02-28")
        '2026-01-01 to 2026-02-28'
        >>> t("no.such.key", "en")
        'no.such.key'
    """
    first = normalize_language(lang)
    message = None
    for candidate in (first, *(x for x in LANGUAGES if x != first)):
        message = load_messages(candidate).get(key)
        if message is not None:
            break
    if message is None:
        return key
    try:
        return message.format(**fmt)
    except (KeyError, IndexError, ValueError):
        return message


def error_text(exc: BaseException, lang: str) -> str:
    """What a user is told of ``exc`` in ``lang``: the catalogue's ``error.<code>`` with the
    error's parameters when it carries a code the catalogue knows, else its own text.

    Example:
        >>> exc = ProcmineError("a change note is required", code="sop.note_required")
        >>> error_text(exc, "zh-CN"), error_text(exc, "en")
        ('必须填写修改说明', 'A change note is required')
        >>> error_text(ValueError("plain"), "zh-CN")
        'plain'
    """
    code = getattr(exc, "code", None)
    if code:
        key = f"error.{code}"
        message = t(key, lang, **getattr(exc, "params", {}))
        if message != key:
            return message
    return str(exc)


def business_type_name(code: str, lang: str, baseline: Baseline) -> str:
    """The display name of business type ``code`` in ``lang``, from the baseline's names.

    Falls back to the other language's name, then to the code (also for a code the baseline
    does not know).

    Example:
        >>> from procmine.core.baseline import load_baseline
        >>> business_type_name("P17", "en", load_baseline())
        'Current-account cash deposit'
    """
    if code not in baseline:
        return code
    return baseline[code].name("en" if normalize_language(lang) == "en" else "zh")
