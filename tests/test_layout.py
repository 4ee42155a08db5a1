"""The layout stays honest: the library never imports streamlit outside procmine/dashboard/."""

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
    for path in (REPO / "procmine" / "dashboard").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for forbidden in ("SELECT ", "import pm4py", ".groupby("):
            assert forbidden not in text, f"{path.name} contains {forbidden!r}"


def test_every_public_name_is_importable() -> None:
    import procmine

    for name in procmine.__all__:
        assert getattr(procmine, name) is not None
