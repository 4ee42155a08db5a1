"""Improvement register (operations, reviewers, branch managers, trainers; never a teller)."""

from __future__ import annotations

import streamlit as st

from procmine.dashboard import session
from procmine.dashboard.session import tr

session.guard(__file__)
st.title(tr("improve.page.title"))
