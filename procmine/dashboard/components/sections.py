"""Sections drawn once opened: what a page shows below its main content and a user consults
rather than reads at every visit (a breakdown, a history, a second chart).

Streamlit runs and sends an expander's content only once it is opened when the expander is
created with ``on_change="rerun"`` and the page reads its ``open``. Each chart or table left
out of a page's first drawing saves the browser 0.1-0.3 s on this machine (README, "Landing
pages drawn lighter"). The section's key holds whether it is open, so an opened section stays
open for the rest of the session; tests open one by setting its key in the session state.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

__all__ = ["lazy"]


def lazy(label: str, key: str, draw: Callable[[], None]) -> None:
    """A section titled ``label`` (closed at first) whose content ``draw`` draws, in it, only
    once it is opened."""
    section = st.expander(label, key=key, on_change="rerun")
    if section.open:
        with section:
            draw()
