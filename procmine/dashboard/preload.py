"""What the pages import, imported once per server process in the background.

Streamlit runs a page's script on its first view, and that run imports what the page imports:
pandas, plotly, the analyses and the dashboard's data layer, seconds of work on a fresh server.
:func:`start` (called by ``app.py``) imports all of it in a thread of its own as soon as the
server serves its first script run, usually the sign-in form, so that the import happens while
the first user types their name and password, not after they press the button. The names come
from the pages' own ``import`` statements (read, not run), so a new page needs no list updated.

Once imported, what is alive is frozen out of the garbage collector (:func:`gc.freeze`):
Streamlit collects every generation after each script run (``runner.postScriptGC``), holding
the interpreter lock while it walks some 200,000 objects of the imported libraries (0.1 s a
run, measured), which never become garbage. The collection after a run then walks only what
the runs made since. Objects frozen are still freed when their last reference goes; only a
reference cycle among them would outlive its use.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import importlib
import threading

import streamlit as st

from procmine.dashboard.registry import PAGES

__all__ = ["NOT_PRELOADED", "ON_USE", "page_imports", "start"]

#: What the library imports on first use, not when it is imported (the command line starts
#: quicker so), and the pages reach: imported here too, so that a page's first view on a new
#: server does not wait for it (measured: networkx 0.18 s of the process map's first view).
ON_USE = ("dulwich.porcelain", "networkx", "openpyxl")
#: What the library imports on use that the dashboard's server leaves alone, and why.
NOT_PRELOADED = {
    "pyspark": "the Spark engine: the command line's, for stores too large for one machine",
    "sqlglot": "the Spark engine's SQL translation",
    "typer": "the command line",
    "python_calamine": "an uploaded Excel file read: an ingest, seconds of work anyway",
    "pm4py": "a model discovered anew (one kept is drawn without it); its import takes 1.1 s,"
             " which would still hold the interpreter when the first user signs in",
}


def page_imports() -> list[tuple[str, tuple[str, ...]]]:
    """Each module the pages import, with the names they take from it, in a stable order."""
    found: dict[str, set[str]] = {}
    for spec in PAGES:
        tree = ast.parse(spec.path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.setdefault(alias.name, set())
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.setdefault(node.module, set()).update(a.name for a in node.names)
    return [(module, tuple(sorted(names))) for module, names in sorted(found.items())]


def _import_all() -> None:
    for module_name, names in [*page_imports(), *((name, ()) for name in ON_USE)]:
        with contextlib.suppress(Exception):  # the page's own run reports its errors
            module = importlib.import_module(module_name)
            for name in names:
                if not hasattr(module, name):  # a submodule (procmine's facade loads the rest)
                    importlib.import_module(f"{module_name}.{name}")
    gc.collect()   # what the imports left as garbage is collected, not frozen
    gc.freeze()


@st.cache_resource(show_spinner=False)
def start() -> threading.Thread:
    """Start importing what the pages import, once per server process (a daemon thread)."""
    thread = threading.Thread(target=_import_all, name="procmine-preload", daemon=True)
    thread.start()
    return thread
