"""One improvement item (operations, reviewers, branch managers, trainers)."""

from __future__ import annotations

import streamlit as st

from procmine.dashboard import session
from procmine.dashboard.components import improve_widgets
from procmine.dashboard.session import tr

session.guard(__file__)
st.title(tr("improve.item.title"))
improve_widgets.show_flash()
