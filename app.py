"""procmine dashboard: navigation only; pages live in procmine/dashboard/."""

import streamlit as st

from procmine.dashboard import preload, session
from procmine.dashboard.registry import PAGES, pages_for_role

st.set_page_config(page_title="procmine", page_icon=":material/account_balance:", layout="wide")
preload.start()  # what the pages import, in the background while the first user signs in
session.sidebar()
user = session.current_user()
if user is None:
    # the pages stay reachable by their address (hidden): each asks to sign in first, then runs
    pages = [st.Page(session.sign_in_form, title=session.tr("auth.sign_in"), url_path="sign-in",
                     default=True),
             *(st.Page(str(p.path), title=session.tr(p.title_key), url_path=p.url_path,
                       visibility="hidden") for p in PAGES)]
else:
    # during an open attempt the closed-book pages leave the menu (their guard refuses them)
    # and the paper is the page a teller lands on
    shut = session.in_attempt(user)
    pages = [
        st.Page(str(p.path), title=session.tr(p.title_key), icon=p.icon, url_path=p.url_path,
                visibility="hidden" if p.hidden or (shut and p.closed_book) else "visible",
                default=shut and p.script == "take_paper.py")
        for p in pages_for_role(user.role)
    ]
try:
    st.navigation(pages, expanded=True).run()  # every page in the menu, however many
except Exception:
    # The browser gets a message to act on; the details go to the server's log only
    # (client.showErrorDetails = "none" in .streamlit/config.toml).
    st.error(session.tr("common.unexpected"))
    raise
