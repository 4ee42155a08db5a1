"""Helpers for the dashboard's AppTest tests: the demo users and a page run signed in as one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def deferred_downloads(monkeypatch: Any) -> dict[str, Callable[[], Any]]:
    """The functions the download buttons of the runs to come leave to be called when pressed
    (``st.download_button`` given a function: the file is made on the press, not on every
    run), by file name; filled as the runs register them."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    kept: dict[str, Callable[[], Any]] = {}
    register = MediaFileManager.add_deferred

    def add_deferred(self: MediaFileManager, data_callable: Callable[[], Any], *args: Any,
                     **kwargs: Any) -> str:
        kept[str(kwargs.get("file_name"))] = data_callable
        return register(self, data_callable, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return kept
