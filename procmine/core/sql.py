"""Small helpers for building DuckDB SQL text safely (identifiers and string literals)."""

from __future__ import annotations

__all__ = ["lit", "quote"]


def quote(name: str) -> str:
    """Quote an identifier: ``quote('Case ID')`` gives ``"Case ID"``."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    """A string literal: ``lit("it's")`` gives ``'it''s'``."""
    return "'" + value.replace("'", "''") + "'"
