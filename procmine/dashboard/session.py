"""Who is signed in, in which language; sign-in and sign-out; the server-side page guard.

The signed-in user lives in ``st.session_state`` as a :class:`procmine.User`. The password
check is :func:`procmine.authenticate`; a bank's single sign-on would replace only
:func:`sign_in_form` (``st.login`` with OIDC yields an identity that maps to a user and role).
"""

from __future__ import annotations

import streamlit as st

from procmine import DEFAULT_LANGUAGE, DEMO_PASSWORD, LANGUAGES, User, authenticate, can_open, t
from procmine.dashboard.registry import page_for

__all__ = ["current_user", "guard", "lang", "sidebar", "sign_in_form", "tr"]

_USER = "procmine_user"
_LANG = "procmine_lang"


def lang() -> str:
    """The interface language of this session (zh-CN unless switched)."""
    value = st.session_state.get(_LANG, DEFAULT_LANGUAGE)
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def tr(key: str, **fmt: object) -> str:
    """A message in the session's language."""
    return t(key, lang(), **fmt)


def current_user() -> User | None:
    user = st.session_state.get(_USER)
    return user if isinstance(user, User) else None


def sign_in_form() -> None:
    """The sign-in page: username and password, checked against the app database."""
    st.title(tr("app.title"))
    st.caption(tr("app.tagline"))
    with st.form("sign_in"):
        st.subheader(tr("auth.sign_in"))
        username = st.text_input(tr("auth.username"), key="sign_in_username")
        password = st.text_input(tr("auth.password"), type="password", key="sign_in_password")
        submitted = st.form_submit_button(tr("auth.sign_in"), type="primary")
    if submitted:
        user = authenticate(username, password)
        if user is None:
            st.error(tr("auth.wrong_password"))
        else:
            st.session_state[_USER] = user
            st.rerun()
    st.caption(tr("auth.demo_hint", password=DEMO_PASSWORD))


def sidebar() -> None:
    """Language switch and, when signed in, who it is and the sign-out button."""
    with st.sidebar:
        choice = st.radio(
            tr("lang.switch"), LANGUAGES, index=LANGUAGES.index(lang()), horizontal=True,
            format_func=lambda code: t(f"lang.{code}", code), key="lang_switch",
        )
        if choice != lang():
            st.session_state[_LANG] = choice
            st.rerun()
        user = current_user()
        if user is not None:
            st.caption(tr("auth.signed_in_as", name=user.display_name or user.username,
                          role=tr(f"roles.{user.role}")))
            if st.button(tr("auth.sign_out"), key="sign_out"):
                st.session_state.pop(_USER, None)
                st.rerun()


def guard(script_path: str) -> User:
    """Stop the page unless the signed-in user's role may open it (checked on the server)."""
    user = current_user()
    if user is None:
        st.warning(tr("auth.sign_in_required"))
        st.stop()
    page = page_for(script_path)
    if not can_open(user.role, page.roles):
        st.error(tr("auth.not_allowed", role=tr(f"roles.{user.role}")))
        st.stop()
    return user
