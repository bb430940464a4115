"""Every environment variable the app reads is declared once (chalicelib/settings_table.py),
read through chalicelib/config.py only, and listed in the settings table of docs/backends.md."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from chalicelib import config
from chalicelib.settings_table import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
GETTERS = {"get", "get_int", "get_float", "backend"}
ENVIRONMENT = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}
# A string shaped like a variable name: in the app's code every such string names a setting.
SHAPE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")


def sources() -> dict[str, ast.Module]:
    paths = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
    return {str(path.relative_to(ROOT)): ast.parse(path.read_text()) for path in paths}


def environment_reads(tree: ast.Module) -> list[int]:
    """Lines that touch the process environment directly (os.environ, os.getenv...)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT:
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            lines += [node.lineno for alias in node.names if alias.name in ENVIRONMENT]
    return lines


def getter_names(tree: ast.Module) -> list[tuple[int, str]]:
    """Names given as literals to config's getters: `config.get("X")`, or `get("X")` inside."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        func, first = node.func, node.args[0]
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        on_config = not isinstance(func, ast.Attribute) or getattr(func.value, "id", "") == "config"
        if called in GETTERS and on_config and isinstance(first, ast.Constant):
            found.append((node.lineno, str(first.value)))
    return found


def shaped_strings(tree: ast.Module) -> list[tuple[int, str]]:
    """Strings shaped like a setting's name, except the names a module exports (`__all__`)."""
    exported = {
        id(item)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
        for item in ast.walk(node.value)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and SHAPE.match(node.value)
        and id(node) not in exported
    ]


def test_only_config_touches_the_environment() -> None:
    offenders = [
        f"{path}:{line}"
        for path, tree in sources().items()
        if path != "chalicelib/config.py"
        for line in environment_reads(tree)
    ]
    assert not offenders, f"read settings through chalicelib/config.py: {offenders}"


def test_every_name_read_is_declared() -> None:
    undeclared = [
        f"{path}:{line} {name}"
        for path, tree in sources().items()
        if path != "chalicelib/settings_table.py"
        for line, name in getter_names(tree) + shaped_strings(tree)
        if name not in SETTINGS
    ]
    assert not undeclared, f"declare these in chalicelib/settings_table.py: {undeclared}"


def test_the_scans_find_what_they_look_for() -> None:
    tree = ast.parse(
        "import os\nfrom os import getenv\nos.environ.get('A')\n"
        "config.get('LOWER')\nconfig.get_int('NOT_DECLARED_HERE')\nother.get('X')\n"
    )
    assert environment_reads(tree) == [2, 3]
    assert sorted(getter_names(tree)) == [(4, "LOWER"), (5, "NOT_DECLARED_HERE")]
    assert shaped_strings(tree) == [(5, "NOT_DECLARED_HERE")]


def test_an_undeclared_name_is_an_error_and_a_declared_one_has_its_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NOT_A_SETTING", "1")
    with pytest.raises(LookupError):
        config.get("NOT_A_SETTING")
    monkeypatch.delenv("KEY_CACHE_SECONDS", raising=False)
    assert config.get_int("KEY_CACHE_SECONDS") == SETTINGS["KEY_CACHE_SECONDS"].default
    monkeypatch.setenv("KEY_CACHE_SECONDS", " ")
    assert config.get_int("KEY_CACHE_SECONDS") == SETTINGS["KEY_CACHE_SECONDS"].default
    monkeypatch.setenv("KEY_CACHE_SECONDS", "7")
    assert config.get_int("KEY_CACHE_SECONDS") == 7


def readme_table_names() -> set[str]:
    """The settings named in the first cell of a table row of docs/backends.md's settings."""
    text = (ROOT / "docs" / "backends.md").read_text()
    section = text.split("\n## Backends and settings\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for cell in rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", cell)}


def test_every_setting_is_in_the_readme_table() -> None:
    missing = sorted(set(SETTINGS) - readme_table_names())
    assert not missing, f"add rows to the settings table of docs/backends.md: {missing}"
    unknown = sorted(readme_table_names() - set(SETTINGS))
    assert not unknown, f"docs/backends.md's settings table names settings never read: {unknown}"
