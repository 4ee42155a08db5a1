"""The layout stays honest: the library never imports streamlit outside procmine/dashboard/, and
the dashboard's pages reach the library only through the facade."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_import_procmine_does_not_import_streamlit() -> None:
    code = "import sys, procmine; print('streamlit' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_no_module_outside_the_dashboard_imports_streamlit() -> None:
    offenders = []
    for path in (REPO / "procmine").rglob("*.py"):
        if "dashboard" in path.relative_to(REPO / "procmine").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "streamlit" or n.startswith("streamlit.") for n in names):
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


def test_pages_do_not_build_queries() -> None:
    """Pages call procmine functions; SQL and pm4py stay in the library."""
    paths = list((REPO / "procmine" / "dashboard").rglob("*.py"))
    assert {"pages", "components"} <= {p.parent.name for p in paths}
    for path in paths:
        text = path.read_text(encoding="utf-8")
        for forbidden in ("SELECT ", "import pm4py", ".groupby("):
            assert forbidden not in text, f"{path.relative_to(REPO)} contains {forbidden!r}"


def _imported_modules(path: Path) -> set[str]:
    """The modules a script imports; ``from a import b`` counts as ``a.b`` when that is a
    module of the repository (``from procmine.dashboard import data``: the data module)."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path.name}: relative import"
            package = REPO.joinpath(*node.module.split("."))
            for alias in node.names:
                sub = package / alias.name
                is_module = sub.is_dir() or sub.with_suffix(".py").exists()
                modules.add(f"{node.module}.{alias.name}" if is_module else node.module)
    return modules


_PAGE_MAY_IMPORT = ("procmine.dashboard.components", "procmine.dashboard.data",
                    "procmine.dashboard.session", "streamlit", "pandas", "plotly")


def test_pages_import_only_the_facade_components_data_and_session() -> None:
    """A page reaches the library through the facade (``import procmine``), the dashboard's
    components, its cached data and the session; besides those only the standard library,
    streamlit, pandas and plotly."""
    pages = sorted((REPO / "procmine" / "dashboard" / "pages").glob("*.py"))
    assert len(pages) > 10
    offenders = []
    for path in pages:
        for module in _imported_modules(path):
            top = module.split(".")[0]
            allowed = (module == "procmine" or top in sys.stdlib_module_names
                       or any(module == m or module.startswith(f"{m}.")
                              for m in _PAGE_MAY_IMPORT))
            if not allowed:
                offenders.append(f"{path.name}: {module}")
    assert offenders == []


def test_the_dashboard_reaches_the_library_only_through_the_facade() -> None:
    """Below the pages too (data, session, registry, components) procmine is the facade: a
    module moving inside the library changes the facade's import line, not the dashboard."""
    offenders = []
    for path in [REPO / "app.py", *(REPO / "procmine" / "dashboard").rglob("*.py")]:
        for module in _imported_modules(path):
            if (module.startswith("procmine.") and module != "procmine.dashboard"
                    and not module.startswith("procmine.dashboard.")):
                offenders.append(f"{path.relative_to(REPO)}: {module}")
    assert offenders == []


def test_every_public_name_is_importable() -> None:
    import procmine

    for name in procmine.__all__:
        assert getattr(procmine, name) is not None
