"""The 58-type timing baseline (every role): standard counter times and review groups."""

from __future__ import annotations

import streamlit as st

from procmine import display_name
from procmine.dashboard import data, session
from procmine.dashboard.components import tables
from procmine.dashboard.session import lang, tr

session.guard(__file__)
st.title(tr("baseline.title"))
baseline = data.baseline()
st.caption(tr("baseline.caption", n=len(baseline)))
tables.show(
    [{tr("baseline.code"): b.code, tr("baseline.name"): b.name(lang()),
      tr("baseline.group"): display_name("category", b.group, lang()),
      tr("baseline.standard_seconds"): b.standard_seconds,
      tr("baseline.review_group"): tr(f"review_groups.{b.review_group}")
      if b.review_group else ""} for b in baseline],
    height=600,
)
