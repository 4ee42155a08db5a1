"""Who is signed in, in which language; sign-in and sign-out; the server-side page guard.

The signed-in user lives in ``st.session_state`` as a :class:`procmine.User`, with the time of
their last page. Every page reads the user again from the app database
(:func:`current_user`): a user who was disabled, removed or given another role loses the pages of
the old role at their next click; a password reset ends the sessions opened with the old one; a
session idle for longer than :func:`procmine.session_idle` (``PROCMINE_SESSION_IDLE_MINUTES``,
default 30) ends. The password
check is :func:`procmine.authenticate`, with its lockout per user name and per client (the remote
address); a bank's single sign-on would replace only :func:`sign_in_form` (``st.login`` with
OIDC yields an identity that maps to a user and role).

Closed book: while a teller has a paper open, the pages marked ``closed_book`` in the registry
(the SOPs, their history, the standard times) are refused by :func:`guard` before they read
anything (:func:`procmine.ensure_not_in_attempt`, on the server, on every run), and
:func:`in_attempt` tells the navigation to hide their links.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from procmine import (
    DEFAULT_LANGUAGE,
    DEMO_PASSWORD,
    LANGUAGES,
    AccountLocked,
    ClosedBook,
    User,
    authenticate,
    can_open,
    ensure_not_in_attempt,
    get_user,
    is_demo_workspace,
    session_idle,
    t,
)
from procmine.dashboard.components.text import plain
from procmine.dashboard.registry import page_for

__all__ = ["current_user", "guard", "in_attempt", "lang", "sidebar", "sign_in_form", "tr"]

_USER = "procmine_user"
_SEEN = "procmine_seen_at"
_NOTICE = "procmine_sign_in_notice"
_LANG = "procmine_lang"


def lang() -> str:
    """The interface language of this session (zh-CN unless switched)."""
    value = st.session_state.get(_LANG, DEFAULT_LANGUAGE)
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def tr(key: str, **fmt: object) -> str:
    """A message in the session's language."""
    return t(key, lang(), **fmt)


def current_user() -> User | None:
    """The signed-in user as the app database has them now, or None (never signed in, signed
    out, idle too long, disabled or removed since)."""
    user = st.session_state.get(_USER)
    if not isinstance(user, User):
        return None
    now = datetime.now(UTC)
    seen = st.session_state.get(_SEEN)
    idle = session_idle()
    if isinstance(seen, datetime) and now - seen > idle:
        _sign_out(tr("auth.session_expired", minutes=f"{idle.total_seconds() / 60:g}"))
        return None
    fresh = get_user(user.username)
    if fresh is None or fresh.disabled or fresh.password_changed_at != user.password_changed_at:
        _sign_out(tr("auth.session_ended"))
        return None
    st.session_state[_USER] = fresh
    st.session_state[_SEEN] = now
    return fresh


def _sign_out(notice: str | None = None) -> None:
    st.session_state.pop(_USER, None)
    st.session_state.pop(_SEEN, None)
    if notice:
        st.session_state[_NOTICE] = notice


def sign_in_form() -> None:
    """The sign-in page: username and password, checked against the app database. The demo
    users are named only in a demo workspace."""
    st.title(tr("app.title"))
    st.caption(tr("app.tagline"))
    notice = st.session_state.pop(_NOTICE, None)
    if notice:
        st.info(notice)
    with st.form("sign_in"):
        st.subheader(tr("auth.sign_in"))
        username = st.text_input(tr("auth.username"), key="sign_in_username")
        password = st.text_input(tr("auth.password"), type="password", key="sign_in_password")
        submitted = st.form_submit_button(tr("auth.sign_in"), type="primary")
    if submitted:
        try:
            user = authenticate(username, password, client=_client())
        except AccountLocked as exc:
            st.error(tr("auth.locked", until=f"{exc.until:%H:%M}"))
            user = None
        else:
            if user is None:
                st.error(tr("auth.wrong_password"))
        if user is not None:
            st.session_state[_USER] = user
            st.session_state[_SEEN] = datetime.now(UTC)
            st.rerun()
    if is_demo_workspace():
        st.caption(tr("auth.demo_hint", password=DEMO_PASSWORD))


def _client() -> str | None:
    """The remote address of this session, for the per-client lockout (None when unknown)."""
    address = st.context.ip_address
    return address if isinstance(address, str) and address else None


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
            if user.role == "branch_manager" and user.branch_id:
                st.caption(tr("scope.branch_caption", branch=plain(user.branch_id)))
            if st.button(tr("auth.sign_out"), key="sign_out"):
                _sign_out()
                st.rerun()


def guard(script_path: str) -> User:
    """Stop the page unless the signed-in user, as the app database has them now, may open it
    (checked on the server, on every run of the page)."""
    user = current_user()
    if user is None:
        # a link to this page opened in a new session: sign in here, then the page runs again
        st.warning(tr("auth.sign_in_required"))
        sign_in_form()
        st.stop()
    page = page_for(script_path)
    if user.role == "branch_manager" and not user.branch_id:
        st.error(tr("scope.no_branch"))   # scoped to nothing: refused, never shown the bank
        st.stop()
    if not can_open(user.role, page.roles):
        st.error(tr("auth.not_allowed", role=tr(f"roles.{user.role}")))
        st.stop()
    if page.closed_book and in_attempt(user):
        st.error(tr("closed_book.refused"))
        st.page_link(str(page.path.parent / "take_paper.py"), label=tr("closed_book.back"),
                     icon=":material/edit_note:")
        st.stop()
    return user


def in_attempt(user: User) -> bool:
    """Whether ``user`` is a teller with a paper open (then the closed-book pages are shut)."""
    try:
        ensure_not_in_attempt(user)
    except ClosedBook:
        return True
    return False
