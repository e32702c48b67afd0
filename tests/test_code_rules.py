"""The house rules that code review would otherwise have to remember: the domain imports
neither the web layer nor the connectors, only the domain talks SQL, and the code passes
ruff and mypy as configured in pyproject.toml."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATABASE_LIBRARIES = ("sqlalchemy", "sqlmodel", "asyncpg", "aiosqlite", "sqlite3")
# The one thing web/ may know of the database: its errors, to answer 503 instead of 500.
ALLOWED_IN_WEB = frozenset({"sqlalchemy.exc"})


def imports_of(package: str) -> dict[str, set[str]]:
    """Every module each file of a package imports (absolute names), by file."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def offenders(
    package: str, banned: tuple[str, ...], allowed: frozenset[str] = frozenset()
) -> list[str]:
    return [
        f"{path} imports {name}"
        for path, names in imports_of(package).items()
        for name in sorted(names)
        if name.split(".")[0] in banned and name not in allowed
    ]


def test_the_domain_imports_neither_the_web_layer_nor_the_connectors():
    assert offenders("inbox", ("web", "connectors")) == []


def test_only_the_domain_talks_to_the_database():
    assert offenders("web", DATABASE_LIBRARIES, ALLOWED_IN_WEB) == []
    assert offenders("connectors", DATABASE_LIBRARIES) == []


def run_tool(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e '.[test]')")
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True
    )


def test_ruff_finds_nothing():
    result = run_tool("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing():
    result = run_tool("mypy", "--no-incremental", "inbox", "connectors", "web")
    assert result.returncode == 0, result.stdout + result.stderr
