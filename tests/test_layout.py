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
                    "procmine.dashboard.data_maps",
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


# -- the rooms ---------------------------------------------------------------------------------

PACKAGE = REPO / "procmine"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every procmine module ``path`` imports, at any level (type-checking imports included: a
    cycle of annotations is still a cycle of ideas)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("procmine"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.startswith("procmine"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def _room(module: str) -> str:
    """The package a module lives in: ``procmine.sop.timeline`` -> ``sop``; the facade is
    ``procmine``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "procmine"


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
ROOMS = sorted({_room(m) for m in MODULES} - {"procmine"})


def _room_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {room: set() for room in [*ROOMS, "procmine"]}
    for module, path in MODULES.items():
        for target in _imports(path):
            # ``from procmine.x import y``: y may be a module or a name; either way the room is x's
            room = _room(target) if target.split(".")[1:2] != [] else "procmine"
            if room in graph and room != _room(module):
                graph[_room(module)].add(room)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_rooms_are_the_designed_packages() -> None:
    assert set(ROOMS) >= {"core", "io", "ingest", "store", "analysis", "sop", "reports", "app",
                          "demo", "cli", "dashboard"}
    # no module is left flat beside the facade
    flat = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert flat == []


def test_no_import_cycle_between_packages() -> None:
    assert _cycle(_room_graph()) is None


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_core_imports_no_other_room_and_the_library_no_front_end() -> None:
    graph = _room_graph()
    assert graph["core"] == set()
    for room in ROOMS:
        if room not in ("cli", "dashboard"):
            assert not graph[room] & {"cli", "dashboard", "procmine"}, room
    # the facade sits between the library and the front ends
    assert not graph["procmine"] & {"cli", "dashboard"}


def test_only_the_store_opens_a_duckdb_connection() -> None:
    offenders = []
    for module, path in MODULES.items():
        if _room(module) == "store":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "connect" and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "duckdb"):
                offenders.append(module)
    assert offenders == []


def test_modules_and_functions_stay_small() -> None:
    """At most 600 lines a module and 80 a function; SQL text and data tables are not counted
    (a module-level string constant or a literal table is data)."""
    big_modules, big_functions = [], []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        data = sum(node.end_lineno - node.lineno + 1  # type: ignore[operator]
                   for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)
                   and isinstance(node.value, ast.Constant | ast.Dict | ast.Tuple | ast.JoinedStr
                                  | ast.BinOp | ast.List | ast.Call))
        if len(path.read_text(encoding="utf-8").splitlines()) - data > 600:
            big_modules.append(module)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if length > 80:
                    big_functions.append(f"{module}.{node.name} ({length})")
    assert big_modules == [] and big_functions == []


def test_the_command_line_calls_the_facade() -> None:
    """cli/ parses, calls the public API and prints: it imports procmine's facade and its own
    modules, nothing deeper."""
    import procmine

    public = set(procmine.__all__)
    offenders = []
    for module, path in MODULES.items():
        if _room(module) != "cli":
            continue
        for target in _imports(path):
            if target.startswith("procmine.") and not target.startswith("procmine.cli") \
                    and target.split(".")[1] not in public:
                offenders.append(f"{module} -> {target}")
    assert offenders == []
