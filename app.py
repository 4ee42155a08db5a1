"""procmine dashboard: navigation only; pages live in procmine/dashboard/."""

import streamlit as st

st.set_page_config(page_title="procmine", page_icon="🏦", layout="wide")
pages = [
    st.Page("procmine/dashboard/overview.py", title="概览 Overview", default=True),
]
st.navigation(pages).run()
