"""Meta-tests: the shape of the package holds (pure core, every hook tested and documented)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import massreach
from massreach import hookspecs

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "massreach"
FORBIDDEN_IN_CORE = {
    "sqlite3",
    "smtplib",
    "socket",
    "http",
    "psycopg",
    "psycopg_pool",
    "urllib",
    "ssl",
}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_core_does_no_io() -> None:
    offenders = {
        str(path.relative_to(SRC)): sorted(_imported_modules(path) & FORBIDDEN_IN_CORE)
        for path in (SRC / "core").glob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_core_imports_nothing_from_the_shell() -> None:
    shell = ("massreach.services", "massreach.adapters", "massreach.cli", "massreach.storage")
    for path in (SRC / "core").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for name in shell:
            assert f"from {name}" not in text and f"import {name}" not in text, (path, name)


def _hook_names() -> list[str]:
    return [
        name
        for name, value in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("massreach_")
    ]


def test_every_hook_has_a_test() -> None:
    tests_text = "\n".join(
        p.read_text(encoding="utf-8")
        for p in (ROOT / "tests").rglob("test_*.py")
        if p.name != "test_meta.py"
    )
    missing = [name for name in _hook_names() if name not in tests_text]
    assert missing == []


def test_every_hook_is_documented() -> None:
    docs = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").rglob("*.md"))
    missing = [name for name in _hook_names() if name not in docs]
    assert missing == []


def test_every_hook_has_a_docstring() -> None:
    for name in _hook_names():
        assert (getattr(hookspecs, name).__doc__ or "").strip(), name


def test_no_module_is_a_grab_bag() -> None:
    names = {p.stem for p in SRC.rglob("*.py")}
    assert not names & {"utils", "helpers", "misc", "common"}


def test_package_is_typed() -> None:
    assert (Path(massreach.__file__).parent / "py.typed").exists()
