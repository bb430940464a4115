"""The shape the code promises (README, Layout): small modules, short functions, and no import
cycle in the application, counting imports made inside functions."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 40


def _app_modules() -> Iterator[Path]:
    yield ROOT / "app.py"
    yield from sorted((ROOT / "chalicelib").rglob("*.py"))


def _all_modules() -> Iterator[Path]:
    yield from _app_modules()
    for folder in ("infra", "cli", "bench", "tools"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """Every application module `path` imports, at the top or inside a function."""
    name = _name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {target for target in found if target in known and target != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = stack[stack.index(node) :]
            del stack[stack.index(node) :]
            if len(component) > 1:
                out.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return out


def test_no_module_is_longer_than_the_limit() -> None:
    long = {
        str(path.relative_to(ROOT)): count
        for path in _all_modules()
        if "build" not in path.parts
        and (count := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_in_the_app_is_longer_than_the_limit() -> None:
    long = {}
    for path in _app_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.name}"] = size
    assert long == {}


def test_no_import_cycle_counting_imports_inside_functions() -> None:
    paths = {_name(path): path for path in _app_modules()}
    graph = {name: _imports(path, set(paths)) for name, path in paths.items()}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check above can fail: a loop through a function-level import is one cycle."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# --- the layout (README, Layout) ---------------------------------------------------------------

MAX_MODULES_PER_FOLDER = 12
# Packages whose __init__ is on a cold start's path, or holds nothing by design: kept empty.
EMPTY_PACKAGES = (
    "edge", "edge/openapi", "edge/routes", "files", "tenants", "tasks/kinds", "health", "aws",
)  # fmt: skip
FEATURES = (
    "chalicelib.edge",
    "chalicelib.files",
    "chalicelib.tenants",
    "chalicelib.tasks",
    "chalicelib.health",
    "chalicelib.changes",
    "chalicelib.idempotency",
)
PORTS = ("db", "cache", "blobs", "queue", "secrets")
# The tables each feature owns; their SQL is written in the feature's store modules only.
TABLES = (
    r"\b(?:files|file_search|file_versions|trash|uploads|garbage|cache_dirty|tenants|api_keys"
    r"|tasks|changes|idempotency_keys)\b"
)
STORES = {
    "chalicelib/files/store.py",
    "chalicelib/files/search.py",
    "chalicelib/files/bookkeeping.py",
    "chalicelib/files/history/store.py",
    "chalicelib/tenants/store.py",
    "chalicelib/tasks/store.py",
    "chalicelib/changes/store.py",
    "chalicelib/idempotency/store.py",
    "chalicelib/db/migrations.py",
    "chalicelib/db/history.py",  # migration 11 fills the versions from the files
    "chalicelib/db/online.py",  # the scale migrations' batched backfills (migrations 12-14, 17)
}


def _folders() -> Iterator[Path]:
    yield ROOT / "chalicelib"
    yield from (p for p in sorted((ROOT / "chalicelib").rglob("*")) if (p / "__init__.py").exists())


def test_no_folder_of_the_app_holds_more_than_twelve_modules() -> None:
    crowded = {
        str(folder.relative_to(ROOT)): count
        for folder in _folders()
        if (count := len(list(folder.glob("*.py")))) > MAX_MODULES_PER_FOLDER
    }
    assert crowded == {}


def test_the_role_packages_have_empty_init_modules() -> None:
    for package in EMPTY_PACKAGES:
        assert (ROOT / "chalicelib" / package / "__init__.py").read_text() == "", package


def test_no_port_imports_a_feature() -> None:
    paths = {_name(path): path for path in _app_modules()}
    known = set(paths)
    for port in PORTS:
        for path in sorted((ROOT / "chalicelib" / port).glob("*.py")):
            features = {m for m in _imports(path, known) if m.startswith(FEATURES)}
            assert features == set(), path.relative_to(ROOT)


def _sql_strings(path: Path) -> list[str]:
    import re

    verbs = r"^\s*(?:SELECT\b.*\bFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b.*"
    statement = re.compile(verbs + TABLES, re.S)
    found = []
    tree = ast.parse(path.read_text())
    parts = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in parts:
            if statement.match(node.value):
                found.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            text = "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
            if statement.match(text):
                found.append(text)
    return found


def test_each_features_sql_is_in_its_store_modules() -> None:
    stray = {
        rel: _sql_strings(path)
        for path in _app_modules()
        if (rel := str(path.relative_to(ROOT))) not in STORES and _sql_strings(path)
    }
    assert stray == {}


def test_the_sql_finder_finds_a_statement(tmp_path: Path) -> None:
    """The check above can fail: a statement on a feature's table, plain or in an f-string."""
    module = tmp_path / "m.py"
    module.write_text('A = "SELECT id FROM files WHERE x"\nB = f"DELETE FROM tasks WHERE {A}"\n')
    assert len(_sql_strings(module)) == 2


def test_laptop_tools_are_not_in_the_lambda_package() -> None:
    """chalice package ships app.py and chalicelib/: the admin and trigger stand-ins that only
    a laptop runs live in tools/."""
    names = {path.stem for path in (ROOT / "chalicelib").rglob("*.py")}
    assert {"operator", "localrun", "stage_admin", "local_triggers"} & names == set()
    assert (ROOT / "tools" / "stage_admin.py").exists()


def test_the_migrations_are_one_increasing_sequence() -> None:
    """Each feature keeps its migrations in a module of its own; together they must stay in
    order, or a database at a later version would skip an earlier one forever."""
    from chalicelib.db import migrations

    versions = [version for version, _ in migrations.MIGRATIONS]
    assert versions == sorted(set(versions))
    assert versions == list(range(1, len(versions) + 1))
