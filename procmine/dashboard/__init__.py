"""The Streamlit dashboard: the only part of procmine that imports streamlit.

``app.py`` builds the navigation from :mod:`procmine.dashboard.registry`; ``pages/`` holds the page
scripts, ``components/`` the pieces they share (charts, column settings, filters, SOP widgets),
:mod:`procmine.dashboard.data` the cached calls into the library and
:mod:`procmine.dashboard.session` who is signed in and in which language. The dashboard reaches
the library only through the facade, ``procmine``.
"""
