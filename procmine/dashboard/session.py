"""Who is signed in, in which language; sign-in and sign-out; the server-side page guard.

The signed-in user lives in ``st.session_state`` as a :class:`procmine.User`, with the time of
their last page and the token of their session (:func:`procmine.open_session`). The token is
also kept in a browser cookie (``SameSite=Strict``, for as long as the idle limit), so that a
refresh or a bookmark, which start a new Streamlit session, sign the user back in
(:func:`procmine.resume_session`: the server checks the token's row, the idle limit and the
user); sign-out revokes the token and clears the cookie. A page opened by its address while
signed out asks to sign in and then goes on to that page, if the role may open it (else to the
role's first page). Every page reads the user again from the app database
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

import json
from datetime import UTC, datetime

import streamlit as st

from procmine import (
    DEFAULT_LANGUAGE,
    DEMO_PASSWORD,
    LANGUAGES,
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    AccountLocked,
    ClosedBook,
    User,
    authenticate,
    can_open,
    ensure_not_in_attempt,
    error_text,
    get_user,
    is_demo_workspace,
    open_session,
    resume_session,
    revoke_session,
    session_idle,
    t,
)
from procmine.dashboard.components.text import plain
from procmine.dashboard.components.widget_texts import uploader_css
from procmine.dashboard.registry import page_for

__all__ = ["current_user", "error", "guard", "in_attempt", "lang", "sidebar", "sign_in_form", "tr"]

_USER = "procmine_user"
_SEEN = "procmine_seen_at"
_NOTICE = "procmine_sign_in_notice"
_LANG = "procmine_lang"
_TOKEN = "procmine_session_token"
_TRIED = "procmine_cookie_tried"      # the browser's cookie was tried in this session
_CLEAR = "procmine_cookie_clear"      # the cookie is to be cleared (signed out)
_WANTED = "procmine_wanted_page"      # the page opened by its address before signing in
_USERNAME = "sign_in_username"
_PASSWORD = "sign_in_password"
_REFUSAL = "procmine_sign_in_refusal"  # why the last sign-in was refused, for the form to show


def lang() -> str:
    """The interface language of this session (zh-CN unless switched)."""
    value = st.session_state.get(_LANG, DEFAULT_LANGUAGE)
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def tr(key: str, **fmt: object) -> str:
    """A message in the session's language."""
    return t(key, lang(), **fmt)


def error(exc: BaseException) -> str:
    """What the user is told of a library error, in the session's language (its catalogue
    message ``error.<code>`` when it carries a code, else its own text)."""
    return error_text(exc, lang())


def current_user() -> User | None:
    """The signed-in user as the app database has them now, or None (never signed in, signed
    out, idle too long, disabled or removed since). A new session with no user yet is signed
    back in by the browser's session cookie, when the server still accepts its token."""
    user = st.session_state.get(_USER)
    if not isinstance(user, User):
        return _restore()
    now = datetime.now(UTC)
    seen = st.session_state.get(_SEEN)
    idle = session_idle()
    if isinstance(seen, datetime) and now - seen > idle:
        _sign_out(_expired_notice())
        return None
    token = st.session_state.get(_TOKEN)
    if isinstance(token, str):
        resumed = resume_session(token)   # revoked elsewhere, idle, expired: ends here too
        fresh = resumed.user
        if fresh is None and resumed.reason != "ended":
            _sign_out(_closed_notice(resumed.reason))
            return None
    else:
        fresh = get_user(user.username)
    if fresh is None or fresh.disabled or fresh.password_changed_at != user.password_changed_at:
        _sign_out(tr("auth.session_ended"))
        return None
    st.session_state[_USER] = fresh
    st.session_state[_SEEN] = now
    return fresh


def _restore() -> User | None:
    """The user of the browser's session cookie (once per Streamlit session), or None."""
    if st.session_state.get(_TRIED):
        return None
    st.session_state[_TRIED] = True
    token = st.context.cookies.get(SESSION_COOKIE)
    if not isinstance(token, str) or not token:
        return None
    resumed = resume_session(token)
    if resumed.user is None:
        if resumed.reason in ("idle", "expired"):   # a revoked or unknown cookie: no notice
            st.session_state[_NOTICE] = _closed_notice(resumed.reason)
        return None
    _signed_in(resumed.user, token)
    return resumed.user


def _expired_notice() -> str:
    return tr("auth.session_expired", minutes=f"{session_idle().total_seconds() / 60:g}")


def _closed_notice(reason: str) -> str:
    if reason == "idle":
        return _expired_notice()
    if reason == "ended":
        return tr("auth.session_ended")
    return tr("auth.session_closed", hours=f"{SESSION_MAX_AGE.total_seconds() / 3600:g}")


def _signed_in(user: User, token: str) -> None:
    st.session_state[_USER] = user
    st.session_state[_SEEN] = datetime.now(UTC)
    st.session_state[_TOKEN] = token
    st.session_state.pop(_CLEAR, None)


def _sign_out(notice: str | None = None) -> None:
    st.session_state.pop(_USER, None)
    st.session_state.pop(_SEEN, None)
    token = st.session_state.pop(_TOKEN, None)
    if isinstance(token, str):
        revoke_session(token)
        st.session_state[_CLEAR] = True
    if notice:
        st.session_state[_NOTICE] = notice


def _cookie_script() -> None:
    """Keep the browser's cookie in step with this session: the token while signed in (its
    lifetime the idle limit, written again each minute of use), nothing after sign-out."""
    token = st.session_state.get(_TOKEN)
    if isinstance(token, str) and isinstance(st.session_state.get(_USER), User):
        age = int(session_idle().total_seconds())
        value = f"{SESSION_COOKIE}={token}; Max-Age={age}"
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M")   # a new element each minute
    elif st.session_state.get(_CLEAR):
        value, stamp = f"{SESSION_COOKIE}=; Max-Age=0", "clear"
    else:
        return
    st.html(
        f"<script data-at='{stamp}'>document.cookie = {json.dumps(value)} + "
        "'; Path=/; SameSite=Strict' + (location.protocol === 'https:' ? '; Secure' : '');"
        "</script>",
        unsafe_allow_javascript=True,
    )


def sign_in_form() -> None:
    """The sign-in page: username and password, checked against the app database. The demo
    users are named only in a demo workspace.

    The check runs in the button's callback (:func:`_submit`), which Streamlit calls before the
    script run the button starts: a good password lands in that same run on the page it was
    asked for (the one opened by its address, else the role's first page), with no second run
    of the app and no second drawing of this form (measured: 0.3 s of a sign-in's 1.5 s)."""
    st.title(tr("app.title"))
    st.caption(tr("app.tagline"))
    notice = st.session_state.pop(_NOTICE, None)
    if notice:
        st.info(notice)
    with st.form("sign_in"):
        st.subheader(tr("auth.sign_in"))
        st.text_input(tr("auth.username"), key=_USERNAME)
        st.text_input(tr("auth.password"), type="password", key=_PASSWORD)
        st.form_submit_button(tr("auth.sign_in"), type="primary", on_click=_submit)
    refusal = st.session_state.pop(_REFUSAL, None)
    if refusal:
        st.error(refusal)
    if is_demo_workspace():
        st.caption(tr("auth.demo_hint", password=DEMO_PASSWORD))
    _load_chart_library()


def _submit() -> None:
    """The sign-in button's callback: the password checked; signed in, or the reason refused
    kept for the form to show. A page opened by its address that the role may not open is
    left (its query parameters cleared): the navigation then opens the role's first page."""
    try:
        user = authenticate(str(st.session_state.get(_USERNAME) or ""),
                            str(st.session_state.get(_PASSWORD) or ""), client=_client())
    except AccountLocked as exc:
        st.session_state[_REFUSAL] = tr("auth.locked", until=f"{exc.until:%H:%M}")
        return
    if user is None:
        st.session_state[_REFUSAL] = tr("auth.wrong_password")
        return
    _signed_in(user, open_session(user.username))
    wanted = st.session_state.pop(_WANTED, None)
    if isinstance(wanted, str) and not can_open(user.role, page_for(wanted).roles):
        st.query_params.clear()


def _load_chart_library() -> None:
    """An empty chart, hidden: the browser loads and compiles the chart library (plotly.js,
    fetched on a page's first chart) while the user types, not after the button is pressed
    (every role's first page draws charts; measured: 1.5 s of a sign-in at 10M events)."""
    import plotly.graph_objects as go

    with st.container(key="chart_library"):
        st.html("<style>.st-key-chart_library {display: none;}</style>")
        st.plotly_chart(go.Figure(), config={"staticPlot": True, "displayModeBar": False})


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
        _cookie_script()


def guard(script_path: str) -> User:
    """Stop the page unless the signed-in user, as the app database has them now, may open it
    (checked on the server, on every run of the page)."""
    user = current_user()
    if user is None:
        # a link to this page opened in a new session: sign in here, then on to this page
        st.session_state[_WANTED] = script_path
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
    _streamlit_texts()
    return user


def _streamlit_texts() -> None:
    """Streamlit's own texts in the session's language where no parameter reaches them (the
    file uploader's): a style sheet, once per page run (it takes no room on the page)."""
    limit = int(st.get_option("server.maxUploadSize"))
    st.html(uploader_css(tr("widgets.upload"), tr("widgets.drop_hint", mb=limit)))


def in_attempt(user: User) -> bool:
    """Whether ``user`` is a teller with a paper open (then the closed-book pages are shut)."""
    try:
        ensure_not_in_attempt(user)
    except ClosedBook:
        return True
    return False
