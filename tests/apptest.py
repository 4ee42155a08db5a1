"""Helpers for the dashboard's AppTest tests: the demo users and a page run signed in as one."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from procmine import DEMO_PASSWORD, User, authenticate

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
DEMO_USERS = {"operations": "ops", "branch_manager": "manager", "reviewer": "reviewer",
              "trainer": "trainer", "teller": "teller"}


def signed_in(role: str, home: Path) -> User:
    """The demo user of ``role``, signed in with the demo password."""
    user = authenticate(DEMO_USERS[role], DEMO_PASSWORD, home)
    assert user is not None and user.role == role
    return user


def app_as(role: str, home: Path, *, timeout: float = 60) -> AppTest:
    """The app, with the demo user of ``role`` in its session."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.session_state["procmine_user"] = signed_in(role, home)
    return at
