"""The dashboard's side of the warm-up (:mod:`procmine.store.warm_up`): the function its recipes
name, :func:`keep`, run outside a Streamlit server (by ``procmine warm``).

Outside a server Streamlit warns, for every cached function, that no server runs and its cache
lives in memory: not news here, so its messages below errors are silenced first.
"""

from __future__ import annotations

from streamlit import logger as _streamlit_logger

_streamlit_logger.set_log_level("error")

from procmine.dashboard.data import keep  # noqa: E402  (after the silencing: its import warns)

__all__ = ["keep"]
