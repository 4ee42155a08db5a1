"""Queue (operations; a branch manager for their branch): see the module of the page's data."""

from __future__ import annotations

import streamlit as st

from procmine.dashboard import data, session
from procmine.dashboard.session import tr

session.guard(__file__)
st.title(tr("queue.title"))
if data.store_info()["events"] == 0:
    st.info(tr("queue.empty"))
    st.stop()
